package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Tap is an open tap device that stands in for the far end of a lab link,
// for a virtual machine to plug into (QEMU: -netdev tap,fd=N). It lives in
// the namespace of that far end (the router's, in a Lab), bridged with it:
//
//	client eth0 ── lan0 ┐router          (lab.New)
//	                    br-lan0 ── tap-lan0 ══ QEMU ══ VM eth1
//
// The tap is not persistent: it disappears when File and every copy of it
// (the VM's) are closed.
type Tap struct {
	File *os.File
	Name string // the tap device, in NS
	NS   *NS    // where the tap and the bridge are

	bridge string
	closed bool
}

// TapPeer opens a tap device on the link that ns reaches through its veth
// link (lab.ClientIf, lab.ServerIf): in the namespace at the veth's other
// end, it bridges that end with a new tap. A frame that ns sends on link
// then comes out of the tap, and the other way round, so a virtual machine
// on the tap takes the place of the veth's far end. The far end must not
// have addresses of its own; lab.New leaves the router's links unaddressed.
func (ns *NS) TapPeer(link string) (*Tap, error) {
	peer, peerLink, err := ns.peer(link)
	if err != nil {
		return nil, err
	}
	t := &Tap{NS: peer, Name: ifname("tap-" + peerLink), bridge: ifname("br-" + peerLink)}
	err = peer.Do(func() error {
		// TUNSETIFF creates the device in the calling thread's
		// namespace, which is why this runs inside peer.Do.
		f, err := openTap(t.Name)
		if err != nil {
			return err
		}
		t.File = f
		return bridge(t.bridge, peerLink, t.Name)
	})
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("tap for %s %s in %s: %w", ns.Name, link, peer.Name, err)
	}
	return t, nil
}

// Close closes the tap and removes the bridge, which leaves the veth's far
// end as it was, except down.
func (t *Tap) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	var errs []error
	if t.File != nil {
		errs = append(errs, t.File.Close())
	}
	errs = append(errs, t.NS.Do(func() error {
		br, err := netlink.LinkByName(t.bridge)
		if err != nil {
			return nil // never made, or gone with the namespace
		}
		if err := netlink.LinkDel(br); err != nil {
			return fmt.Errorf("netlink.LinkDel(%s) in %s: %w", t.bridge, t.NS.Name, err)
		}
		return nil
	}))
	return errors.Join(errs...)
}

// openTap creates the tap device name in the calling thread's namespace and
// returns its file. Frames carry no extra header (IFF_NO_PI).
func openTap(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ioctl(TUNSETIFF, %s): %w", name, err)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), nil
}

// peer returns the namespace and the name of the other end of ns's veth
// link. The kernel knows the other end by its index and by the id that ns
// gave its namespace; the namespace's name is found by asking ns for the id
// of each named namespace in turn.
func (ns *NS) peer(link string) (*NS, string, error) {
	var peer *NS
	var index int
	err := ns.Do(func() error {
		l, err := netlink.LinkByName(link)
		if err != nil {
			return fmt.Errorf("netlink.LinkByName(%s): %w", link, err)
		}
		if l.Type() != "veth" {
			return fmt.Errorf("%s is a %s link, want veth", link, l.Type())
		}
		index = l.Attrs().ParentIndex
		id := l.Attrs().NetNsID
		if id < 0 {
			peer = ns // both ends in ns
			return nil
		}
		names, err := filepath.Glob("/run/netns/*")
		if err != nil {
			return err
		}
		for _, n := range names {
			h, err := netns.GetFromPath(n)
			if err != nil {
				continue
			}
			nid, err := netlink.GetNetNsIdByFd(int(h))
			h.Close()
			if err == nil && nid == id {
				peer = &NS{Name: filepath.Base(n)}
				return nil
			}
		}
		return fmt.Errorf("the namespace of %s's peer (id %d) has no name in /run/netns", link, id)
	})
	if err != nil {
		return nil, "", fmt.Errorf("in %s: %w", ns.Name, err)
	}
	var name string
	err = peer.Do(func() error {
		l, err := netlink.LinkByIndex(index)
		if err != nil {
			return fmt.Errorf("netlink.LinkByIndex(%d): %w", index, err)
		}
		name = l.Attrs().Name
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("peer of %s %s in %s: %w", ns.Name, link, peer.Name, err)
	}
	return peer, name, nil
}

// bridge joins ports in a new bridge called name, in the calling thread's
// namespace, and sets them all up.
func bridge(name string, ports ...string) error {
	no := false
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}, MulticastSnooping: &no}
	if err := netlink.LinkAdd(br); err != nil {
		return fmt.Errorf("netlink.LinkAdd(bridge %s): %w", name, err)
	}
	// Only the VM and the namespace across the link talk on it: the
	// bridge and its ports must not send router solicitations or MLD
	// reports of their own.
	for _, dev := range append([]string{name}, ports...) {
		key := "/proc/sys/net/ipv6/conf/" + dev + "/disable_ipv6"
		if err := os.WriteFile(key, []byte("1"), 0o644); err != nil {
			return err
		}
	}
	for _, dev := range ports {
		l, err := netlink.LinkByName(dev)
		if err != nil {
			return fmt.Errorf("netlink.LinkByName(%s): %w", dev, err)
		}
		if err := netlink.LinkSetMaster(l, br); err != nil {
			return fmt.Errorf("netlink.LinkSetMaster(%s, %s): %w", dev, name, err)
		}
		if err := netlink.LinkSetUp(l); err != nil {
			return fmt.Errorf("netlink.LinkSetUp(%s): %w", dev, err)
		}
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return fmt.Errorf("netlink.LinkSetUp(%s): %w", name, err)
	}
	return nil
}

// ifname shortens s to the kernel's limit of 15 bytes.
func ifname(s string) string {
	if len(s) > unix.IFNAMSIZ-1 {
		return s[:unix.IFNAMSIZ-1]
	}
	return s
}
