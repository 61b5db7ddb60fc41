package server

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func mac(i int) string { return fmt.Sprintf("02:00:00:00:aa:%02x", i) }

func mustPool(t *testing.T, self string) *Pool {
	t.Helper()
	p, err := NewPool(netip.MustParsePrefix(self))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// bind offers and binds an address to m for an hour, as DORA does.
func bind(t *testing.T, p *Pool, m string, now time.Time) netip.Addr {
	t.Helper()
	a, ok := p.Offer(m, netip.Addr{}, now, time.Minute)
	if !ok {
		t.Fatalf("Offer(%s): pool full", m)
	}
	if !p.Bind(m, a, "", now, now.Add(time.Hour)) {
		t.Fatalf("Bind(%s, %s) refused the offered address", m, a)
	}
	return a
}

func TestPoolRange(t *testing.T) {
	for _, tc := range []struct {
		self, first, last string
	}{
		{"192.168.1.1/24", "192.168.1.1", "192.168.1.254"},
		{"192.0.2.130/25", "192.0.2.129", "192.0.2.254"},
		{"192.0.2.1/30", "192.0.2.1", "192.0.2.2"},
		{"10.0.0.1/8", "10.0.0.1", "10.1.0.0"}, // capped at maxPool addresses
	} {
		p := mustPool(t, tc.self)
		first, last := p.Range()
		if first.String() != tc.first || last.String() != tc.last {
			t.Errorf("NewPool(%s).Range() = %s-%s, want %s-%s", tc.self, first, last, tc.first, tc.last)
		}
		if p.Contains(netip.MustParsePrefix(tc.self).Addr()) {
			t.Errorf("NewPool(%s) contains the router's own address", tc.self)
		}
	}
	for _, bad := range []string{"192.0.2.1/31", "192.0.2.1/32", "2001:db8::1/64"} {
		if _, err := NewPool(netip.MustParsePrefix(bad)); err == nil {
			t.Errorf("NewPool(%s) succeeded, want error", bad)
		}
	}
}

func TestPoolStablePerMAC(t *testing.T) {
	p := mustPool(t, "192.0.2.1/24")
	a := bind(t, p, mac(1), t0)
	if a != netip.MustParseAddr("192.0.2.2") {
		t.Errorf("first address = %s, want 192.0.2.2 (the router has .1)", a)
	}
	b := bind(t, p, mac(2), t0)
	if a == b {
		t.Fatalf("two MACs got %s", a)
	}
	// Released and expired, the address still goes back to its MAC, and
	// another MAC gets a fresh address instead.
	if !p.Release(mac(1), a, t0.Add(time.Minute)) {
		t.Fatal("Release refused")
	}
	later := t0.Add(48 * time.Hour)
	if c := bind(t, p, mac(3), later); c == a || c == b {
		t.Errorf("new MAC got %s, which belongs to an expired lease while the pool has free addresses", c)
	}
	if got := bind(t, p, mac(1), later); got != a {
		t.Errorf("returning MAC got %s, want its old %s", got, a)
	}
	// The requested address is honoured when nobody held it.
	want := netip.MustParseAddr("192.0.2.77")
	if got, _ := p.Offer(mac(4), want, t0, time.Minute); got != want {
		t.Errorf("Offer with requested %s = %s", want, got)
	}
	// ...but not when it is someone else's.
	if got, _ := p.Offer(mac(5), b, t0, time.Minute); got == b {
		t.Errorf("Offer gave %s's address %s to %s", mac(2), b, mac(5))
	}
	if p.Bind(mac(5), b, "", t0, t0.Add(time.Hour)) {
		t.Errorf("Bind(%s, %s) succeeded, but %s holds it", mac(5), b, mac(2))
	}
	if p.Bind(mac(5), netip.MustParseAddr("198.51.100.7"), "", t0, t0.Add(time.Hour)) {
		t.Error("Bind of an address outside the subnet succeeded")
	}
}

func TestPoolExhaustion(t *testing.T) {
	p := mustPool(t, "192.0.2.1/29") // .2 to .6: five addresses
	seen := map[netip.Addr]bool{}
	for i := range 5 {
		a := bind(t, p, mac(i), t0)
		if seen[a] {
			t.Fatalf("%s handed out twice", a)
		}
		seen[a] = true
	}
	if a, ok := p.Offer(mac(9), netip.Addr{}, t0, time.Minute); ok {
		t.Fatalf("full pool offered %s", a)
	}
	// Outstanding offers hold addresses too.
	p2 := mustPool(t, "192.0.2.1/30") // .2 only
	if _, ok := p2.Offer(mac(1), netip.Addr{}, t0, time.Minute); !ok {
		t.Fatal("empty pool offered nothing")
	}
	if a, ok := p2.Offer(mac(2), netip.Addr{}, t0, time.Minute); ok {
		t.Fatalf("second client was offered %s while it is offered to the first", a)
	}
	if _, ok := p2.Offer(mac(2), netip.Addr{}, t0.Add(2*time.Minute), time.Minute); !ok {
		t.Fatal("expired offer still holds the address")
	}
}

func TestPoolExpiredReuse(t *testing.T) {
	p := mustPool(t, "192.0.2.1/29")
	var addrs []netip.Addr
	for i := range 5 {
		now := t0.Add(time.Duration(i) * time.Minute)
		addrs = append(addrs, bind(t, p, mac(i), now))
	}
	// All five expire; the one that expired first is reused first.
	later := t0.Add(3 * time.Hour)
	a, ok := p.Offer(mac(9), netip.Addr{}, later, time.Minute)
	if !ok || a != addrs[0] {
		t.Fatalf("Offer on a full pool of expired leases = %s, %v; want %s (expired longest ago)", a, ok, addrs[0])
	}
	if !p.Bind(mac(9), a, "", later, later.Add(time.Hour)) {
		t.Fatal("Bind refused the offered address")
	}
	// Its former owner now gets another expired address, not its own.
	if b := bind(t, p, mac(0), later); b == a {
		t.Errorf("former owner got %s back though %s holds it", b, mac(9))
	}
}

func TestPoolDecline(t *testing.T) {
	p := mustPool(t, "192.0.2.1/29")
	a := bind(t, p, mac(1), t0)
	if !p.Decline(mac(1), a, t0, 10*time.Minute) {
		t.Fatal("Decline refused")
	}
	if b := bind(t, p, mac(1), t0); b == a {
		t.Errorf("declined %s offered again", a)
	}
	if b, _ := p.Offer(mac(2), a, t0.Add(5*time.Minute), time.Minute); b == a {
		t.Errorf("quarantined %s offered", a)
	}
	if b, _ := p.Offer(mac(3), a, t0.Add(11*time.Minute), time.Minute); b != a {
		t.Errorf("after the quarantine, Offer(requested %s) = %s", a, b)
	}
}

func TestPoolLoad(t *testing.T) {
	p := mustPool(t, "192.0.2.1/24")
	dropped := p.Load([]Lease{
		{MAC: mac(1), Addr: netip.MustParseAddr("192.0.2.10"), Expiry: t0},
		{MAC: mac(2), Addr: netip.MustParseAddr("198.51.100.10"), Expiry: t0}, // other subnet
		{MAC: mac(3), Addr: netip.MustParseAddr("192.0.2.1"), Expiry: t0},     // the router
		{MAC: mac(4), Addr: netip.MustParseAddr("192.0.2.10"), Expiry: t0.Add(-time.Hour)},
	})
	if len(dropped) != 3 {
		t.Errorf("Load dropped %v, want the three bad leases", dropped)
	}
	if got := p.Leases(); len(got) != 1 || got[0].MAC != mac(1) {
		t.Errorf("Leases() = %v", got)
	}
}
