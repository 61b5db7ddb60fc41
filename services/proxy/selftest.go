package main

import (
	"fmt"
	"net/netip"
	"strings"
)

// prefixesFlag is -selftest-net: comma-separated prefixes whose clients
// are the router's own self-test (init/selftest/trip), kept out of the
// access log and counted in tprouter_selftest_requests_total instead.
type prefixesFlag struct{ v []netip.Prefix }

func (p *prefixesFlag) String() string {
	s := make([]string, len(p.v))
	for i, x := range p.v {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

// Set parses a comma-separated list; an empty one clears it.
func (p *prefixesFlag) Set(s string) error {
	p.v = nil
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		x, err := netip.ParsePrefix(f)
		if err != nil {
			return fmt.Errorf("%q is not a prefix such as 198.18.0.0/15 or 2001:db8:5e1f::/48", f)
		}
		p.v = append(p.v, x.Masked())
	}
	return nil
}
