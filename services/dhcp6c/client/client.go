// Package client is the router's DHCPv6 client for its WAN link (RFC
// 8415): it asks for a delegated prefix (IA_PD, with a size hint) and
// optionally an address (IA_NA), renews at T1 and rebinds at T2, and
// publishes what it holds in a JSON state file (State) for the LAN side
// (radvd, the firewall, dnsfwd):
//
//	{"iface":"wan0","hwaddr":"02:00:00:00:02:01","duid":"00030001020000000201",
//	 "server_id":"0002000009bf...",
//	 "prefixes":[{"prefix":"2001:db8:100::/56","preferred":"…","valid":"…"}],
//	 "addrs":[{"addr":"2001:db8:2::100","preferred":"…","valid":"…"}],
//	 "dns":["2001:db8:2::2"],"start":"…","t1":"…","t2":"…",
//	 "withdrawn":[{"prefix":"2001:db8:200::/56","since":"…","until":"…"}],
//	 "last":"2001:db8:100::/56"}
//
// A prefix that is replaced at a renewal, returned with a zero lifetime
// or expires moves from "prefixes" to "withdrawn" for WithdrawFor, so
// that the LAN side advertises it with zero lifetimes (RFC 7084 L-13).
// The file is kept when everything expired: it holds the DUID and the
// last prefix, which a restarted client asks for again as a hint in its
// SOLICIT (on /perm, that is after a reboot). The DUID is DUID-LL of the
// link's MAC on the first start and the file's from then on.
//
// The client adds the IA_NA addresses to the link as /128s with their
// lifetimes; what to do with the prefix is the LAN side's business. It
// never releases: a router keeps its prefix across restarts.
// Retransmissions follow section 15 (SOL_TIMEOUT, REQ_MAX_RC, ...), with
// SOL_MAX_RT capped by Config.MaxSolicit.
package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"tprouter/services/internal/wait"
)

// Config says where the client runs and what it asks for.
type Config struct {
	Iface string // WAN link
	State string // state file, DefaultState on the router
	PDLen int    // delegated prefix length to hint at, 1 to 64
	NA    bool   // ask for an address (IA_NA) too
	// MaxSolicit caps SOL_MAX_RT (RFC 8415: 3600 s); 0: 120 s.
	MaxSolicit time.Duration
	Verbose    bool // log every message
}

// Client holds one link's bindings. Create it with New.
type Client struct {
	iface   string
	link    netlink.Link
	hw      net.HardwareAddr
	path    string
	pdLen   int
	na      bool
	verbose bool
	logf    func(format string, v ...any)
	duid    dhcpv6.DUID
	st      State
	dst     *net.UDPAddr
	sol     timing
	now     func() time.Time
	sys     system
}

// New returns a client for cfg.Iface, bringing the link up if it is down.
func New(cfg Config, logger *log.Logger) (*Client, error) {
	if cfg.PDLen < 1 || cfg.PDLen > 64 {
		return nil, fmt.Errorf("prefix length %d: want 1 to 64 (a LAN /64 must fit)", cfg.PDLen)
	}
	link, err := netlink.LinkByName(cfg.Iface)
	if err != nil {
		return nil, fmt.Errorf("LinkByName(%q): %w", cfg.Iface, err)
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		logger.Printf("bringing %s up", cfg.Iface)
		switch err := netlink.LinkSetUp(link); {
		case errors.Is(err, unix.EPERM):
			// Without CAP_NET_ADMIN (on the router, dhcp4c brings the
			// link up): the client waits for the link-local address.
			logger.Printf("LinkSetUp(%s): %v: waiting for the link to come up", cfg.Iface, err)
		case err != nil:
			return nil, fmt.Errorf("LinkSetUp(%s): %w", cfg.Iface, err)
		}
	}
	hw := link.Attrs().HardwareAddr
	if len(hw) != 6 {
		return nil, fmt.Errorf("%s has hardware address %q, want an Ethernet MAC", cfg.Iface, hw)
	}
	sol := solTiming
	sol.mrt = cfg.MaxSolicit
	if sol.mrt <= 0 {
		sol.mrt = 120 * time.Second
	}
	return &Client{
		iface: cfg.Iface, link: link, hw: hw, path: cfg.State,
		pdLen: cfg.PDLen, na: cfg.NA, verbose: cfg.Verbose,
		logf: logger.Printf,
		dst:  &net.UDPAddr{IP: allServers, Port: ServerPort, Zone: cfg.Iface},
		sol:  sol,
		now:  time.Now,
		sys:  kernel{link: link},
	}, nil
}

// Run holds bindings until ctx is done, then returns nil, leaving them in
// place. It returns an error only when the kernel refuses an address.
func (c *Client) Run(ctx context.Context) error {
	c.load()
	wait := time.Second
	for ctx.Err() == nil {
		if err := c.acquire(ctx); err != nil {
			if ctx.Err() != nil {
				break
			}
			var ke *kernelError
			if errors.As(err, &ke) {
				return err
			}
			if !c.st.bound(c.now()) {
				c.logf("no prefix on %s: %v; soliciting again in %v", c.iface, err, wait)
				c.sleepUntil(ctx, c.now().Add(wait))
				wait = min(2*wait, c.sol.mrt)
				continue
			}
			c.logf("%v; keeping the saved bindings", err)
		}
		wait = time.Second
		if err := c.hold(ctx); err != nil {
			return err
		}
	}
	return nil
}

// hold keeps the bindings: RENEW from T1, REBIND from T2, until they are
// lost (expired, or refused) or ctx ends. It returns an error only when
// the kernel refuses an address.
func (c *Client) hold(ctx context.Context) error {
	for c.st.bound(c.now()) {
		if !c.sleepUntil(ctx, c.st.T1) {
			return nil
		}
		err := c.extend(ctx)
		var ke *kernelError
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.As(err, &ke):
			return err
		case err != nil:
			if !c.st.bound(c.now()) {
				c.expire()
			}
			c.logf("%v: soliciting with the last prefix as the hint", err)
			return nil
		}
	}
	c.expire()
	return nil
}

// load reads the state file of an earlier run: the DUID, the last prefix
// and bindings that are still valid. A file for another link is ignored.
func (c *Client) load() {
	var st State
	switch err := readState(c.path, &st); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		c.logf("ignoring state file: %v", err)
		st = State{}
	case st.Iface != c.iface:
		c.logf("ignoring state file %s: it is for %s, not %s", c.path, st.Iface, c.iface)
		st = State{}
	}
	c.st = st
	c.st.Iface, c.st.HWAddr = c.iface, c.hw.String()
	c.duid = c.st.duid(c.hw)
	if c.st.bound(c.now()) {
		c.logf("saved bindings: %v, addresses %v", c.st.Prefixes, c.st.Addrs)
	}
	if c.st.Last.IsValid() {
		c.logf("asking for %s again (DUID %s)", c.st.Last, c.st.DUID)
	}
}

// sleepUntil waits until t or until ctx is done, and reports whether t
// came first.
func (c *Client) sleepUntil(ctx context.Context, t time.Time) bool {
	return wait.For(ctx, t.Sub(c.now()))
}
