package client

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Ports of RFC 8415 section 7.2.
const (
	ClientPort = 546
	ServerPort = 547
)

// allServers is All_DHCP_Relay_Agents_and_Servers (section 7.1).
var allServers = net.ParseIP("ff02::1:2")

// llWait bounds the wait for a usable link-local address: DAD takes a
// second on a link just brought up.
const llWait = 10 * time.Second

// conn opens the client's socket on its link-local address, port 546,
// once the address has passed duplicate address detection (a tentative
// address cannot be bound).
func (c *Client) conn(ctx context.Context) (net.PacketConn, error) {
	deadline := c.now().Add(llWait)
	for {
		ll, err := linkLocal(c.link)
		if err != nil {
			return nil, err
		}
		if ll != nil {
			conn, err := net.ListenUDP("udp6", &net.UDPAddr{IP: ll, Port: ClientPort, Zone: c.iface})
			if err != nil {
				return nil, fmt.Errorf("listen on [%s%%%s]:%d: %w (dhcp6c needs CAP_NET_BIND_SERVICE)", ll, c.iface, ClientPort, err)
			}
			return conn, nil
		}
		if !c.now().Before(deadline) {
			return nil, fmt.Errorf("%s has no link-local IPv6 address that passed DAD after %v: is IPv6 on (disable_ipv6) and the link up?", c.iface, llWait)
		}
		if !c.sleepUntil(ctx, c.now().Add(100*time.Millisecond)) {
			return nil, ctx.Err()
		}
	}
}

// linkLocal returns a usable link-local address of link, or nil.
func linkLocal(link netlink.Link) (net.IP, error) {
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V6)
	if err != nil {
		return nil, fmt.Errorf("AddrList(%s, v6): %w", link.Attrs().Name, err)
	}
	for _, a := range addrs {
		if a.IP.IsLinkLocalUnicast() && a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 {
			return a.IP, nil
		}
	}
	return nil, nil
}
