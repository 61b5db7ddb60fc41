// Package tproxy opens the sockets of a Linux TPROXY interception proxy:
// transparent listeners, on which a connection's local address is the
// destination the client meant, and upstream connections whose source is the
// client's own address.
//
// See Documentation/networking/tproxy.rst in the Linux tree. The original
// destination is always the accepted socket's local address, never
// SO_ORIGINAL_DST: TPROXY does not rewrite packets, so conntrack has no NAT
// entry to report (the mistake of envoyproxy/envoy#16130).
package tproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// noKeepAlive turns off the TCP keep-alive that Go enables by default on
// accepted and dialled connections: four setsockopt(2) calls per socket,
// eight per proxied connection, for probes that the proxy's own idle and
// read timeouts make unnecessary (HAProxy and Squid leave it off too).
const noKeepAlive = -1

// deferAccept is TCP_DEFER_ACCEPT's wait, in seconds: the kernel hands a
// connection to accept(2) when its first bytes arrive rather than at the
// handshake's last ACK, so the proxy is woken once per connection, with
// the request or ClientHello already there. The proxy waits for the
// client's first bytes anyway (clients speak first in HTTP and TLS); a
// client silent for longer is accepted on its next ACK after the wait.
const deferAccept = 1

// setDeferAccept sets TCP_DEFER_ACCEPT on a listening socket.
func setDeferAccept(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, deferAccept); err != nil {
		return fmt.Errorf("setsockopt(TCP_DEFER_ACCEPT): %v", err)
	}
	return nil
}

// Family is an address family: 4 or 6.
type Family int

func (f Family) String() string { return "IPv" + strconv.Itoa(int(f)) }

// Listener is a transparent listener and the family it serves.
type Listener struct {
	net.Listener
	Family Family
}

// Listen opens a transparent TCP listener for each family addr covers. A
// host-less addr (":3129") covers both, with one IPv6-only socket for IPv6
// so IPv4 clients appear as IPv4 and never as v4-mapped addresses; an
// address of one family covers that family ("[::]:3129" is IPv6 only).
//
// Each family is probed first, as Squid's Ip::Intercept::ProbeForTproxy
// does; a family that does not work is left out and described in notes
// ("IPv6 TPROXY unavailable: ...; serving IPv4 only"). Listen fails only
// when no family works.
func Listen(ctx context.Context, addr string) (ls []Listener, notes []string, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen address %q: %v", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, nil, fmt.Errorf("listen address %q: port %q is not a number 0-65535", addr, port)
	}
	fams := []Family{4, 6}
	hosts := map[Family]string{4: "0.0.0.0", 6: "::"}
	if host != "" {
		ip, err := netip.ParseAddr(host)
		if err != nil || ip.Zone() != "" {
			return nil, nil, fmt.Errorf("listen address %q: host must be an IP address or empty", addr)
		}
		ip = ip.Unmap()
		f := Family(6)
		if ip.Is4() {
			f = 4
		}
		fams, hosts = []Family{f}, map[Family]string{f: ip.String()}
	}
	var failed []string
	for _, f := range fams {
		if err := Probe(f); err != nil {
			failed = append(failed, fmt.Sprintf("%v TPROXY unavailable: %v", f, err))
			continue
		}
		lc := net.ListenConfig{
			Control: func(_, _ string, c syscall.RawConn) error {
				return control(c, func(fd int) error {
					if err := setTransparent(fd, f); err != nil {
						return err
					}
					return setDeferAccept(fd)
				})
			},
			KeepAlive: noKeepAlive,
		}
		ln, err := lc.Listen(ctx, "tcp"+strconv.Itoa(int(f)), net.JoinHostPort(hosts[f], port))
		if err != nil {
			failed = append(failed, fmt.Sprintf("%v TPROXY unavailable: %v", f, err))
			continue
		}
		ls = append(ls, Listener{ln, f})
	}
	if len(ls) == 0 {
		return nil, nil, errors.New(joinNotes(failed))
	}
	for _, n := range failed {
		notes = append(notes, n+"; serving "+ls[0].Family.String()+" only")
	}
	return ls, notes, nil
}

func joinNotes(ns []string) string {
	s := ""
	for i, n := range ns {
		if i > 0 {
			s += "; "
		}
		s += n
	}
	return s
}

// Probe checks that the kernel and the process's capabilities allow a
// transparent socket of family f: it creates one, sets IP_TRANSPARENT or
// IPV6_TRANSPARENT and binds it to an address that is not local, which only
// a transparent socket may do. The error names the step that failed.
func Probe(f Family) error {
	af, addr := unix.AF_INET, unix.Sockaddr(&unix.SockaddrInet4{Addr: [4]byte{203, 0, 113, 254}})
	if f == 6 {
		// ::2, the address Squid's probe binds: reserved, never local.
		af, addr = unix.AF_INET6, &unix.SockaddrInet6{Addr: [16]byte{15: 2}}
	}
	fd, err := unix.Socket(af, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EAFNOSUPPORT) {
			return fmt.Errorf("socket(%v): %v (is %v disabled in the kernel?)", f, err, f)
		}
		return fmt.Errorf("socket(%v): %v", f, err)
	}
	defer unix.Close(fd)
	if err := setTransparent(fd, f); err != nil {
		return err
	}
	if err := unix.Bind(fd, addr); err != nil {
		return fmt.Errorf("bind to a non-local address with %s set: %v", transparentName(f), err)
	}
	return nil
}

func transparentName(f Family) string {
	if f == 6 {
		return "IPV6_TRANSPARENT"
	}
	return "IP_TRANSPARENT"
}

// setTransparent marks fd transparent: a listener then accepts connections
// TPROXY diverts to it, and an outgoing socket may bind to a foreign address.
func setTransparent(fd int, f Family) error {
	var err error
	if f == 6 {
		err = unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_TRANSPARENT, 1)
	} else {
		err = unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_TRANSPARENT, 1)
	}
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("setsockopt(%s): %v (needs CAP_NET_ADMIN or CAP_NET_RAW)", transparentName(f), err)
		}
		return fmt.Errorf("setsockopt(%s): %v", transparentName(f), err)
	}
	return nil
}

// control runs fn on the socket behind c and returns the first error of
// either.
func control(c syscall.RawConn, fn func(fd int) error) error {
	var ferr error
	if err := c.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// HasNetAdmin reports whether CAP_NET_ADMIN is in the process's effective
// capability set. Binding upstream sockets to clients' addresses and
// setting SO_MARK need it.
func HasNetAdmin() (bool, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false, fmt.Errorf("capget: %v", err)
	}
	return data[unix.CAP_NET_ADMIN/32].Effective&(1<<(unix.CAP_NET_ADMIN%32)) != 0, nil
}
