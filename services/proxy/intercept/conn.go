package intercept

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Connection states, for Shutdown to tell idle connections from busy ones.
const (
	stateActive int32 = iota
	stateIdle
	stateClosed // closed by Shutdown while idle
	stateParked // held by the parker, without a goroutine
)

// lingerTime is the longest a closing connection waits for the client's
// own close (see lingerClose).
const lingerTime = 500 * time.Millisecond

// clientCheck is how often a transaction waiting for the server's answer
// looks whether its client has closed (see readResponseHead).
const clientCheck = 250 * time.Millisecond

// errClientClosed ends the wait for a response whose client has gone.
var errClientClosed = errors.New("intercept: the client closed before the response")

// conn is one client connection and, once a request has parsed, its own
// upstream connection. Its goroutine owns every field but state, which
// Shutdown reads, and those under mu, which abort reads.
type conn struct {
	s        *Server
	client   end            // the client's socket
	src, dst netip.AddrPort // the client's address; the original destination
	w        *work          // buffers and parse state, only while busy
	served   bool           // a transaction has started: later ones are not first

	// Waiting for the next request (see waitIdle and parker).
	state        atomic.Int32
	peek         peeker
	fd           int32     // the client's descriptor, the parker's key; -1 until known
	inEpoll      bool      // registered with the parker's epoll
	idleDeadline time.Time // when an idle connection is closed

	// How finish closes the client's socket.
	gone     bool // the client closed or failed: no lingering close
	linger   bool // a response went out just before closing
	finFirst bool // that response ends at our FIN (no length)

	mu      sync.Mutex // guards up.nc and aborted against abort
	up      upstream   // changed only through setUp
	aborted bool
}

// serve runs the connection's transactions until it closes or parks. It
// is the connection's goroutine, started on accept and again by the
// parker when a parked connection becomes readable.
func (c *conn) serve() {
	if c.fd < 0 && c.client.rc != nil {
		c.client.rc.Control(func(fd uintptr) { c.fd = int32(fd) })
	}
	for {
		if c.w == nil || c.w.in.len() == 0 {
			c.release()
			switch c.waitIdle() {
			case idleParked:
				return
			case idleDone:
				c.finish()
				return
			}
		}
		if c.w == nil {
			c.w = c.s.works.Get().(*work)
			c.w.ready()
		}
		first := !c.served
		c.served = true
		if !c.transaction(first) {
			c.linger = !c.gone
			c.finish()
			return
		}
		c.idleDeadline = time.Now().Add(c.s.IdleTimeout)
		if c.s.shutdown.Load() {
			c.finish()
			return
		}
	}
}

type idleResult int

const (
	idleReady  idleResult = iota // bytes (or EOF) to read
	idleParked                   // handed to the parker: stop touching c
	idleDone                     // timed out or shutting down: close
)

// waitIdle waits for the next request's first byte without holding a
// buffer: the poller wakes us when the socket is readable, and a peek
// tells a spurious wakeup from data or EOF. After parkAfter it parks the
// connection instead of waiting on.
func (c *conn) waitIdle() idleResult {
	now := time.Now()
	until := c.idleDeadline
	p := c.s.parker
	if p != nil && c.client.rc != nil && until.Sub(now) > parkAfter {
		// Park after parkAfter of silence, give or take half: a busy
		// connection then resets its timer only every parkAfter/2.
		if d := c.client.rd.Sub(now); d < parkAfter/2 || d > parkAfter {
			c.client.setReadDeadline(now.Add(parkAfter))
		}
	} else {
		c.client.setReadDeadline(until)
	}
	c.state.Store(stateIdle)
	if c.s.shutdown.Load() {
		return idleDone
	}
	var err error
	if c.client.rc != nil {
		err = c.peek.waitReadable(c.client.rc)
	}
	if !c.state.CompareAndSwap(stateIdle, stateActive) {
		return idleDone
	}
	switch {
	case err == nil:
		return idleReady
	case isTimeout(err) && time.Now().Before(c.idleDeadline) && p != nil:
		c.state.Store(stateParked)
		if p.park(c) {
			return idleParked
		}
		// Closed, or epoll refused the descriptor: wait here instead.
		c.state.Store(stateActive)
		return c.waitIdleUnparked()
	}
	return idleDone
}

// waitIdleUnparked waits in the goroutine until the idle deadline.
func (c *conn) waitIdleUnparked() idleResult {
	c.client.setReadDeadline(c.idleDeadline)
	c.state.Store(stateIdle)
	if c.s.shutdown.Load() {
		return idleDone
	}
	err := c.peek.waitReadable(c.client.rc)
	if !c.state.CompareAndSwap(stateIdle, stateActive) || err != nil {
		return idleDone
	}
	return idleReady
}

// closeIfIdle wakes an idle connection so that it closes; a busy one
// finishes its transaction first.
func (c *conn) closeIfIdle() {
	if c.state.CompareAndSwap(stateIdle, stateClosed) {
		c.client.nc.SetReadDeadline(time.Unix(1, 0))
	}
}

// abort closes both sockets from another goroutine.
func (c *conn) abort() {
	c.mu.Lock()
	c.aborted = true
	up := c.up.nc
	c.mu.Unlock()
	c.client.nc.Close()
	if up != nil {
		up.Close()
	}
}

func (c *conn) release() {
	if c.w != nil {
		c.w.shrink()
		c.s.works.Put(c.w)
		c.w = nil
	}
}

// finish closes the connection, after a response that ended it lingering
// for the client's own close (lingerClose).
func (c *conn) finish() {
	c.release()
	c.mu.Lock()
	aborted := c.aborted
	c.mu.Unlock()
	if !aborted {
		c.poolUp()
	}
	if c.up.clean {
		c.resetUp() // kept for a next request that did not come
	} else {
		c.closeUp()
	}
	if c.client.tcp != nil && c.linger && !aborted {
		c.lingerClose()
	}
	c.client.nc.Close()
	c.s.forget(c)
}
