package server

import (
	"context"
	"net"
	"net/netip"

	"tprouter/services/internal/linkwatch"
)

// Follow keeps s on the IPv4 address of the link named iface until ctx
// is done: on each change of the link it re-reads the address and calls
// SetAddr, so a changed LAN address needs no restart of the server.
func (s *Server) Follow(ctx context.Context, iface string) {
	for range linkwatch.Watch(ctx, iface, s.logf) {
		if ctx.Err() != nil {
			return
		}
		p, err := LinkAddr(iface)
		if err != nil {
			p = netip.Prefix{} // no address: pause
		}
		s.SetAddr(p)
	}
}

// SetAddr moves the server to the router address p. A new subnet gives a
// new pool: leases outside it are dropped (and the lease file rewritten
// without them), so they are never handed out again; quarantined addresses
// are forgotten. The zero Prefix pauses the server, which then answers
// nothing, keeping its leases for the address that comes next.
func (s *Server) SetAddr(p netip.Prefix) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == s.cfg.Addr {
		return
	}
	if !p.IsValid() {
		s.logf("no IPv4 address on the link: not answering until there is one")
		s.cfg.Addr = p
		return
	}
	pool, err := NewPool(p)
	if err != nil {
		s.logf("ignoring link address: %v", err)
		return
	}
	for _, l := range pool.Load(s.pool.Leases()) {
		s.logf("dropping lease %s → %s: outside %s", l.MAC, l.Addr, p)
	}
	s.pool, s.cfg.Addr, s.self = pool, p, net.IP(p.Addr().AsSlice())
	if s.defaultDNS {
		s.cfg.DNS = []netip.Addr{p.Addr()}
	}
	s.save() // before the line below, which tests wait for
	first, last := pool.Range()
	s.logf("serving %s-%s as %s, %d leases kept", first, last, p, len(pool.Leases()))
}
