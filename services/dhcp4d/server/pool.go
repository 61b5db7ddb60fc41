package server

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// A Lease binds a client's hardware address to an address. Expired leases
// are kept: they let a returning client get its old address back.
type Lease struct {
	MAC      string     `json:"mac"`
	Addr     netip.Addr `json:"addr"`
	Hostname string     `json:"hostname,omitempty"`
	Expiry   time.Time  `json:"expiry"`
}

func (l *Lease) expired(now time.Time) bool { return !now.Before(l.Expiry) }

// maxPool bounds the number of addresses a pool scans, so a huge LAN prefix
// (a /8) cannot make every DISCOVER walk millions of addresses.
const maxPool = 1 << 16

// Pool hands out the addresses of one subnet. It keeps at most one lease
// per MAC and one per address. Pool is not safe for concurrent use.
type Pool struct {
	first, last netip.Addr // inclusive range of assignable addresses
	self        netip.Addr // the router's own address, never assigned

	byMAC    map[string]*Lease
	byAddr   map[netip.Addr]*Lease
	declined map[netip.Addr]time.Time // address → end of its quarantine
}

// NewPool returns the pool of a LAN whose router has the address self,
// e.g. 192.168.1.1/24: every host address of the prefix except self.
func NewPool(self netip.Prefix) (*Pool, error) {
	if !self.Addr().Is4() || self.Bits() > 30 {
		return nil, fmt.Errorf("NewPool(%s): want an IPv4 prefix of /30 or shorter", self)
	}
	first := self.Masked().Addr().Next() // skip the network address
	last := first
	for n := 1; n < maxPool; n++ {
		next := last.Next()
		// Stop before the broadcast address, the last of the prefix.
		if !self.Contains(next.Next()) {
			break
		}
		last = next
	}
	return &Pool{
		first:    first,
		last:     last,
		self:     self.Addr(),
		byMAC:    make(map[string]*Lease),
		byAddr:   make(map[netip.Addr]*Lease),
		declined: make(map[netip.Addr]time.Time),
	}, nil
}

// Range returns the first and last address of the pool.
func (p *Pool) Range() (first, last netip.Addr) { return p.first, p.last }

// Contains reports whether a can be assigned at all.
func (p *Pool) Contains(a netip.Addr) bool {
	return a.Is4() && a != p.self && p.first.Compare(a) <= 0 && a.Compare(p.last) <= 0
}

// usable reports whether a may be given to mac now: it is in the pool, not
// quarantined, and bound to nobody else (not even by an expired lease).
func (p *Pool) usable(mac string, a netip.Addr, now time.Time) bool {
	if !p.Contains(a) {
		return false
	}
	if until, ok := p.declined[a]; ok && now.Before(until) {
		return false
	}
	l := p.byAddr[a]
	return l == nil || l.MAC == mac
}

// Offer picks an address for mac and reserves it until now+hold, so two
// clients that DISCOVER at once are not offered the same address. The
// choice, in order: mac's own lease, even an expired one; the address the
// client asked for if nobody ever held it; the lowest address nobody ever
// held; the address whose lease expired longest ago. It returns false when
// the pool is full.
func (p *Pool) Offer(mac string, want netip.Addr, now time.Time, hold time.Duration) (netip.Addr, bool) {
	if l := p.byMAC[mac]; l != nil && p.usable(mac, l.Addr, now) {
		if l.Expiry.Before(now.Add(hold)) {
			l.Expiry = now.Add(hold)
		}
		return l.Addr, true
	}
	a, ok := netip.Addr{}, false
	if want.IsValid() && p.usable(mac, want, now) {
		a, ok = want, true
	}
	for b := p.first; !ok && b.Compare(p.last) <= 0; b = b.Next() {
		if p.usable(mac, b, now) {
			a, ok = b, true
		}
	}
	if !ok {
		// Full: take over the lease that expired longest ago.
		var oldest *Lease
		for _, l := range p.byAddr {
			if l.expired(now) && (oldest == nil || l.Expiry.Before(oldest.Expiry)) {
				if until, q := p.declined[l.Addr]; !q || !now.Before(until) {
					oldest = l
				}
			}
		}
		if oldest == nil {
			return netip.Addr{}, false
		}
		a = oldest.Addr
		delete(p.byMAC, oldest.MAC)
		delete(p.byAddr, a)
	}
	p.put(&Lease{MAC: mac, Addr: a, Expiry: now.Add(hold)})
	return a, true
}

// Bind gives a to mac until the given time, as the answer to a REQUEST. It
// returns false, and the server answers NAK, when a is not mac's to have.
func (p *Pool) Bind(mac string, a netip.Addr, hostname string, now, until time.Time) bool {
	if !p.usable(mac, a, now) {
		return false
	}
	l := &Lease{MAC: mac, Addr: a, Hostname: hostname, Expiry: until}
	if old := p.byMAC[mac]; old != nil && old.Hostname != "" && hostname == "" {
		l.Hostname = old.Hostname
	}
	p.put(l)
	return true
}

// Release ends mac's lease on a now. The lease is kept, expired, so that mac
// gets a again next time.
func (p *Pool) Release(mac string, a netip.Addr, now time.Time) bool {
	l := p.byMAC[mac]
	if l == nil || l.Addr != a {
		return false
	}
	if l.Expiry.After(now) {
		l.Expiry = now
	}
	return true
}

// Decline records that a client found a already in use on the link (RFC 2131
// section 3.1.5): the address is quarantined for hold and mac's binding to it
// is dropped, so its next DISCOVER yields another address.
func (p *Pool) Decline(mac string, a netip.Addr, now time.Time, hold time.Duration) bool {
	if !p.Contains(a) {
		return false
	}
	if l := p.byMAC[mac]; l != nil && l.Addr == a {
		delete(p.byMAC, mac)
		delete(p.byAddr, a)
	}
	p.declined[a] = now.Add(hold)
	return true
}

// put stores l, replacing any other lease of its MAC and of its address.
func (p *Pool) put(l *Lease) {
	if old := p.byMAC[l.MAC]; old != nil {
		delete(p.byAddr, old.Addr)
	}
	if old := p.byAddr[l.Addr]; old != nil {
		delete(p.byMAC, old.MAC)
	}
	p.byMAC[l.MAC] = l
	p.byAddr[l.Addr] = l
}

// Leases returns a copy of all leases, ordered by address.
func (p *Pool) Leases() []Lease {
	ls := make([]Lease, 0, len(p.byAddr))
	for _, l := range p.byAddr {
		ls = append(ls, *l)
	}
	slices.SortFunc(ls, func(a, b Lease) int { return a.Addr.Compare(b.Addr) })
	return ls
}

// Load adds leases read from disk. Leases that do not fit the pool (the LAN
// prefix changed) are dropped and returned; of two leases for one MAC or one
// address, the one that expires later wins.
func (p *Pool) Load(ls []Lease) (dropped []Lease) {
	for _, l := range ls {
		if !p.Contains(l.Addr) || l.MAC == "" {
			dropped = append(dropped, l)
			continue
		}
		if o := p.byMAC[l.MAC]; o != nil && o.Expiry.After(l.Expiry) {
			dropped = append(dropped, l)
			continue
		}
		if o := p.byAddr[l.Addr]; o != nil && o.Expiry.After(l.Expiry) {
			dropped = append(dropped, l)
			continue
		}
		p.put(&l)
	}
	return dropped
}
