package selftest

import (
	"context"
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// routing checks the policy routing TPROXY needs, per family: "ip rule
// fwmark <mark>/<mark> lookup <table>" and "local default dev lo table
// <table>".
func (t *Tester) routing(context.Context) Result {
	var problems []string
	for _, f := range []struct {
		family int
		name   string
	}{{netlink.FAMILY_V4, "ip"}, {netlink.FAMILY_V6, "ip -6"}} {
		if p := t.familyRouting(f.family, f.name); p != "" {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return fail("routing", strings.Join(problems, "; "),
			"netconf installs both at every Configure (init/netconf/route.go): look for a netconf error on the console "+
				"and for whatever removed them (an ip command on the box); without them diverted packets are forwarded instead of delivered to the proxy")
	}
	return ok("routing", fmt.Sprintf("fwmark %#x lookup %d and local default dev lo in table %d, IPv4 and IPv6",
		t.Net.Mark, t.Net.Table, t.Net.Table))
}

// familyRouting returns what is missing in one family, "" when nothing.
func (t *Tester) familyRouting(family int, ip string) string {
	var missing []string
	rules, err := netlink.RuleList(family)
	if err != nil {
		return fmt.Sprintf("%s rule list: %v", ip, err)
	}
	found := false
	for _, r := range rules {
		if r.Mark == t.Net.Mark && r.Mask != nil && *r.Mask&t.Net.Mark != 0 && r.Table == t.Net.Table && !r.Invert {
			found = true
		}
	}
	if !found {
		missing = append(missing, fmt.Sprintf("%s rule fwmark %#x/%#x lookup %d", ip, t.Net.Mark, t.Net.Mark, t.Net.Table))
	}
	routes, err := netlink.RouteListFiltered(family, &netlink.Route{Table: t.Net.Table}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Sprintf("%s route list table %d: %v", ip, t.Net.Table, err)
	}
	lo, _ := netlink.LinkByName("lo")
	found = false
	for _, r := range routes {
		isDefault := r.Dst == nil || isZeroPrefix(r)
		if r.Type == unix.RTN_LOCAL && isDefault && lo != nil && r.LinkIndex == lo.Attrs().Index {
			found = true
		}
	}
	if !found {
		missing = append(missing, fmt.Sprintf("%s route local default dev lo table %d", ip, t.Net.Table))
	}
	if len(missing) == 0 {
		return ""
	}
	return "missing " + strings.Join(missing, " and ")
}

func isZeroPrefix(r netlink.Route) bool {
	ones, _ := r.Dst.Mask.Size()
	return ones == 0
}
