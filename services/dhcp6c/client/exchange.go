package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
)

// timing is a message's retransmission parameters (RFC 8415 section 7.6
// and 15): the initial and the maximum retransmission time, the most
// transmissions (0: no limit) and the longest exchange (0: no limit).
type timing struct {
	irt, mrt time.Duration
	mrc      int
	mrd      time.Duration
}

// RFC 8415 section 7.6's values. SOL_MAX_RT is 3600 s there; a router
// without its prefix asks more often (Config.MaxSolicit caps it).
var (
	solTiming = timing{irt: time.Second, mrt: 3600 * time.Second}
	reqTiming = timing{irt: time.Second, mrt: 30 * time.Second, mrc: 10}
	renTiming = timing{irt: 10 * time.Second, mrt: 600 * time.Second}
	rebTiming = timing{irt: 10 * time.Second, mrt: 600 * time.Second}
)

// errNoAnswer is an exchange that ran out of transmissions or time.
var errNoAnswer = errors.New("no answer")

// next returns the retransmission time after prev (0: the first),
// section 15: RT = 2*RTprev + RAND*RTprev, RAND in [-0.1, 0.1], capped at
// MRT + RAND*MRT. The first RT of a SOLICIT is strictly greater than IRT.
func (t timing) next(prev time.Duration, solicit bool) time.Duration {
	jitter := func(d time.Duration) time.Duration { return time.Duration((rand.Float64()*0.2 - 0.1) * float64(d)) }
	var rt time.Duration
	if prev == 0 {
		j := jitter(t.irt)
		if solicit {
			j = time.Duration((1 - rand.Float64()) * 0.1 * float64(t.irt)) // (0, 0.1]
		}
		rt = t.irt + j
	} else {
		rt = 2*prev + jitter(prev)
	}
	if t.mrt > 0 && rt > t.mrt {
		rt = t.mrt + jitter(t.mrt)
	}
	return rt
}

// exchange sends msg to all DHCP servers and relays on the link and
// returns the first valid answer of type want, retransmitting per t
// until deadline (zero: t's limits only) or ctx ends.
func (c *Client) exchange(ctx context.Context, msg *dhcpv6.Message, want dhcpv6.MessageType, t timing, deadline time.Time) (*dhcpv6.Message, error) {
	conn, err := c.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	start := c.now()
	if t.mrd > 0 && (deadline.IsZero() || start.Add(t.mrd).Before(deadline)) {
		deadline = start.Add(t.mrd)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	var rt time.Duration
	for n := 1; t.mrc == 0 || n <= t.mrc; n++ {
		// Elapsed time in hundredths of a second, at most 0xffff.
		msg.UpdateOption(dhcpv6.OptElapsedTime(min(c.now().Sub(start), 655350*time.Millisecond)))
		c.logMsg("sent", msg)
		if _, err := conn.WriteTo(msg.ToBytes(), c.dst); err != nil {
			return nil, fmt.Errorf("send %s to %s: %w", msg.MessageType, c.dst, err)
		}
		rt = t.next(rt, msg.MessageType == dhcpv6.MessageTypeSolicit)
		until := c.now().Add(rt)
		if !deadline.IsZero() && deadline.Before(until) {
			until = deadline
		}
		if reply := c.await(ctx, conn, msg, want, until); reply != nil {
			return reply, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !deadline.IsZero() && !c.now().Before(deadline) {
			return nil, fmt.Errorf("%s: %w after %d transmissions in %v", msg.MessageType, errNoAnswer, n, c.now().Sub(start).Round(time.Second))
		}
	}
	return nil, fmt.Errorf("%s: %w after %d transmissions", msg.MessageType, errNoAnswer, t.mrc)
}

// maxReads bounds the messages one wait reads (others' answers, strays).
const maxReads = 1000

// await reads until t for an answer to msg: of type want, with its
// transaction ID, our client ID and a server ID (section 16). It returns
// nil when none came.
func (c *Client) await(ctx context.Context, conn net.PacketConn, msg *dhcpv6.Message, want dhcpv6.MessageType, t time.Time) *dhcpv6.Message {
	conn.SetReadDeadline(t)
	if ctx.Err() != nil {
		return nil // canceled before the deadline was set: exchange's AfterFunc came too early
	}
	buf := make([]byte, 64<<10)
	for range maxReads {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return nil
		}
		m, err := dhcpv6.MessageFromBytes(buf[:n])
		switch {
		case err != nil:
			c.logf("ignoring a bad message from %s: %v", from, err)
		case m.TransactionID != msg.TransactionID || m.MessageType != want:
		case m.Options.ServerID() == nil:
			c.logf("ignoring %s from %s: no server ID", m.MessageType, from)
		case m.Options.ClientID() == nil || !bytes.Equal(m.Options.ClientID().ToBytes(), c.duid.ToBytes()):
			c.logf("ignoring %s from %s: not for our DUID", m.MessageType, from)
		default:
			c.logMsg("received", m)
			return m
		}
	}
	return nil
}

func (c *Client) logMsg(what string, m *dhcpv6.Message) {
	if c.verbose {
		c.logf("%s %s", what, m.Summary())
	}
}
