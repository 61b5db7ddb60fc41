package intercept

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tprouter/services/proxy/accesslog"
	"tprouter/services/proxy/h1"
)

// Connection states, for Shutdown to tell idle connections from busy ones.
const (
	stateActive int32 = iota
	stateIdle
	stateClosed // closed by Shutdown while idle
	stateParked // held by the parker, without a goroutine
)

const (
	// expectTimeout is how long a request with Expect: 100-continue waits
	// for the server's 100 before its body is sent anyway, as Go's
	// Transport and curl do (RFC 9110 §10.1.1 allows it).
	expectTimeout = time.Second
	// Bodies larger than spliceMin that are not buffered yet are moved
	// with splice(2) (see splice), a pipe's worth per step; tunnels and
	// bodies that end at the close go in steps of spliceChunk (see
	// relay). Inactivity deadlines are pushed forward between steps: a
	// step must finish within 3/4 of ReadTimeout, 1.5 KB/s with the
	// default.
	spliceMin   = 64 << 10
	spliceChunk = 1 << 20
	// lingerTime is how long a closing connection waits for the client's
	// own close, so that unread request bytes do not turn our FIN into a
	// RST that destroys the response we just sent.
	lingerTime  = 500 * time.Millisecond
	pageTimeout = 5 * time.Second
)

var (
	connClose     = []byte("close")
	connKeepAlive = []byte("keep-alive")
	connUpgrade   = []byte("upgrade")
	methodNone    = []byte("NONE")
	methodConnect = []byte("CONNECT")
	mimeHTML      = []byte("text/html")
)

// conn is one client connection and, once a request has parsed, its own
// upstream connection.
type conn struct {
	s            *Server
	c            net.Conn
	tcp          *net.TCPConn // c, if TCP: for splice, idle waits, half-close
	rc           syscall.RawConn
	peek         func(fd uintptr) bool
	woken        bool // peek was called again after a wait
	client, dst  netip.AddrPort
	state        atomic.Int32
	w            *work
	gone         bool // the client closed or failed: no lingering close
	linger       bool // a response went out just before closing
	finFirst     bool // that response ends at our FIN (no length)
	served       bool // a transaction has started: later ones are not first
	fd           int32
	inEpoll      bool      // registered with the parker's epoll
	idleDeadline time.Time // when an idle connection is closed

	mu      sync.Mutex // guards up and aborted against abort
	up      net.Conn
	aborted bool

	upTCP    *net.TCPConn
	upRC     syscall.RawConn
	upCheck  func(fd uintptr)
	upOK     bool
	upUsed   bool      // carried a whole transaction, so it may have gone stale
	upLast   time.Time // when its last response ended
	upClean  bool      // between transactions, nothing unread: it may be pooled
	upPinned bool      // carried NTLM or Negotiate: never pooled

	// Deadlines last set on the client and upstream sockets, so that
	// inactivity timeouts cost a timer update only now and then.
	crd, cwd, urd, uwd time.Time
	lr, lr2            io.LimitedReader
}

// serve runs the connection's transactions until it closes or parks. It
// is the connection's goroutine, started on accept and again by the
// parker when a parked connection becomes readable.
func (c *conn) serve() {
	if c.tcp != nil && c.peek == nil {
		if c.rc == nil {
			c.rc, _ = c.tcp.SyscallConn()
		}
		c.rc.Control(func(fd uintptr) { c.fd = int32(fd) })
		c.peek = func(fd uintptr) bool {
			// Called first to see whether bytes are waiting already (the
			// poller's edge may have passed), then after each wakeup,
			// which means readable: no second system call for that.
			if c.woken {
				return true
			}
			c.woken = true
			var b [1]byte
			_, e := peek(fd, b[:])
			return e != unix.EAGAIN
		}
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
	if p != nil && c.rc != nil && until.Sub(now) > parkAfter {
		// Park after parkAfter of silence, give or take half: a busy
		// connection then resets its timer only every parkAfter/2.
		if d := c.crd.Sub(now); d < parkAfter/2 || d > parkAfter {
			c.setReadDeadline(now.Add(parkAfter))
		}
	} else {
		c.setReadDeadline(until)
	}
	c.state.Store(stateIdle)
	if c.s.shutdown.Load() {
		return idleDone
	}
	var err error
	if c.rc != nil {
		c.woken = false
		err = c.rc.Read(c.peek)
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
	c.setReadDeadline(c.idleDeadline)
	c.state.Store(stateIdle)
	if c.s.shutdown.Load() {
		return idleDone
	}
	c.woken = false
	err := c.rc.Read(c.peek)
	if !c.state.CompareAndSwap(stateIdle, stateActive) || err != nil {
		return idleDone
	}
	return idleReady
}

// closeIfIdle wakes an idle connection so that it closes; a busy one
// finishes its transaction first.
func (c *conn) closeIfIdle() {
	if c.state.CompareAndSwap(stateIdle, stateClosed) {
		c.c.SetReadDeadline(time.Unix(1, 0))
	}
}

// abort closes both sockets from another goroutine.
func (c *conn) abort() {
	c.mu.Lock()
	c.aborted = true
	up := c.up
	c.mu.Unlock()
	c.c.Close()
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

// finish closes the connection. After a response that ends it, it waits
// briefly for the client's own close, discarding what the client still
// sends: unread bytes would make our close send a RST, which can destroy
// the response in the client's receive buffer; and a client that closes
// first keeps the TIME_WAIT state. A TIME_WAIT socket on the router would
// be transparent, so the "socket transparent" rule would steer the
// client's next SYN from that port to it instead of to the proxy, and the
// connection attempt would stall. Only a response delimited by the close
// itself needs our FIN first.
func (c *conn) finish() {
	c.release()
	c.mu.Lock()
	aborted := c.aborted
	c.mu.Unlock()
	if !aborted {
		c.poolUp()
	}
	c.closeUp()
	if c.tcp != nil && c.linger && !aborted {
		if c.finFirst {
			c.tcp.CloseWrite()
		}
		c.tcp.SetReadDeadline(time.Now().Add(lingerTime))
		var buf [1024]byte
		for i := 0; i < 64; i++ {
			if _, err := c.tcp.Read(buf[:]); err != nil {
				break
			}
		}
	}
	c.c.Close()
	c.s.forget(c)
}

func (c *conn) closeUp() {
	c.mu.Lock()
	up := c.up
	c.up = nil
	c.mu.Unlock()
	if up != nil {
		up.Close()
	}
	c.upTCP, c.upRC, c.upUsed, c.upClean, c.upPinned = nil, nil, false, false, false
}

// poolUp hands a clean upstream connection to the server's pool when its
// client connection ends.
func (c *conn) poolUp() {
	p := c.s.pool
	if p == nil || c.up == nil || !c.upClean || c.upPinned || c.s.shutdown.Load() {
		return
	}
	c.mu.Lock()
	up := c.up
	c.mu.Unlock()
	e := pooled{nc: up, tcp: c.upTCP, rc: c.upRC, last: c.upLast, rd: c.urd, wd: c.uwd}
	kept := p.put(poolKey{c.client.Addr(), c.dst}, e)
	c.mu.Lock()
	c.up = nil
	c.mu.Unlock()
	c.upTCP, c.upRC, c.upUsed, c.upClean = nil, nil, false, false
	if !kept {
		retire(up) // the pool is full
	}
}

// fromPool takes an idle pooled connection to the destination that is
// still open, if there is one.
func (c *conn) fromPool(now time.Time, r *h1.Request) {
	k := poolKey{c.client.Addr(), c.dst}
	for range 4 { // each stale one costs a peek; then dial
		e, ok := c.s.pool.get(k, now)
		if !ok {
			return
		}
		c.mu.Lock()
		if c.aborted {
			c.mu.Unlock()
			e.nc.Close()
			return
		}
		c.up = e.nc
		c.mu.Unlock()
		c.upTCP, c.upRC, c.upUsed, c.upLast = e.tcp, e.rc, true, e.last
		c.urd, c.uwd = e.rd, e.wd
		if c.upUsable(now, r) {
			c.s.Stats.UpstreamReused.Inc()
			return
		}
		c.closeUp()
	}
}

func (c *conn) setReadDeadline(t time.Time) {
	c.crd = t
	c.c.SetReadDeadline(t)
}

// extend keeps a deadline at least 3/4 of t ahead of now, moving it to
// now+t only when it has come closer than that: an inactivity timeout of
// t, give or take a quarter, for a timer update every t/4 at most.
func extend(nc net.Conn, at *time.Time, read bool, now time.Time, t time.Duration) {
	if at.Sub(now) >= t-t/4 {
		return
	}
	*at = now.Add(t)
	if read {
		nc.SetReadDeadline(*at)
	} else {
		nc.SetWriteDeadline(*at)
	}
}

// Results of reading a request head.
type headResult int

const (
	headOK headResult = iota
	headTunnel
	headBad
	headTooLarge
	headTimeout
	headGone
)

// readHead reads until a whole request head parses. The head must be
// complete within HeaderTimeout of its first byte (start). To keep a
// client that sends a byte at a time from making parsing quadratic, the
// head is parsed again only after a read that brought a line end (as h1's
// doc advises).
//
// The deadline is set only when needed: waitIdle's is nearer than
// HeaderTimeout and the first read finds its bytes waiting, so most heads
// are read without touching the timer; an earlier deadline that fires
// before HeaderTimeout has passed is moved out and the read retried.
func (c *conn) readHead(first bool, start time.Time) (headResult, error) {
	s, w := c.s, c.w
	end := start.Add(s.HeaderTimeout)
	if c.crd.After(end) || c.crd.IsZero() {
		c.setReadDeadline(end)
	}
	try := w.in.len() > 0
	for {
		if try {
			err := h1.ParseRequest(w.in.bytes(), s.MaxHeaderSize, &w.req)
			if err == nil {
				return headOK, nil
			}
			if first && err != h1.ErrIncomplete {
				switch classify(w.in.bytes(), s.MaxHeaderSize) {
				case shapeOther:
					return headTunnel, nil
				case shapeUnknown:
					err = h1.ErrIncomplete // judge the line when it ends
				}
			} else if first && classify(w.in.bytes(), s.MaxHeaderSize) == shapeOther {
				return headTunnel, nil
			}
			switch {
			case err == h1.ErrIncomplete:
			case err == h1.ErrHeadTooLarge:
				return headTooLarge, err
			default:
				return headBad, err
			}
		}
		n, err := w.in.fill(c.c, s.MaxHeaderSize)
		if err != nil {
			switch {
			case err == errBufferFull:
				return headTooLarge, h1.ErrHeadTooLarge
			case isTimeout(err) && time.Now().Before(end):
				c.setReadDeadline(end)
				try = false
				continue
			case isTimeout(err):
				return headTimeout, err
			}
			return headGone, err
		}
		fresh := w.in.b[w.in.w-n : w.in.w]
		try = bytes.IndexByte(fresh, '\n') >= 0 || w.in.len() <= 2*maxMethod || w.in.len() >= s.MaxHeaderSize
	}
}

// transaction serves one request; it reports whether the connection
// stays open for another.
func (c *conn) transaction(first bool) bool {
	s, w := c.s, c.w
	start := time.Now()
	w.e = accesslog.Entry{Client: c.client.Addr(), Hier: hierNone}
	res, err := c.readHead(first, start)
	switch res {
	case headOK:
		return c.forward(start)
	case headTunnel:
		c.tunnelRaw(start)
		return false
	case headGone:
		c.gone = true
		if w.in.len() > 0 {
			s.Stats.Errors[errClientAbort].Inc()
			c.logError(start, "TAG_NONE_ABORTED", "error:transaction-end-before-headers")
		}
	case headTimeout:
		if w.in.len() > 0 {
			s.Stats.Errors[errHeaderTimeout].Inc()
			c.page(408, "The request head did not arrive in time.")
			c.logError(start, "TAG_NONE", "error:request-too-slow")
		}
	case headTooLarge:
		s.Stats.Errors[errHeadTooLarge].Inc()
		c.page(431, "The request head is larger than this proxy accepts.")
		c.logError(start, "TAG_NONE", "error:request-too-large")
	case headBad:
		s.Stats.Errors[errBadRequest].Inc()
		reason := "malformed request"
		var he *h1.Error
		if errors.As(err, &he) {
			reason = he.Reason
		}
		c.page(400, "The request is not valid HTTP/1.1: "+reason+".")
		c.logError(start, "TAG_NONE", "error:invalid-request")
	}
	return false
}

// forward relays one parsed request to the original destination and its
// response back.
func (c *conn) forward(start time.Time) bool {
	s, w := c.s, c.w
	r, e := &w.req, &w.e
	w.method = append(w.method[:0], r.Method...)
	w.url = appendURL(w.url[:0], r, c.dst)
	e.Method, e.URL = w.method, w.url
	hier := hierDirect
	if hostMismatch(r.Host, c.dst) {
		hier = hierMismatch
	}
	if viaHas(r.Fields, s.Name) {
		s.fail(errViaLoop, "403 for %v -> %v: Via already lists %q (forwarding loop)", c.client, c.dst, s.Name)
		c.page(403, "The request has passed through this proxy already (forwarding loop).")
		c.log(start, "TCP_DENIED")
		return false
	}
	if r.Body() == h1.BodyChunked && w.in.len() > r.HeadLen {
		// Check the chunked bytes already here before connecting, so a
		// request whose framing breaks in its first read reaches nobody.
		var v h1.Chunked
		if _, _, err := v.Scan(w.in.bytes()[r.HeadLen:]); err != nil {
			s.Stats.Errors[errBadRequest].Inc()
			c.page(400, "The request body's chunked framing is invalid.")
			c.log(start, "TAG_NONE")
			return false
		}
	}
	if c.up != nil && !c.upUsable(start, r) {
		c.closeUp()
	}
	if c.up == nil && c.s.pool != nil && reusable(r) {
		c.fromPool(start, r)
	}
	if c.up == nil && !c.connect(start, true) {
		return false
	}
	pinned := pins(r.Fields)
	c.upClean = false
	c.upPinned = c.upPinned || pinned
	e.Hier, e.Server = hier, c.dst.Addr()

	bk := r.Body()
	cl := r.ContentLength
	upgrade, keepAlive, minor := r.Upgrade, r.KeepAlive, r.Minor
	expect := r.ExpectContinue && bk != h1.BodyNone && w.in.len() == r.HeadLen
	// A client that closes after this request makes the server close too
	// unless the upstream connection can be pooled for the client's next
	// connection; then the server holds the TIME_WAIT, not the router.
	var cv []byte
	switch {
	case upgrade:
		cv = connUpgrade
	case s.shutdown.Load() || !keepAlive && (s.pool == nil || c.upPinned):
		cv = connClose
	case minor == 0:
		cv = connKeepAlive
	}
	w.out = h1.AppendRequest(w.out[:0], r, s.via, cv)
	w.in.consume(r.HeadLen)
	// From here on r's slices may be overwritten by body reads.

	var toServer int64
	defer func() { s.Stats.ToServer.Add(uint64(toServer)) }()
	mustClose := false // the request body's fate is unknown: close after
	bodySent := bk == h1.BodyNone
	retried := false
	now := time.Now()
	extend(c.up, &c.uwd, false, now, s.ReadTimeout)
	if bodySent || expect {
		n, err := c.up.Write(w.out)
		toServer += int64(n)
		if err != nil {
			mustClose = !bodySent // go on: the read below reports the failure
		}
	} else {
		n, f := c.sendBody(bk, cl, w.out, true)
		toServer += n
		switch f {
		case okay:
			bodySent = true
		case readFail: // the client went away or stalled mid-body
			c.gone = true
			s.Stats.Errors[errClientAbort].Inc()
			c.log(start, "TCP_MISS_ABORTED")
			return false
		case framingFail:
			s.Stats.Errors[errBadRequest].Inc()
			c.page(400, "The request body's chunked framing is invalid.")
			c.log(start, "TAG_NONE")
			return false
		case writeFail: // the server stopped reading: it may have answered
			mustClose = true
		}
	}
	sentAt := time.Now()

	// Interim responses, then the final one.
	gotAny := false
	var resp *h1.Response
	for {
		timeout := s.ReadTimeout
		if !bodySent && !mustClose {
			timeout = expectTimeout
		}
		err := c.readResponseHead(timeout, &gotAny, sentAt)
		if err != nil {
			if !bodySent && !mustClose && isTimeout(err) {
				// No 100 in time: send the body anyway, unwatched:
				// the 100 may still come.
				n, f := c.sendBody(bk, cl, nil, false)
				toServer += n
				if !c.bodyFailed(f, start) {
					return false
				}
				bodySent = f == okay
				mustClose = mustClose || f != okay
				continue
			}
			if !gotAny && !retried && c.upUsed && bk == h1.BodyNone && idempotent(w.method) && !isTimeout(err) {
				// A kept-alive connection the server closed just as we
				// reused it: try once more on a fresh one.
				retried = true
				c.closeUp()
				if !c.connect(start, true) {
					return false
				}
				c.upPinned = pinned
				n, err := c.up.Write(w.out)
				toServer += int64(n)
				_ = err // a failure shows in the read
				sentAt = time.Now()
				continue
			}
			c.responseFailed(err, gotAny, start)
			return false
		}
		resp = &w.resp
		if resp.Status >= 200 || resp.Status == 101 {
			break
		}
		// 1xx: relay it (not to HTTP/1.0 clients, RFC 9110 §15.2).
		if minor == 1 {
			w.out = h1.AppendResponse(w.out[:0], resp, nil, nil)
			extend(c.c, &c.cwd, false, time.Now(), s.ReadTimeout)
			n, err := c.c.Write(w.out)
			e.Bytes += int64(n)
			if err != nil {
				c.gone = true
				s.Stats.Errors[errClientAbort].Inc()
				e.Status = resp.Status
				c.log(start, "TCP_MISS_ABORTED")
				return false
			}
		}
		w.up.consume(resp.HeadLen)
		if resp.Status == 100 && !bodySent && !mustClose {
			n, f := c.sendBody(bk, cl, nil, true)
			toServer += n
			if !c.bodyFailed(f, start) {
				return false
			}
			bodySent = f == okay
			mustClose = mustClose || f != okay
		}
	}

	e.Status = resp.Status
	c.upPinned = c.upPinned || pins(resp.Fields)
	w.mime = appendMIME(w.mime[:0], resp.Fields)
	e.MIME = w.mime
	isConnect := string(w.method) == "CONNECT"
	switch {
	case resp.Status == 101 && upgrade && bodySent:
		w.out = h1.AppendResponse(w.out[:0], resp, s.via, connUpgrade)
		w.up.consume(resp.HeadLen)
		c.tunnel(start, w.out, "TCP_MISS")
		return false
	case resp.Status == 101:
		s.Stats.Errors[errBadResponse].Inc()
		c.page(502, "The server switched protocols without being asked to.")
		c.log(start, "TCP_MISS")
		return false
	case isConnect && resp.Status < 300:
		w.out = h1.AppendResponse(w.out[:0], resp, s.via, nil)
		w.up.consume(resp.HeadLen)
		c.tunnel(start, w.out, "TCP_TUNNEL")
		return false
	}

	rk := resp.Body(w.method)
	keepClient := keepAlive && bodySent && !mustClose && rk != h1.BodyUntilClose && !s.shutdown.Load()
	keepUp := resp.KeepAlive && bodySent && !mustClose && rk != h1.BodyUntilClose
	cv = nil
	switch {
	case !keepClient:
		cv = connClose
	case minor == 0 || resp.Minor == 0:
		cv = connKeepAlive
	}
	rcl := resp.ContentLength
	c.finFirst = rk == h1.BodyUntilClose
	w.out = h1.AppendResponse(w.out[:0], resp, s.via, cv)
	w.up.consume(resp.HeadLen)
	n, f := c.copyResponse(rk, rcl, w.out)
	e.Bytes += n
	switch f {
	case okay:
	case writeFail:
		c.gone = true
		s.Stats.Errors[errClientAbort].Inc()
		c.log(start, "TCP_MISS_ABORTED")
		return false
	default: // readFail, framingFail: the server broke the body
		k := errUpstreamAbort
		if f == framingFail {
			k = errBadResponse
		}
		s.Stats.Errors[k].Inc()
		if n == 0 {
			c.page(502, "The server's response body is malformed.")
			c.log(start, "TCP_MISS")
		} else {
			c.log(start, "TCP_MISS_ABORTED")
		}
		return false
	}
	if !keepUp || w.up.len() > 0 {
		c.closeUp()
	} else {
		c.upUsed, c.upClean = true, true
		c.upLast = time.Now()
	}
	c.log(start, "TCP_MISS")
	return keepClient
}

// bodyFailed handles a request body that could not be sent after an
// interim wait; it reports whether the transaction goes on (to read the
// response the server may have sent).
func (c *conn) bodyFailed(f failure, start time.Time) bool {
	switch f {
	case readFail:
		c.gone = true
		c.s.Stats.Errors[errClientAbort].Inc()
		c.log(start, "TCP_MISS_ABORTED")
		return false
	case framingFail:
		c.s.Stats.Errors[errBadRequest].Inc()
		c.page(400, "The request body's chunked framing is invalid.")
		c.log(start, "TAG_NONE")
		return false
	}
	return true
}

// responseFailed answers the client when no usable response head came.
func (c *conn) responseFailed(err error, gotAny bool, start time.Time) {
	s := c.s
	var he *h1.Error
	switch {
	case errors.As(err, &he):
		s.Stats.Errors[errBadResponse].Inc()
		c.page(502, "The server sent an invalid response.")
	case isTimeout(err):
		s.Stats.Errors[errUpstreamTimeout].Inc()
		c.page(504, "The server did not respond in time.")
	case gotAny:
		s.Stats.Errors[errUpstreamAbort].Inc()
		c.page(502, "The server closed the connection in the middle of its response.")
	default:
		s.Stats.Errors[errUpstreamAbort].Inc()
		c.page(502, "The server closed the connection without sending a response.")
	}
	c.log(start, "TCP_MISS")
}

// readResponseHead reads until a response head parses, waiting at most
// timeout for each read.
func (c *conn) readResponseHead(timeout time.Duration, gotAny *bool, sentAt time.Time) error {
	s, w := c.s, c.w
	try := w.up.len() > 0
	for {
		if try {
			if err := h1.ParseResponse(w.up.bytes(), s.MaxHeaderSize, &w.resp); err != h1.ErrIncomplete {
				return err
			}
		}
		now := time.Now()
		if timeout != s.ReadTimeout {
			c.urd = now.Add(timeout)
			c.up.SetReadDeadline(c.urd)
		} else {
			extend(c.up, &c.urd, true, now, timeout)
		}
		n, err := w.up.fill(c.up, s.MaxHeaderSize)
		if n > 0 && !*gotAny {
			*gotAny = true
			s.Stats.Response.Observe(time.Since(sentAt))
		}
		if err != nil {
			if err == errBufferFull {
				return h1.ErrHeadTooLarge
			}
			return err
		}
		fresh := w.up.b[w.up.w-n : w.up.w]
		try = bytes.IndexByte(fresh, '\n') >= 0 || w.up.len() >= s.MaxHeaderSize
	}
}

// upUsable reports whether a kept-alive upstream connection is still
// open and quiet: a server that closed it while idle, or sent bytes
// nobody asked for, gets a fresh connection instead. The check costs a
// system call, so a connection used within the last second for a request
// that can simply be sent again (no body, idempotent method) is trusted:
// servers close idle connections after seconds, and if this one did, the
// request is retried on a new connection.
func (c *conn) upUsable(now time.Time, r *h1.Request) bool {
	if c.upRC == nil {
		return true
	}
	if now.Sub(c.upLast) < time.Second && reusable(r) {
		return true
	}
	if c.upCheck == nil {
		c.upCheck = func(fd uintptr) {
			var b [1]byte
			_, e := peek(fd, b[:])
			c.upOK = e == unix.EAGAIN
		}
	}
	c.upOK = false
	c.upRC.Control(c.upCheck)
	return c.upOK
}

// connect dials the original destination. On failure it answers the
// client (when page is set) and logs the transaction.
func (c *conn) connect(start time.Time, page bool) bool {
	s := c.s
	ctx, cancel := context.WithTimeout(s.ctx, s.ConnectTimeout)
	t0 := time.Now()
	up, err := s.Dial(ctx, c.client, c.dst)
	cancel()
	if err != nil {
		k, status, detail := dialFailure(err)
		if k == errConnectOther {
			s.fail(k, "connect %v -> %v: %v", c.client, c.dst, err)
		} else {
			s.Stats.Errors[k].Inc()
		}
		if page {
			c.page(status, detail)
			c.log(start, "TCP_MISS")
		} else {
			c.log(start, "TCP_TUNNEL_ABORTED")
		}
		return false
	}
	s.Stats.Connect.Observe(time.Since(t0))
	s.Stats.UpstreamConns.Inc()
	c.upTCP, _ = up.(*net.TCPConn)
	c.upRC = nil
	if c.upTCP != nil {
		if r, err := newRawTCP(c.upTCP); err == nil {
			up, c.upRC = r, r.rc
		}
	}
	c.mu.Lock()
	if c.aborted {
		c.mu.Unlock()
		up.Close()
		return false
	}
	c.up = up
	c.mu.Unlock()
	c.upUsed, c.upClean, c.upPinned = false, false, false
	c.urd, c.uwd = time.Time{}, time.Time{}
	return true
}

// page sends a response of the proxy's own, which always ends the
// connection.
func (c *conn) page(status int, detail string) {
	w := c.w
	w.out = appendPage(w.out[:0], status, c.dst, detail)
	c.cwd = time.Now().Add(pageTimeout)
	c.c.SetWriteDeadline(c.cwd)
	n, err := c.c.Write(w.out)
	w.e.Bytes += int64(n)
	w.e.Status = status
	w.e.MIME = mimeHTML
	if err != nil {
		c.gone = true
	}
}

// logError logs a transaction whose request never parsed, with Squid's
// placeholders for the method and URL.
func (c *conn) logError(start time.Time, code, url string) {
	w := c.w
	w.e.Method = methodNone
	w.url = append(w.url[:0], url...)
	w.e.URL = w.url
	c.log(start, code)
}

func (c *conn) log(start time.Time, code string) {
	e := &c.w.e
	e.Code = code
	e.Time = time.Now()
	e.Elapsed = e.Time.Sub(start)
	st := c.s.Stats
	st.request(e.Status)
	st.ToClient.Add(uint64(e.Bytes))
	if c.s.Log != nil {
		c.s.Log.Write(e)
	}
}

// idempotent reports whether a request with this method may be sent
// again after a failure that may have hidden its effect (RFC 9110 §9.2.2).
func idempotent(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}
