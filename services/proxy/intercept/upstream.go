package intercept

import (
	"context"
	"net/netip"
	"time"
)

// upstream is a connection to the original destination and what the
// proxy knows of it. The zero value is none: the connection's goroutine
// forgets one with c.setUp(&upstream{}). The pool keeps upstream values as
// they are.
type upstream struct {
	end
	used   bool      // carried a whole transaction, so it may have gone stale
	clean  bool      // between transactions, nothing unread: it may be pooled
	pinned bool      // carried NTLM or Negotiate: never pooled
	last   time.Time // when its last response ended
}

// dialUpstream connects to the original destination dst from the client's
// address src.
func (s *Server) dialUpstream(src, dst netip.AddrPort) (upstream, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.ConnectTimeout)
	t0 := time.Now()
	nc, err := s.Dial(ctx, src, dst)
	cancel()
	if err != nil {
		return upstream{}, err
	}
	s.Stats.Connect.Observe(time.Since(t0))
	s.Stats.UpstreamConns.Inc()
	return upstream{end: newEnd(nc)}, nil
}

// setUp makes *u the upstream connection, under mu, so that abort always
// finds the live socket. Once abort has run it closes u's socket instead
// and reports false.
func (c *conn) setUp(u *upstream) bool {
	c.mu.Lock()
	if c.aborted && u.nc != nil {
		c.mu.Unlock()
		u.nc.Close()
		return false
	}
	c.up = *u
	c.mu.Unlock()
	return true
}

// connect dials the original destination. On failure it answers the
// client (when page is set) and logs the transaction.
func (c *conn) connect(start time.Time, page bool) bool {
	u, err := c.s.dialUpstream(c.src, c.dst)
	if err != nil {
		k, status, detail := dialFailure(err)
		if k == errConnectOther {
			c.s.report(k, "connect %v -> %v: %v", c.src, c.dst, err)
		}
		if page {
			return c.refuse(k, status, detail, start, "TCP_MISS")
		}
		return c.abandon(k, start, "TCP_TUNNEL_ABORTED")
	}
	return c.setUp(&u)
}

// closeUp closes the upstream connection, if any, and forgets it with
// what it sent that is still unread: that belongs to no other connection.
func (c *conn) closeUp() {
	nc := c.up.nc
	c.setUp(&upstream{})
	if nc != nil {
		nc.Close()
	}
	if c.w != nil {
		c.w.up.reset()
	}
}

// resetUp closes the upstream connection with a reset, when nothing the
// proxy sent on it can still matter: its client has gone before the
// answer, or it carried a whole response and will not be kept. A FIN
// would leave the router a TIME_WAIT with the client's address if the
// server has not closed yet, and cost both ends two more segments and
// the server a TIME_WAIT if it has (see "Closing" in docs/proxy.md).
func (c *conn) resetUp() {
	nc := c.up.nc
	c.setUp(&upstream{})
	if nc != nil {
		retire(nc)
	}
	if c.w != nil {
		c.w.up.reset()
	}
}

// poolUp hands a clean upstream connection to the server's pool when its
// client connection ends.
func (c *conn) poolUp() {
	p := c.s.pool
	if p == nil || c.up.nc == nil || !c.up.clean || c.up.pinned || c.s.shutdown.Load() {
		return
	}
	u := c.up
	c.setUp(&upstream{})
	if !p.put(poolKey{c.src.Addr(), c.dst}, u) {
		retire(u.nc) // the pool is full
	}
}

// takeUp takes an idle pooled connection to the destination that is
// still open and quiet, if there is one.
func (c *conn) takeUp(now time.Time) {
	k := poolKey{c.src.Addr(), c.dst}
	for range 4 { // each stale one costs a peek; then dial
		u, ok := c.s.pool.get(k, now)
		if !ok || !c.setUp(&u) {
			return
		}
		if c.upUsable() {
			c.s.Stats.UpstreamReused.Inc()
			return
		}
		c.closeUp()
	}
}

// upUsable reports whether a kept-alive upstream connection is still
// open and quiet, by a peek: bytes that came after the last response (a
// server's stray answer) must not pass for the next one's (see "Upstream
// connections" in docs/proxy.md).
func (c *conn) upUsable() bool {
	if c.up.rc == nil {
		return true
	}
	return c.peek.isQuiet(c.up.rc)
}
