package sources

import (
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"

	"tprouter/init/internal/oneline"
	"tprouter/init/status"
)

// Interfaces lists every link, in the kernel's order, with its addresses
// and counters; roles names the role of each link init configured, by
// link name ("wan", "lan"). The loopback link's role is "loopback".
func Interfaces(roles map[string]string) ([]status.Interface, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("netlink.LinkList: %w", err)
	}
	var out []status.Interface
	var errs []error
	for _, l := range links {
		i, err := describe(l, roles)
		if err != nil {
			errs = append(errs, err)
		}
		out = append(out, i)
	}
	return out, oneline.Join(errs...)
}

// describe is one link's row.
func describe(l netlink.Link, roles map[string]string) (status.Interface, error) {
	a := l.Attrs()
	i := status.Interface{Name: a.Name, Role: roles[a.Name], Up: a.Flags&net.FlagUp != 0, MTU: a.MTU}
	if a.Flags&net.FlagLoopback != 0 && i.Role == "" {
		i.Role = "loopback"
	}
	if len(a.HardwareAddr) > 0 && a.Flags&net.FlagLoopback == 0 {
		i.MAC = a.HardwareAddr.String()
	}
	if s := a.Statistics; s != nil {
		i.RxBytes, i.TxBytes, i.RxPackets, i.TxPackets = s.RxBytes, s.TxBytes, s.RxPackets, s.TxPackets
		i.RxErrors, i.TxErrors, i.RxDropped, i.TxDropped = s.RxErrors, s.TxErrors, s.RxDropped, s.TxDropped
	}
	var err error
	i.Addrs, err = addrs(l)
	return i, err
}

func linkByName(name string) (netlink.Link, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("netlink.LinkByName(%s): %w", name, err)
	}
	return l, nil
}

// addrs returns l's addresses, IPv4 first, each family as the kernel
// lists it.
func addrs(l netlink.Link) ([]netip.Prefix, error) {
	as, err := netlink.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("netlink.AddrList(%s): %w", l.Attrs().Name, err)
	}
	var ps []netip.Prefix
	for _, a := range as {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || a.IPNet == nil {
			continue
		}
		ones, _ := a.Mask.Size()
		ps = append(ps, netip.PrefixFrom(ip.Unmap(), ones))
	}
	slices.SortStableFunc(ps, func(a, b netip.Prefix) int {
		switch {
		case a.Addr().Is4() == b.Addr().Is4():
			return 0
		case a.Addr().Is4():
			return -1
		}
		return 1
	})
	return ps, nil
}
