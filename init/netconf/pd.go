package netconf

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"tprouter/init/config"
	"tprouter/init/internal/oneline"
)

// Delegated is a prefix the ISP delegated (dhcp6c's state), with the ends
// of its lifetimes.
type Delegated struct {
	Prefix           netip.Prefix
	Preferred, Valid time.Time
}

// PD puts the LAN's /64 of a delegated prefix on the first LAN link: the
// address <the /64>::1 with the lease's remaining lifetimes (so that the
// kernel drops it when the lease runs out, and radvd advertises no longer
// than that), and an unreachable route for the rest of the delegated
// prefix (RFC 7084 WPD-5: a packet for an unused part of it must not go
// back to the ISP, which routes it here again). When the prefix changes or
// ends, the old address goes: radvd then advertises the old /64 with zero
// lifetimes, and the LAN's hosts move to the new one.
//
// The address is not permanent, so Apply (netconf's own addresses)
// leaves it alone. Update is idempotent and meant to be called on every
// poll of the state: it replaces the address each time, which also puts
// it back after the link went down (the kernel deletes an address with a
// lifetime on link down, keep_addr_on_down or not).
type PD struct {
	Link string
	Net  config.Network // LANPrefix picks the /64 of the delegated prefix

	lan, whole netip.Prefix // what is applied now: the /64, the delegated prefix
}

// Update applies the first of ds that is still valid at now and holds
// the configured /64, and says what changed ("" when nothing did).
func (p *PD) Update(ds []Delegated, now time.Time) (string, error) {
	want, lan, note := p.pick(ds, now)
	if !lan.IsValid() && !p.lan.IsValid() {
		return "", nil // no prefix, none applied
	}
	link, err := netlink.LinkByName(p.Link)
	if err != nil {
		return "", fmt.Errorf("LinkByName(%s): %w", p.Link, err)
	}
	var changed string
	var errs []error
	if p.lan.IsValid() && p.lan != lan {
		changed = fmt.Sprintf("pd: %s withdrawn from %s (radvd advertises it with zero lifetimes)", p.lan, p.Link)
		errs = append(errs, p.withdraw(link))
	}
	if lan.IsValid() {
		if err := netlink.AddrReplace(link, pdAddr(lan, want, now)); err != nil {
			errs = append(errs, fmt.Errorf("AddrReplace(%s, %s): %w", p.Link, lan, err))
		} else if p.lan != lan {
			changed = join(changed, fmt.Sprintf("pd: LAN %s on %s from delegated %s (valid %v)%s",
				lan, p.Link, want.Prefix, want.Valid.Sub(now).Round(time.Second), note))
			p.lan = lan
		}
		if err := netlink.RouteReplace(unreachable(want.Prefix)); err != nil {
			errs = append(errs, fmt.Errorf("RouteReplace(unreachable %s): %w", want.Prefix, err))
		} else {
			p.whole = want.Prefix
		}
	}
	return changed, oneline.Join(errs...)
}

// pick returns the first of ds valid at now that holds the configured
// /64, and that /64. When the ISP delegated less than was asked for, so
// that none holds it, the LAN takes the first /64 of the first valid one
// rather than go without IPv6, and note says so.
func (p *PD) pick(ds []Delegated, now time.Time) (d Delegated, lan netip.Prefix, note string) {
	for _, d := range ds {
		if l, ok := p.Net.LANPrefix(d.Prefix); ok && d.Valid.After(now) {
			return d, l, ""
		}
	}
	first := p.Net
	first.PD.LAN = 0
	for _, d := range ds {
		if l, ok := first.LANPrefix(d.Prefix); ok && d.Valid.After(now) {
			return d, l, fmt.Sprintf("; the first /64: tprouter.lan.pd=%d is beyond the delegated prefix", p.Net.PD.LAN)
		}
	}
	return Delegated{}, netip.Prefix{}, ""
}

// withdraw removes the applied /64's address and the unreachable route.
func (p *PD) withdraw(link netlink.Link) error {
	var errs []error
	a := pdAddr(p.lan, Delegated{}, time.Time{})
	if err := netlink.AddrDel(link, a); err != nil && err != unix.EADDRNOTAVAIL {
		errs = append(errs, fmt.Errorf("AddrDel(%s, %s): %w", p.Link, p.lan, err))
	}
	if p.whole.IsValid() {
		if err := netlink.RouteDel(unreachable(p.whole)); err != nil && err != unix.ESRCH {
			errs = append(errs, fmt.Errorf("RouteDel(unreachable %s): %w", p.whole, err))
		}
	}
	p.lan, p.whole = netip.Prefix{}, netip.Prefix{}
	return oneline.Join(errs...)
}

// pdAddr is the router's address in lan, ::1, with d's lifetimes left at
// now (none for a zero d, as AddrDel wants).
func pdAddr(lan netip.Prefix, d Delegated, now time.Time) *netlink.Addr {
	ip := lan.Addr().As16()
	ip[15] = 1
	a := &netlink.Addr{
		IPNet: &net.IPNet{IP: net.IP(ip[:]), Mask: net.CIDRMask(64, 128)},
		Flags: unix.IFA_F_NODAD,
	}
	if !d.Valid.IsZero() {
		a.ValidLft = max(lifetime(d.Valid.Sub(now)), 1) // 0 would make it permanent
		a.PreferedLft = min(lifetime(d.Preferred.Sub(now)), a.ValidLft)
	}
	return a
}

// lifetime converts what is left of a lifetime to the kernel's seconds,
// 0 when it is over, at most 0xffffffff, the kernel's "infinite".
func lifetime(d time.Duration) int {
	return int(min(max(d/time.Second, 0), 0xffffffff))
}

// unreachable is the route that answers for the delegated prefix's unused
// /64s: ICMPv6 unreachable instead of a loop to the ISP.
func unreachable(p netip.Prefix) *netlink.Route {
	return &netlink.Route{
		Dst:   &net.IPNet{IP: p.Masked().Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 128)},
		Type:  unix.RTN_UNREACHABLE,
		Table: unix.RT_TABLE_MAIN,
	}
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
