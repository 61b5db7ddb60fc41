// Package firewall installs tprouter's nftables ruleset: TPROXY
// interception of the configured TCP ports on the LAN, the router's own
// packet filter, forwarding policy, the QUIC block and IPv4 masquerade.
//
// QUIC (UDP 443) would carry HTTPS past a TCP proxy. While 443 is
// intercepted and config.Network.BlockQUIC is set, the forward chain
// answers UDP to port 443 from a LAN link, other than to or from exempt
// addresses, with ICMP or ICMPv6 port unreachable, counted in the named
// counter QUICCounter (QUICBlocked reads it). Without interception of
// 443 there is nothing to fall back to that the proxy would see, so the
// rule is left out (config.Network.QUICBlocked).
//
// tprouter owns one table, inet tprouter, and nothing else: Apply replaces
// that table in one atomic batch (a packet sees either the old ruleset or
// the new one, never none) and leaves other tables alone. Rebuilding
// instead of diffing is deliberate: google/nftables cannot read tproxy
// and socket expressions back, so a diff against the kernel would be
// wrong.
//
// Interception has these parts, and the proxy must fit them:
//
//   - prerouting (priority raw, before conntrack): a LAN packet to an
//     intercepted port is diverted by tproxy to the proxy's transparent
//     listener on ProxyPort (any address, both families), marked with
//     Mark, and tracked in conntrack zone InterceptZone. netconf's policy
//     routing delivers marked packets locally.
//   - divert (priority mangle, after conntrack): packets of connections
//     that already belong to a transparent socket (the accepted client
//     connections, and the server's replies to the proxy's spoofed
//     upstream connections) are marked too.
//   - output (priority raw): the proxy's side of the intercepted
//     connections, which leaves for the LAN from the server's address, is
//     tracked in zone InterceptZone as well, apart from the proxy's
//     upstream connections, which may have the very same tuple.
//   - the proxy: listens with IP_TRANSPARENT/IPV6_TRANSPARENT on the
//     wildcard address and ProxyPort (tproxy without an address looks the
//     listener up by the LAN link's own address), finds the original
//     destination as the accepted socket's local address, and dials
//     upstream with IP_TRANSPARENT bound to the client's address. Its
//     upstream sockets must not carry a mark (SO_MARK) with any bit of
//     Mark: the fwmark rule would route them back into the router.
//   - failure: when no socket takes a diverted packet, the tproxy rule ends
//     without marking (and in zone 0) and the packet is forwarded (fail
//     open), or, with FailClosed, the forward chain answers it with a TCP
//     reset.
//
// docs/firewall.md gives the reasons for each part at length. Everything
// happens in the network namespace of the calling OS thread.
package firewall

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"tprouter/init/config"
	"tprouter/init/internal/oneline"
)

// Table is the name of tprouter's table (family inet).
const Table = "tprouter"

// QUICCounter is the named counter of table inet tprouter that counts the
// QUIC packets the forward chain rejects (QUICBlocked reads it).
const QUICCounter = "quic"

// SelfTestClient and SelfTestServer are the router's ends of the
// self-test's veth pairs (init/selftest/trip). SelfTestClient is
// intercepted like a LAN link (prerouting, output, fail closed), but gets
// none of a LAN's services: input takes only its diverted packets, and
// forward lets it reach SelfTestServer on the intercepted ports only, so
// that a proxy that fails open shows as a request without Via. The rules
// name the links whether or not they exist: iifname matches a string.
// SelfTestNets are the self-test's addresses, the proxy's -selftest-net:
// its requests stay out of the access log.
const (
	SelfTestClient = "st-client"
	SelfTestServer = "st-server"
	SelfTestNets   = "198.18.0.0/15,2001:db8:5e1f::/48"
)

// InterceptZone is the conntrack zone of the intercepted connections'
// client side, so that a spoofed upstream connection with the same tuple
// is not taken for it (docs/firewall.md, "Two conntrack zones").
const InterceptZone = 1

// Apply replaces table inet tprouter with the ruleset for c, whose WAN and
// LAN links the kernel calls wan and lan (netconf.Resolve). When the kernel
// rejects the ruleset, the error names the nftables feature it lacks.
func Apply(c config.Network, wan string, lan []string) error {
	r, err := newRuleset(c, wan, lan)
	if err != nil {
		return err
	}
	// Concurrent calls would race to replace the table; the last one
	// should simply win.
	applyMu.Lock()
	defer applyMu.Unlock()
	conn, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables.New: %w", err)
	}
	if err := r.build(conn); err != nil {
		return err
	}
	if err := conn.Flush(); err != nil {
		return diagnose(fmt.Errorf("replace table inet %s: %w", Table, err), r.features(), probe)
	}
	return nil
}

var applyMu sync.Mutex

// ruleset is the input of the table, validated.
type ruleset struct {
	wan        string
	lan        []string
	ports      []uint16 // sorted, unique
	proxyPort  uint16
	mark       uint32
	failClosed bool
	blockQUIC  bool
	nat        bool
	exempt4    []ipRange
	exempt6    []ipRange
}

func newRuleset(c config.Network, wan string, lan []string) (*ruleset, error) {
	var errs []error
	for _, n := range append([]string{wan}, lan...) {
		if n == "" || len(n) >= unix.IFNAMSIZ {
			errs = append(errs, fmt.Errorf("invalid interface name %q", n))
		}
	}
	if len(lan) == 0 {
		errs = append(errs, errors.New("no LAN interface"))
	}
	if c.ProxyPort == 0 {
		errs = append(errs, errors.New("ProxyPort is 0"))
	}
	if c.Mark == 0 {
		errs = append(errs, errors.New("Mark is 0; diverted packets would not reach the policy route"))
	}
	ports := slices.Clone(c.Intercept)
	slices.Sort(ports)
	ports = slices.Compact(ports)
	if slices.Contains(ports, 0) {
		errs = append(errs, errors.New("intercepted port 0"))
	}
	if err := oneline.Join(errs...); err != nil {
		return nil, err
	}
	v4, v6 := ranges(c.Exempt)
	return &ruleset{
		wan:        wan,
		lan:        lan,
		ports:      ports,
		proxyPort:  c.ProxyPort,
		mark:       c.Mark,
		failClosed: c.FailMode == config.FailClosed,
		blockQUIC:  c.QUICBlocked(),
		nat:        c.NAT,
		exempt4:    v4,
		exempt6:    v6,
	}, nil
}

// intercepted returns the links whose connections the proxy takes: the
// LAN and the self-test's client.
func (r *ruleset) intercepted() []string {
	return append(slices.Clone(r.lan), SelfTestClient)
}

// build queues the whole table on conn: delete the old one, add the new.
func (r *ruleset) build(conn *nftables.Conn) error {
	b := &batch{conn: conn, t: &nftables.Table{Family: nftables.TableFamilyINet, Name: Table}}
	// add table + delete table + add table: deletes the table whether or
	// not it exists, in the same transaction that recreates it.
	conn.AddTable(b.t)
	conn.DelTable(b.t)
	conn.AddTable(b.t)

	// Named sets, always present so the ruleset's shape does not depend on
	// the configuration.
	exempt4 := &nftables.Set{Name: "exempt4", KeyType: nftables.TypeIPAddr, Interval: true}
	exempt6 := &nftables.Set{Name: "exempt6", KeyType: nftables.TypeIP6Addr, Interval: true}
	intercept := &nftables.Set{Name: "intercept", KeyType: nftables.TypeInetService}
	var ports []nftables.SetElement
	for _, p := range r.ports {
		ports = append(ports, nftables.SetElement{Key: beUint16(p)})
	}
	for _, s := range []struct {
		set   *nftables.Set
		elems []nftables.SetElement
	}{
		{exempt4, intervalElements(r.exempt4)},
		{exempt6, intervalElements(r.exempt6)},
		{intercept, ports},
	} {
		if err := b.addSet(s.set, s.elems); err != nil {
			return err
		}
	}

	// counter quic { }: always there, so that its metric reads 0 rather than
	// missing when QUIC passes.
	b.conn.AddObj(&nftables.NamedObj{Table: b.t, Name: QUICCounter, Type: nftables.ObjTypeCounter, Obj: &expr.Counter{}})

	r.prerouting(b, exempt4, exempt6, intercept)
	r.divert(b)
	r.output(b, intercept)
	if err := r.input(b); err != nil {
		return err
	}
	if err := r.forward(b, exempt4, exempt6, intercept); err != nil {
		return err
	}
	if r.nat {
		r.postrouting(b)
	}
	return nil
}

// batch queues one transaction for table t on conn.
type batch struct {
	conn  *nftables.Conn
	t     *nftables.Table
	setID uint32
}

// addSet adds s to the table, with elems. It numbers the set itself:
// google/nftables v0.3.0 numbers sets (when ID is 0) from an
// unsynchronized package variable, a data race between any two Conns
// (go test -race finds it). The ID only has to be unique in the batch.
func (b *batch) addSet(s *nftables.Set, elems []nftables.SetElement) error {
	b.setID++
	s.Table = b.t
	s.ID = b.setID
	if s.Anonymous {
		s.Name = "__set%d" // the kernel picks the number
	}
	if err := b.conn.AddSet(s, elems); err != nil {
		return fmt.Errorf("AddSet(%s %s): %w", s.KeyType.Name, s.Name, err)
	}
	return nil
}

// chain adds a base chain to the table.
func (b *batch) chain(name string, typ nftables.ChainType, hook *nftables.ChainHook, prio *nftables.ChainPriority, p nftables.ChainPolicy) *nftables.Chain {
	return b.conn.AddChain(&nftables.Chain{
		Name:     name,
		Table:    b.t,
		Type:     typ,
		Hooknum:  hook,
		Priority: prio,
		Policy:   policy(p),
	})
}

// rule appends a rule made of parts to c.
func (b *batch) rule(c *nftables.Chain, parts ...[]expr.Any) {
	b.conn.AddRule(&nftables.Rule{Table: b.t, Chain: c, Exprs: rule(parts...)})
}

func policy(p nftables.ChainPolicy) *nftables.ChainPolicy { return &p }

// prerouting diverts intercepted connections to the proxy. It runs at
// priority raw, before conntrack, so that the diverted packets can be
// given their conntrack zone.
func (r *ruleset) prerouting(b *batch, exempt4, exempt6, intercept *nftables.Set) {
	c := b.chain("prerouting", nftables.ChainTypeFilter, nftables.ChainHookPrerouting,
		nftables.ChainPriorityRaw, nftables.ChainPolicyAccept)
	add := func(parts ...[]expr.Any) { b.rule(c, parts...) }

	// fib daddr type local accept
	//
	// The router's own traffic; accept ends this chain only, divert still sees it.
	add(fibDaddrLocal(), accept())

	// ip saddr @exempt4 accept, ip daddr @exempt4 accept,
	// ip6 saddr @exempt6 accept, ip6 daddr @exempt6 accept
	add(nfproto(unix.NFPROTO_IPV4), []expr.Any{loadNetwork(ip4Saddr, ip4Length), lookup(exempt4, false)}, accept())
	add(nfproto(unix.NFPROTO_IPV4), []expr.Any{loadNetwork(ip4Daddr, ip4Length), lookup(exempt4, false)}, accept())
	add(nfproto(unix.NFPROTO_IPV6), []expr.Any{loadNetwork(ip6Saddr, ip6Length), lookup(exempt6, false)}, accept())
	add(nfproto(unix.NFPROTO_IPV6), []expr.Any{loadNetwork(ip6Daddr, ip6Length), lookup(exempt6, false)}, accept())

	// iifname "<lan>" tcp dport @intercept tproxy to :<port> meta mark set <mark> ct zone set <zone> accept
	//
	// Both families; no socket: the rule breaks before the mark (fail open).
	// Also for "st-client", the self-test's client.
	for _, lan := range r.intercepted() {
		add(iifname(lan), tcpDportIn(intercept), tproxyToPort(r.proxyPort), setMark(r.mark), ctZoneSet(InterceptZone), accept())
	}
}

// divert delivers the packets of connections that transparent sockets own.
// It runs after conntrack (priority mangle), whose NAT entry the socket
// lookup needs.
func (r *ruleset) divert(b *batch) {
	c := b.chain("divert", nftables.ChainTypeFilter, nftables.ChainHookPrerouting,
		nftables.ChainPriorityMangle, nftables.ChainPolicyAccept)

	// meta l4proto tcp socket transparent 1 socket wildcard 0 meta mark set <mark> accept
	//
	// DIVERT: accepted and spoofed connections, never the listener (docs/firewall.md).
	b.rule(c, l4proto(unix.IPPROTO_TCP), socketTransparent(), socketNotWildcard(), setMark(r.mark), accept())

	// meta l4proto icmp socket transparent 1 socket wildcard 0 meta mark set <mark> accept
	// meta l4proto ipv6-icmp socket transparent 1 socket wildcard 0 meta mark set <mark> accept
	//
	// ICMP errors quoting the proxy's upstream packets: path MTU discovery.
	b.rule(c, l4proto(unix.IPPROTO_ICMP), socketTransparent(), socketNotWildcard(), setMark(r.mark), accept())
	b.rule(c, l4proto(unix.IPPROTO_ICMPV6), socketTransparent(), socketNotWildcard(), setMark(r.mark), accept())
}

// output puts the proxy's side of the intercepted connections in their
// conntrack zone. It runs at priority raw, before conntrack.
func (r *ruleset) output(b *batch, intercept *nftables.Set) {
	c := b.chain("output", nftables.ChainTypeFilter, nftables.ChainHookOutput,
		nftables.ChainPriorityRaw, nftables.ChainPolicyAccept)

	// oifname "<lan>" tcp sport @intercept fib saddr type != local ct zone set <zone>
	//
	// From a foreign address: the proxy's, and the kernel's on its behalf.
	// Also to "st-client".
	for _, lan := range r.intercepted() {
		b.rule(c, oifname(lan), tcpSportIn(intercept), fibSaddrNotLocal(), ctZoneSet(InterceptZone))
	}
}

// input is the router's own packet filter: the LAN may use every service
// on the router, the WAN none, not even the proxy's listener.
func (r *ruleset) input(b *batch) error {
	c := b.chain("input", nftables.ChainTypeFilter, nftables.ChainHookInput,
		nftables.ChainPriorityFilter, nftables.ChainPolicyDrop)
	add := func(parts ...[]expr.Any) { b.rule(c, parts...) }

	// iif "lo" accept
	add(iifLoopback(), accept())
	// ct state established,related accept
	add(ctState(ctEstablished|ctRelated), accept())
	// ct state invalid drop
	add(ctState(ctInvalid), drop())

	// icmpv6 type { destination-unreachable, packet-too-big, time-exceeded,
	// parameter-problem, echo-request, nd-router-solicit, nd-router-advert,
	// nd-neighbor-solicit, nd-neighbor-advert } accept
	//
	// Neighbour discovery is untracked, so not "invalid" above.
	icmp6, err := icmpSet(b, nftables.TypeICMP6Type, icmp6Errors, icmp6Echo, icmp6ND)
	if err != nil {
		return err
	}
	add(icmpTypeIn(unix.NFPROTO_IPV6, unix.IPPROTO_ICMPV6, icmp6), accept())

	// icmp type { destination-unreachable, echo-request, time-exceeded,
	// parameter-problem } accept
	icmp4, err := icmpSet(b, nftables.TypeICMPType, icmp4Errors, icmp4Echo)
	if err != nil {
		return err
	}
	add(icmpTypeIn(unix.NFPROTO_IPV4, unix.IPPROTO_ICMP, icmp4), accept())

	// iifname "<wan>" udp sport 67 udp dport 68 accept (DHCPv4 client)
	add(iifname(r.wan), udpPorts(67, 68), accept())
	// iifname "<wan>" udp dport 546 accept (DHCPv6 client)
	add(iifname(r.wan), udpDport(546), accept())

	// iifname "<lan>" accept
	//
	// The intercepted connections too: marked, to the original destination.
	for _, lan := range r.lan {
		add(iifname(lan), accept())
	}
	// iifname "st-client" meta mark <mark> accept
	//
	// The self-test's client: its diverted packets only, no DHCP or DNS.
	add(iifname(SelfTestClient), markIs(r.mark), accept())
	return nil
}

// forward lets the LAN out and nothing new in.
func (r *ruleset) forward(b *batch, exempt4, exempt6, intercept *nftables.Set) error {
	c := b.chain("forward", nftables.ChainTypeFilter, nftables.ChainHookForward,
		nftables.ChainPriorityFilter, nftables.ChainPolicyDrop)
	add := func(parts ...[]expr.Any) { b.rule(c, parts...) }

	if r.blockQUIC {
		r.quic(b, c, exempt4, exempt6)
	}
	if r.failClosed {
		// iifname "<lan>" tcp dport @intercept ip saddr != @exempt4 ip daddr != @exempt4 reject with tcp reset
		// iifname "<lan>" tcp dport @intercept ip6 saddr != @exempt6 ip6 daddr != @exempt6 reject with tcp reset
		//
		// Taken by no proxy socket; reject is not valid in prerouting. Also
		// for "st-client".
		for _, lan := range r.intercepted() {
			add(iifname(lan), tcpDportIn(intercept),
				nfproto(unix.NFPROTO_IPV4),
				[]expr.Any{loadNetwork(ip4Saddr, ip4Length), lookup(exempt4, true)},
				[]expr.Any{loadNetwork(ip4Daddr, ip4Length), lookup(exempt4, true)},
				rejectTCPReset())
			add(iifname(lan), tcpDportIn(intercept),
				nfproto(unix.NFPROTO_IPV6),
				[]expr.Any{loadNetwork(ip6Saddr, ip6Length), lookup(exempt6, true)},
				[]expr.Any{loadNetwork(ip6Daddr, ip6Length), lookup(exempt6, true)},
				rejectTCPReset())
		}
	}

	// ct state established,related accept
	add(ctState(ctEstablished|ctRelated), accept())
	// ct state invalid drop
	add(ctState(ctInvalid), drop())

	// icmpv6 type { destination-unreachable, packet-too-big, time-exceeded,
	// parameter-problem, echo-request } accept
	//
	// RFC 4890 4.3.1: IPv6 needs these end to end.
	icmp6, err := icmpSet(b, nftables.TypeICMP6Type, icmp6Errors, icmp6Echo)
	if err != nil {
		return err
	}
	add(icmpTypeIn(unix.NFPROTO_IPV6, unix.IPPROTO_ICMPV6, icmp6), accept())

	// iifname "<lan>" oifname "<wan>" accept
	for _, lan := range r.lan {
		add(iifname(lan), oifname(r.wan), accept())
	}
	// iifname "st-client" oifname "st-server" tcp dport @intercept accept
	//
	// The self-test's stand-in for the WAN: what the proxy did not take
	// (fail open) reaches the server without Via.
	add(iifname(SelfTestClient), oifname(SelfTestServer), tcpDportIn(intercept), accept())
	return nil
}

// quic answers QUIC from the LAN (UDP to port 443) with port
// unreachable, so that browsers fall back to TCP at once, where the proxy
// sees them; a silent drop would make them wait for a timeout. It comes
// before "ct state established,related accept" on purpose: a QUIC flow
// begun before this ruleset (or while QUIC passed) is established in
// conntrack and must be cut off too. Exempt addresses are never blocked,
// as they are never intercepted. The kernel's per-client ICMP rate
// limit would answer only the first few of a page's QUIC attempts:
// netconf turns it off and keeps the global one (see its sysctls).
func (r *ruleset) quic(b *batch, c *nftables.Chain, exempt4, exempt6 *nftables.Set) {
	// iifname "<lan>" udp dport 443 ip saddr != @exempt4 ip daddr != @exempt4 counter name "quic" reject
	// iifname "<lan>" udp dport 443 ip6 saddr != @exempt6 ip6 daddr != @exempt6 counter name "quic" reject
	//
	// reject in an inet table is "reject with icmpx port-unreachable",
	// which nft writes as plain reject.
	for _, lan := range r.lan {
		b.rule(c, iifname(lan), udpDport(443),
			nfproto(unix.NFPROTO_IPV4),
			[]expr.Any{loadNetwork(ip4Saddr, ip4Length), lookup(exempt4, true)},
			[]expr.Any{loadNetwork(ip4Daddr, ip4Length), lookup(exempt4, true)},
			counterRef(QUICCounter), rejectPortUnreachable())
		b.rule(c, iifname(lan), udpDport(443),
			nfproto(unix.NFPROTO_IPV6),
			[]expr.Any{loadNetwork(ip6Saddr, ip6Length), lookup(exempt6, true)},
			[]expr.Any{loadNetwork(ip6Daddr, ip6Length), lookup(exempt6, true)},
			counterRef(QUICCounter), rejectPortUnreachable())
	}
}

// postrouting masquerades IPv4 leaving through the WAN. Locally generated
// packets pass here too, so the proxy's spoofed upstream connections leave
// with the WAN address.
func (r *ruleset) postrouting(b *batch) {
	c := b.chain("postrouting", nftables.ChainTypeNAT, nftables.ChainHookPostrouting,
		nftables.ChainPriorityNATSource, nftables.ChainPolicyAccept)
	// oifname "<wan>" meta nfproto ipv4 masquerade
	b.rule(c, oifname(r.wan), nfproto(unix.NFPROTO_IPV4), masquerade())
}

// Conntrack state bits (ct state).
const (
	ctInvalid     = 1
	ctEstablished = 2
	ctRelated     = 4
)

// ICMP types the router accepts.
var (
	icmp4Errors = []byte{3, 11, 12}  // destination-unreachable, time-exceeded, parameter-problem
	icmp4Echo   = []byte{8}          // echo-request
	icmp6Errors = []byte{1, 2, 3, 4} // destination-unreachable, packet-too-big, time-exceeded, parameter-problem
	icmp6Echo   = []byte{128}        // echo-request
	// nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert
	icmp6ND = []byte{133, 134, 135, 136}
)

// icmpSet adds an anonymous set of ICMP types ({ ... } in nft).
func icmpSet(b *batch, typ nftables.SetDatatype, types ...[]byte) (*nftables.Set, error) {
	s := &nftables.Set{Anonymous: true, Constant: true, KeyType: typ}
	var elems []nftables.SetElement
	for _, ts := range types {
		for _, v := range ts {
			elems = append(elems, nftables.SetElement{Key: []byte{v}})
		}
	}
	if err := b.addSet(s, elems); err != nil {
		return nil, err
	}
	return s, nil
}

func beUint16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

// ipRange is an inclusive range of addresses of one family.
type ipRange struct{ from, to netip.Addr }

// ranges turns prefixes into sorted, merged ranges per family: the kernel
// rejects overlapping intervals in a set, and a configuration may well
// list 10.0.0.0/8 and 10.1.0.0/16.
func ranges(prefixes []netip.Prefix) (v4, v6 []ipRange) {
	var all []ipRange
	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}
		a := p.Addr()
		if a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		p = p.Masked()
		all = append(all, ipRange{p.Addr(), config.LastAddr(p)})
	}
	slices.SortFunc(all, func(a, b ipRange) int { return a.from.Compare(b.from) })
	var merged []ipRange
	for _, r := range all {
		if n := len(merged); n > 0 {
			last := &merged[n-1]
			if last.from.BitLen() == r.from.BitLen() {
				next := last.to.Next()
				if !next.IsValid() || r.from.Compare(next) <= 0 {
					// overlapping or adjacent
					if r.to.Compare(last.to) > 0 {
						last.to = r.to
					}
					continue
				}
			}
		}
		merged = append(merged, r)
	}
	for _, r := range merged {
		if r.from.Is4() {
			v4 = append(v4, r)
		} else {
			v6 = append(v6, r)
		}
	}
	return v4, v6
}

// intervalElements encodes ranges as nft does for an interval set: each
// range is a start element and an end element one past its end (none when
// the range reaches the highest address), preceded by an end element at
// the zero address unless a range starts there.
func intervalElements(rs []ipRange) []nftables.SetElement {
	if len(rs) == 0 {
		return nil
	}
	var e []nftables.SetElement
	zero := netip.IPv4Unspecified()
	if rs[0].from.Is6() {
		zero = netip.IPv6Unspecified()
	}
	if rs[0].from != zero {
		e = append(e, nftables.SetElement{Key: zero.AsSlice(), IntervalEnd: true})
	}
	for _, r := range rs {
		e = append(e, nftables.SetElement{Key: r.from.AsSlice()})
		if next := r.to.Next(); next.IsValid() {
			e = append(e, nftables.SetElement{Key: next.AsSlice(), IntervalEnd: true})
		}
	}
	return e
}
