package firewall

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"

	"tprouter/init/config"
	"tprouter/qemu/lab"
)

func fullRuleset(t *testing.T) *ruleset {
	t.Helper()
	c := config.Default().Network
	c.FailMode = config.FailClosed
	c.NAT = true
	c.Exempt = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	r, err := newRuleset(c, "wan0", []string{"lan0"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestDiagnose feeds diagnose fake probes: the first failing feature is
// named, a failing base probe blames nftables itself, and passing probes
// blame the ruleset.
func TestDiagnose(t *testing.T) {
	r := fullRuleset(t)
	batch := errors.New("replace table inet tprouter: conn.Receive: no such file or directory")
	failing := func(names ...string) func(feature) error {
		return func(f feature) error {
			if slices.Contains(names, f.name) {
				return syscall.ENOENT
			}
			return nil
		}
	}
	for _, tc := range []struct {
		failing []string
		want    []string
	}{
		{[]string{"TPROXY"}, []string{"kernel lacks nftables TPROXY support (nft_tproxy, CONFIG_NFT_TPROXY)", "no such file or directory"}},
		{[]string{"masquerade", "reject"}, []string{"kernel lacks nftables reject support (nft_reject_inet"}},
		{[]string{"socket matching"}, []string{"kernel lacks nftables socket matching support (nft_socket"}},
		{[]string{"inet tables", "TPROXY"}, []string{"nftables itself is unusable"}},
		{nil, []string{"every feature probe passed", batch.Error()}},
	} {
		err := diagnose(batch, r.features(), failing(tc.failing...))
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("probes failing %q: got %v, want it to contain %q", tc.failing, err, w)
			}
		}
	}
	if err := diagnose(batch, r.features(), failing("TPROXY")); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("diagnose does not wrap the probe's error: %v", err)
	}
}

// TestProbes runs every probe against the real kernel: each must pass,
// or a missing feature would be blamed on a broken probe. Nothing is left
// behind.
func TestProbes(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	for _, f := range append([]feature{baseFeature}, fullRuleset(t).features()...) {
		if err := l.Router.Do(func() error { return probe(f) }); err != nil {
			t.Errorf("probe %s: %v", f.name, err)
		}
	}
	if out := l.Router.Run(t, "nft", "list", "ruleset"); out != "" {
		t.Errorf("probes left a ruleset behind:\n%s", out)
	}
}

// TestProbeFindsMissing checks that a probe fails, and leaves nothing
// behind, when the kernel lacks what its rule uses: here an xtables match
// no kernel has, the way a missing nft_tproxy module looks.
func TestProbeFindsMissing(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	f := feature{"nothing", "no module", divertHook,
		exprs([]expr.Any{&expr.Match{Name: "tprouter_none", Info: &xt.Unknown{}}})}
	err := l.Router.Do(func() error { return probe(f) })
	if err == nil {
		t.Errorf("probe of a missing match passed")
	}
	t.Logf("probe error: %v", err)
	if out := l.Router.Run(t, "nft", "list", "ruleset"); out != "" {
		t.Errorf("the probe left a ruleset behind:\n%s", out)
	}
}

func TestRanges(t *testing.T) {
	p := func(s ...string) []netip.Prefix {
		var ps []netip.Prefix
		for _, x := range s {
			ps = append(ps, netip.MustParsePrefix(x))
		}
		return ps
	}
	str := func(rs []ipRange) []string {
		var s []string
		for _, r := range rs {
			s = append(s, r.from.String()+"-"+r.to.String())
		}
		return s
	}
	v4, v6 := ranges(p("10.1.0.0/16", "10.0.0.0/8", "192.0.2.7/24", "192.0.3.0/24",
		"255.255.255.255/32", "::ffff:203.0.113.0/120", "2001:db8::/32", "2001:db8:1::/48", "::/0"))
	if want := []string{
		"10.0.0.0-10.255.255.255",
		"192.0.2.0-192.0.3.255", // adjacent, merged
		"203.0.113.0-203.0.113.255",
		"255.255.255.255-255.255.255.255",
	}; !slices.Equal(str(v4), want) {
		t.Errorf("IPv4 ranges %q, want %q", str(v4), want)
	}
	if want := []string{"::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}; !slices.Equal(str(v6), want) {
		t.Errorf("IPv6 ranges %q, want %q", str(v6), want)
	}

	// As nft encodes them: a leading end element at 0, no end element
	// past the highest address.
	e := intervalElements(v4)
	var got []string
	for _, x := range e {
		a, _ := netip.AddrFromSlice(x.Key)
		s := a.String()
		if x.IntervalEnd {
			s += " end"
		}
		got = append(got, s)
	}
	want := []string{"0.0.0.0 end", "10.0.0.0", "11.0.0.0 end", "192.0.2.0", "192.0.4.0 end",
		"203.0.113.0", "203.0.114.0 end", "255.255.255.255"}
	if !slices.Equal(got, want) {
		t.Errorf("intervalElements = %q, want %q", got, want)
	}
	if e := intervalElements(v6); len(e) != 1 || e[0].IntervalEnd {
		t.Errorf("intervalElements(::/0) = %+v, want one start element", e)
	}
}

func TestNewRulesetRejects(t *testing.T) {
	ok := config.Default().Network
	for name, tc := range map[string]struct {
		c   func(*config.Network)
		wan string
		lan []string
	}{
		"mark 0":        {func(c *config.Network) { c.Mark = 0 }, "wan0", []string{"lan0"}},
		"proxy port 0":  {func(c *config.Network) { c.ProxyPort = 0 }, "wan0", []string{"lan0"}},
		"port 0":        {func(c *config.Network) { c.Intercept = []uint16{80, 0} }, "wan0", []string{"lan0"}},
		"no WAN name":   {func(c *config.Network) {}, "", []string{"lan0"}},
		"no LAN":        {func(c *config.Network) {}, "wan0", nil},
		"long LAN name": {func(c *config.Network) {}, "wan0", []string{"a-very-long-name0"}},
	} {
		c := ok
		tc.c(&c)
		if _, err := newRuleset(c, tc.wan, tc.lan); err == nil {
			t.Errorf("%s: newRuleset accepted it", name)
		}
	}
	if _, err := newRuleset(ok, "wan0", []string{"lan0", "lan1"}); err != nil {
		t.Errorf("default config: %v", err)
	}
}

// TestApplyErrorOneLine checks that Apply reports every problem of its
// input on one line, without naming itself: the caller says "firewall".
func TestApplyErrorOneLine(t *testing.T) {
	c := config.Default().Network
	c.Mark, c.ProxyPort = 0, 0
	err := Apply(c, "", nil)
	if err == nil {
		t.Fatal("Apply accepted mark 0, proxy port 0 and no links")
	}
	s := err.Error()
	if strings.Contains(s, "\n") || strings.Count(s, "; ") < 3 || strings.Contains(s, "firewall") {
		t.Errorf("Apply: %q, want the problems on one line, separated by \"; \", and no \"firewall\"", s)
	}
}
