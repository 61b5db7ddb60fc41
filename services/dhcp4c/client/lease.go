package client

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Lease is an acquired DHCPv4 lease, as written to the state file for the
// rest of the firmware (DNS servers, NAT and TPROXY rules that follow the
// WAN address) and for the next start of the client.
type Lease struct {
	Iface   string       `json:"iface"`
	HWAddr  string       `json:"hwaddr"`
	Address netip.Addr   `json:"address"`
	Prefix  netip.Prefix `json:"prefix"` // the subnet, e.g. 198.51.100.0/24
	Router  netip.Addr   `json:"router,omitzero"`
	DNS     []netip.Addr `json:"dns"`
	Server  netip.Addr   `json:"server,omitzero"` // server identifier

	// Start is when the REQUEST that got the lease was sent; the lease
	// times count from it (RFC 2131 section 4.4.1).
	Start  time.Time `json:"start"`
	T1     time.Time `json:"t1"` // renew (unicast to Server)
	T2     time.Time `json:"t2"` // rebind (broadcast)
	Expiry time.Time `json:"expiry"`

	// ACK is the server's DHCPACK, from which a restarted client renews.
	ACK []byte `json:"ack"`
}

// Infinite is the lease time that never expires (RFC 2131 section 3.3).
const Infinite = 0xffffffff * time.Second

// defaultLease is assumed when an ACK lacks the lease time, which RFC 2131
// requires of it: short enough that a wrong guess is corrected soon.
const defaultLease = time.Hour

// Timers returns the lease time and the renewal (T1) and rebinding (T2)
// times of ack. Missing or inconsistent values get the defaults of RFC 2131
// section 4.4.5, T1 = lease/2 and T2 = 7/8 lease, such that
// 0 < T1 < T2 < lease holds for any lease of 2 s and more.
func Timers(ack *dhcpv4.DHCPv4) (lease, t1, t2 time.Duration) {
	lease = ack.IPAddressLeaseTime(defaultLease)
	if lease <= 0 {
		lease = defaultLease
	}
	t2 = ack.IPAddressRebindingTime(0)
	if t2 <= 0 || t2 >= lease {
		t2 = lease - lease/8 // 7/8, without overflow for Infinite
	}
	t1 = ack.IPAddressRenewalTime(0)
	if t1 <= 0 || t1 >= t2 {
		t1 = lease / 2
		if t1 >= t2 {
			t1 = t2 / 2
		}
	}
	return lease, t1, t2
}

// newLease reads the lease that ack grants, counted from start.
func newLease(ack *dhcpv4.DHCPv4, start time.Time) (*Lease, error) {
	if ack.MessageType() != dhcpv4.MessageTypeAck {
		return nil, fmt.Errorf("got %s, want ACK", ack.MessageType())
	}
	a := addr(ack.YourIPAddr)
	if !a.IsValid() || !a.IsGlobalUnicast() {
		return nil, fmt.Errorf("ACK from %s assigns no usable address (yiaddr %s)", ack.ServerIdentifier(), ack.YourIPAddr)
	}
	// Without a subnet mask the address is alone on its link and the
	// router is reached with an on-link route.
	bits := 32
	if m := ack.SubnetMask(); m != nil {
		if ones, size := m.Size(); size == 32 && ones > 0 {
			bits = ones
		}
	}
	l := &Lease{
		Address: a,
		Prefix:  netip.PrefixFrom(a, bits).Masked(),
		Server:  addr(ack.ServerIdentifier()),
		DNS:     []netip.Addr{},
		Start:   start,
		ACK:     ack.ToBytes(),
	}
	for _, r := range ack.Router() {
		if r := addr(r); r.IsValid() && !r.IsUnspecified() && r != a {
			l.Router = r
			break
		}
	}
	for _, d := range ack.DNS() {
		if d := addr(d); d.IsValid() && !d.IsUnspecified() {
			l.DNS = append(l.DNS, d)
		}
	}
	lease, t1, t2 := Timers(ack)
	l.T1, l.T2, l.Expiry = start.Add(t1), start.Add(t2), start.Add(lease)
	return l, nil
}

// lifetime returns the remaining lifetime of l at now for the kernel, in
// whole seconds rounded up; 0 means forever, as netlink takes it.
func (l *Lease) lifetime(now time.Time) int {
	if l.Expiry.Sub(l.Start) >= Infinite {
		return 0
	}
	left := l.Expiry.Sub(now)
	return max(1, int((left+time.Second-1)/time.Second))
}

func addr(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip.To4())
	if !ok {
		return netip.Addr{}
	}
	return a
}
