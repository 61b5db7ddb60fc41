package tproxy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Dialer connects to original destinations, from the client's own address
// when Spoof is set.
type Dialer struct {
	// Spoof binds each connection to the client's address with port 0 and
	// IP_TRANSPARENT (IPV6_TRANSPARENT for IPv6), as Squid's tproxy ports
	// do. The kernel picks the port: reusing the client's port would clash
	// with the intercepted connection (squid-cache/squid PR #150). The
	// router must route the replies to the proxy, which the "socket
	// transparent" rule and the fwmark policy route do.
	Spoof bool
	// Mark is set as SO_MARK when non-zero, so a router can recognise the
	// proxy's own traffic and not intercept it again.
	Mark uint32
	// TOS is set as IP_TOS or IPV6_TCLASS when non-zero.
	TOS int
	// Timeout bounds connection setup; zero means only ctx does.
	Timeout time.Duration
}

// Dial connects to dst on behalf of a client at src. src and dst must be
// of the same family; v4-mapped IPv6 addresses are treated as IPv4, so a
// spoofed source is never a mapped address.
func (d *Dialer) Dial(ctx context.Context, src, dst netip.AddrPort) (net.Conn, error) {
	sa, da := src.Addr().Unmap(), dst.Addr().Unmap()
	f := Family(4)
	if da.Is6() {
		f = 6
	}
	nd := net.Dialer{
		Timeout:   d.Timeout,
		KeepAlive: noKeepAlive,
		Control: func(_, _ string, c syscall.RawConn) error {
			return control(c, func(fd int) error { return d.setup(fd, f) })
		},
	}
	// DialTCP always binds; the unspecified address with port 0 (and
	// IP_BIND_ADDRESS_NO_PORT) is the same as not binding.
	local := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	if f == 6 {
		local = netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	}
	if d.Spoof {
		if sa.Is4() != da.Is4() {
			return nil, fmt.Errorf("spoof %v towards %v: address families differ", sa, da)
		}
		local = netip.AddrPortFrom(sa, 0)
	}
	// DialTCP with netip addresses skips the resolver: fewer allocations
	// per connection than DialContext with a string.
	c, err := nd.DialTCP(ctx, "tcp"+f.suffix(), local, netip.AddrPortFrom(da, dst.Port()))
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (f Family) suffix() string {
	if f == 6 {
		return "6"
	}
	return "4"
}

// setup sets the socket options of an upstream socket. net.Dialer calls it
// after socket(2) and before bind(2), which is where IP_TRANSPARENT must be
// set for the bind to a foreign address to succeed.
func (d *Dialer) setup(fd int, f Family) error {
	if d.Spoof {
		if err := setTransparent(fd, f); err != nil {
			return err
		}
	}
	// Choose the port at connect time from the whole 4-tuple rather than
	// at bind time from the address alone, so one busy client (or the
	// router itself, unspoofed) does not run out of ports towards many
	// servers. Best effort: kernels before 4.2 lack it and work without.
	unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	if d.Mark != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(d.Mark)); err != nil {
			return fmt.Errorf("setsockopt(SO_MARK, %#x): %v", d.Mark, err)
		}
	}
	if d.TOS != 0 {
		var err error
		if f == 6 {
			err = unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_TCLASS, d.TOS)
		} else {
			err = unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_TOS, d.TOS)
		}
		if err != nil {
			return fmt.Errorf("setsockopt(TOS, %#x): %v", d.TOS, err)
		}
	}
	return nil
}
