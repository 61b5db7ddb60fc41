package firewall

import (
	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Expression builders. Each returns the expressions of one nft match or
// statement; the comments give nft's netlink debug form (nft --debug=netlink),
// and the rules in firewall.go give the human form.

// ifname pads an interface name to IFNAMSIZ with NULs, as nft compares it.
func ifname(n string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, n)
	return b
}

// iifname "name"
func iifname(name string) []expr.Any {
	return []expr.Any{
		// [ meta load iifname => reg 1 ]
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		// [ cmp eq reg 1 name ]
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(name)},
	}
}

// oifname "name"
func oifname(name string) []expr.Any {
	return []expr.Any{
		// [ meta load oifname => reg 1 ]
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		// [ cmp eq reg 1 name ]
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(name)},
	}
}

// iif "lo"; lo has ifindex 1 in every network namespace.
func iifLoopback() []expr.Any {
	return []expr.Any{
		// [ meta load iif => reg 1 ]
		&expr.Meta{Key: expr.MetaKeyIIF, Register: 1},
		// [ cmp eq reg 1 0x00000001 ]
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(1)},
	}
}

// meta nfproto ipv4|ipv6: the dependency of ip/ip6 header matches in an
// inet table.
func nfproto(proto byte) []expr.Any {
	return []expr.Any{
		// [ meta load nfproto => reg 1 ]
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		// [ cmp eq reg 1 0x00000002 ] (ipv4) or 0x0000000a (ipv6)
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}
}

// meta l4proto tcp|udp|icmp|ipv6-icmp
func l4proto(proto byte) []expr.Any {
	return []expr.Any{
		// [ meta load l4proto => reg 1 ]
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		// [ cmp eq reg 1 0x00000006 ] (tcp)
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}
}

// Offsets into the headers, as nft's payload expressions use them.
const (
	ip4Saddr  = 12 // ip saddr: 4b @ network header + 12
	ip4Daddr  = 16 // ip daddr: 4b @ network header + 16
	ip6Saddr  = 8  // ip6 saddr: 16b @ network header + 8
	ip6Daddr  = 24 // ip6 daddr: 16b @ network header + 24
	l4Sport   = 0  // tcp/udp sport: 2b @ transport header + 0
	l4Dport   = 2  // tcp/udp dport: 2b @ transport header + 2
	icmpType  = 0  // icmp/icmpv6 type: 1b @ transport header + 0
	ip4Length = 4
	ip6Length = 16
)

// loadNetwork loads len bytes at off of the network header into reg 1.
func loadNetwork(off, len uint32) expr.Any {
	// [ payload load <len>b @ network header + <off> => reg 1 ]
	return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: len}
}

// loadTransport loads len bytes at off of the transport header into reg 1.
func loadTransport(off, len uint32) expr.Any {
	// [ payload load <len>b @ transport header + <off> => reg 1 ]
	return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: len}
}

// lookup matches reg 1 against set s (with invert: "!= @s").
func lookup(s *nftables.Set, invert bool) expr.Any {
	// [ lookup reg 1 set <s> ] or, inverted, [ lookup reg 1 set <s> 0x1 ]
	return &expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID, Invert: invert}
}

// tcp dport @set
func tcpDportIn(s *nftables.Set) []expr.Any {
	return append(l4proto(unix.IPPROTO_TCP), loadTransport(l4Dport, 2), lookup(s, false))
}

// tcp sport @set
func tcpSportIn(s *nftables.Set) []expr.Any {
	return append(l4proto(unix.IPPROTO_TCP), loadTransport(l4Sport, 2), lookup(s, false))
}

// udp dport <port>
func udpDport(port uint16) []expr.Any {
	return append(l4proto(unix.IPPROTO_UDP),
		loadTransport(l4Dport, 2),
		// [ cmp eq reg 1 <port, big endian> ]
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)})
}

// udp sport <sport> udp dport <dport>
func udpPorts(sport, dport uint16) []expr.Any {
	return append(l4proto(unix.IPPROTO_UDP),
		loadTransport(l4Sport, 2),
		// [ cmp eq reg 1 <sport> ]
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(sport)},
		loadTransport(l4Dport, 2),
		// [ cmp eq reg 1 <dport> ]
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(dport)})
}

// icmp type @s (proto icmp) or icmpv6 type @s (proto ipv6-icmp), with
// nft's inet dependencies meta nfproto and meta l4proto.
func icmpTypeIn(family byte, proto byte, s *nftables.Set) []expr.Any {
	e := append(nfproto(family), l4proto(proto)...)
	return append(e, loadTransport(icmpType, 1), lookup(s, false))
}

// ct state <bits> (established,related or invalid)
func ctState(bits uint32) []expr.Any {
	return []expr.Any{
		// [ ct load state => reg 1 ]
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		// [ bitwise reg 1 = ( reg 1 & <bits> ) ^ 0x00000000 ]
		&expr.Bitwise{
			SourceRegister: 1,
			DestRegister:   1,
			Len:            4,
			Mask:           binaryutil.NativeEndian.PutUint32(bits),
			Xor:            binaryutil.NativeEndian.PutUint32(0),
		},
		// [ cmp neq reg 1 0x00000000 ]
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
}

// fib daddr type local
func fibDaddrLocal() []expr.Any {
	return []expr.Any{
		// [ fib daddr type => reg 1 ]
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		// [ cmp eq reg 1 0x00000002 ]
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
}

// fib saddr type != local: the source address is not one of the router's.
func fibSaddrNotLocal() []expr.Any {
	return []expr.Any{
		// [ fib saddr type => reg 1 ]
		&expr.Fib{Register: 1, FlagSADDR: true, ResultADDRTYPE: true},
		// [ cmp neq reg 1 0x00000002 ]
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
}

// socket transparent 1
func socketTransparent() []expr.Any {
	return []expr.Any{
		// [ socket load transparent => reg 1 ]
		&expr.Socket{Key: expr.SocketKeyTransparent, Register: 1},
		// [ cmp eq reg 1 0x00000001 ]
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{1}},
	}
}

// socket wildcard 0: the packet's socket is bound to a specific address.
// The proxy's listener is bound to the wildcard address, and without this
// the rule above would hand it every connection to port ProxyPort of any
// host, not only those that tproxy diverted. (iptables' -m socket skips
// wildcard listeners by default; nft's socket expression does not.)
func socketNotWildcard() []expr.Any {
	return []expr.Any{
		// [ socket load wildcard => reg 1 ]
		&expr.Socket{Key: expr.SocketKeyWildcard, Register: 1},
		// [ cmp eq reg 1 0x00000000 ]
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0}},
	}
}

// tproxy to :<port>, for both families: in an inet table the kernel takes
// NFPROTO_UNSPEC without an address register and picks the IPv4 or IPv6
// path per packet. When no socket takes the packet, tproxy ends the rule
// (NFT_BREAK), so the statements after it do not run.
func tproxyToPort(port uint16) []expr.Any {
	return []expr.Any{
		// [ immediate reg 1 <port, big endian> ]
		&expr.Immediate{Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
		// [ tproxy port reg 1 ]
		&expr.TProxy{Family: byte(unix.NFPROTO_UNSPEC), TableFamily: byte(nftables.TableFamilyINet), RegPort: 1},
	}
}

// meta mark set <mark>
func setMark(mark uint32) []expr.Any {
	return []expr.Any{
		// [ immediate reg 1 <mark> ]
		&expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint32(mark)},
		// [ meta set mark with reg 1 ]
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
	}
}

// meta mark <mark>
func markIs(mark uint32) []expr.Any {
	return []expr.Any{
		// [ meta load mark => reg 1 ]
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		// [ cmp eq reg 1 <mark> ]
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(mark)},
	}
}

// ct zone set <zone>: conntrack looks the packet up, or tracks it, in zone
// (both directions). Only before conntrack (priority raw) does it take
// effect; on a packet that already has an entry it does nothing.
func ctZoneSet(zone uint16) []expr.Any {
	return []expr.Any{
		// [ immediate reg 1 <zone, 16 bits host order> ]
		&expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint16(zone)},
		// [ ct set zone with reg 1 ]
		&expr.Ct{Key: expr.CtKeyZONE, Register: 1, SourceRegister: true},
	}
}

// reject with tcp reset
func rejectTCPReset() []expr.Any {
	// [ reject type 1 code 0 ]
	return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_TCP_RST}}
}

// reject with icmpx port-unreachable: ICMP or ICMPv6 port unreachable,
// whichever the packet's family calls for.
func rejectPortUnreachable() []expr.Any {
	// [ reject type 2 code 1 ]
	return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_PORT_UNREACH}}
}

// counter name "<name>": counts in the table's named counter.
func counterRef(name string) []expr.Any {
	// [ objref type 1 name <name> ]
	return []expr.Any{&expr.Objref{Type: int(nftables.ObjTypeCounter), Name: name}}
}

// masquerade
func masquerade() []expr.Any {
	// [ masq ]
	return []expr.Any{&expr.Masq{}}
}

// accept
func accept() []expr.Any {
	// [ immediate reg 0 accept ]
	return []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}
}

// drop
func drop() []expr.Any {
	// [ immediate reg 0 drop ]
	return []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}
}

// rule concatenates matches and statements into one rule's expressions.
func rule(parts ...[]expr.Any) []expr.Any {
	var e []expr.Any
	for _, p := range parts {
		e = append(e, p...)
	}
	return e
}
