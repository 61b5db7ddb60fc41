package tproxy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// A spoofed upstream connection must never have its own client
// connection's tuple: client:port -> server:port is then the tuple of the
// intercepted connection too, and conntrack, which sees both (the
// client's in prerouting, the proxy's in output), takes them for one
// unless the ruleset puts them in different zones (see "Two conntrack
// zones" in docs/firewall.md). The kernel cannot know: the intercepted
// socket's local address is the server's, so for it the two tuples differ.
// So the dialer keeps the kernel's choice off the client's port, as
// follows (see "Choosing the upstream port" in docs/proxy.md):
//
//   - with IP_LOCAL_PORT_RANGE (Linux 6.3), the socket's own range is the
//     part of the namespace's ip_local_port_range above or below the
//     client's port, picked at random weighted by size, and the kernel
//     still picks a port unique for the whole 4-tuple at connect time
//     (IP_BIND_ADDRESS_NO_PORT);
//   - without it, or when the client's port is the whole range, the
//     dialer binds a port of its own choosing and retries a few times when
//     it is taken.

// rangeRefresh is how often the namespace's port range is read again.
const rangeRefresh = time.Second

// explicitTries bounds the binds to ports of the dialer's own choosing.
const explicitTries = 8

// portRange is the namespace's ip_local_port_range, read at most every
// rangeRefresh.
type portRange struct {
	mu     sync.Mutex
	lo, hi uint16
	read   time.Time
	perSk  atomic.Int32 // IP_LOCAL_PORT_RANGE: 0 unknown, 1 works, -1 not
}

var ephemeral portRange

// get returns the range, read again when older than rangeRefresh; the
// kernel's default when the file cannot be read.
func (r *portRange) get(now time.Time) (lo, hi uint16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lo == 0 || now.Sub(r.read) >= rangeRefresh {
		r.lo, r.hi, r.read = 32768, 60999, now
		if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
			var l, h uint16
			if _, err := fmt.Sscan(string(b), &l, &h); err == nil && l > 0 && l <= h {
				r.lo, r.hi = l, h
			}
		}
	}
	return r.lo, r.hi
}

// portPlan is how one dial keeps off the client's port: a range for
// IP_LOCAL_PORT_RANGE (lo | hi<<16; 0: none needed), or explicit, ports
// the dialer binds itself.
type portPlan struct {
	skRange  uint32
	explicit bool
	lo, hi   uint16 // the range explicit ports are drawn from
}

// planPorts returns the plan for an upstream connection of a client
// whose port is p.
func planPorts(p uint16, now time.Time) portPlan {
	lo, hi := ephemeral.get(now)
	if p < lo || p > hi {
		return portPlan{} // the kernel never picks it
	}
	above, below := int(hi-p), int(p-lo)
	if above+below == 0 || ephemeral.perSk.Load() < 0 {
		if above+below == 0 {
			lo, hi = 1024, 65535 // the range is the client's port alone
		}
		return portPlan{explicit: true, lo: lo, hi: hi}
	}
	if rand.IntN(above+below) < above {
		return portPlan{skRange: uint32(p+1) | uint32(hi)<<16}
	}
	return portPlan{skRange: uint32(lo) | uint32(p-1)<<16}
}

// pick returns a port of the plan's range other than p.
func (pl portPlan) pick(p uint16) uint16 {
	for {
		q := pl.lo + uint16(rand.IntN(int(pl.hi-pl.lo)+1))
		if q != p {
			return q
		}
	}
}

// setRange sets IP_LOCAL_PORT_RANGE on fd. A kernel without it (before
// 6.3) is remembered, and errExplicit asks Dial to choose the port itself.
func setRange(fd int, v uint32) error {
	err := unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_LOCAL_PORT_RANGE, int(v))
	if err == nil {
		ephemeral.perSk.Store(1)
		return nil
	}
	if errors.Is(err, unix.ENOPROTOOPT) || errors.Is(err, unix.EINVAL) {
		ephemeral.perSk.Store(-1)
		return errExplicit
	}
	return fmt.Errorf("setsockopt(IP_LOCAL_PORT_RANGE, %d-%d): %v", v&0xffff, v>>16, err)
}

// errExplicit makes Dial retry with a port of its own choosing.
var errExplicit = errors.New("tproxy: IP_LOCAL_PORT_RANGE unsupported")

// retryable reports whether a dial from an explicit port failed because
// the port (or its 4-tuple) was taken.
func retryable(err error) bool {
	return errors.Is(err, unix.EADDRINUSE) || errors.Is(err, unix.EADDRNOTAVAIL)
}
