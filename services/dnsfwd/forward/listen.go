package forward

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// linkPoll is how often Serve looks for new addresses on its link.
const linkPoll = 2 * time.Second

// Listen opens a UDP and a TCP socket on addr.
//
// IP_FREEBIND lets them bind before the address exists: init starts the
// forwarder with the LAN addresses of the configuration, which netconf
// may still be adding. With dev set, SO_BINDTODEVICE restricts them to
// packets that arrive on that link: Linux accepts a packet for any of its
// addresses on any link, so without it a LAN address would answer from the
// WAN side too whenever the firewall is not (yet) in place.
func Listen(addr netip.AddrPort, dev string) (net.PacketConn, net.Listener, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var err error
		c.Control(func(fd uintptr) {
			if addr.Addr().Is4() {
				err = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
			} else {
				err = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_FREEBIND, 1)
			}
			if err != nil {
				err = fmt.Errorf("setsockopt(%s, FREEBIND): %w", address, err)
				return
			}
			if dev != "" {
				if err = unix.BindToDevice(int(fd), dev); err != nil {
					err = fmt.Errorf("setsockopt(%s, SO_BINDTODEVICE, %s): %w", address, dev, err)
				}
			}
		})
		return err
	}}
	family := "4"
	if addr.Addr().Is6() {
		family = "6"
	}
	pc, err := lc.ListenPacket(context.Background(), "udp"+family, addr.String())
	if err != nil {
		return nil, nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	l, err := lc.Listen(context.Background(), "tcp"+family, addr.String())
	if err != nil {
		pc.Close()
		return nil, nil, fmt.Errorf("listen tcp %s: %w", addr, err)
	}
	return pc, l, nil
}

// LinkAddrs returns the addresses of the link named dev that LAN hosts
// are told to use: all but the link-local ones (dhcp4d hands out the IPv4
// address, radvd a global IPv6 one).
func LinkAddrs(dev string) ([]netip.Addr, error) {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return nil, fmt.Errorf("InterfaceByName(%q): %w", dev, err)
	}
	as, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", dev, err)
	}
	var addrs []netip.Addr
	for _, a := range as {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if ip = ip.Unmap(); ok && ip.IsGlobalUnicast() {
			addrs = append(addrs, ip)
		}
	}
	return addrs, nil
}

// Serve listens on addrs, or, when addrs is empty, on the addresses of
// dev at port 53, rechecked every few seconds for new ones; it answers
// queries until ctx ends (and returns nil) or until listening or serving
// fails (and returns that error).
func (f *Forwarder) Serve(ctx context.Context, addrs []netip.AddrPort, dev string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	fail := func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
	var bound []netip.AddrPort
	listen := func(a netip.AddrPort) error {
		pc, l, err := Listen(a, dev)
		if err != nil {
			return err
		}
		bound = append(bound, a)
		f.AddSelf(a)
		go func() {
			if err := f.ServeUDP(ctx, pc); err != nil {
				fail(err)
			}
		}()
		go func() {
			if err := f.ServeTCP(ctx, l); err != nil {
				fail(err)
			}
		}()
		on := ""
		if dev != "" {
			on = " on " + dev
		}
		f.log.Printf("listening on %s (udp and tcp)%s", a, on)
		return nil
	}

	if len(addrs) > 0 {
		for _, a := range addrs {
			if err := listen(a); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		}
	}

	waiting := "" // the error last logged
	t := time.NewTicker(linkPoll)
	defer t.Stop()
	for {
		as, err := LinkAddrs(dev)
		switch {
		case err != nil:
		case len(as) == 0 && len(bound) == 0:
			err = fmt.Errorf("%s has no addresses", dev)
		}
		// Said once, not every poll.
		if err != nil && err.Error() != waiting {
			f.log.Printf("waiting for addresses to listen on: %v", err)
		}
		waiting = fmt.Sprint(err)
		for _, a := range as {
			if ap := netip.AddrPortFrom(a, 53); !slices.Contains(bound, ap) {
				if err := listen(ap); err != nil {
					return err
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case <-t.C:
		}
	}
}
