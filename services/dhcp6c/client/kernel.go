package client

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// system is what the client changes in the kernel: the IA_NA addresses
// on the link.
type system interface {
	// apply puts addrs on the link and removes those of old not in it.
	apply(old, addrs []Addr, now time.Time) error
}

// kernelError is a change the kernel refused: the client exits, and
// init's supervisor restarts it.
type kernelError struct{ err error }

func (e *kernelError) Error() string { return e.err.Error() }
func (e *kernelError) Unwrap() error { return e.err }

// kernel configures a link through netlink.
type kernel struct {
	link netlink.Link
}

func (k kernel) apply(old, addrs []Addr, now time.Time) error {
	for _, a := range addrs {
		// The kernel drops the address when its lifetime ends, also
		// when the client is not running to do it.
		na := nlAddr(a)
		na.ValidLft, na.PreferedLft = lifetime(a.Valid, now), lifetime(a.Preferred, now)
		na.Flags = unix.IFA_F_NOPREFIXROUTE
		if err := netlink.AddrReplace(k.link, na); err != nil {
			return &kernelError{fmt.Errorf("AddrReplace(%s, %s valid %ds): %w (dhcp6c needs CAP_NET_ADMIN)", k.link.Attrs().Name, na.IPNet, na.ValidLft, err)}
		}
	}
	var errs []error
	for _, o := range old {
		if slices.ContainsFunc(addrs, func(a Addr) bool { return a.Addr == o.Addr }) {
			continue
		}
		if err := netlink.AddrDel(k.link, nlAddr(o)); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("AddrDel(%s, %s): %w", k.link.Attrs().Name, o.Addr, err))
		}
	}
	return errors.Join(errs...)
}

func nlAddr(a Addr) *netlink.Addr {
	return &netlink.Addr{IPNet: &net.IPNet{IP: a.Addr.AsSlice(), Mask: net.CIDRMask(128, 128)}}
}

// lifetime is the time from now to end for the kernel, in whole seconds
// rounded up; 0xffffffff is forever.
func lifetime(end time.Time, now time.Time) int {
	left := end.Sub(now)
	if left >= Infinite-time.Hour {
		return 0xffffffff
	}
	return max(1, int((left+time.Second-1)/time.Second))
}
