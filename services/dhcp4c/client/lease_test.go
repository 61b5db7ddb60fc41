package client

import (
	"net"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/vishvananda/netlink"
)

func ackWith(t *testing.T, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	m, err := dhcpv4.New(append([]dhcpv4.Modifier{
		dhcpv4.WithMessageType(dhcpv4.MessageTypeAck),
		dhcpv4.WithYourIP(net.IPv4(198, 51, 100, 10)),
	}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func lt(d time.Duration) dhcpv4.Modifier {
	return dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(d))
}

func t1(d time.Duration) dhcpv4.Modifier {
	return dhcpv4.WithGeneric(dhcpv4.OptionRenewTimeValue, dhcpv4.Duration(d).ToBytes())
}

func t2(d time.Duration) dhcpv4.Modifier {
	return dhcpv4.WithGeneric(dhcpv4.OptionRebindingTimeValue, dhcpv4.Duration(d).ToBytes())
}

func TestTimers(t *testing.T) {
	const h = time.Hour
	for _, tc := range []struct {
		name            string
		mods            []dhcpv4.Modifier
		lease, wt1, wt2 time.Duration
	}{
		{"all given", []dhcpv4.Modifier{lt(8 * h), t1(2 * h), t2(3 * h)}, 8 * h, 2 * h, 3 * h},
		{"only lease time", []dhcpv4.Modifier{lt(8 * h)}, 8 * h, 4 * h, 7 * h},
		{"no lease time", nil, h, h / 2, h * 7 / 8},
		{"zero lease time", []dhcpv4.Modifier{lt(0)}, h, h / 2, h * 7 / 8},
		{"T2 beyond lease", []dhcpv4.Modifier{lt(8 * h), t2(9 * h)}, 8 * h, 4 * h, 7 * h},
		{"T1 beyond T2", []dhcpv4.Modifier{lt(8 * h), t1(5 * h), t2(4 * h)}, 8 * h, 2 * h, 4 * h},
		{"T2 below lease/2", []dhcpv4.Modifier{lt(8 * h), t2(2 * h)}, 8 * h, h, 2 * h},
		{"short test lease", []dhcpv4.Modifier{lt(20 * time.Second)}, 20 * time.Second, 10 * time.Second, 17500 * time.Millisecond},
		{"infinite", []dhcpv4.Modifier{lt(Infinite)}, Infinite, Infinite / 2, Infinite - Infinite/8},
	} {
		lease, gt1, gt2 := Timers(ackWith(t, tc.mods...))
		if lease != tc.lease || gt1 != tc.wt1 || gt2 != tc.wt2 {
			t.Errorf("%s: Timers = %v, %v, %v; want %v, %v, %v", tc.name, lease, gt1, gt2, tc.lease, tc.wt1, tc.wt2)
		}
		if !(0 < gt1 && gt1 < gt2 && gt2 < lease) {
			t.Errorf("%s: want 0 < T1 < T2 < lease, got %v, %v, %v", tc.name, gt1, gt2, lease)
		}
	}
}

func TestNewLease(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ack := ackWith(t, lt(time.Hour),
		dhcpv4.WithNetmask(net.CIDRMask(24, 32)),
		dhcpv4.WithRouter(net.IPv4(198, 51, 100, 1)),
		dhcpv4.WithDNS(net.IPv4(198, 51, 100, 53), net.IPv4(198, 51, 100, 54)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(198, 51, 100, 2))),
	)
	l, err := newLease(ack, start)
	if err != nil {
		t.Fatal(err)
	}
	if l.Address.String() != "198.51.100.10" || l.Prefix.String() != "198.51.100.0/24" ||
		l.Router.String() != "198.51.100.1" || len(l.DNS) != 2 || l.Server.String() != "198.51.100.2" {
		t.Errorf("newLease = %+v", l)
	}
	if !l.T1.Equal(start.Add(30*time.Minute)) || !l.Expiry.Equal(start.Add(time.Hour)) {
		t.Errorf("T1 %s, expiry %s; want start+30m, start+1h", l.T1, l.Expiry)
	}
	if got := l.lifetime(start.Add(59*time.Minute + 30500*time.Millisecond)); got != 30 {
		t.Errorf("lifetime 29.5 s before expiry = %d s, want 30 (rounded up)", got)
	}
	if got := l.lifetime(start.Add(2 * time.Hour)); got != 1 {
		t.Errorf("lifetime after expiry = %d s, want 1 (the kernel's least)", got)
	}

	// No subnet mask: a /32 with the router on-link.
	l, err = newLease(ackWith(t, lt(time.Hour), dhcpv4.WithRouter(net.IPv4(203, 0, 113, 1))), start)
	if err != nil {
		t.Fatal(err)
	}
	k := kernel{link: &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Index: 7, Name: "wan0"}}}
	if r := k.route(l); l.Prefix.Bits() != 32 || r.Flags&int(netlink.FLAG_ONLINK) == 0 {
		t.Errorf("maskless lease: prefix %s, route flags %#x; want /32 and onlink", l.Prefix, r.Flags)
	}

	l, err = newLease(ackWith(t, lt(Infinite)), start)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.lifetime(start.Add(100 * 24 * time.Hour)); got != 0 {
		t.Errorf("infinite lease: lifetime %d, want 0 (forever)", got)
	}
	if _, err := newLease(ackWith(t, dhcpv4.WithYourIP(net.IPv4zero)), start); err == nil {
		t.Error("newLease of an ACK without yiaddr succeeded")
	}
}
