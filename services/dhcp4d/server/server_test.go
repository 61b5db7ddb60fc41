package server

import (
	"io"
	"log"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

var (
	self   = netip.MustParsePrefix("192.0.2.1/24")
	hwA    = net.HardwareAddr{2, 0, 0, 0, 0xaa, 1}
	hwB    = net.HardwareAddr{2, 0, 0, 0, 0xaa, 2}
	quiet  = log.New(io.Discard, "", 0)
	selfIP = net.IP(self.Addr().AsSlice())
)

func newServer(t *testing.T, path string, now *time.Time) *Server {
	t.Helper()
	s, err := New(Config{Addr: self, Lease: time.Hour, Path: path}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return *now }
	return s
}

func msg(t *testing.T, typ dhcpv4.MessageType, hw net.HardwareAddr, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	m, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(hw), dhcpv4.WithMessageType(typ)}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// dora runs DISCOVER, OFFER, REQUEST, ACK for hw and returns the ACK.
func dora(t *testing.T, s *Server, hw net.HardwareAddr) *dhcpv4.DHCPv4 {
	t.Helper()
	offer := s.Reply(msg(t, dhcpv4.MessageTypeDiscover, hw))
	if offer == nil || offer.MessageType() != dhcpv4.MessageTypeOffer {
		t.Fatalf("DISCOVER from %s: got %v, want OFFER", hw, offer)
	}
	req, err := dhcpv4.NewRequestFromOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	ack := s.Reply(req)
	if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("REQUEST from %s: got %v, want ACK", hw, ack)
	}
	return ack
}

func TestReplyOptions(t *testing.T) {
	now := t0
	s := newServer(t, "", &now)
	ack := dora(t, s, hwA)
	if !self.Masked().Contains(addr(ack.YourIPAddr)) || ack.YourIPAddr.Equal(selfIP) {
		t.Errorf("yiaddr %s: want a host of %s other than the router", ack.YourIPAddr, self.Masked())
	}
	if ones, _ := ack.SubnetMask().Size(); ones != 24 {
		t.Errorf("subnet mask /%d, want /24", ones)
	}
	for name, got := range map[string][]net.IP{"router": ack.Router(), "dns": ack.DNS(), "server id": {ack.ServerIdentifier()}} {
		if len(got) != 1 || !got[0].Equal(selfIP) {
			t.Errorf("%s = %v, want [%s]", name, got, selfIP)
		}
	}
	if lt := ack.IPAddressLeaseTime(0); lt != time.Hour {
		t.Errorf("lease time %v, want 1h", lt)
	}
	if t1, t2 := ack.IPAddressRenewalTime(0), ack.IPAddressRebindingTime(0); t1 != 30*time.Minute || t2 != 52*time.Minute+30*time.Second {
		t.Errorf("T1, T2 = %v, %v; want 30m, 52m30s", t1, t2)
	}
	if dst := destination(msg(t, dhcpv4.MessageTypeDiscover, hwA), ack); !dst.IP.Equal(net.IPv4bcast) || dst.Port != 68 {
		t.Errorf("reply to a client without address goes to %s, want broadcast :68", dst)
	}

	// Configured DNS servers replace the default.
	dns := []netip.Addr{netip.MustParseAddr("198.51.100.53"), netip.MustParseAddr("198.51.100.54")}
	s2, err := New(Config{Addr: self, Lease: time.Hour, DNS: dns}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if got := dora(t, s2, hwA).DNS(); len(got) != 2 || !got[1].Equal(net.IP(dns[1].AsSlice())) {
		t.Errorf("dns = %v, want %v", got, dns)
	}
}

func TestReplyRequestStates(t *testing.T) {
	now := t0
	s := newServer(t, "", &now)
	ack := dora(t, s, hwA)
	yi := ack.YourIPAddr

	for _, tc := range []struct {
		name string
		m    *dhcpv4.DHCPv4
		want dhcpv4.MessageType // 0: no reply
	}{
		{"SELECTING another server", msg(t, dhcpv4.MessageTypeRequest, hwB,
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(192, 0, 2, 99))),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 50)))), 0},
		{"RENEWING own address", msg(t, dhcpv4.MessageTypeRequest, hwA, dhcpv4.WithClientIP(yi)), dhcpv4.MessageTypeAck},
		{"RENEWING another client's address", msg(t, dhcpv4.MessageTypeRequest, hwB, dhcpv4.WithClientIP(yi)), dhcpv4.MessageTypeNak},
		{"INIT-REBOOT own address", msg(t, dhcpv4.MessageTypeRequest, hwA,
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(yi))), dhcpv4.MessageTypeAck},
		{"INIT-REBOOT from another network", msg(t, dhcpv4.MessageTypeRequest, hwB,
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(198, 51, 100, 7)))), dhcpv4.MessageTypeNak},
		{"INIT-REBOOT free address unknown to the server", msg(t, dhcpv4.MessageTypeRequest, hwB,
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 60)))), dhcpv4.MessageTypeAck},
		{"SELECTING the router's address", msg(t, dhcpv4.MessageTypeRequest, hwB,
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(selfIP)),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(selfIP))), dhcpv4.MessageTypeNak},
		{"no address at all", msg(t, dhcpv4.MessageTypeRequest, hwB), 0},
	} {
		resp := s.Reply(tc.m)
		switch {
		case tc.want == 0 && resp != nil:
			t.Errorf("%s: got %s, want no reply", tc.name, resp.MessageType())
		case tc.want != 0 && resp == nil:
			t.Errorf("%s: no reply, want %s", tc.name, tc.want)
		case tc.want != 0 && resp.MessageType() != tc.want:
			t.Errorf("%s: got %s, want %s", tc.name, resp.MessageType(), tc.want)
		case resp != nil && resp.MessageType() == dhcpv4.MessageTypeNak:
			if dst := destination(tc.m, resp); !dst.IP.Equal(net.IPv4bcast) {
				t.Errorf("%s: NAK goes to %s, want broadcast", tc.name, dst)
			}
		case resp != nil && !tc.m.ClientIPAddr.IsUnspecified():
			if dst := destination(tc.m, resp); !dst.IP.Equal(yi) || dst.Port != 68 {
				t.Errorf("%s: reply goes to %s, want %s:68 (unicast to ciaddr)", tc.name, dst, yi)
			}
		}
	}

	// INFORM: configuration without an address or lease.
	inf := s.Reply(msg(t, dhcpv4.MessageTypeInform, hwB, dhcpv4.WithClientIP(net.IPv4(192, 0, 2, 200))))
	if inf == nil || inf.MessageType() != dhcpv4.MessageTypeAck || !inf.YourIPAddr.IsUnspecified() ||
		inf.Options.Has(dhcpv4.OptionIPAddressLeaseTime) || len(inf.Router()) != 1 {
		t.Errorf("INFORM: got %v, want ACK with router and no address or lease time", inf)
	}

	// RELEASE keeps the binding for the MAC but ends it.
	s.Reply(msg(t, dhcpv4.MessageTypeRelease, hwA, dhcpv4.WithClientIP(yi), dhcpv4.WithOption(dhcpv4.OptServerIdentifier(selfIP))))
	for _, l := range s.Leases() {
		if l.Addr == addr(yi) && l.Expiry.After(now) {
			t.Errorf("after RELEASE, lease %v has not ended", l)
		}
	}
	if again := dora(t, s, hwA); !again.YourIPAddr.Equal(yi) {
		t.Errorf("after RELEASE, %s got %s, want %s again", hwA, again.YourIPAddr, yi)
	}

	// DECLINE moves the client to another address.
	s.Reply(msg(t, dhcpv4.MessageTypeDecline, hwA, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(yi)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(selfIP))))
	if again := dora(t, s, hwA); again.YourIPAddr.Equal(yi) {
		t.Errorf("after DECLINE of %s, it was handed out again", yi)
	}
}

// TestLeasesPersist checks that leases survive a new Server on the same file.
func TestLeasesPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leases.json")
	now := t0
	s := newServer(t, path, &now)
	a := dora(t, s, hwA).YourIPAddr
	req := dhcpv4.WithOption(dhcpv4.OptHostName("laptop"))
	m := msg(t, dhcpv4.MessageTypeRequest, hwA, dhcpv4.WithClientIP(a), req)
	if r := s.Reply(m); r == nil || r.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("RENEW: got %v", r)
	}

	s2 := newServer(t, path, &now)
	got := s2.Leases()
	if len(got) != 1 || got[0].MAC != hwA.String() || got[0].Addr != addr(a) ||
		got[0].Hostname != "laptop" || !got[0].Expiry.Equal(now.Add(time.Hour)) {
		t.Fatalf("leases after restart = %+v, want %s → %s (laptop) until %s", got, hwA, a, now.Add(time.Hour))
	}
	// Another MAC does not get the address; its owner does.
	if b := dora(t, s2, hwB).YourIPAddr; b.Equal(a) {
		t.Errorf("after restart, %s got %s which %s holds", hwB, b, hwA)
	}
	if again := dora(t, s2, hwA).YourIPAddr; !again.Equal(a) {
		t.Errorf("after restart, %s got %s, want %s", hwA, again, a)
	}
}
