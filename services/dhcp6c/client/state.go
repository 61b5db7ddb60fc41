package client

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

// DefaultState is the state file on the router, in dhcp6c's own state
// directory (on /perm when there is one, so that the DUID and the last
// prefix survive a reboot). It is dhcp6c's -state default.
const DefaultState = "/run/tprouter/dhcp6c/lease.json"

// State is the state file: the client's identity, its bindings and what
// it gave up, for the rest of the firmware (radvd, the firewall, dnsfwd)
// and for the client's next start. Times are absolute (RFC 3339); a
// lifetime of "infinity" (0xffffffff s) ends in year 2162 or so.
type State struct {
	Iface  string `json:"iface"`
	HWAddr string `json:"hwaddr"`
	// DUID is the client's identifier (hex): DUID-LL of the link's MAC
	// on a first start, then kept from this file, so that the server
	// keeps recognising the router even if its MAC changes.
	DUID string `json:"duid"`
	// ServerID is the DUID (hex) of the server that granted the
	// bindings, to which RENEW goes.
	ServerID string `json:"server_id,omitempty"`

	// Prefixes are the delegated prefixes in force; empty when none is.
	Prefixes []Prefix `json:"prefixes"`
	// Addrs are the IA_NA addresses in force (with -na), also put on
	// the link as /128s.
	Addrs []Addr `json:"addrs"`
	// DNS are the servers of OPTION_DNS_RECURSIVE_NAME_SERVER.
	DNS []netip.Addr `json:"dns"`
	// Start is when the exchange that got the bindings began: their
	// lifetimes count from it. T1: RENEW; T2: REBIND.
	Start time.Time `json:"start"`
	T1    time.Time `json:"t1"`
	T2    time.Time `json:"t2"`

	// Withdrawn are prefixes delegated before and no longer: replaced
	// at a renewal, returned with lifetime 0, or expired. The LAN side
	// advertises them with zero lifetimes until Until.
	Withdrawn []Withdrawn `json:"withdrawn"`
	// Last is the prefix most recently delegated, asked for again (as
	// a hint in SOLICIT) after a restart or a loss.
	Last netip.Prefix `json:"last,omitzero"`
}

// Prefix is a delegated prefix with the ends of its lifetimes.
type Prefix struct {
	Prefix    netip.Prefix `json:"prefix"`
	Preferred time.Time    `json:"preferred"`
	Valid     time.Time    `json:"valid"`
}

// Addr is an IA_NA address with the ends of its lifetimes.
type Addr struct {
	Addr      netip.Addr `json:"addr"`
	Preferred time.Time  `json:"preferred"`
	Valid     time.Time  `json:"valid"`
}

// Withdrawn is a prefix that is no longer delegated.
type Withdrawn struct {
	Prefix netip.Prefix `json:"prefix"`
	Since  time.Time    `json:"since"` // when the client saw it go
	Until  time.Time    `json:"until"` // when to stop advertising it
}

// WithdrawFor is how long a withdrawn prefix stays in the state: RFC
// 4862 section 5.5.3's two hours, for which a host keeps a SLAAC address
// after an advertisement with a short valid lifetime.
const WithdrawFor = 2 * time.Hour

// Infinite is the lifetime that never ends (RFC 8415 section 7.7).
const Infinite = 0xffffffff * time.Second

// duid returns the state's DUID, or DUID-LL of hw when it has none or a
// bad one.
func (s *State) duid(hw net.HardwareAddr) dhcpv6.DUID {
	if b, err := hex.DecodeString(s.DUID); err == nil && len(b) > 2 {
		if d, err := dhcpv6.DUIDFromBytes(b); err == nil {
			return d
		}
	}
	d := &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: hw}
	s.DUID = hex.EncodeToString(d.ToBytes())
	return d
}

// serverID returns the saved server's DUID, or nil.
func (s *State) serverID() dhcpv6.DUID {
	b, err := hex.DecodeString(s.ServerID)
	if err != nil || len(b) < 2 {
		return nil
	}
	d, err := dhcpv6.DUIDFromBytes(b)
	if err != nil {
		return nil
	}
	return d
}

// bound reports whether some binding is valid at now.
func (s *State) bound(now time.Time) bool { return !s.expiry().Before(now) && s.has() }

func (s *State) has() bool { return len(s.Prefixes)+len(s.Addrs) > 0 }

// expiry is when the last binding's valid lifetime ends: the end of
// REBIND (RFC 8415 section 18.2.5).
func (s *State) expiry() time.Time {
	var t time.Time
	for _, p := range s.Prefixes {
		t = later(t, p.Valid)
	}
	for _, a := range s.Addrs {
		t = later(t, a.Valid)
	}
	return t
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// withdraw records that the prefixes of old not in keep are gone at now,
// forgets withdrawn prefixes that are delegated again or whose time is
// over, and returns what it withdrew.
func (s *State) withdraw(old []Prefix, keep []Prefix, now time.Time) []netip.Prefix {
	in := func(ps []Prefix, p netip.Prefix) bool {
		return slices.ContainsFunc(ps, func(q Prefix) bool { return q.Prefix == p })
	}
	var gone []netip.Prefix
	for _, p := range old {
		if in(keep, p.Prefix) {
			continue
		}
		gone = append(gone, p.Prefix)
		s.Withdrawn = slices.DeleteFunc(s.Withdrawn, func(w Withdrawn) bool { return w.Prefix == p.Prefix })
		s.Withdrawn = append(s.Withdrawn, Withdrawn{Prefix: p.Prefix, Since: now, Until: now.Add(WithdrawFor)})
	}
	s.Withdrawn = slices.DeleteFunc(s.Withdrawn, func(w Withdrawn) bool {
		return in(keep, w.Prefix) || !w.Until.After(now)
	})
	if s.Withdrawn == nil {
		s.Withdrawn = []Withdrawn{}
	}
	return gone
}

// String is the state in a log line's words.
func (p Prefix) String() string {
	return fmt.Sprintf("%s (preferred until %s, valid until %s)", p.Prefix, p.Preferred.Format(time.TimeOnly), p.Valid.Format(time.TimeOnly))
}

// String is the address in a log line's words.
func (a Addr) String() string {
	return fmt.Sprintf("%s (valid until %s)", a.Addr, a.Valid.Format(time.TimeOnly))
}
