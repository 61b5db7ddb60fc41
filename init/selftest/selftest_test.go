package selftest

import (
	"fmt"
	"strings"
	"testing"

	"tprouter/init/config"
	"tprouter/qemu/lab"
	"tprouter/qemu/labrouter"
)

const proxyPort = 3129

// labTester is a Tester for a lab router configured with c, checked
// inside the router's namespace.
type labTester struct {
	*Tester
	l *lab.Lab
}

func newLab(t *testing.T, c config.Network) *labTester {
	l := lab.New(t, lab.Options{})
	labrouter.Install(t, l, c)
	return &labTester{&Tester{Net: c, WAN: lab.RouterWAN, LAN: []string{lab.RouterLAN}, Log: t.Logf}, l}
}

// run runs the self-test in the router's namespace and returns the results by check.
func (lt *labTester) run(t *testing.T) map[string]Result {
	t.Helper()
	var r Report
	lt.l.Router.Do(func() error { r = lt.Run(t.Context()); return nil })
	m := map[string]Result{}
	for _, res := range r.Results {
		m[res.Check] = res
	}
	if len(m) != 6 {
		t.Fatalf("got %d results, want the 6 static checks: %+v", len(m), r.Results)
	}
	return m
}

// want checks that exactly the checks in failed failed, each with a detail
// containing its string, and that every failure has a fix.
func want(t *testing.T, got map[string]Result, failed map[string]string) {
	t.Helper()
	for name, res := range got {
		sub, bad := failed[name]
		switch {
		case bad && res.OK:
			t.Errorf("%s passed (%s), want it to fail with %q", name, res.Detail, sub)
		case !bad && !res.OK:
			t.Errorf("%s", res.Line())
		case bad && (!strings.Contains(res.Detail, sub) || res.Fix == ""):
			t.Errorf("%s: got %q, want a detail containing %q and a fix", name, res.Line(), sub)
		}
	}
}

// TestChecks: a configured lab router with a transparent proxy passes
// every static check; then each condition is broken in turn, and only its
// check fails, saying what it saw.
func TestChecks(t *testing.T) {
	c := labrouter.Config(proxyPort)
	lt := newLab(t, c)
	pid := startProxy(t, lt.l.Router, proxyPort, "transparent", "cap")
	lt.ProxyPID = func() int { return pid }
	want(t, lt.run(t), nil)

	restore := func() { labrouter.Install(t, lt.l, c) }
	t.Run("divert rule deleted", func(t *testing.T) {
		defer restore()
		out := lt.l.Router.Run(t, "nft", "-a", "list", "chain", "inet", "tprouter", "divert")
		_, h, ok := strings.Cut(out, "socket transparent 1")
		_, h, _ = strings.Cut(h, "# handle ")
		if !ok {
			t.Fatalf("no divert rule in:\n%s", out)
		}
		lt.l.Router.Run(t, "nft", "delete", "rule", "inet", "tprouter", "divert", "handle", strings.Fields(h)[0])
		want(t, lt.run(t), map[string]string{"ruleset": "DIVERT"})
	})
	t.Run("local route deleted", func(t *testing.T) {
		defer restore()
		lt.l.Router.IP(t, "-6", "route", "del", "local", "default", "dev", "lo", "table", fmt.Sprint(c.Table))
		want(t, lt.run(t), map[string]string{"routing": fmt.Sprintf("ip -6 route local default dev lo table %d", c.Table)})
	})
	t.Run("fwmark rule deleted", func(t *testing.T) {
		defer restore()
		lt.l.Router.IP(t, "rule", "del", "fwmark", fmt.Sprintf("%#x/%#x", c.Mark, c.Mark), "lookup", fmt.Sprint(c.Table))
		want(t, lt.run(t), map[string]string{"routing": "ip rule fwmark"})
	})
	t.Run("ip_forward 0", func(t *testing.T) {
		defer restore()
		lt.l.Router.Sysctl(t, "net/ipv4/ip_forward", "0")
		want(t, lt.run(t), map[string]string{"forwarding": "net/ipv4/ip_forward = 0, want 1"})
	})
	t.Run("rp_filter strict on the LAN", func(t *testing.T) {
		defer restore()
		lt.l.Router.Sysctl(t, "net/ipv4/conf/"+lab.RouterLAN+"/rp_filter", "1")
		want(t, lt.run(t), map[string]string{"forwarding": "lan0/rp_filter = 1, want 0"})
	})
	t.Run("other ports configured", func(t *testing.T) {
		other := &labTester{&Tester{Net: c, WAN: lt.WAN, LAN: lt.LAN, ProxyPID: lt.ProxyPID}, lt.l}
		other.Net.Intercept = []uint16{80, 8080}
		other.Net.FailMode = config.FailClosed
		want(t, other.run(t), map[string]string{"ruleset": "set intercept holds ports [80 443], the configuration intercepts [80 8080]"})
	})
	t.Run("proxy not running", func(t *testing.T) {
		none := &labTester{&Tester{Net: c, WAN: lt.WAN, LAN: lt.LAN, ProxyPID: func() int { return 0 }}, lt.l}
		want(t, none.run(t), map[string]string{"proxy-listen": "not running", "proxy-cap": "not running"})
	})
	t.Run("proxy listening elsewhere", func(t *testing.T) {
		other := startProxy(t, lt.l.Router, proxyPort+1, "transparent", "cap")
		lt2 := &labTester{&Tester{Net: c, WAN: lt.WAN, LAN: lt.LAN, ProxyPID: func() int { return other }}, lt.l}
		want(t, lt2.run(t), map[string]string{"proxy-listen": "does not listen on TCP port 3129"})
	})
}

// TestProxyHelpers: a plain listener fails proxy-listen, a transparent one
// without CAP_NET_ADMIN fails proxy-cap.
func TestProxyHelpers(t *testing.T) {
	c := labrouter.Config(proxyPort)
	lt := newLab(t, c)
	t.Run("plain listener", func(t *testing.T) {
		pid := startProxy(t, lt.l.Router, proxyPort, "plain", "cap")
		lt := &labTester{&Tester{Net: c, WAN: lt.WAN, LAN: lt.LAN, ProxyPID: func() int { return pid }}, lt.l}
		want(t, lt.run(t), map[string]string{"proxy-listen": "no transparent listener for IPv4 and IPv6"})
	})
	t.Run("no CAP_NET_ADMIN", func(t *testing.T) {
		pid := startProxy(t, lt.l.Router, proxyPort, "transparent", "nocap")
		lt := &labTester{&Tester{Net: c, WAN: lt.WAN, LAN: lt.LAN, ProxyPID: func() int { return pid }}, lt.l}
		want(t, lt.run(t), map[string]string{"proxy-cap": "lacks CAP_NET_ADMIN"})
	})
}
