package ra

import (
	"io"
	"log"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

var li = linkInfo{
	hw:  net.HardwareAddr{2, 0, 0, 0, 1, 1},
	mtu: 1500,
	addrs: []netip.Prefix{
		netip.MustParsePrefix("2001:db8:1::1/64"),
		netip.MustParsePrefix("2001:db8:1::2/64"), // same /64: advertised once
		netip.MustParsePrefix("fd00:1::1/64"),
	},
}

func newTest(rdnss ...netip.Addr) *Advertiser {
	return New(Config{Iface: "lan0", RDNSS: rdnss}, log.New(io.Discard, "", 0))
}

// roundTrip marshals and parses ra, as a host would see it.
func roundTrip(t *testing.T, ra *ndp.RouterAdvertisement) *ndp.RouterAdvertisement {
	t.Helper()
	b, err := ndp.MarshalMessage(ra)
	if err != nil {
		t.Fatalf("MarshalMessage: %v", err)
	}
	m, err := ndp.ParseMessage(b)
	if err != nil {
		t.Fatalf("ParseMessage: %v", err)
	}
	return m.(*ndp.RouterAdvertisement)
}

func TestAdvertisement(t *testing.T) {
	ra := roundTrip(t, newTest().advertisement(li, RouterLifetime))
	if ra.RouterLifetime != 1800*time.Second || ra.CurrentHopLimit != 64 || ra.ManagedConfiguration || ra.OtherConfiguration {
		t.Errorf("header: lifetime %v, hop limit %d, M %v, O %v", ra.RouterLifetime, ra.CurrentHopLimit, ra.ManagedConfiguration, ra.OtherConfiguration)
	}
	var prefixes []string
	var lla net.HardwareAddr
	var mtu uint32
	var dns []netip.Addr
	for _, o := range ra.Options {
		switch o := o.(type) {
		case *ndp.PrefixInformation:
			if !o.OnLink || !o.AutonomousAddressConfiguration || o.ValidLifetime < o.PreferredLifetime || o.PreferredLifetime == 0 {
				t.Errorf("prefix %s: flags L=%v A=%v, lifetimes %v/%v", o.Prefix, o.OnLink, o.AutonomousAddressConfiguration, o.ValidLifetime, o.PreferredLifetime)
			}
			prefixes = append(prefixes, netip.PrefixFrom(o.Prefix, int(o.PrefixLength)).String())
		case *ndp.LinkLayerAddress:
			if o.Direction == ndp.Source {
				lla = o.Addr
			}
		case *ndp.MTU:
			mtu = o.MTU
		case *ndp.RecursiveDNSServer:
			dns = o.Servers
			if o.Lifetime < maxInterval {
				t.Errorf("RDNSS lifetime %v shorter than the advertising interval", o.Lifetime)
			}
		}
	}
	if len(prefixes) != 2 || prefixes[0] != "2001:db8:1::/64" || prefixes[1] != "fd00:1::/64" {
		t.Errorf("prefixes %v, want [2001:db8:1::/64 fd00:1::/64]", prefixes)
	}
	if lla.String() != li.hw.String() || mtu != 1500 {
		t.Errorf("source link-layer %s, MTU %d; want %s, 1500", lla, mtu, li.hw)
	}
	if len(dns) != 1 || dns[0] != netip.MustParseAddr("2001:db8:1::1") {
		t.Errorf("RDNSS %v, want the router's own [2001:db8:1::1]", dns)
	}

	want := []netip.Addr{netip.MustParseAddr("2001:db8:53::1"), netip.MustParseAddr("2001:db8:53::2")}
	for _, o := range roundTrip(t, newTest(want...).advertisement(li, 0)).Options {
		if r, ok := o.(*ndp.RecursiveDNSServer); ok && (len(r.Servers) != 2 || r.Servers[1] != want[1]) {
			t.Errorf("configured RDNSS: %v, want %v", r.Servers, want)
		}
	}

	if ra := newTest().advertisement(linkInfo{hw: li.hw, mtu: 1500}, RouterLifetime); ra != nil {
		t.Errorf("link without prefixes: got %+v, want no advertisement", ra)
	}
}

func TestInterval(t *testing.T) {
	a := newTest()
	for _, r := range []float64{0, 0.5, 0.999} {
		a.rand = func(n time.Duration) time.Duration { return time.Duration(float64(n) * r) }
		for sent := 1; sent < 6; sent++ {
			d := a.interval(sent)
			switch {
			case sent < initialAdverts && d != maxInitialInterval:
				t.Errorf("interval after RA %d (rand %v) = %v, want %v", sent, r, d, maxInitialInterval)
			case sent >= initialAdverts && (d < minInterval || d >= maxInterval):
				t.Errorf("interval after RA %d (rand %v) = %v, want in [%v, %v)", sent, r, d, minInterval, maxInterval)
			}
		}
	}
	// The real source averages about 200 s.
	a = newTest()
	var sum time.Duration
	for range 1000 {
		sum += a.interval(initialAdverts)
	}
	if avg := sum / 1000; avg < 180*time.Second || avg > 220*time.Second {
		t.Errorf("average interval %v, want about 200s", avg)
	}
}

func TestValidSolicitation(t *testing.T) {
	ll := netip.MustParseAddr("fe80::1")
	withLLA := &ndp.RouterSolicitation{Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: li.hw}}}
	for _, tc := range []struct {
		name string
		rs   *ndp.RouterSolicitation
		hop  int
		src  netip.Addr
		want bool
	}{
		{"from a host", withLLA, 255, ll, true},
		{"routed (hop limit below 255)", withLLA, 254, ll, false},
		{"unspecified source without option", &ndp.RouterSolicitation{}, 255, netip.IPv6Unspecified(), true},
		{"unspecified source with link-layer option", withLLA, 255, netip.IPv6Unspecified(), false},
	} {
		if got := validSolicitation(tc.rs, &ipv6.ControlMessage{HopLimit: tc.hop}, tc.src); got != tc.want {
			t.Errorf("%s: valid = %v, want %v", tc.name, got, tc.want)
		}
	}
}
