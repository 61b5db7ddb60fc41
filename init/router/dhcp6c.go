package router

import (
	"fmt"

	"tprouter/init/config"
)

// dhcp6cArgs: the WAN link, the state file in dhcp6c's directory (on
// /perm, so the DUID and the last prefix survive a reboot) and the size
// hint.
func dhcp6cArgs(c config.Config, l links, d dirs) []string {
	return []string{"-iface=" + l.WAN, "-state=" + d.file("dhcp6c", leaseFile), fmt.Sprintf("-pd-len=%d", c.Network.PD.Len)}
}
