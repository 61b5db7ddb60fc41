package firewall_test

import (
	"net/netip"
	"strings"
	"testing"

	"tprouter/init/config"
	"tprouter/qemu/lab"
)

// TestRuleset applies the firewall twice and compares the kernel's ruleset
// with the golden files, for the default shape (fail open, NAT, QUIC
// blocked), for fail closed with exemptions, and with QUIC passing (the
// counter stays, the rule goes; so it does when 443 is not intercepted).
func TestRuleset(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		golden string
		config func(*config.Network)
	}{
		{"open-nat.nft", func(c *config.Network) {
			c.NAT = true
		}},
		{"closed-exempt.nft", func(c *config.Network) {
			c.FailMode = config.FailClosed
			c.Intercept = []uint16{443, 80, 8080, 80}
			c.Exempt = []netip.Prefix{
				netip.MustParsePrefix("10.1.0.0/16"),
				netip.MustParsePrefix("10.0.0.0/8"), // covers the one above
				netip.MustParsePrefix("198.51.100.2/32"),
				netip.MustParsePrefix("198.51.100.3/32"), // adjacent: merged
				netip.MustParsePrefix("2001:db8:2::2/128"),
				netip.MustParsePrefix("fd00::/8"),
			}
		}},
		{"quic-pass.nft", func(c *config.Network) {
			c.BlockQUIC = false
		}},
		{"quic-443-not-intercepted.nft", func(c *config.Network) {
			c.Intercept = []uint16{80, 8080}
		}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			t.Parallel()
			l := lab.New(t, lab.Options{})
			c := labConfig()
			tc.config(&c)
			applyFirewall(t, l.Router, c)
			applyFirewall(t, l.Router, c) // replaces, does not add
			golden(t, tc.golden, l.Router.Run(t, "nft", "list", "ruleset"))
		})
	}
}

// TestRebuild applies one configuration, then another, next to a foreign
// table: the result is exactly the second configuration's table, and the
// foreign table is untouched.
func TestRebuild(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	r := l.Router
	r.Run(t, "nft", "add table inet other")
	r.Run(t, "nft", "add chain inet other c { type filter hook input priority 10; policy accept; }")
	r.Run(t, "nft", "add rule inet other c tcp dport 9 counter")
	other := r.Run(t, "nft", "list", "table", "inet", "other")

	c := labConfig()
	c.FailMode = config.FailClosed
	c.Intercept = []uint16{443, 80, 8080}
	c.Exempt = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	applyFirewall(t, r, c)
	applyFirewall(t, r, labConfig())

	if got := r.Run(t, "nft", "list", "table", "inet", "other"); got != other {
		t.Errorf("foreign table changed:\n%s\nwant:\n%s", got, other)
	}
	r.Run(t, "nft", "delete table inet other")
	golden(t, "open.nft", r.Run(t, "nft", "list", "ruleset"))
	if got := r.Run(t, "nft", "list", "ruleset"); strings.Contains(got, "probe") {
		t.Errorf("a probe table was left behind:\n%s", got)
	}
}
