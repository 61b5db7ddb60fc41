package ra

import (
	"net/netip"
	"testing"
	"time"

	"github.com/mdlayher/ndp"
)

// TestDeprecate: a prefix that leaves the link is advertised with zero
// lifetimes beside its replacement, for deprecateFor, and not at all once
// it comes back; a link left with no prefix advertises router lifetime 0.
func TestDeprecate(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	a := newTest()
	a.now = func() time.Time { return now }
	oldP, newP := netip.MustParsePrefix("2001:db8:1::/64"), netip.MustParsePrefix("2001:db8:7::/64")
	linkWith := func(addrs ...string) linkInfo {
		l := linkInfo{hw: li.hw, mtu: 1500}
		for _, s := range addrs {
			l.addrs = append(l.addrs, netip.MustParsePrefix(s))
		}
		return l
	}
	lifetimes := func(l linkInfo) (map[netip.Prefix][2]time.Duration, time.Duration) {
		a.track(l.prefixes(), now)
		ra := a.advertisement(l, RouterLifetime)
		if ra == nil {
			return nil, -1
		}
		got := map[netip.Prefix][2]time.Duration{}
		for _, o := range roundTrip(t, ra).Options {
			if p, ok := o.(*ndp.PrefixInformation); ok {
				got[netip.PrefixFrom(p.Prefix, int(p.PrefixLength))] = [2]time.Duration{p.ValidLifetime, p.PreferredLifetime}
			}
		}
		return got, ra.RouterLifetime
	}
	normal := [2]time.Duration{validLifetime, preferredLifetime}

	if got, _ := lifetimes(linkWith("2001:db8:1::1/64")); len(got) != 1 || got[oldP] != normal {
		t.Fatalf("before the change: %v", got)
	}
	now = now.Add(time.Minute)
	got, rl := lifetimes(linkWith("2001:db8:7::1/64"))
	if len(got) != 2 || got[newP] != normal || got[oldP] != [2]time.Duration{} || rl != RouterLifetime {
		t.Errorf("after the change: %v, router lifetime %v; want %s normal, %s with 0/0", got, rl, newP, oldP)
	}
	now = now.Add(deprecateFor - time.Second)
	if got, _ := lifetimes(linkWith("2001:db8:7::1/64")); len(got) != 2 {
		t.Errorf("just before deprecateFor: %v, want both", got)
	}
	now = now.Add(time.Second)
	if got, _ := lifetimes(linkWith("2001:db8:7::1/64")); len(got) != 1 || got[newP] != normal {
		t.Errorf("after deprecateFor: %v, want only %s", got, newP)
	}

	// Gone, then back: advertised normally again.
	lifetimes(linkWith())
	if got, _ := lifetimes(linkWith("2001:db8:7::1/64")); len(got) != 1 || got[newP] != normal {
		t.Errorf("prefix back: %v", got)
	}
	// No prefix left: zero lifetimes, router lifetime 0.
	if got, rl := lifetimes(linkWith()); len(got) != 1 || got[newP] != [2]time.Duration{} || rl != 0 {
		t.Errorf("no prefix left: %v, router lifetime %v; want %s 0/0 and router lifetime 0", got, rl, newP)
	}

	// The number kept is bounded.
	for i := range 3 * maxGone {
		now = now.Add(time.Second)
		lifetimes(linkWith(netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(i + 16)}), 64).String()))
	}
	if n := len(a.deprecated(now)); n != maxGone {
		t.Errorf("%d deprecated prefixes kept, want %d", n, maxGone)
	}
}

// TestDelegatedLifetimes: a prefix whose router address expires is not
// advertised for longer than that address has left.
func TestDelegatedLifetimes(t *testing.T) {
	p := netip.MustParsePrefix("2001:db8:1::/64")
	l := linkInfo{addrs: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::1/64")},
		lft: map[netip.Prefix]lifetime{p: {valid: time.Hour, preferred: 30 * time.Minute}}}
	if v, pr := l.lifetimes(p); v != time.Hour || pr != 30*time.Minute {
		t.Errorf("lifetimes %v/%v, want 1h/30m", v, pr)
	}
	l.lft[p] = lifetime{valid: 48 * time.Hour, preferred: 48 * time.Hour}
	if v, pr := l.lifetimes(p); v != validLifetime || pr != preferredLifetime {
		t.Errorf("lifetimes %v/%v, want the defaults", v, pr)
	}
}
