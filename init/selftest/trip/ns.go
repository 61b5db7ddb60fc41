package trip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// peerName is the namespace side of each veth pair.
const peerName = "eth0"

// env is the namespaces of one run.
type env struct {
	router, client, server netns.NsHandle
	clientName, serverName string
	links                  []string // router side links made
}

// inNS runs fn on an OS thread that has entered ns, and returns to the
// thread's own namespace afterwards. Sockets fn makes stay in ns.
func inNS(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- fmt.Errorf("netns.Get: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		err = fn()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread() // else the thread ends with the goroutine
		}
		errc <- err
	}()
	return <-errc
}

// newNamed makes the named namespace ns, replacing a leftover of an
// earlier run, with DAD off for the links it will get.
func (e *env) newNamed(name string) (netns.NsHandle, error) {
	var h netns.NsHandle
	err := inNS(e.router, func() error {
		netns.DeleteNamed(name) // a leftover of a run that was killed
		var err error
		if h, err = netns.NewNamed(name); err != nil { // enters it
			return fmt.Errorf("netns.NewNamed(%q): %w (is /run writable?)", name, err)
		}
		return sysctl("net/ipv6/conf/default/accept_dad", "0")
	})
	return h, err
}

// sysctl writes /proc/sys/key in the calling thread's namespace.
func sysctl(key, value string) error {
	if err := os.WriteFile("/proc/sys/"+key, []byte(value), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// setup makes both namespaces and links them to the router.
func setup(clientName, serverName string) (*env, error) {
	e := &env{clientName: clientName, serverName: serverName}
	var err error
	if e.router, err = netns.Get(); err != nil {
		return nil, fmt.Errorf("netns.Get: %w", err)
	}
	if e.client, err = e.newNamed(clientName); err == nil {
		e.server, err = e.newNamed(serverName)
	}
	if err == nil {
		err = e.join(client, e.client)
	}
	if err == nil {
		err = e.join(server, e.server)
	}
	if err != nil {
		return nil, errors.Join(err, e.teardown())
	}
	return e, nil
}

// join makes s's veth pair into ns and gives both ends their addresses,
// and the namespace its default routes through the router.
func (e *env) join(s side, ns netns.NsHandle) error {
	rh, err := netlink.NewHandleAt(e.router, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink.NewHandleAt(router, NETLINK_ROUTE): %w", err)
	}
	defer rh.Close()
	if old, err := rh.LinkByName(s.link); err == nil {
		rh.LinkDel(old) // a leftover
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: s.link}, PeerName: peerName, PeerNamespace: netlink.NsFd(ns)}
	if err := rh.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth %s: %w (the kernel needs veth)", s.link, err)
	}
	e.links = append(e.links, s.link)
	// Diverted packets have destinations the router does not own.
	err = inNS(e.router, func() error { return sysctl("net/ipv4/conf/"+s.link+"/rp_filter", "0") })
	if err == nil {
		err = configure(rh, s.link, nil, s.router4, s.router6)
	}
	if err != nil {
		return err
	}
	nh, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink.NewHandleAt(NETLINK_ROUTE): %w", err)
	}
	defer nh.Close()
	if lo, err := nh.LinkByName("lo"); err == nil {
		nh.LinkSetUp(lo)
	}
	return configure(nh, peerName, []netip.Addr{s.router4.Addr(), s.router6.Addr()}, s.ns4, s.ns6)
}

// configure puts addrs on link, up, with default routes via gws.
func configure(h *netlink.Handle, link string, gws []netip.Addr, addrs ...netip.Prefix) error {
	l, err := h.LinkByName(link)
	if err != nil {
		return fmt.Errorf("link %s: %w", link, err)
	}
	for _, p := range addrs {
		a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
		if p.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrAdd(l, a); err != nil {
			return fmt.Errorf("add address %v to %s: %w", p, link, err)
		}
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", link, err)
	}
	for _, gw := range gws {
		r := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: gw.AsSlice()}
		if err := h.RouteAdd(r); err != nil {
			return fmt.Errorf("add default route via %v on %s: %w", gw, link, err)
		}
	}
	return nil
}

// teardown removes the links and namespaces; what is already gone is no
// error.
func (e *env) teardown() error {
	var errs []error
	if rh, err := netlink.NewHandleAt(e.router, unix.NETLINK_ROUTE); err == nil {
		for _, l := range e.links {
			if link, err := rh.LinkByName(l); err == nil {
				if err := rh.LinkDel(link); err != nil {
					errs = append(errs, fmt.Errorf("delete %s: %w", l, err))
				}
			}
		}
		rh.Close()
	}
	for _, h := range []netns.NsHandle{e.client, e.server} {
		if h.IsOpen() {
			h.Close()
		}
	}
	for _, n := range []string{e.clientName, e.serverName} {
		if err := netns.DeleteNamed(n); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("delete namespace %s: %w", n, err))
		}
	}
	e.router.Close()
	return errors.Join(errs...)
}
