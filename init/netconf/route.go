package netconf

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"tprouter/init/config"
	"tprouter/init/internal/oneline"
)

// linkPrefixes is a link with the prefixes the configuration gives it.
type linkPrefixes struct {
	link     netlink.Link
	prefixes []netip.Prefix
}

// gatewayLink returns the link a default route via gw goes on: the first
// of links with a configured prefix that contains gw, else wan. covered
// says whether a prefix contained gw; when none did, the route is added
// "onlink", trusting the configuration that gw is on the wire (a WAN whose
// address comes from DHCP has no configured prefix).
func gatewayLink(gw netip.Addr, links []linkPrefixes, wan netlink.Link) (link netlink.Link, covered bool) {
	for _, l := range links {
		for _, p := range l.prefixes {
			if l.link != nil && p.Contains(gw) {
				return l.link, true
			}
		}
	}
	return wan, false
}

// wantRoutes returns the routes Apply owns for c: a default route per
// gateway, and in c.Table the local default routes that deliver every
// marked packet to a local socket (like "ip route add local 0.0.0.0/0 dev lo
// table 100").
func wantRoutes(c config.Network, lo, wan netlink.Link, lan []netlink.Link) ([]netlink.Route, error) {
	var errs []error
	links := []linkPrefixes{{wan, c.WANAddrs}}
	if len(lan) > 0 {
		links = append(links, linkPrefixes{lan[0], c.LANAddrs})
	}
	var want []netlink.Route
	for _, gw := range c.Gateways {
		gw = gw.Unmap()
		link, covered := gatewayLink(gw, links, wan)
		if link == nil {
			errs = append(errs, fmt.Errorf("default route via %s: WAN link not found", gw))
			continue
		}
		r := netlink.Route{
			Family:    family(gw),
			LinkIndex: link.Attrs().Index,
			Gw:        gw.AsSlice(),
			Table:     unix.RT_TABLE_MAIN,
			Type:      unix.RTN_UNICAST,
			Protocol:  Protocol,
		}
		if !covered && !gw.IsLinkLocalUnicast() {
			r.Flags = int(netlink.FLAG_ONLINK)
		}
		want = append(want, r)
	}
	if err := checkPolicy(c); err != nil {
		errs = append(errs, err)
	} else if lo != nil {
		for _, dst := range []netip.Prefix{
			netip.PrefixFrom(netip.IPv4Unspecified(), 0),
			netip.PrefixFrom(netip.IPv6Unspecified(), 0),
		} {
			want = append(want, netlink.Route{
				Family:    family(dst.Addr()),
				LinkIndex: lo.Attrs().Index,
				Dst:       &net.IPNet{IP: dst.Addr().AsSlice(), Mask: net.CIDRMask(0, dst.Addr().BitLen())},
				Table:     c.Table,
				Type:      unix.RTN_LOCAL,
				Scope:     netlink.SCOPE_HOST,
				Protocol:  Protocol,
			})
		}
	}
	return want, oneline.Join(errs...)
}

// checkPolicy rejects a Mark or Table that would break routing for
// everything: mark 0 matches every packet, and the kernel's own tables
// must not receive a local default route.
func checkPolicy(c config.Network) error {
	if c.Mark == 0 {
		return errors.New("config: Mark is 0; a fwmark rule with mask 0 would deliver all traffic locally")
	}
	switch c.Table {
	case unix.RT_TABLE_UNSPEC, unix.RT_TABLE_DEFAULT, unix.RT_TABLE_MAIN, unix.RT_TABLE_LOCAL:
		return fmt.Errorf("config: Table %d is reserved by the kernel", c.Table)
	}
	return nil
}

// routeKey identifies a route for convergence: two routes with the same key
// are the same route as far as Apply is concerned. Family must be set: the
// kernel reports default routes without a destination.
func routeKey(r netlink.Route) string {
	dst := "default"
	if r.Dst != nil {
		if p, ok := prefix(r.Dst); ok && p.Bits() > 0 {
			dst = p.String()
		}
	}
	return fmt.Sprintf("%s table %d type %d %s via %v dev %d",
		familyName(r.Family), r.Table, r.Type, dst, r.Gw, r.LinkIndex)
}

func family(a netip.Addr) int {
	if a.Unmap().Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// routes removes the routes Apply installed earlier that c no longer asks
// for, in any table, and then replaces the wanted ones.
func (a *applier) routes(c config.Network, lo, wan netlink.Link, lan []netlink.Link) error {
	want, err := wantRoutes(c, lo, wan, lan)
	errs := []error{err}
	wanted := make(map[string]bool)
	for _, r := range want {
		wanted[routeKey(r)] = true
	}
	have, err := a.nl.RouteListFiltered(netlink.FAMILY_ALL,
		&netlink.Route{Table: unix.RT_TABLE_UNSPEC, Protocol: Protocol},
		netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		errs = append(errs, fmt.Errorf("RouteListFiltered(all tables, proto %d): %w", Protocol, err))
	}
	for _, r := range have {
		if wanted[routeKey(r)] {
			continue
		}
		if err := a.nl.RouteDel(&r); err != nil {
			errs = append(errs, fmt.Errorf("RouteDel(%s): %w", routeKey(r), err))
		}
	}
	for _, r := range want {
		if err := a.nl.RouteReplace(&r); err != nil {
			errs = append(errs, fmt.Errorf("RouteReplace(%s): %w", routeKey(r), err))
		}
	}
	return oneline.Join(errs...)
}

// wantRule returns the rule "fwmark Mark/Mark lookup Table" for family.
func wantRule(c config.Network, family int) *netlink.Rule {
	r := netlink.NewRule()
	r.Family = family
	r.Priority = RulePriority
	r.Mark = c.Mark
	mask := c.Mark
	r.Mask = &mask
	r.Table = c.Table
	r.Protocol = Protocol
	return r
}

// sameRule says whether a listed rule already does what want does.
func sameRule(have netlink.Rule, want *netlink.Rule) bool {
	return have.Priority == want.Priority &&
		have.Table == want.Table &&
		have.Mark == want.Mark &&
		have.Mask != nil && *have.Mask == *want.Mask &&
		have.Src == nil && have.Dst == nil &&
		have.IifName == "" && have.OifName == "" &&
		!have.Invert && have.Goto < 0
}

// rules installs the fwmark rule for both families once, and removes rules
// with Protocol that differ from it (left by a configuration with another
// Mark or Table).
func (a *applier) rules(c config.Network) error {
	policyErr := checkPolicy(c)
	var errs []error
	for _, family := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		want := wantRule(c, family)
		have, err := a.nl.RuleList(family)
		if err != nil {
			errs = append(errs, fmt.Errorf("RuleList(%s): %w", familyName(family), err))
			continue
		}
		found := false
		for _, r := range have {
			if policyErr == nil && sameRule(r, want) {
				found = true
				continue
			}
			if r.Protocol != Protocol {
				continue
			}
			if err := a.nl.RuleDel(&r); err != nil {
				errs = append(errs, fmt.Errorf("RuleDel(%s %s): %w", familyName(family), r, err))
			}
		}
		if found || policyErr != nil {
			continue
		}
		if err := a.nl.RuleAdd(want); err != nil {
			errs = append(errs, fmt.Errorf("RuleAdd(%s fwmark %#x/%#x lookup %d pref %d): %w",
				familyName(family), c.Mark, c.Mark, c.Table, RulePriority, err))
		}
	}
	// The policy error is reported once, by wantRoutes.
	return oneline.Join(errs...)
}

func familyName(f int) string {
	if f == netlink.FAMILY_V6 {
		return "inet6"
	}
	return "inet"
}
