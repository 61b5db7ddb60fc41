package client

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

// binding is what a REPLY (or an ADVERTISE) grants, counted from start.
type binding struct {
	prefixes []Prefix
	addrs    []Addr
	dns      []netip.Addr
	t1, t2   time.Time
	serverID string
}

// statusError is a status code other than Success, of the message or of
// one of its IAs.
type statusError struct {
	where string
	code  iana.StatusCode
	msg   string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s status %s (%q)", e.where, e.code, e.msg)
}

func status(where string, s *dhcpv6.OptStatusCode) error {
	if s == nil || s.StatusCode == iana.StatusSuccess {
		return nil
	}
	return &statusError{where, s.StatusCode, s.StatusMessage}
}

// offeredPrefixes are the prefixes of m's IA_PD with a valid lifetime
// (section 18.2.10.1 discards those whose preferred lifetime exceeds the
// valid one); the lifetimes are stored as durations from the zero time.
func offeredPrefixes(m *dhcpv6.Message) []Prefix {
	var ps []Prefix
	for _, ia := range m.Options.IAPD() {
		if ia.IaId != iaidPD {
			continue
		}
		for _, o := range ia.Options.Prefixes() {
			p, ok := prefix(o)
			if !ok || o.ValidLifetime == 0 || o.PreferredLifetime > o.ValidLifetime {
				continue
			}
			ps = append(ps, Prefix{Prefix: p, Preferred: time.Time{}.Add(o.PreferredLifetime), Valid: time.Time{}.Add(o.ValidLifetime)})
		}
	}
	return ps
}

func prefix(o *dhcpv6.OptIAPrefix) (netip.Prefix, bool) {
	if o.Prefix == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(o.Prefix.IP.To16())
	bits, _ := o.Prefix.Mask.Size()
	if !ok || bits == 0 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, bits).Masked(), true
}

// grant reads what reply grants, counted from start. It fails on a status
// other than Success of the message or of an IA the client asked for, and
// when the reply has no prefix (and, with -na, no address).
func (c *Client) grant(reply *dhcpv6.Message, start time.Time) (*binding, error) {
	if err := status(reply.MessageType.String(), reply.Options.Status()); err != nil {
		return nil, err
	}
	b := &binding{dns: []netip.Addr{}}
	if sid := reply.Options.ServerID(); sid != nil {
		b.serverID = fmt.Sprintf("%x", sid.ToBytes())
	}
	var t1, t2 []time.Duration
	var shortest time.Duration = Infinite
	for _, ia := range reply.Options.IAPD() {
		if ia.IaId != iaidPD {
			continue
		}
		if err := status("IA_PD", ia.Options.Status()); err != nil {
			return nil, err
		}
		t1, t2 = append(t1, ia.T1), append(t2, ia.T2)
	}
	for _, p := range offeredPrefixes(reply) {
		shortest = min(shortest, p.Preferred.Sub(time.Time{}))
		p.Preferred, p.Valid = start.Add(p.Preferred.Sub(time.Time{})), start.Add(p.Valid.Sub(time.Time{}))
		b.prefixes = append(b.prefixes, p)
	}
	if c.na {
		na, s, err := c.grantNA(reply, start)
		if err != nil {
			c.logf("no address: %v", err) // the prefix is what matters
		}
		b.addrs = na
		if s > 0 {
			shortest = min(shortest, s)
		}
		if ia := reply.Options.OneIANA(); ia != nil && len(na) > 0 {
			t1, t2 = append(t1, ia.T1), append(t2, ia.T2)
		}
	}
	if len(b.prefixes) == 0 {
		return nil, fmt.Errorf("%s delegates no prefix", reply.MessageType)
	}
	for _, d := range reply.Options.DNS() {
		if a, ok := netip.AddrFromSlice(d); ok && a.Is6() && !a.IsUnspecified() {
			b.dns = append(b.dns, a)
		}
	}
	d1, d2 := timers(t1, t2, shortest)
	b.t1, b.t2 = start.Add(d1), start.Add(d2)
	return b, nil
}

// grantNA reads reply's IA_NA: its addresses and their shortest
// preferred lifetime.
func (c *Client) grantNA(reply *dhcpv6.Message, start time.Time) ([]Addr, time.Duration, error) {
	ia := reply.Options.OneIANA()
	if ia == nil {
		return nil, 0, fmt.Errorf("no IA_NA in %s", reply.MessageType)
	}
	if err := status("IA_NA", ia.Options.Status()); err != nil {
		return nil, 0, err
	}
	var as []Addr
	shortest := Infinite
	for _, o := range ia.Options.Addresses() {
		a, ok := netip.AddrFromSlice(o.IPv6Addr)
		if !ok || o.ValidLifetime == 0 || o.PreferredLifetime > o.ValidLifetime {
			continue
		}
		shortest = min(shortest, o.PreferredLifetime)
		as = append(as, Addr{Addr: a, Preferred: start.Add(o.PreferredLifetime), Valid: start.Add(o.ValidLifetime)})
	}
	return as, shortest, nil
}

// timers picks the earliest T1 and T2 of the IAs; where the server left
// them to the client (0), T1 = 0.5 and T2 = 0.8 times the shortest
// preferred lifetime (section 21.4), with T1 < T2 kept.
func timers(t1s, t2s []time.Duration, shortest time.Duration) (t1, t2 time.Duration) {
	t1, t2 = Infinite, Infinite
	for _, t := range t1s {
		if t > 0 {
			t1 = min(t1, t)
		}
	}
	for _, t := range t2s {
		if t > 0 {
			t2 = min(t2, t)
		}
	}
	if t1 == Infinite && shortest < Infinite {
		t1 = shortest / 2
	}
	if t2 == Infinite && shortest < Infinite {
		t2 = shortest * 4 / 5
	}
	if t1 > t2 {
		t1 = t2 / 2
	}
	return max(t1, time.Second), max(t2, 2*time.Second)
}
