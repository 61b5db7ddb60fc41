package router

import (
	"fmt"

	"golang.org/x/sys/unix"

	"tprouter/init/config"
	"tprouter/init/supervise"
)

// dhcp6cArgs: the WAN link, the state file in dhcp6c's directory (on
// /perm, so the DUID and the last prefix survive a reboot), the size
// hint, and -na with tprouter.wan.na.
func dhcp6cArgs(c config.Config, l links, d dirs) []string {
	args := []string{"-iface=" + l.WAN, "-state=" + d.file("dhcp6c", leaseFile), fmt.Sprintf("-pd-len=%d", c.Network.PD.Len)}
	if c.Network.PD.NA {
		args = append(args, "-na")
	}
	return args
}

// dhcp6cCaps: with tprouter.wan.na, dhcp6c adds and removes the WAN
// address it is given, which needs CAP_NET_ADMIN.
func dhcp6cCaps(c config.Config) []supervise.Cap {
	if c.Network.PD.NA {
		return []supervise.Cap{unix.CAP_NET_ADMIN}
	}
	return nil
}
