package lab

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Ping sends ICMP echo requests from inside ns to addr, one every 200 ms,
// until one is answered or ctx ends, and returns the round trip of the
// answered one. It needs no ping(8) on the machine.
func (ns *NS) Ping(ctx context.Context, addr netip.Addr) (time.Duration, error) {
	network, laddr, req, rep := "ip4:icmp", "0.0.0.0", icmp.Type(ipv4.ICMPTypeEcho), icmp.Type(ipv4.ICMPTypeEchoReply)
	proto := 1 // ICMP, for icmp.ParseMessage
	if addr.Is6() {
		network, laddr, req, rep = "ip6:ipv6-icmp", "::", ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
		proto = 58
	}
	var c *icmp.PacketConn
	err := ns.Do(func() (err error) {
		c, err = icmp.ListenPacket(network, laddr)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("in %s: icmp.ListenPacket(%s): %w", ns.Name, network, err)
	}
	defer c.Close()
	go func() {
		<-ctx.Done()
		c.SetReadDeadline(time.Now())
	}()

	id := os.Getpid() & 0xffff
	sent := map[int]time.Time{}
	buf := make([]byte, 1500)
	dst := &net.IPAddr{IP: addr.AsSlice(), Zone: addr.Zone()}
	for seq := 1; ; seq++ {
		msg := icmp.Message{Type: req, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("tprouter lab")}}
		b, err := msg.Marshal(nil) // the kernel sums ICMPv6 itself
		if err != nil {
			return 0, err
		}
		sent[seq] = time.Now()
		if _, err := c.WriteTo(b, dst); err != nil {
			return 0, fmt.Errorf("in %s: ping %s: %w", ns.Name, addr, err)
		}
		next := time.Now().Add(200 * time.Millisecond)
		for {
			c.SetReadDeadline(next)
			if ctx.Err() != nil {
				return 0, fmt.Errorf("in %s: ping %s: no answer to %d requests: %w", ns.Name, addr, seq, ctx.Err())
			}
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				break // deadline: send the next one
			}
			m, err := icmp.ParseMessage(proto, buf[:n])
			if err != nil || m.Type != rep {
				continue
			}
			echo, ok := m.Body.(*icmp.Echo)
			if !ok || echo.ID != id || from.String() != dst.String() {
				continue
			}
			if t, ok := sent[echo.Seq]; ok {
				return time.Since(t), nil
			}
		}
	}
}
