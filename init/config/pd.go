package config

import (
	"fmt"
	"net/netip"
)

// PD is DHCPv6 prefix delegation on the WAN (RFC 8415 IA_PD): the WAN's
// DHCPv6 client asks for a prefix of Len bits, and the LAN takes its
// LAN'th /64.
type PD struct {
	// Len is the prefix length asked for (a hint the ISP may ignore);
	// 0 turns the DHCPv6 client off.
	Len int
	// LAN is which /64 of the delegated prefix the LAN gets: 0 is the
	// first.
	LAN uint64
	// NA asks for a WAN address as well (IA_NA), for ISPs whose WAN
	// link has no SLAAC; dhcp6c then puts it on the link.
	NA bool
}

// DefaultPDLen is the size hint asked for: a /56, what most ISPs
// delegate to a home (RIPE-690).
const DefaultPDLen = 56

// PDOn reports whether the DHCPv6 client runs: the WAN is configured by
// DHCP and delegation is not off.
func (n Network) PDOn() bool { return n.WANDHCP() && n.PD.Len > 0 }

// LANPrefix is the LAN's /64 in the delegated prefix d: its n.PD.LAN'th,
// or false when d has fewer /64s than that.
func (n Network) LANPrefix(d netip.Prefix) (netip.Prefix, bool) {
	if !d.Addr().Is6() || d.Bits() > 64 || n.PD.LAN >= subnets(d.Bits()) {
		return netip.Prefix{}, false
	}
	b := d.Masked().Addr().As16()
	hi := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	hi |= n.PD.LAN
	for i := range 8 {
		b[i] = byte(hi >> (56 - 8*i))
	}
	return netip.PrefixFrom(netip.AddrFrom16(b), 64), true
}

// subnets is how many /64s a prefix of bits has (capped for a /0).
func subnets(bits int) uint64 {
	if bits == 0 {
		return 1 << 63
	}
	return 1 << (64 - bits)
}

// checkPD keeps tprouter.lan.pd inside the prefix asked for: the first
// /64 when it is not.
func (c *Config) checkPD() []Problem {
	pd := &c.Network.PD
	if pd.Len == 0 || pd.LAN < subnets(pd.Len) {
		return nil
	}
	p := Problem{Key: "tprouter.lan.pd", Value: fmt.Sprint(pd.LAN),
		Why:   fmt.Sprintf("a /%d has %d /64s (tprouter.wan.pd)", pd.Len, subnets(pd.Len)),
		Want:  fmt.Sprintf("0 to %d", subnets(pd.Len)-1),
		Using: "using 0, the first /64"}
	pd.LAN = 0
	return []Problem{p}
}
