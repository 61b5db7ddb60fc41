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
	// Spoof binds each connection to the client's address and
	// IP_TRANSPARENT (IPV6_TRANSPARENT for IPv6), as Squid's tproxy ports
	// do, with a port other than the client's: reusing it would clash
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
// spoofed source is never a mapped address. A spoofed connection never
// takes src's own port (see ports.go).
func (d *Dialer) Dial(ctx context.Context, src, dst netip.AddrPort) (net.Conn, error) {
	sa, da := src.Addr().Unmap(), dst.Addr().Unmap()
	f := Family(4)
	if da.Is6() {
		f = 6
	}
	// DialTCP always binds; the unspecified address with port 0 (and
	// IP_BIND_ADDRESS_NO_PORT) is the same as not binding.
	local := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	if f == 6 {
		local = netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	}
	var plan portPlan
	if d.Spoof {
		if sa.Is4() != da.Is4() {
			return nil, fmt.Errorf("spoof %v towards %v: address families differ", sa, da)
		}
		local = netip.AddrPortFrom(sa, 0)
		plan = planPorts(src.Port(), time.Now())
	}
	remote := netip.AddrPortFrom(da, dst.Port())
	if !plan.explicit {
		c, err := d.dial(ctx, f, local, remote, plan)
		if err != errExplicit {
			return c, err
		}
		plan = planPorts(src.Port(), time.Now()) // now explicit
	}
	var err error
	for range explicitTries {
		var c net.Conn
		c, err = d.dial(ctx, f, netip.AddrPortFrom(sa, plan.pick(src.Port())), remote, plan)
		if err == nil || !retryable(err) {
			return c, err
		}
	}
	return nil, fmt.Errorf("%w (%d ports of %d-%d tried for %v)", err, explicitTries, plan.lo, plan.hi, sa)
}

// dial is one attempt of Dial.
func (d *Dialer) dial(ctx context.Context, f Family, local, remote netip.AddrPort, plan portPlan) (net.Conn, error) {
	var perr error // from the Control function, unwrapped
	nd := net.Dialer{
		Timeout:   d.Timeout,
		KeepAlive: noKeepAlive,
		Control: func(_, _ string, c syscall.RawConn) error {
			perr = control(c, func(fd int) error { return d.setup(fd, f, plan) })
			return perr
		},
	}
	// DialTCP with netip addresses skips the resolver: fewer allocations
	// per connection than DialContext with a string.
	c, err := nd.DialTCP(ctx, "tcp"+f.suffix(), local, remote)
	if err != nil {
		if perr == errExplicit {
			return nil, errExplicit
		}
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
func (d *Dialer) setup(fd int, f Family, plan portPlan) error {
	if d.Spoof {
		if err := setTransparent(fd, f); err != nil {
			return err
		}
	}
	switch {
	case plan.explicit:
		// Other upstream sockets bound to the same client address and
		// port towards other servers do not conflict.
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fmt.Errorf("setsockopt(SO_REUSEADDR): %v", err)
		}
	case plan.skRange != 0:
		if err := setRange(fd, plan.skRange); err != nil {
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
