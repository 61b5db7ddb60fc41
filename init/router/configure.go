package router

import (
	"fmt"

	"tprouter/init/config"
	"tprouter/init/firewall"
	"tprouter/init/internal/oneline"
	"tprouter/init/netconf"
)

// Configure puts the firewall in place, then configures the network, and
// returns the kernel's names of the WAN and LAN links. It is the whole
// network bring-up of the firmware, which the lab router runs too; it is
// idempotent, and init calls it again until it succeeds.
//
// Links matched by MAC are renamed first, so that the ruleset names them
// as they stay. The firewall comes before addresses, routes and
// forwarding: a router that forwards without its ruleset lets the WAN
// into the LAN. When the firewall cannot be applied, forwarding is off
// (netconf never turns it on, not for a moment) until a later round
// applies it; the LAN is still served.
func Configure(c config.Network) (wan string, lan []string, err error) {
	netconf.Rename(c)                // its failures are netconf.ApplyForward's too
	wan, lan, _ = netconf.Resolve(c) // a link not found: the same
	var errs []error
	fwErr := firewall.Apply(c, wan, lan)
	if fwErr != nil {
		errs = append(errs, fmt.Errorf("firewall: %w; forwarding stays off until it is in place", fwErr))
	}
	if err := netconf.ApplyForward(c, fwErr == nil); err != nil {
		errs = append(errs, fmt.Errorf("netconf: %w", err))
	}
	return wan, lan, oneline.Join(errs...)
}
