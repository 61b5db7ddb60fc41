package ra

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
)

// conn is the ICMPv6 socket of one link. It is ndp.Conn with multicast
// loopback off, which ndp.Conn cannot do: looped back, the router's own
// kernel would take its advertisements as another router's whenever it
// does not forward, and configure itself from them.
type conn struct {
	pc  *ipv6.PacketConn
	ifi *net.Interface
	src netip.Addr // link-local, the source RFC 4861 requires
	buf []byte
}

var allRouters = netip.MustParseAddr("ff02::2")

func listen(ifi *net.Interface) (*conn, error) {
	src, err := linkLocal(ifi)
	if err != nil {
		return nil, err
	}
	ic, err := icmp.ListenPacket("ip6:ipv6-icmp", src.WithZone(ifi.Name).String())
	if err != nil {
		return nil, fmt.Errorf("icmp.ListenPacket(ip6:ipv6-icmp, %s%%%s): %w", src, ifi.Name, err)
	}
	c := &conn{pc: ic.IPv6PacketConn(), ifi: ifi, src: src, buf: make([]byte, max(ifi.MTU, 1280))}
	if err := c.setup(); err != nil {
		ic.Close()
		return nil, err
	}
	return c, nil
}

func (c *conn) setup() error {
	var f ipv6.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv6.ICMPTypeRouterSolicitation)
	for _, step := range []struct {
		name string
		err  error
	}{
		// Hop limit 255 tells receivers the packet was not routed.
		{"SetHopLimit(255)", c.pc.SetHopLimit(ndp.HopLimit)},
		{"SetMulticastHopLimit(255)", c.pc.SetMulticastHopLimit(ndp.HopLimit)},
		{"SetChecksum(true, 2)", c.pc.SetChecksum(true, 2)},
		{"SetMulticastLoopback(false)", c.pc.SetMulticastLoopback(false)},
		// Solicitations go to all-routers, which a host that does not
		// forward has not joined.
		{"JoinGroup(ff02::2)", c.pc.JoinGroup(c.ifi, &net.IPAddr{IP: allRouters.AsSlice()})},
		{"SetICMPFilter(RS only)", c.pc.SetICMPFilter(&f)},
		{"SetControlMessage(hop limit)", c.pc.SetControlMessage(ipv6.FlagHopLimit, true)},
	} {
		if step.err != nil {
			return fmt.Errorf("%s on %s: %w", step.name, c.ifi.Name, step.err)
		}
	}
	return nil
}

// linkLocal returns the link-local address of ifi, which appears only
// once the link is up.
func linkLocal(ifi *net.Interface) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("addresses of %s: %w", ifi.Name, err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Is6() && ip.IsLinkLocalUnicast() {
				return ip, nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("%s has no IPv6 link-local address yet", ifi.Name)
}

// read returns the next NDP message, its control message and its source.
// Messages that do not parse are skipped.
func (c *conn) read() (ndp.Message, *ipv6.ControlMessage, netip.Addr, error) {
	for {
		n, cm, from, err := c.pc.ReadFrom(c.buf)
		if err != nil {
			return nil, nil, netip.Addr{}, err
		}
		m, err := ndp.ParseMessage(c.buf[:n])
		if err != nil {
			continue
		}
		ip, _ := netip.AddrFromSlice(from.(*net.IPAddr).IP)
		return m, cm, ip, nil
	}
}

// write sends m to dst on the link.
func (c *conn) write(m ndp.Message, dst netip.Addr) error {
	b, err := ndp.MarshalMessage(m)
	if err != nil {
		return fmt.Errorf("ndp.MarshalMessage: %w", err)
	}
	cm := &ipv6.ControlMessage{HopLimit: ndp.HopLimit, Src: c.src.AsSlice(), IfIndex: c.ifi.Index}
	if _, err := c.pc.WriteTo(b, cm, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
		return fmt.Errorf("sending to %s on %s: %w", dst, c.ifi.Name, err)
	}
	return nil
}

func (c *conn) Close() error { return c.pc.Close() }

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }
