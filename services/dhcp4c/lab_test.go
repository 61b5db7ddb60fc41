package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tprouter/qemu/lab"
	"tprouter/qemu/labproc"
	"tprouter/services/dhcp4c/client"
	"tprouter/services/internal/statefile"
)

// These tests run dhcp4c against dhcp4d as real processes in the lab's
// namespaces, with real packets on veth links.

func TestMain(m *testing.M) { os.Exit(labproc.Run(m)) }

func build(t *testing.T) (dhcp4c, dhcp4d string) {
	bins := labproc.Build(t, "tprouter/services/dhcp4c", "tprouter/services/dhcp4d")
	return bins["dhcp4c"], bins["dhcp4d"]
}

// waitState polls the state file for up to within until ok accepts it.
func waitState(t *testing.T, path string, within time.Duration, what string, ok func(client.Lease) bool) client.Lease {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var l client.Lease
		err := statefile.Read(path, &l)
		if err == nil && ok(l) {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("state file %s: no %s within %v (last: %+v, %v)", path, what, within, l, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitIP polls `ip args` in ns for up to within until out satisfies ok.
func waitIP(t *testing.T, ns *lab.NS, within time.Duration, what string, ok func(out string) bool, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		out := ns.IP(t, args...)
		if ok(out) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("in %s: ip %s: no %s within %v; got:\n%s", ns.Name, strings.Join(args, " "), what, within, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestUsage checks the command lines of both programs; it needs no root.
func TestUsage(t *testing.T) {
	dhcp4c, dhcp4d := build(t)
	labproc.CheckUsage(t, dhcp4c, []string{"-bogus"}, []string{"-iface"}, []string{"extra"})
	labproc.CheckUsage(t, dhcp4d, []string{"-bogus"}, []string{"-lease", "0s"}, []string{"-lease", "soon"},
		[]string{"-dns", "2001:db8::1"}, []string{"-dns", "192.0.2.1,"})
}

func hasAddr(l client.Lease) bool { return l.Address.IsValid() }

// TestLAN: a LAN client gets an address, route and DNS server from the
// router, renews at T1, keeps its address across a restart of either
// program, and the server's leases survive its restart.
func TestLAN(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{Unaddressed: true})
	dhcp4c, dhcp4d := build(t)
	const macA, macB = "02:00:00:00:03:01", "02:00:00:00:03:02"
	l.Client.IP(t, "link", "set", lab.ClientIf, "address", macA)
	l.Router.IP(t, "link", "set", lab.RouterLAN, "up")
	l.Router.IP(t, "addr", "add", lab.RouterLANv4.String(), "dev", lab.RouterLAN)
	dir := t.TempDir()
	leases, state := filepath.Join(dir, "dhcp4d.json"), filepath.Join(dir, "dhcp4c.json")
	serverArgs := []string{"-iface", lab.RouterLAN, "-leases", leases, "-lease", "20s"}
	clientArgs := []string{"-iface", lab.ClientIf, "-state", state}

	srv := labproc.Start(t, l.Router, dhcp4d, serverArgs...)
	srv.WaitLog(t, "serving 192.0.2.1-192.0.2.254 on lan0", 5*time.Second)
	cli := labproc.Start(t, l.Client, dhcp4c, clientArgs...)
	first := waitState(t, state, 15*time.Second, "lease", hasAddr)

	gw := lab.RouterLANv4.Addr()
	if !lab.LANv4.Contains(first.Address) || first.Address == gw || first.Prefix != lab.LANv4 {
		t.Errorf("leased %s in %s, want a host of %s other than the router", first.Address, first.Prefix, lab.LANv4)
	}
	if first.Router != gw || len(first.DNS) != 1 || first.DNS[0] != gw || first.Server != gw {
		t.Errorf("router %s, dns %v, server %s; want %s for all", first.Router, first.DNS, first.Server, gw)
	}
	if d := first.Expiry.Sub(first.Start); d != 20*time.Second {
		t.Errorf("lease time %v, want 20s", d)
	}
	cidr := fmt.Sprintf("%s/24", first.Address)
	addrs := l.Client.IP(t, "-4", "addr", "show", "dev", lab.ClientIf)
	if !strings.Contains(addrs, "inet "+cidr) || strings.Contains(addrs, "valid_lft forever") {
		t.Errorf("client addresses: want %s with a finite lifetime, got:\n%s", cidr, addrs)
	}
	route := l.Client.IP(t, "-4", "route", "show", "default")
	if !strings.Contains(route, "default via 192.0.2.1 dev eth0 proto dhcp") {
		t.Errorf("client default route: want via 192.0.2.1 proto dhcp, got:\n%s", route)
	}

	t.Log("waiting for the renewal at T1 = 10 s")
	renewed := waitState(t, state, 20*time.Second, "renewal", func(l client.Lease) bool { return l.Start.After(first.Start) })
	if renewed.Address != first.Address {
		t.Errorf("renewal changed the address from %s to %s", first.Address, renewed.Address)
	}
	cli.WaitLog(t, "renewed "+first.Address.String(), time.Second)
	if a := l.Client.IP(t, "-4", "addr", "show", "dev", lab.ClientIf); !strings.Contains(a, "inet "+cidr) {
		t.Errorf("after renewal the client lost %s:\n%s", cidr, a)
	}

	// A restarted client keeps its address: it does not release on
	// SIGTERM and asks for the saved lease again (INIT-REBOOT).
	cli.Stop(t)
	if a := l.Client.IP(t, "-4", "addr", "show", "dev", lab.ClientIf); !strings.Contains(a, "inet "+cidr) {
		t.Errorf("client released %s on SIGTERM:\n%s", cidr, a)
	}
	cli = labproc.Start(t, l.Client, dhcp4c, clientArgs...)
	cli.WaitLog(t, "INIT-REBOOT", 5*time.Second)
	rebooted := waitState(t, state, 10*time.Second, "confirmed lease", func(l client.Lease) bool { return l.Start.After(renewed.Start) })
	if rebooted.Address != first.Address {
		t.Errorf("after a client restart: %s, want %s", rebooted.Address, first.Address)
	}
	cli.Stop(t)

	// Restart the server: its leases survive, so another MAC gets another
	// address and the first MAC its own again, each by a fresh DISCOVER.
	srv.Stop(t)
	srv = labproc.Start(t, l.Router, dhcp4d, serverArgs...)
	srv.WaitLog(t, "1 leases loaded", 5*time.Second)
	fresh := func(mac string) netip.Addr {
		t.Helper()
		l.Client.IP(t, "addr", "flush", "dev", lab.ClientIf)
		if err := os.Remove(state); err != nil {
			t.Fatal(err)
		}
		l.Client.IP(t, "link", "set", lab.ClientIf, "address", mac)
		c := labproc.Start(t, l.Client, dhcp4c, clientArgs...)
		got := waitState(t, state, 15*time.Second, "lease for "+mac, hasAddr)
		c.Stop(t)
		return got.Address
	}
	if b := fresh(macB); b == first.Address {
		t.Errorf("after a server restart, %s got %s, which %s holds", macB, b, macA)
	}
	if a := fresh(macA); a != first.Address {
		t.Errorf("after a server restart, %s got %s, want its %s", macA, a, first.Address)
	}
}

// TestWAN: the router's own WAN link, down and unaddressed as at boot,
// gets its address and default route from a DHCP server upstream, and the
// router reaches the server from that address.
func TestWAN(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{Unaddressed: true})
	dhcp4c, dhcp4d := build(t)
	l.Server.IP(t, "addr", "add", lab.ServerV4.String()+"/24", "dev", lab.ServerIf)
	dir := t.TempDir()
	state := filepath.Join(dir, "dhcp4c.json")
	srv := labproc.Start(t, l.Server, dhcp4d, "-iface", lab.ServerIf, "-leases", filepath.Join(dir, "dhcp4d.json"), "-lease", "1h")
	srv.WaitLog(t, "serving", 5*time.Second)
	cli := labproc.Start(t, l.Router, dhcp4c, "-iface", lab.RouterWAN, "-state", state)
	cli.WaitLog(t, "bringing wan0 up", 5*time.Second)
	lease := waitState(t, state, 15*time.Second, "lease", hasAddr)

	if !lab.WANv4.Contains(lease.Address) || lease.Router != lab.ServerV4 || len(lease.DNS) != 1 || lease.DNS[0] != lab.ServerV4 {
		t.Errorf("WAN lease %+v: want an address in %s via %s, dns %s", lease, lab.WANv4, lab.ServerV4, lab.ServerV4)
	}
	if a := l.Router.IP(t, "-4", "addr", "show", "dev", lab.RouterWAN); !strings.Contains(a, fmt.Sprintf("inet %s/24", lease.Address)) {
		t.Errorf("wan0 addresses: want %s/24, got:\n%s", lease.Address, a)
	}
	if r := l.Router.IP(t, "-4", "route", "show", "default"); !strings.Contains(r, "default via 198.51.100.2 dev wan0 proto dhcp") {
		t.Errorf("router default route: want via 198.51.100.2 dev wan0 proto dhcp, got:\n%s", r)
	}

	l.Server.ServeHTTP(t, ":80", lab.EchoAddr)
	resp, err := l.Router.HTTPClient().Get("http://198.51.100.2/")
	if err != nil {
		t.Fatalf("router → server over the leased address: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if host, _, _ := net.SplitHostPort(string(body)); host != lease.Address.String() {
		t.Errorf("server saw the router as %q, want %s", body, lease.Address)
	}
}

// TestExpiry: when the server is gone, the client's lease runs out and the
// client removes the address, the route and the state file, and keeps
// looking for a server.
func TestExpiry(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{Unaddressed: true})
	dhcp4c, dhcp4d := build(t)
	l.Router.IP(t, "link", "set", lab.RouterLAN, "up")
	l.Router.IP(t, "addr", "add", lab.RouterLANv4.String(), "dev", lab.RouterLAN)
	dir := t.TempDir()
	state := filepath.Join(dir, "dhcp4c.json")
	srv := labproc.Start(t, l.Router, dhcp4d, "-iface", lab.RouterLAN, "-leases", filepath.Join(dir, "dhcp4d.json"), "-lease", "12s")
	srv.WaitLog(t, "serving", 5*time.Second)
	cli := labproc.Start(t, l.Client, dhcp4c, "-iface", lab.ClientIf, "-state", state)
	lease := waitState(t, state, 15*time.Second, "lease", hasAddr)
	cidr := fmt.Sprintf("inet %s/24", lease.Address)
	if r := l.Client.IP(t, "-4", "route", "show", "default"); !strings.Contains(r, "proto dhcp") {
		t.Fatalf("no DHCP default route:\n%s", r)
	}
	srv.Kill()

	t.Logf("server killed; the lease of %s ends at %s", lease.Address, lease.Expiry.Format(time.TimeOnly))
	within := time.Until(lease.Expiry) + 5*time.Second
	cli.WaitLog(t, "expired", within)
	waitIP(t, l.Client, 2*time.Second, "removal of "+lease.Address.String(),
		func(out string) bool { return !strings.Contains(out, cidr) }, "-4", "addr", "show", "dev", lab.ClientIf)
	waitIP(t, l.Client, 2*time.Second, "removal of the default route",
		func(out string) bool { return strings.TrimSpace(out) == "" }, "-4", "route", "show", "default")
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("state file after expiry: %v, want it removed", err)
	}
	for _, want := range []string{"RENEW of " + lease.Address.String(), "REBIND of " + lease.Address.String()} {
		if !strings.Contains(cli.Log(), want) {
			t.Errorf("client log lacks %q", want)
		}
	}
	if !cli.Running() {
		t.Errorf("client exited after expiry; it should keep looking for a server")
	}
}
