// Package server is a DHCPv4 server for one LAN link (RFC 2131). It hands
// out addresses of the router's own LAN prefix, stable per MAC, with the
// router as gateway and, by default, as DNS server. Its leases live in a
// JSON file so that they survive a restart of the service.
//
// The router's address may change while the server runs (Follow,
// SetAddr): the pool, gateway, netmask, server identifier and default DNS
// server move with it, and leases outside the new subnet are dropped.
package server

import (
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"tprouter/services/internal/statefile"
)

const (
	// offerHold reserves an offered address for the client's REQUEST.
	offerHold = time.Minute
	// declineHold quarantines an address a client reported as in use.
	declineHold = 10 * time.Minute
)

// DefaultLeases is the lease file on the router, in dhcp4d's own state
// directory: dhcp4d's -leases default and what init passes.
const DefaultLeases = "/run/tprouter/dhcp4d/leases.json"

// Config describes the LAN a Server serves.
type Config struct {
	// Addr is the router's address on the LAN and its prefix, e.g.
	// 192.168.1.1/24; it is the gateway and the server identifier.
	Addr netip.Prefix
	// DNS servers handed out; empty means the router itself.
	DNS []netip.Addr
	// Lease is the lease time handed out.
	Lease time.Duration
	// Path is the lease file; empty keeps leases in memory only.
	Path string
}

// Server answers DHCPv4 messages. Its Handle method is a server4.Handler.
type Server struct {
	cfg        Config
	self       net.IP // cfg.Addr.Addr(), as the dhcpv4 package wants it
	defaultDNS bool   // cfg.DNS is the router itself, following SetAddr
	logf       func(format string, v ...any)

	mu   sync.Mutex // server4 runs one goroutine per packet
	pool *Pool

	now func() time.Time // test seam
}

// New returns a server for cfg with the leases of cfg.Path loaded.
func New(cfg Config, logger *log.Logger) (*Server, error) {
	if cfg.Lease < time.Second || cfg.Lease > 0xffffffff*time.Second {
		return nil, fmt.Errorf("lease time %v: want between 1s and 136y", cfg.Lease)
	}
	pool, err := NewPool(cfg.Addr)
	if err != nil {
		return nil, err
	}
	defaultDNS := len(cfg.DNS) == 0
	if defaultDNS {
		cfg.DNS = []netip.Addr{cfg.Addr.Addr()}
	}
	s := &Server{
		cfg:        cfg,
		defaultDNS: defaultDNS,
		self:       net.IP(cfg.Addr.Addr().AsSlice()),
		logf:       logger.Printf,
		pool:       pool,
		now:        time.Now,
	}
	if cfg.Path == "" {
		return s, nil
	}
	var f leaseFile
	switch err := statefile.Read(cfg.Path, &f); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		// A corrupt file must not keep the LAN without DHCP: start
		// empty, and the next write replaces it.
		s.logf("ignoring lease file: %v", err)
	default:
		for _, l := range pool.Load(f.Leases) {
			s.logf("dropping lease %s → %s: outside %s", l.MAC, l.Addr, cfg.Addr)
		}
	}
	return s, nil
}

// leaseFile is the JSON layout of Config.Path.
type leaseFile struct {
	Leases []Lease `json:"leases"`
}

// Range returns the first and last address handed out.
func (s *Server) Range() (first, last netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pool.Range()
}

// Leases returns the current leases, expired ones included.
func (s *Server) Leases() []Lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pool.Leases()
}

// Handle answers m, which arrived from peer on conn.
func (s *Server) Handle(conn net.PacketConn, peer net.Addr, m *dhcpv4.DHCPv4) {
	resp := s.Reply(m)
	if resp == nil {
		return
	}
	dst := destination(m, resp)
	if _, err := conn.WriteTo(resp.ToBytes(), dst); err != nil {
		s.logf("WriteTo(%s) %s for %s: %v", dst, resp.MessageType(), m.ClientHWAddr, err)
	}
}

// Reply returns the answer to m, or nil when m gets none.
func (s *Server) Reply(m *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	if m.OpCode != dhcpv4.OpcodeBootRequest || len(m.ClientHWAddr) != 6 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.cfg.Addr.IsValid() {
		return nil // paused by SetAddr: no address on the link
	}
	now := s.now()
	mac := m.ClientHWAddr.String()
	switch m.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		a, ok := s.pool.Offer(mac, addr(m.RequestedIPAddress()), now, offerHold)
		if !ok {
			s.logf("DISCOVER from %s: no free address in %s", mac, s.cfg.Addr.Masked())
			return nil
		}
		return s.reply(m, dhcpv4.MessageTypeOffer, a)

	case dhcpv4.MessageTypeRequest:
		return s.request(m, mac, now)

	case dhcpv4.MessageTypeRelease:
		if !s.ours(m) {
			return nil
		}
		a := addr(m.ClientIPAddr)
		if s.pool.Release(mac, a, now) {
			s.logf("RELEASE %s by %s", a, mac)
			s.save()
		}
		return nil

	case dhcpv4.MessageTypeDecline:
		if !s.ours(m) {
			return nil
		}
		a := addr(m.RequestedIPAddress())
		if s.pool.Decline(mac, a, now, declineHold) {
			s.logf("DECLINE %s by %s: address in use on the link, quarantined for %v", a, mac, declineHold)
			s.save()
		}
		return nil

	case dhcpv4.MessageTypeInform:
		// RFC 2131 section 3.4: configuration only, no address and no
		// lease time.
		resp := s.reply(m, dhcpv4.MessageTypeAck, netip.IPv4Unspecified())
		resp.Options.Del(dhcpv4.OptionIPAddressLeaseTime)
		resp.Options.Del(dhcpv4.OptionRenewTimeValue)
		resp.Options.Del(dhcpv4.OptionRebindingTimeValue)
		return resp
	}
	return nil
}

// request answers a REQUEST in any of the client states of RFC 2131 section
// 4.3.2, told apart by the server identifier, requested address and ciaddr.
func (s *Server) request(m *dhcpv4.DHCPv4, mac string, now time.Time) *dhcpv4.DHCPv4 {
	var want netip.Addr
	switch sid, req, ci := m.ServerIdentifier(), addr(m.RequestedIPAddress()), addr(m.ClientIPAddr); {
	case sid != nil: // SELECTING: the client answers an OFFER
		if !sid.Equal(s.self) {
			return nil // it chose another server
		}
		want = req
	case req.IsValid(): // INIT-REBOOT: a client checks its old address
		want = req
	case ci.IsValid() && !ci.IsUnspecified(): // RENEWING or REBINDING
		want = ci
	default:
		return nil
	}
	// As the only server of the LAN, the router is authoritative: it
	// confirms an address it has no record of if the address is free
	// (a client keeps its address across a lost lease file), and
	// refuses any other, so a client from another network starts over.
	if !want.IsValid() || !s.pool.Bind(mac, want, m.HostName(), now, now.Add(s.cfg.Lease)) {
		s.logf("NAK %s for %s", want, mac)
		return s.nak(m)
	}
	s.save()
	s.logf("ACK %s for %s%s, lease %v", want, mac, hostSuffix(m.HostName()), s.cfg.Lease)
	return s.reply(m, dhcpv4.MessageTypeAck, want)
}

// ours reports whether m names this server, or no server at all.
func (s *Server) ours(m *dhcpv4.DHCPv4) bool {
	sid := m.ServerIdentifier()
	return sid == nil || sid.Equal(s.self)
}

func (s *Server) reply(m *dhcpv4.DHCPv4, t dhcpv4.MessageType, yiaddr netip.Addr) *dhcpv4.DHCPv4 {
	lease := s.cfg.Lease
	dns := make([]net.IP, len(s.cfg.DNS))
	for i, a := range s.cfg.DNS {
		dns[i] = a.AsSlice()
	}
	resp, err := dhcpv4.NewReplyFromRequest(m,
		dhcpv4.WithMessageType(t),
		dhcpv4.WithYourIP(yiaddr.AsSlice()),
		dhcpv4.WithServerIP(s.self),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(s.self)),
		dhcpv4.WithNetmask(net.CIDRMask(s.cfg.Addr.Bits(), 32)),
		dhcpv4.WithRouter(s.self),
		dhcpv4.WithDNS(dns...),
		dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(lease)),
		dhcpv4.WithGeneric(dhcpv4.OptionRenewTimeValue, dhcpv4.Duration(lease/2).ToBytes()),
		dhcpv4.WithGeneric(dhcpv4.OptionRebindingTimeValue, dhcpv4.Duration(lease*7/8).ToBytes()),
	)
	if err != nil {
		// Only the random transaction ID can fail, and the reply
		// copies the request's.
		panic(fmt.Sprintf("NewReplyFromRequest: %v", err))
	}
	return resp
}

func (s *Server) nak(m *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	resp, err := dhcpv4.NewReplyFromRequest(m,
		dhcpv4.WithMessageType(dhcpv4.MessageTypeNak),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(s.self)),
	)
	if err != nil {
		panic(fmt.Sprintf("NewReplyFromRequest: %v", err))
	}
	return resp
}

// save writes the leases; a failure is logged, as the in-memory leases
// remain correct and the next change retries.
func (s *Server) save() {
	if s.cfg.Path == "" {
		return
	}
	if err := statefile.Write(s.cfg.Path, leaseFile{Leases: s.pool.Leases()}); err != nil {
		s.logf("saving leases: %v", err)
	}
}

// destination is where resp to m goes, per RFC 2131 section 4.1: to the
// relay, to ciaddr of a configured client, otherwise broadcast. (Unicast to
// yiaddr needs an ARP entry for an address the client does not yet answer
// for; broadcast is what the RFC allows instead.)
func destination(m, resp *dhcpv4.DHCPv4) *net.UDPAddr {
	switch {
	case !m.GatewayIPAddr.IsUnspecified() && m.GatewayIPAddr != nil:
		return &net.UDPAddr{IP: m.GatewayIPAddr, Port: dhcpv4.ServerPort}
	case resp.MessageType() == dhcpv4.MessageTypeNak:
	case !m.ClientIPAddr.IsUnspecified() && m.ClientIPAddr != nil:
		return &net.UDPAddr{IP: m.ClientIPAddr, Port: dhcpv4.ClientPort}
	}
	return &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort}
}

func hostSuffix(h string) string {
	if h == "" {
		return ""
	}
	return fmt.Sprintf(" (%q)", h)
}

// addr converts a net.IP from a message; nil and malformed become the zero
// Addr.
func addr(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip.To4())
	if !ok {
		return netip.Addr{}
	}
	return a
}
