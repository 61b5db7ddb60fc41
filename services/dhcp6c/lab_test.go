package main

import (
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tprouter/qemu/lab"
	"tprouter/qemu/labproc"
	"tprouter/services/dhcp6c/client"
	"tprouter/services/internal/statefile"
)

// These tests run dhcp6c on the lab router's WAN link against Debian's
// kea-dhcp6 in the server namespace, with real packets on the veth.

func TestMain(m *testing.M) { os.Exit(labproc.Run(m)) }

func build(t *testing.T) string {
	return labproc.Build(t, "tprouter/services/dhcp6c")["dhcp6c"]
}

// TestUsage checks the command line; it needs no root.
func TestUsage(t *testing.T) {
	labproc.CheckUsage(t, build(t), []string{"-bogus"}, []string{"-pd-len", "65"}, []string{"-pd-len", "0"},
		[]string{"-max-solicit", "0s"}, []string{"-iface", ""}, []string{"extra"})
}

// waitState polls the state file for up to within until ok accepts it.
func waitState(t *testing.T, path string, within time.Duration, what string, ok func(client.State) bool) client.State {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var s client.State
		err := statefile.Read(path, &s)
		if err == nil && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("state file %s: no %s within %v (last: %+v, %v)", path, what, within, s, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var (
	poolAPrefix = netip.MustParsePrefix("2001:db8:100::/40")
	poolBPrefix = netip.MustParsePrefix("2001:db8:200::/40")
	poolB       = labproc.KeaPool{Prefix: "2001:db8:200::", Valid: 20, T1: 5, T2: 8, AddrPool: "2001:db8:2::200-2001:db8:2::2ff"}
)

func in(pool netip.Prefix) func(client.State) bool {
	return func(s client.State) bool {
		return len(s.Prefixes) == 1 && pool.Contains(s.Prefixes[0].Prefix.Addr()) && s.Prefixes[0].Prefix.Bits() == 56
	}
}

func withdrawn(s client.State, p netip.Prefix) bool {
	return slices.ContainsFunc(s.Withdrawn, func(w client.Withdrawn) bool { return w.Prefix == p })
}

// TestPD: the router gets a /56 of the pool and an address, keeps them at
// renewal, moves to a new prefix when the server delegates from another
// pool (the old one withdrawn), and asks for its prefix again after a
// restart, which a fresh server honours.
func TestPD(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{Unaddressed: true})
	labproc.RequireKea(t)
	dhcp6c := build(t)
	state := filepath.Join(t.TempDir(), "lease.json")
	args := []string{"-iface", lab.RouterWAN, "-state", state, "-na", "-v"}
	// The client brings wan0 up, as at boot: the server's link has no
	// carrier before.
	cli := labproc.Start(t, l.Router, dhcp6c, args...)
	cli.WaitLog(t, "bringing wan0 up", 5*time.Second)
	k := labproc.StartKea(t, l, labproc.KeaPoolA)
	first := waitState(t, state, 20*time.Second, "prefix of "+poolAPrefix.String(), in(poolAPrefix))

	if first.DUID != "00030001"+strings.ReplaceAll(lab.RouterWANMAC, ":", "") {
		t.Errorf("DUID %s, want DUID-LL of %s", first.DUID, lab.RouterWANMAC)
	}
	if len(first.DNS) != 1 || first.DNS[0] != lab.ServerV6 {
		t.Errorf("dns %v, want [%s]", first.DNS, lab.ServerV6)
	}
	if d := first.Prefixes[0].Valid.Sub(first.Start); d != 20*time.Second {
		t.Errorf("valid lifetime %v, want 20s", d)
	}
	if d := first.T1.Sub(first.Start); d != 5*time.Second {
		t.Errorf("T1 %v after the start, want 5s", d)
	}
	if len(first.Addrs) != 1 || !lab.WANv6.Contains(first.Addrs[0].Addr) {
		t.Fatalf("addresses %v, want one of %s", first.Addrs, lab.WANv6)
	}
	na := first.Addrs[0].Addr.String() + "/128"
	if a := l.Router.IP(t, "-6", "addr", "show", "dev", lab.RouterWAN); !strings.Contains(a, "inet6 "+na) {
		t.Errorf("wan0 lacks %s:\n%s", na, a)
	}
	pd := first.Prefixes[0].Prefix
	t.Logf("delegated %s, address %s", pd, na)

	t.Log("waiting for the renewal at T1 = 5 s")
	renewed := waitState(t, state, 15*time.Second, "renewal", func(s client.State) bool { return s.Start.After(first.Start) })
	if len(renewed.Prefixes) != 1 || renewed.Prefixes[0].Prefix != pd || len(renewed.Withdrawn) != 0 {
		t.Errorf("after renewal: prefixes %v, withdrawn %v; want %s alone", renewed.Prefixes, renewed.Withdrawn, pd)
	}
	cli.WaitLog(t, "renewed", time.Second)

	t.Log("kea restarted with another pool and no leases")
	k.Restart(t, poolB)
	moved := waitState(t, state, 30*time.Second, "prefix of "+poolBPrefix.String(), in(poolBPrefix))
	if !withdrawn(moved, pd) {
		t.Errorf("after the move to %s: withdrawn %v, want %s", moved.Prefixes[0].Prefix, moved.Withdrawn, pd)
	}
	if moved.Last != moved.Prefixes[0].Prefix {
		t.Errorf("last %s, want %s", moved.Last, moved.Prefixes[0].Prefix)
	}
	cli.WaitLog(t, "prefix "+pd.String()+" withdrawn", time.Second)
	pdB := moved.Prefixes[0].Prefix

	t.Log("the client restarted with its state")
	if os.Getenv("DHCP6C_LOG") != "" {
		t.Log(cli.Log())
	}
	cli.Stop(t)
	cli = labproc.Start(t, l.Router, dhcp6c, args...)
	cli.WaitLog(t, "asking for "+pdB.String()+" again", 5*time.Second)
	again := waitState(t, state, 20*time.Second, "binding after the restart", func(s client.State) bool { return s.Start.After(moved.Start) })
	if len(again.Prefixes) != 1 || again.Prefixes[0].Prefix != pdB || again.DUID != first.DUID {
		t.Errorf("after a client restart: %v, DUID %s; want %s, DUID %s", again.Prefixes, again.DUID, pdB, first.DUID)
	}

	if os.Getenv("DHCP6C_LOG") != "" {
		t.Log(cli.Log())
	}
	// A fresh server (no leases) gives the prefix hinted at, not the
	// first of its pool: the state as a reboot finds it on /perm, with
	// a prefix that is not the pool's first.
	cli.Stop(t)
	hint := netip.MustParsePrefix("2001:db8:200:4200::/56")
	again.Prefixes, again.Last = []client.Prefix{}, hint
	if err := statefile.Write(state, again); err != nil {
		t.Fatal(err)
	}
	k.Restart(t, poolB)
	cli = labproc.Start(t, l.Router, dhcp6c, args...)
	hinted := waitState(t, state, 20*time.Second, "binding after the reboot", func(s client.State) bool { return len(s.Prefixes) > 0 })
	if os.Getenv("DHCP6C_LOG") != "" {
		t.Log(cli.Log())
	}
	if hinted.Prefixes[0].Prefix != hint {
		t.Errorf("fresh server with the hint %s: got %v", hint, hinted.Prefixes)
	}
}

// TestExpiry: with the server gone, the client renews, rebinds, and when
// the prefix's valid lifetime ends it withdraws it, removes the address,
// keeps the DUID and the last prefix, and goes on soliciting.
func TestExpiry(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{Unaddressed: true})
	labproc.RequireKea(t)
	dhcp6c := build(t)
	state := filepath.Join(t.TempDir(), "lease.json")
	cli := labproc.Start(t, l.Router, dhcp6c, "-iface", lab.RouterWAN, "-state", state, "-na")
	k := labproc.StartKea(t, l, labproc.KeaPoolA)
	got := waitState(t, state, 20*time.Second, "prefix", in(poolAPrefix))
	pd := got.Prefixes[0].Prefix
	k.Kill()

	t.Logf("kea killed; %s is valid until %s", pd, got.Prefixes[0].Valid.Format(time.TimeOnly))
	within := time.Until(got.Prefixes[0].Valid) + 5*time.Second
	cli.WaitLog(t, "prefix "+pd.String()+" expired", within)
	s := waitState(t, state, 2*time.Second, "expiry", func(s client.State) bool { return len(s.Prefixes) == 0 })
	if !withdrawn(s, pd) || s.Last != pd || s.DUID != got.DUID || len(s.Addrs) != 0 {
		t.Errorf("after expiry: %+v; want %s withdrawn and last, the DUID kept, no address", s, pd)
	}
	if a := l.Router.IP(t, "-6", "addr", "show", "dev", lab.RouterWAN); strings.Contains(a, got.Addrs[0].Addr.String()) {
		t.Errorf("wan0 still has %s after expiry:\n%s", got.Addrs[0].Addr, a)
	}
	for _, want := range []string{"RENEW of", "REBIND of"} {
		if !strings.Contains(cli.Log(), want) {
			t.Errorf("client log lacks %q", want)
		}
	}
	if !cli.Running() {
		t.Errorf("client exited after expiry; it should keep soliciting")
	}
}

// TestUnprivileged runs dhcp6c as init does: its own user with
// CAP_NET_BIND_SERVICE alone, on a WAN link it cannot bring up itself
// (dhcp4c does that on the router, here the test a moment later).
func TestUnprivileged(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{Unaddressed: true})
	labproc.RequireKea(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		lab.Unavailable(t, "setpriv (util-linux): "+err.Error())
	}
	dhcp6c := build(t)
	dir := t.TempDir()
	// The test's own directory is root's, 0700: let uid 3546 through.
	if err := errors.Join(os.Chmod(filepath.Dir(dir), 0o755), os.Chown(dir, 3546, 3546)); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "lease.json")
	cli := labproc.Start(t, l.Router, setpriv, "--reuid=3546", "--regid=3546", "--clear-groups",
		"--inh-caps=-all,+net_bind_service", "--ambient-caps=-all,+net_bind_service", "--bounding-set=-all,+net_bind_service",
		dhcp6c, "-iface", lab.RouterWAN, "-state", state)
	cli.WaitLog(t, "waiting for the link to come up", 5*time.Second)
	l.Router.IP(t, "link", "set", lab.RouterWAN, "up")
	labproc.StartKea(t, l, labproc.KeaPoolA)
	got := waitState(t, state, 20*time.Second, "prefix", in(poolAPrefix))
	if len(got.Addrs) != 0 {
		t.Errorf("addresses %v without -na", got.Addrs)
	}
}
