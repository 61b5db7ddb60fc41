package client

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"

	"tprouter/services/internal/statefile"
)

// acquire gets new bindings: SOLICIT (with the last prefix as a hint),
// ADVERTISE, REQUEST, REPLY (RFC 8415 section 18.2.1 and 18.2.2). The
// SOLICIT is retransmitted for at most twice SOL_MAX_RT.
func (c *Client) acquire(ctx context.Context) error {
	sol, err := c.solicit()
	if err != nil {
		return err
	}
	start := c.now()
	adv, err := c.exchange(ctx, sol, dhcpv6.MessageTypeAdvertise, c.sol, start.Add(2*c.sol.mrt))
	if err != nil {
		return err
	}
	if len(offeredPrefixes(adv)) == 0 {
		why := "no IA_PD prefix"
		if ia := adv.Options.OneIAPD(); ia != nil && ia.Options.Status() != nil {
			why = ia.Options.Status().String()
		}
		return fmt.Errorf("ADVERTISE offers no prefix: %s", why)
	}
	req, err := c.request(adv)
	if err != nil {
		return err
	}
	start = c.now()
	reply, err := c.exchange(ctx, req, dhcpv6.MessageTypeReply, reqTiming, time.Time{})
	if err != nil {
		return err
	}
	b, err := c.grant(reply, start)
	if err != nil {
		return fmt.Errorf("REPLY to REQUEST: %w", err)
	}
	return c.bind(b, start)
}

// extend renews the bindings until T2, then rebinds them until they
// expire (sections 18.2.4, 18.2.5). It returns an error when they are
// lost: expired, or refused (NoBinding and other status codes).
func (c *Client) extend(ctx context.Context) error {
	for _, ph := range []struct {
		t     dhcpv6.MessageType
		until time.Time
		tm    timing
	}{
		{dhcpv6.MessageTypeRenew, c.st.T2, renTiming},
		{dhcpv6.MessageTypeRebind, c.st.expiry(), rebTiming},
	} {
		if !c.now().Before(ph.until) || ph.t == dhcpv6.MessageTypeRenew && c.st.serverID() == nil {
			continue
		}
		c.logf("%s of %v", ph.t, c.prefixes())
		msg, err := c.extension(ph.t)
		if err != nil {
			return err
		}
		start := c.now()
		reply, err := c.exchange(ctx, msg, dhcpv6.MessageTypeReply, ph.tm, ph.until)
		switch {
		case errors.Is(err, errNoAnswer):
			c.logf("%v", err)
			continue
		case err != nil:
			return err
		}
		c.dropZero(reply)
		b, err := c.grant(reply, start)
		if err != nil {
			return fmt.Errorf("REPLY to %s: %w", ph.t, err)
		}
		return c.bind(b, start)
	}
	return fmt.Errorf("bindings expired at %s", c.st.expiry().Format(time.RFC3339))
}

// dropZero withdraws the prefixes that reply returns with a valid
// lifetime of zero: the server no longer delegates them (section
// 18.2.10.1), even if the reply has nothing else.
func (c *Client) dropZero(reply *dhcpv6.Message) {
	var zero []netip.Prefix
	for _, ia := range reply.Options.IAPD() {
		for _, o := range ia.Options.Prefixes() {
			if p, ok := prefix(o); ok && ia.IaId == iaidPD && o.ValidLifetime == 0 {
				zero = append(zero, p)
			}
		}
	}
	keep := slices.DeleteFunc(slices.Clone(c.st.Prefixes), func(p Prefix) bool { return slices.Contains(zero, p.Prefix) })
	if len(keep) == len(c.st.Prefixes) {
		return
	}
	for _, p := range c.st.withdraw(c.st.Prefixes, keep, c.now()) {
		c.logf("prefix %s withdrawn by the server (valid lifetime 0)", p)
	}
	c.st.Prefixes = keep
	c.write()
}

// bind makes b the bindings in force, replacing the old: addresses on
// the link, prefixes not delegated any more withdrawn, the state written.
func (c *Client) bind(b *binding, start time.Time) error {
	now := c.now()
	if err := c.sys.apply(c.st.Addrs, b.addrs, now); err != nil {
		var ke *kernelError
		if errors.As(err, &ke) {
			return err
		}
		c.logf("%v", err) // an old address that would not go
	}
	old := c.st.Prefixes
	gone := c.st.withdraw(old, b.prefixes, now)
	c.st.Prefixes, c.st.Addrs, c.st.DNS = b.prefixes, b.addrs, b.dns
	c.st.Start, c.st.T1, c.st.T2 = start, b.t1, b.t2
	c.st.ServerID = b.serverID
	c.st.Last = b.prefixes[0].Prefix
	c.write()
	how := "delegated"
	if len(gone) == 0 && len(old) > 0 {
		how = "renewed"
	}
	c.logf("%s %v on %s, addresses %v, dns %v, T1 %s, T2 %s", how, b.prefixes, c.iface, c.addrs(), b.dns,
		b.t1.Format(time.TimeOnly), b.t2.Format(time.TimeOnly))
	for _, p := range gone {
		c.logf("prefix %s withdrawn: replaced by %s", p, c.st.Last)
	}
	return nil
}

// expire drops the bindings whose time is over: their addresses go from
// the link, their prefixes to the withdrawn.
func (c *Client) expire() {
	now := c.now()
	for _, p := range c.st.withdraw(c.st.Prefixes, nil, now) {
		c.logf("prefix %s expired: withdrawn", p)
	}
	if err := c.sys.apply(c.st.Addrs, nil, now); err != nil {
		c.logf("removing expired addresses: %v", err)
	}
	c.st.Prefixes, c.st.Addrs, c.st.DNS = nil, nil, nil
	c.write()
}

// write publishes the state. A failure is logged: the bindings work
// without the file, and the next change writes it again.
func (c *Client) write() {
	st := c.st
	for _, s := range []*[]Prefix{&st.Prefixes} {
		if *s == nil {
			*s = []Prefix{}
		}
	}
	if st.Addrs == nil {
		st.Addrs = []Addr{}
	}
	if st.DNS == nil {
		st.DNS = []netip.Addr{}
	}
	if st.Withdrawn == nil {
		st.Withdrawn = []Withdrawn{}
	}
	if err := statefile.Write(c.path, st); err != nil {
		c.logf("writing state: %v", err)
	}
}

func readState(path string, st *State) error { return statefile.Read(path, st) }

func (c *Client) prefixes() []netip.Prefix {
	var ps []netip.Prefix
	for _, p := range c.st.Prefixes {
		ps = append(ps, p.Prefix)
	}
	return ps
}

func (c *Client) addrs() []netip.Addr {
	var as []netip.Addr
	for _, a := range c.st.Addrs {
		as = append(as, a.Addr)
	}
	return as
}
