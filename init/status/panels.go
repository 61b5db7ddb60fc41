package status

import (
	"net/netip"
	"slices"
)

// The panels' builders, for /api/ and the page alike: each reads its
// source in Panels and gives an empty panel (empty lists, not nil) when
// the source is not set.

// History returns the graphs' points after seq after (0: all).
func (s *Server) History(after uint64) History {
	h := History{Names: SeriesNames}
	if s.Panels.History != nil {
		h = s.Panels.History(after)
	}
	h.StepMS = h.Step.Milliseconds()
	h.Names = nonNil(h.Names)
	h.Points = nonNil(h.Points)
	return h
}

// Leases returns the DHCP server's leases; none before the first.
func (s *Server) Leases() ([]Lease, error) {
	if s.Panels.Leases == nil {
		return []Lease{}, nil
	}
	l, err := s.Panels.Leases()
	return nonNil(l), err
}

// WAN returns the WAN link's addresses and DHCP lease.
func (s *Server) WAN() (WAN, error) {
	if s.Panels.WAN == nil {
		return WAN{Addrs: []netip.Prefix{}}, nil
	}
	w, err := s.Panels.WAN()
	w.Addrs = nonNil(w.Addrs)
	if w.DHCP != nil {
		w.DHCP.DNS = nonNil(w.DHCP.DNS)
	}
	return w, err
}

// Interfaces returns the links with their addresses and counters.
func (s *Server) Interfaces() ([]Interface, error) {
	if s.Panels.Interfaces == nil {
		return []Interface{}, nil
	}
	ifs, err := s.Panels.Interfaces()
	ifs = slices.Clone(nonNil(ifs))
	for i := range ifs {
		ifs[i].Addrs = nonNil(ifs[i].Addrs)
	}
	return ifs, err
}

// Settings returns every key in force and where it came from.
func (s *Server) Settings() []Setting { return nonNil(s.Panels.Config) }

// LastSelfTest returns the last self-test; false before the first.
func (s *Server) LastSelfTest() (SelfTest, bool) {
	var st SelfTest
	ok := false
	if s.Panels.SelfTest != nil {
		st, ok = s.Panels.SelfTest()
	}
	st.Ran = ok
	st.Results = nonNil(st.Results)
	return st, ok
}

// nonNil makes a nil slice empty, so that JSON says [] and not null.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
