// Package netconf applies a config.Network to the kernel: it finds the
// WAN and LAN links, renames those matched by MAC, brings them up, gives
// them their addresses and default routes, sets the sysctls of a TPROXY
// router, installs the policy routing that delivers packets marked by the
// firewall's tproxy rules to local sockets, and turns forwarding on or
// off. It is the one writer of the forwarding sysctls: a router forwards
// only with its firewall in place, so router.Configure applies the
// firewall first and asks for forwarding only when that succeeded.
//
// It talks netlink and writes /proc/sys directly, because the firmware image
// has no ip(8). Everything happens in the network namespace of the calling
// OS thread and Apply starts no goroutines, so a caller that wants another
// namespace locks its thread and enters it first.
//
// Apply converges rather than adds: routes and rules it installs carry
// Protocol, so a later Apply removes those a changed configuration no longer
// asks for; on the WAN and LAN links, permanent global addresses that the
// configuration does not list are removed. Addresses with a finite lifetime
// (SLAAC, DHCP leases) and link-local addresses belong to someone else and
// are left alone.
package netconf

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"tprouter/init/config"
	"tprouter/init/internal/oneline"
)

// Protocol marks the routes and policy rules that Apply installs ("proto
// static" in ip(8)), so that a later Apply finds the ones it owns. Nothing
// else on the router installs routes with it.
const Protocol = unix.RTPROT_STATIC

// RulePriority is the priority of the fwmark rule: before the main table
// (32766), so marked packets never follow a default route.
const RulePriority = 100

// Apply configures the calling thread's network namespace as c says, with
// forwarding on. It goes through every step even when one fails and
// returns all failures, each naming the call and arguments that failed.
func Apply(c config.Network) error { return ApplyForward(c, true) }

// ApplyForward is Apply with IPv4 and IPv6 forwarding set to forward:
// turned off before anything else, or on after everything else (the
// policy routing of intercepted packets among it). It never turns
// forwarding on for a moment when forward is false.
func ApplyForward(c config.Network, forward bool) error {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink.NewHandle(NETLINK_ROUTE): %w", err)
	}
	defer h.Close()
	a := &applier{nl: h, procSys: "/proc/sys"}
	return a.apply(c, forward)
}

// Rename gives the links that c matches by MAC their configured names,
// and changes nothing else; Apply does it too. Calling it before Resolve
// gives the names the links keep, for a firewall applied before Apply.
// Links that cannot be found are left to Apply to report.
func Rename(c config.Network) error {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink.NewHandle(NETLINK_ROUTE): %w", err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return fmt.Errorf("LinkList: %w", err)
	}
	a := &applier{nl: h}
	var errs []error
	for _, l := range append([]config.Link{c.WAN}, c.LAN...) {
		if k, err := findLink(links, l); err == nil {
			_, err = a.rename(k, l)
			errs = append(errs, err)
		}
	}
	return oneline.Join(errs...)
}

// Resolve returns the kernel's names of c's WAN and LAN links, for rules
// that match interfaces by name (the firewall). It changes nothing; call it
// after Rename or Apply, which rename links matched by MAC to their
// configured Name.
// A link that cannot be found is reported in err and named by its
// configured Name, so rules built from the names still match it should it
// appear under that name.
func Resolve(c config.Network) (wan string, lan []string, err error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return "", nil, fmt.Errorf("netlink.NewHandle(NETLINK_ROUTE): %w", err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return "", nil, fmt.Errorf("LinkList: %w", err)
	}
	var errs []error
	name := func(l config.Link) string {
		k, err := findLink(links, l)
		if err != nil {
			errs = append(errs, err)
			return l.Name
		}
		return k.Attrs().Name
	}
	wan = name(c.WAN)
	for _, l := range c.LAN {
		lan = append(lan, name(l))
	}
	return wan, lan, oneline.Join(errs...)
}

// applier holds what Apply works with; tests replace its fields.
type applier struct {
	nl      *netlink.Handle
	procSys string // root of the sysctl tree, normally /proc/sys
}

func (a *applier) apply(c config.Network, forward bool) error {
	var errs []error
	addErr := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if !forward {
		addErr(a.write(forwarding(false)))
	}

	// Local delivery of TPROXYed packets goes through lo.
	lo, err := a.nl.LinkByName("lo")
	if err != nil {
		addErr(fmt.Errorf("LinkByName(lo): %w", err))
	} else {
		addErr(a.up(lo))
	}

	wan, lan, err := a.links(c)
	addErr(err)

	// Addresses before routes: a gateway must be reachable through a
	// prefix on its link when its route is added.
	if wan != nil {
		addErr(a.addrs(wan, c.WANAddrs))
	}
	for i, l := range lan {
		if l == nil {
			continue
		}
		var want []netip.Prefix
		if i == 0 {
			want = c.LANAddrs
		}
		addErr(a.addrs(l, want))
	}

	addErr(a.write(sysctls(name(wan), names(lan))))
	addErr(a.routes(c, lo, wan, lan))
	addErr(a.rules(c))
	if forward {
		addErr(a.write(forwarding(true)))
	}
	return oneline.Join(errs...)
}

// links finds c's links, renames those matched by MAC to their configured
// Name and brings them all up. Links that cannot be found are nil.
func (a *applier) links(c config.Network) (wan netlink.Link, lan []netlink.Link, err error) {
	all, err := a.nl.LinkList()
	if err != nil {
		return nil, make([]netlink.Link, len(c.LAN)), fmt.Errorf("LinkList: %w", err)
	}
	var errs []error
	setup := func(l config.Link) netlink.Link {
		k, err := findLink(all, l)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		k, err = a.rename(k, l)
		if err != nil {
			errs = append(errs, err)
		}
		if err := a.up(k); err != nil {
			errs = append(errs, err)
		}
		return k
	}
	wan = setup(c.WAN)
	for _, l := range c.LAN {
		lan = append(lan, setup(l))
	}
	return wan, lan, oneline.Join(errs...)
}

// findLink returns the link l names: by MAC when set (the lowest index
// wins, which is the physical device rather than a VLAN or bridge that
// copied its address), else by name.
func findLink(links []netlink.Link, l config.Link) (netlink.Link, error) {
	if len(l.MAC) == 0 {
		if l.Name == "" {
			return nil, errors.New("link with neither name nor MAC in the configuration")
		}
		for _, k := range links {
			if k.Attrs().Name == l.Name {
				return k, nil
			}
		}
		return nil, fmt.Errorf("no link named %q", l.Name)
	}
	var found netlink.Link
	for _, k := range links {
		if bytes.Equal(k.Attrs().HardwareAddr, l.MAC) &&
			(found == nil || k.Attrs().Index < found.Attrs().Index) {
			found = k
		}
	}
	if found == nil {
		return nil, fmt.Errorf("no link with MAC %s (for %q)", l.MAC, l.Name)
	}
	return found, nil
}

// rename gives a link matched by MAC its configured name. The kernel only
// renames links that are down.
func (a *applier) rename(k netlink.Link, l config.Link) (netlink.Link, error) {
	if len(l.MAC) == 0 || l.Name == "" || k.Attrs().Name == l.Name {
		return k, nil
	}
	old := k.Attrs().Name
	if err := a.nl.LinkSetDown(k); err != nil {
		return k, fmt.Errorf("LinkSetDown(%s): %w", old, err)
	}
	if err := a.nl.LinkSetName(k, l.Name); err != nil {
		return k, fmt.Errorf("LinkSetName(%s, %s): %w", old, l.Name, err)
	}
	renamed, err := a.nl.LinkByIndex(k.Attrs().Index)
	if err != nil {
		return k, fmt.Errorf("LinkByIndex(%d): %w", k.Attrs().Index, err)
	}
	return renamed, nil
}

func (a *applier) up(k netlink.Link) error {
	if err := a.nl.LinkSetUp(k); err != nil {
		return fmt.Errorf("LinkSetUp(%s): %w", k.Attrs().Name, err)
	}
	return nil
}

func name(k netlink.Link) string {
	if k == nil {
		return ""
	}
	return k.Attrs().Name
}

func names(ks []netlink.Link) []string {
	var s []string
	for _, k := range ks {
		s = append(s, name(k))
	}
	return s
}

// Loopback brings lo up, as apply does too. init calls it before it
// starts the services that need no link: the proxy serves its status on
// 127.0.0.1, which cannot be bound while lo is down.
func Loopback() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("LinkByName(lo): %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("LinkSetUp(lo): %w", err)
	}
	return nil
}
