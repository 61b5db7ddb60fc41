// Package client is the router's DHCPv4 client for its WAN link (RFC 2131).
// It acquires a lease on an unconfigured link through a packet socket,
// applies it with netlink (address with the lease's lifetime, default
// route), publishes it in a state file, renews it at T1 and rebinds at T2,
// and removes it when it expires. A router keeps its address across
// restarts: the client never releases, and on start it asks to keep the
// lease saved in the state file (INIT-REBOOT).
package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/vishvananda/netlink"

	"tprouter/services/internal/statefile"
	"tprouter/services/internal/wait"
)

// DefaultState is the state file on the router: in dhcp4c's own state
// directory, where dnsfwd reads the lease's DNS servers. It is dhcp4c's
// -state default and what init passes.
const DefaultState = "/run/tprouter/dhcp4c/lease.json"

// Config says where the client runs.
type Config struct {
	Iface string // link to configure
	State string // state file, DefaultState on the router
	// Verbose logs every DHCP message sent and received.
	Verbose bool
}

// Client holds one link's lease. Create it with New.
type Client struct {
	iface string
	hw    net.HardwareAddr
	state string
	logf  func(format string, v ...any)
	msgs  nclient4.Logger
	prev  netip.Addr // the address last bound or lost, to log changes

	// Test seams.
	now     func() time.Time
	rawConn func() (net.PacketConn, error) // without an address: DISCOVER, INIT-REBOOT
	udpConn func() (net.PacketConn, error) // with the address: RENEW, REBIND
	sys     system

	timeout    time.Duration // first retransmission timeout, doubled per retry
	retries    int           // transmissions per exchange
	rebootWait time.Duration // how long INIT-REBOOT waits for an answer
	minRetry   time.Duration // least wait between RENEW or REBIND attempts
	minBackoff time.Duration // wait after a failed DISCOVER, doubled per failure
	maxBackoff time.Duration
}

// New returns a client for cfg.Iface and brings the link up if it is down:
// a link that is down sends no DISCOVER.
func New(cfg Config, logger *log.Logger) (*Client, error) {
	link, err := netlink.LinkByName(cfg.Iface)
	if err != nil {
		return nil, fmt.Errorf("LinkByName(%q): %w", cfg.Iface, err)
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		logger.Printf("bringing %s up", cfg.Iface)
		if err := netlink.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("LinkSetUp(%s): %w", cfg.Iface, err)
		}
	}
	hw := link.Attrs().HardwareAddr
	if len(hw) != 6 {
		return nil, fmt.Errorf("%s has hardware address %q, want an Ethernet MAC", cfg.Iface, hw)
	}
	c := &Client{
		iface: cfg.Iface,
		hw:    hw,
		state: cfg.State,
		logf:  logger.Printf,
		msgs:  nclient4.EmptyLogger{},
		now:   time.Now,
		rawConn: func() (net.PacketConn, error) {
			c, err := nclient4.NewRawUDPConn(cfg.Iface, dhcpv4.ClientPort)
			if err != nil {
				return nil, fmt.Errorf("NewRawUDPConn(%s, 68): %w", cfg.Iface, err)
			}
			return c, nil
		},
		udpConn: func() (net.PacketConn, error) {
			c, err := server4.NewIPv4UDPConn(cfg.Iface, &net.UDPAddr{Port: dhcpv4.ClientPort})
			if err != nil {
				return nil, fmt.Errorf("NewIPv4UDPConn(%s, :68): %w", cfg.Iface, err)
			}
			return c, nil
		},
		sys:        kernel{link: link},
		timeout:    4 * time.Second, // RFC 2131 section 4.1: 4 s, 8 s, 16 s, ...
		retries:    3,
		rebootWait: 10 * time.Second,
		minRetry:   time.Minute, // RFC 2131 section 4.4.5
		minBackoff: time.Second,
		maxBackoff: time.Minute,
	}
	if cfg.Verbose {
		c.msgs = nclient4.ShortSummaryLogger{Printfer: logger}
	}
	return c, nil
}

// Run holds a lease until ctx is done, then returns nil, leaving the lease
// applied. It returns an error only when the kernel refuses a lease.
func (c *Client) Run(ctx context.Context) error {
	cur, err := c.restore(ctx)
	if err != nil {
		return err
	}
	wait := c.minBackoff
	for ctx.Err() == nil {
		if cur == nil {
			l, err := c.discover(ctx)
			if ctx.Err() != nil {
				break
			}
			if err != nil {
				c.logf("no lease on %s: %v; retrying in %v", c.iface, err, wait)
				c.sleepUntil(ctx, c.now().Add(wait))
				wait = min(2*wait, c.maxBackoff)
				continue
			}
			wait = c.minBackoff
			if err := c.bind(nil, l); err != nil {
				return err
			}
			cur = l
		}
		if !c.sleepUntil(ctx, cur.T1) {
			break
		}
		l, err := c.extend(ctx, cur)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			c.logf("%v: removing %s/%d and starting over", err, cur.Address, cur.Prefix.Bits())
			c.unbind(cur)
			cur = nil
			continue
		}
		if err := c.bind(cur, l); err != nil {
			return err
		}
		cur = l
	}
	return nil
}

// restore reads the lease saved by a previous run and, if it is still
// valid, asks the server to confirm it (INIT-REBOOT, RFC 2131 section
// 3.2). Without an answer the saved lease is kept until it expires, as the
// RFC allows: a router must not drop its WAN address because its ISP's
// server is briefly away.
func (c *Client) restore(ctx context.Context) (*Lease, error) {
	var old Lease
	switch err := statefile.Read(c.state, &old); {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		c.logf("ignoring state file: %v", err)
		return nil, nil
	case old.Iface != c.iface || old.HWAddr != c.hw.String():
		c.logf("ignoring state file %s: it is for %s (%s), not %s (%s)", c.state, old.Iface, old.HWAddr, c.iface, c.hw)
		return nil, nil
	}
	ack, err := dhcpv4.FromBytes(old.ACK)
	if err != nil {
		c.logf("saved lease of %s has a bad ACK (%v): removing it", old.Address, err)
		c.unbind(&old)
		return nil, nil
	}
	if !c.now().Before(old.Expiry) {
		c.logf("saved lease of %s expired at %s: removing it", old.Address, old.Expiry.Format(time.RFC3339))
		c.unbind(&old)
		return nil, nil
	}
	c.logf("asking to keep saved lease of %s (INIT-REBOOT)", old.Address)
	l, err := c.reboot(ctx, ack)
	var nak *nclient4.ErrNak
	switch {
	case ctx.Err() != nil:
		return nil, nil
	case errors.As(err, &nak):
		c.logf("server %s refused %s: %s; starting over", nak.Nak.ServerIdentifier(), old.Address, nak.Nak.Message())
		c.unbind(&old)
		return nil, nil
	case err != nil:
		c.logf("INIT-REBOOT of %s unanswered (%v): keeping the saved lease until %s", old.Address, err, old.Expiry.Format(time.RFC3339))
		return &old, c.bind(nil, &old)
	}
	return l, c.bind(&old, l)
}

// nclient runs a DHCP exchange on conn, which it closes on failure.
func (c *Client) nclient(conn net.PacketConn, opts ...nclient4.ClientOpt) (*nclient4.Client, error) {
	cl, err := nclient4.NewWithConn(conn, c.hw, append(c.opts(), opts...)...)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("nclient4.NewWithConn: %w", err)
	}
	return cl, nil
}

// discover gets a new lease: DISCOVER, OFFER, REQUEST, ACK.
func (c *Client) discover(ctx context.Context) (*Lease, error) {
	conn, err := c.rawConn()
	if err != nil {
		return nil, err
	}
	cl, err := c.nclient(conn)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	start := c.now()
	nl, err := cl.Request(ctx, dhcpv4.WithRequestedOptions(wanted...))
	if err != nil {
		return nil, err
	}
	return c.lease(nl.ACK, start)
}

// reboot broadcasts a REQUEST for the address of ack without a server
// identifier, as a client does that restarts with a lease.
func (c *Client) reboot(ctx context.Context, ack *dhcpv4.DHCPv4) (*Lease, error) {
	conn, err := c.rawConn()
	if err != nil {
		return nil, err
	}
	cl, err := c.nclient(conn)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	req, err := dhcpv4.New(
		dhcpv4.WithHwAddr(c.hw),
		dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ack.YourIPAddr)),
		dhcpv4.WithOption(dhcpv4.OptMaxMessageSize(nclient4.MaxMessageSize)),
		dhcpv4.WithRequestedOptions(wanted...),
	)
	if err != nil {
		return nil, fmt.Errorf("dhcpv4.New(REQUEST): %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.rebootWait)
	defer cancel()
	start := c.now()
	resp, err := cl.SendAndRead(ctx, nclient4.DefaultServers, req,
		nclient4.IsMessageType(dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak))
	if err != nil {
		return nil, err
	}
	if resp.MessageType() == dhcpv4.MessageTypeNak {
		return nil, &nclient4.ErrNak{Offer: ack, Nak: resp}
	}
	return c.lease(resp, start)
}

// extend keeps cur: RENEW unicast to its server until T2, then REBIND by
// broadcast until it expires (RFC 2131 section 4.4.5). It returns the
// extended lease, or an error when the lease is lost (NAK or expiry).
func (c *Client) extend(ctx context.Context, cur *Lease) (*Lease, error) {
	ack, err := dhcpv4.FromBytes(cur.ACK)
	if err != nil {
		return nil, fmt.Errorf("saved ACK: %w", err)
	}
	server := nclient4.DefaultServers
	if cur.Server.IsValid() {
		server = &net.UDPAddr{IP: cur.Server.AsSlice(), Port: dhcpv4.ServerPort}
	}
	for _, ph := range []struct {
		name  string
		until time.Time
		dst   *net.UDPAddr
	}{
		{"RENEW", cur.T2, server},
		{"REBIND", cur.Expiry, nclient4.DefaultServers},
	} {
		for now := c.now(); now.Before(ph.until); now = c.now() {
			l, err := c.renew(ctx, ack, ph.dst, ph.until)
			if err == nil {
				return l, nil
			}
			var nak *nclient4.ErrNak
			if errors.As(err, &nak) {
				return nil, fmt.Errorf("%s of %s: NAK from %s (%s)", ph.name, cur.Address, nak.Nak.ServerIdentifier(), nak.Nak.Message())
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			c.logf("%s of %s to %s: %v", ph.name, cur.Address, ph.dst.IP, err)
			// Wait half the time that is left, but at least minRetry.
			next := now.Add(max(ph.until.Sub(now)/2, c.minRetry))
			if next.After(ph.until) {
				next = ph.until
			}
			if !c.sleepUntil(ctx, next) {
				return nil, ctx.Err()
			}
		}
	}
	return nil, fmt.Errorf("lease of %s expired at %s", cur.Address, cur.Expiry.Format(time.RFC3339))
}

// renew asks dst to extend the lease of ack, from the configured address,
// retransmitting until the deadline until.
func (c *Client) renew(ctx context.Context, ack *dhcpv4.DHCPv4, dst *net.UDPAddr, until time.Time) (*Lease, error) {
	conn, err := c.udpConn()
	if err != nil {
		return nil, err
	}
	cl, err := c.nclient(conn, nclient4.WithServerAddr(dst))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithDeadline(ctx, until)
	defer cancel()
	start := c.now()
	nl, err := cl.Renew(ctx, &nclient4.Lease{Offer: ack, ACK: ack}, dhcpv4.WithRequestedOptions(wanted...))
	if err != nil {
		return nil, err
	}
	return c.lease(nl.ACK, start)
}

// wanted are the options the client asks for.
var wanted = []dhcpv4.OptionCode{
	dhcpv4.OptionSubnetMask,
	dhcpv4.OptionRouter,
	dhcpv4.OptionDomainNameServer,
	dhcpv4.OptionIPAddressLeaseTime,
	dhcpv4.OptionRenewTimeValue,
	dhcpv4.OptionRebindingTimeValue,
}

func (c *Client) opts() []nclient4.ClientOpt {
	return []nclient4.ClientOpt{
		nclient4.WithTimeout(c.timeout),
		nclient4.WithRetry(c.retries),
		nclient4.WithLogger(c.msgs),
	}
}

func (c *Client) lease(ack *dhcpv4.DHCPv4, start time.Time) (*Lease, error) {
	l, err := newLease(ack, start)
	if err != nil {
		return nil, err
	}
	l.Iface, l.HWAddr = c.iface, c.hw.String()
	return l, nil
}

// bind applies l, which replaces old (nil on a first lease), and publishes
// it in the state file.
func (c *Client) bind(old, l *Lease) error {
	if err := c.sys.apply(old, l, c.now()); err != nil {
		return err
	}
	if err := statefile.Write(c.state, l); err != nil {
		// The lease works without the file; the next renewal
		// writes it again.
		c.logf("writing state: %v", err)
	}
	if c.prev.IsValid() && c.prev != l.Address {
		c.logf("address changed from %s to %s", c.prev, l.Address)
	}
	c.prev = l.Address
	switch {
	case old == nil || old.Address != l.Address || old.Prefix != l.Prefix:
		via := "no router"
		if l.Router.IsValid() {
			via = "via " + l.Router.String()
		}
		c.logf("bound %s/%d on %s %s, dns %v, from %s, lease %v until %s",
			l.Address, l.Prefix.Bits(), c.iface, via, l.DNS, l.Server, l.Expiry.Sub(l.Start).Round(time.Second), l.Expiry.Format(time.RFC3339))
	case old.Router != l.Router:
		c.logf("renewed %s, router changed from %s to %s, until %s", l.Address, old.Router, l.Router, l.Expiry.Format(time.RFC3339))
	default:
		c.logf("renewed %s until %s", l.Address, l.Expiry.Format(time.RFC3339))
	}
	return nil
}

// unbind removes l from the kernel and the state file. Failures are logged:
// nothing better can be done about them than to go on.
func (c *Client) unbind(l *Lease) {
	c.prev = l.Address
	if err := c.sys.remove(l); err != nil {
		c.logf("removing lease: %v", err)
	}
	if err := os.Remove(c.state); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.logf("removing state: %v", err)
	}
}

// sleepUntil waits until t or until ctx is done, and reports whether t
// came first.
func (c *Client) sleepUntil(ctx context.Context, t time.Time) bool {
	return wait.For(ctx, t.Sub(c.now()))
}
