package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tprouter/qemu/lab"
	"tprouter/qemu/labproc"
	"tprouter/services/dhcp4c/client"
	"tprouter/services/dhcp4d/server"
	"tprouter/services/internal/statefile"
)

// The lab tests of the server with dhcp4c as the peer live in
// services/dhcp4c; this one is about the server following its link.

func TestMain(m *testing.M) { os.Exit(labproc.Run(m)) }

// TestAddrChange: the router's LAN address changes from 192.0.2.1/24 to
// 198.51.100.1/24 while dhcp4d runs. Without a restart, the server drops
// the old subnet's lease (from its file too), and the client, refused at
// its rebinding, gets an address in the new subnet with the new router.
func TestAddrChange(t *testing.T) {
	t.Parallel()
	s := startServer(t, "8s")
	r, c, srv, leases, state := s.lab.Router, s.lab.Client, s.srv, s.leases, s.state
	labproc.Start(t, c, s.bins["dhcp4c"], "-iface", lab.ClientIf, "-state", state)
	old := waitLease(t, state, 15*time.Second, netip.MustParsePrefix("192.0.2.0/24"))

	t.Logf("client has %s; moving the router to 198.51.100.1/24", old.Address)
	r.IP(t, "addr", "del", "192.0.2.1/24", "dev", lab.RouterLAN)
	r.IP(t, "addr", "add", "198.51.100.1/24", "dev", lab.RouterLAN)
	srv.WaitLog(t, "serving 198.51.100.1-198.51.100.254 as 198.51.100.1/24, 0 leases kept", 5*time.Second)
	srv.WaitLog(t, "dropping lease", time.Second)
	var f struct{ Leases []server.Lease }
	if err := statefile.Read(leases, &f); err != nil || len(f.Leases) != 0 {
		t.Errorf("lease file after the change: %+v, %v; want no leases", f.Leases, err)
	}

	// Renewal (unicast to the old address) fails, rebinding at T2 = 7 s
	// gets a NAK (or, when the client misses it, the lease runs out at
	// 8 s), and the client starts over in the new subnet.
	newNet := netip.MustParsePrefix("198.51.100.0/24")
	got := waitLease(t, state, 20*time.Second, newNet)
	gw := netip.MustParseAddr("198.51.100.1")
	if got.Prefix != newNet || got.Router != gw || got.Server != gw || len(got.DNS) != 1 || got.DNS[0] != gw {
		t.Errorf("new lease %+v: want a host of %s with router, server and DNS %s", got, newNet, gw)
	}
	if out := c.IP(t, "-4", "route", "show", "default"); !strings.Contains(out, "default via 198.51.100.1") {
		t.Errorf("client default route after the change:\n%s", out)
	}
	if err := statefile.Read(leases, &f); err != nil || len(f.Leases) != 1 || f.Leases[0].Addr != got.Address {
		t.Errorf("lease file: %+v, %v; want the one lease of %s", f.Leases, err, got.Address)
	}

	// Without an address the server answers nothing; with one again,
	// it serves that subnet.
	r.IP(t, "addr", "flush", "dev", lab.RouterLAN)
	srv.WaitLog(t, "not answering until there is one", 5*time.Second)
	r.IP(t, "addr", "add", "192.0.2.1/24", "dev", lab.RouterLAN)
	srv.WaitLog(t, "serving 192.0.2.1-192.0.2.254 as 192.0.2.1/24", 5*time.Second)
}

// TestLinkFlap: the router's LAN link goes down and up while dhcp4d
// runs. Without a restart, the server answers the client's next renewal,
// and a client that lost its state (a new DISCOVER, broadcast) is offered
// the address it had: the lease went on across the flap.
func TestLinkFlap(t *testing.T) {
	t.Parallel()
	s := startServer(t, "6s")
	r, c, srv, state, bins := s.lab.Router, s.lab.Client, s.srv, s.state, s.bins
	cl := labproc.Start(t, c, bins["dhcp4c"], "-iface", lab.ClientIf, "-state", state)
	lan := netip.MustParsePrefix("192.0.2.0/24")
	had := waitLease(t, state, 15*time.Second, lan)

	r.IP(t, "link", "set", lab.RouterLAN, "down")
	time.Sleep(time.Second)
	r.IP(t, "link", "set", lab.RouterLAN, "up")
	renewed := "renewed " + had.Address.String()
	before := strings.Count(cl.Log(), renewed)
	// T1 is 3 s: a renewal within two of them, unless the server is deaf.
	for deadline := time.Now().Add(8 * time.Second); strings.Count(cl.Log(), renewed) == before; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no renewal answered after the flap:\nclient:\n%s\nserver:\n%s", cl.Log(), srv.Log())
		}
	}

	cl.Stop(t)
	if err := os.Remove(state); err != nil {
		t.Fatal(err)
	}
	labproc.Start(t, c, bins["dhcp4c"], "-iface", lab.ClientIf, "-state", state)
	if got := waitLease(t, state, 15*time.Second, lan); got.Address != had.Address {
		t.Errorf("after the flap the client was offered %s, want its lease %s", got.Address, had.Address)
	}
}

// rig is a lab whose router serves 192.0.2.0/24 on its LAN link with
// dhcp4d, and the files of its test.
type rig struct {
	lab           *lab.Lab
	bins          map[string]string
	srv           *labproc.Proc
	leases, state string // dhcp4d's leases, a dhcp4c's state
}

// startServer starts dhcp4d with leases of the given length on the
// router's LAN link, as 192.0.2.1/24.
func startServer(t *testing.T, lease string) rig {
	t.Helper()
	l := lab.New(t, lab.Options{Unaddressed: true})
	bins := labproc.Build(t, "tprouter/services/dhcp4c", "tprouter/services/dhcp4d")
	l.Router.IP(t, "link", "set", lab.RouterLAN, "up")
	l.Router.IP(t, "addr", "add", "192.0.2.1/24", "dev", lab.RouterLAN)
	dir := t.TempDir()
	s := rig{lab: l, bins: bins, leases: filepath.Join(dir, "dhcp4d.json"), state: filepath.Join(dir, "dhcp4c.json")}
	s.srv = labproc.Start(t, l.Router, bins["dhcp4d"], "-iface", lab.RouterLAN, "-leases", s.leases, "-lease", lease)
	s.srv.WaitLog(t, "serving 192.0.2.1-192.0.2.254 on lan0", 5*time.Second)
	return s
}

// waitLease polls dhcp4c's state file until its address is in want.
func waitLease(t *testing.T, path string, within time.Duration, want netip.Prefix) client.Lease {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var l client.Lease
		err := statefile.Read(path, &l)
		if err == nil && want.Contains(l.Address) {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("state file %s: no lease in %s within %v (last: %+v, %v)", path, want, within, l, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
