package client

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// system is what the client changes in the kernel; tests record it instead.
type system interface {
	// apply configures l, replacing old (nil on a first lease).
	apply(old, l *Lease, now time.Time) error
	// remove undoes apply for l; what is already gone is no error.
	remove(l *Lease) error
}

// kernel configures a link through netlink.
type kernel struct {
	link netlink.Link
}

func (k kernel) apply(old, l *Lease, now time.Time) error {
	// The kernel drops the address by itself when its lifetime ends,
	// which also covers a client that is no longer running to do so.
	a := k.addr(l)
	a.ValidLft = l.lifetime(now)
	a.PreferedLft = a.ValidLft
	if err := netlink.AddrReplace(k.link, a); err != nil {
		return fmt.Errorf("AddrReplace(%s, %s valid %ds): %w", k.name(), a.IPNet, a.ValidLft, err)
	}
	if old != nil && (old.Address != l.Address || old.Prefix != l.Prefix) {
		if err := k.delAddr(old); err != nil {
			return err
		}
	}
	if old != nil && old.Router.IsValid() && old.Router != l.Router {
		if err := k.delRoute(old); err != nil {
			return err
		}
	}
	if !l.Router.IsValid() {
		return nil
	}
	r := k.route(l)
	if err := netlink.RouteReplace(r); err != nil {
		return fmt.Errorf("RouteReplace(default via %s dev %s proto dhcp): %w", l.Router, k.name(), err)
	}
	return nil
}

func (k kernel) remove(l *Lease) error {
	return errors.Join(k.delRoute(l), k.delAddr(l))
}

func (k kernel) addr(l *Lease) *netlink.Addr {
	return &netlink.Addr{IPNet: &net.IPNet{
		IP:   l.Address.AsSlice(),
		Mask: net.CIDRMask(l.Prefix.Bits(), 32),
	}}
}

// route is the default route of l. Its protocol, RTPROT_DHCP, tells it
// apart from routes that other code installs.
func (k kernel) route(l *Lease) *netlink.Route {
	r := &netlink.Route{
		LinkIndex: k.link.Attrs().Index,
		Family:    netlink.FAMILY_V4,
		Gw:        l.Router.AsSlice(),
		Protocol:  unix.RTPROT_DHCP,
	}
	if !l.Prefix.Contains(l.Router) {
		// A router outside the subnet (a /32 lease) is still on the link.
		r.Flags = int(netlink.FLAG_ONLINK)
	}
	return r
}

func (k kernel) delAddr(l *Lease) error {
	a := k.addr(l)
	if err := netlink.AddrDel(k.link, a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("AddrDel(%s, %s): %w", k.name(), a.IPNet, err)
	}
	return nil
}

func (k kernel) delRoute(l *Lease) error {
	if !l.Router.IsValid() {
		return nil
	}
	if err := netlink.RouteDel(k.route(l)); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("RouteDel(default via %s dev %s proto dhcp): %w", l.Router, k.name(), err)
	}
	return nil
}

func (k kernel) name() string { return k.link.Attrs().Name }
