package intercept

import (
	"bytes"
	"errors"
	"time"

	"tprouter/services/proxy/accesslog"
	"tprouter/services/proxy/h1"
)

// expectTimeout is how long a request with Expect: 100-continue waits
// for the server's 100 before its body is sent anyway, as Go's Transport
// and curl do (RFC 9110 §10.1.1 allows it).
const expectTimeout = time.Second

var (
	connClose     = []byte("close")
	connKeepAlive = []byte("keep-alive")
	connUpgrade   = []byte("upgrade")
	methodConnect = []byte("CONNECT")
)

// exchange is one request on its way through forward: what the later
// steps need of the request head, whose bytes the body may overwrite, and
// how far it has got.
type exchange struct {
	start     time.Time
	sentAt    time.Time   // when the request head went out
	kind      h1.BodyKind // the request body's framing
	length    int64       // its Content-Length
	minor     int         // the client's HTTP/1.minor
	keepAlive bool        // the client wants to keep its connection
	upgrade   bool        // the client asks for a protocol switch
	pinned    bool        // the request carries NTLM or Negotiate
	body      bodyState
	heard     bool  // a byte of the response has arrived
	toServer  int64 // bytes written to the server
}

// bodyState is how far the request body has got.
type bodyState int

const (
	bodySent   bodyState = iota // all of it went, or there is none
	bodyUnsent                  // to go right after the head
	bodyHeld                    // waiting for the server's 100 Continue
	bodyCut                     // cut short or lost: the connection closes after
)

// recovery is what a failed wait for a response head calls for.
type recovery int

const (
	giveUp     recovery = iota // answer the client with an error
	sendAnyway                 // no 100 Continue in time: send the body anyway
	resend                     // a kept connection the server closed as we reused it
)

// transaction serves one request; it reports whether the connection
// stays open for another.
func (c *conn) transaction(first bool) bool {
	start := time.Now()
	c.w.e = accesslog.Entry{Client: c.src.Addr(), Hier: hierNone}
	c.w.host, c.w.sent = c.w.host[:0], [2]int64{}
	res, skipped, err := c.readHead(first, start)
	switch res {
	case headOK:
		return c.forward(start)
	case headTunnel:
		c.unsupported(start, skipped)
	case headTLS:
		c.serveTLS(start)
	default:
		c.headFailed(res, err, start)
	}
	return false
}

// forward relays one parsed request to the original destination and its
// response back: check it, find an upstream connection, send the request,
// wait for the final response, relay it. It reports whether the client
// connection stays open for another request.
func (c *conn) forward(start time.Time) bool {
	r := &c.w.req
	if !c.checkRequest(r, start) || !c.pickUpstream(r, start) {
		return false
	}
	x := c.newExchange(r, start)
	keep := c.sendRequest(&x) && c.awaitFinal(&x) && c.relayResponse(&x)
	c.s.Stats.ToServer.Add(uint64(x.toServer))
	return keep
}

// checkRequest names r in the log entry and refuses it, before anything
// is dialled, when it has been here before, the domain policy denies its
// host or its first chunked bytes are malformed.
func (c *conn) checkRequest(r *h1.Request, start time.Time) bool {
	s, w := c.s, c.w
	w.method = append(w.method[:0], r.Method...)
	w.url = appendURL(w.url[:0], r, c.dst)
	w.e.Method, w.e.URL = w.method, w.url
	if len(r.Host) > 0 {
		w.host = appendPolicyName(w.host[:0], r.Host, c.dst)
	}
	if viaHas(r.Fields, s.Name) {
		s.report(errViaLoop, "403 for %v -> %v: Via already lists %q (forwarding loop)", c.src, c.dst, s.Name)
		return c.refuse(errViaLoop, 403, "The request has passed through this proxy already (forwarding loop).", start, "TCP_DENIED")
	}
	if s.policy.Load().Active() && !c.allowed(r.Host, start) {
		return false
	}
	if r.Body() == h1.BodyChunked && w.in.len() > r.HeadLen {
		// Check the chunked bytes already here before connecting, so a
		// request whose framing breaks in its first read reaches nobody.
		var v h1.Chunked
		if _, _, err := v.Scan(w.in.bytes()[r.HeadLen:]); err != nil {
			return c.refuse(errBadRequest, 400, pageBadChunked, start, "TAG_NONE")
		}
	}
	return true
}

// pickUpstream gives c an upstream connection for r: the one it has if
// that is still usable, else a pooled one, else a new one.
func (c *conn) pickUpstream(r *h1.Request, start time.Time) bool {
	if c.up.nc != nil && !c.upUsable() {
		c.closeUp()
	}
	if c.up.nc == nil && c.s.pool != nil && reusable(r) {
		c.takeUp(start)
	}
	return c.up.nc != nil || c.connect(start, true)
}

// newExchange takes what the later steps need from r, writes the head to
// forward into w.out and consumes r's head: from then on r's slices may
// be overwritten by body reads.
func (c *conn) newExchange(r *h1.Request, start time.Time) exchange {
	s, w := c.s, c.w
	x := exchange{start: start, kind: r.Body(), length: r.ContentLength, minor: r.Minor,
		keepAlive: r.KeepAlive, upgrade: r.Upgrade, pinned: pins(r.Fields)}
	switch {
	case x.kind == h1.BodyNone:
		x.body = bodySent
	case r.ExpectContinue && w.in.len() == r.HeadLen:
		x.body = bodyHeld
	default:
		x.body = bodyUnsent
	}
	c.up.clean = false
	c.up.pinned = c.up.pinned || x.pinned
	w.e.Hier, w.e.Server = hierDirect, c.dst.Addr()
	if hostMismatch(r.Host, c.dst) {
		w.e.Hier = hierMismatch
	}
	// A client that closes after this request makes the server close too
	// unless the upstream connection can be pooled for the client's next
	// connection; then the server holds the TIME_WAIT, not the router.
	var cv []byte
	switch {
	case x.upgrade:
		cv = connUpgrade
	case s.shutdown.Load() || !x.keepAlive && (s.pool == nil || c.up.pinned):
		cv = connClose
	case x.minor == 0:
		cv = connKeepAlive
	}
	w.out = h1.AppendRequest(w.out[:0], r, s.via, cv)
	w.in.consume(r.HeadLen)
	return x
}

// sendRequest writes the request head and, unless it waits for a 100
// Continue, the body.
func (c *conn) sendRequest(x *exchange) bool {
	c.up.extendWrite(time.Now(), c.s.ReadTimeout)
	if x.body == bodyUnsent {
		if !c.sendBody(x, c.w.out, true) {
			return false
		}
	} else {
		n, err := c.up.nc.Write(c.w.out)
		c.toServer().count(int64(n))
		x.toServer += int64(n)
		if err != nil && x.body == bodyHeld {
			x.body = bodyCut // go on: the read reports the failure
		}
	}
	x.sentAt = time.Now()
	return true
}

// sendBody sends the request body after head (nil when sent already),
// cutting it short when watch is set and the server answers early (see
// watchEarly). It reports false once the transaction has ended.
func (c *conn) sendBody(x *exchange, head []byte, watch bool) bool {
	n, f := c.copyRequest(x.kind, x.length, head, watch)
	x.toServer += n
	switch f {
	case copied:
		x.body = bodySent
	case readFail: // the client went away or stalled mid-body
		return c.clientGone(x.start)
	case framingFail:
		return c.refuse(errBadRequest, 400, pageBadChunked, x.start, "TAG_NONE")
	case writeFail: // the server stopped reading: it may have answered
		x.body = bodyCut
	}
	return true
}

// awaitFinal reads response heads until a final one parses, relaying
// interim ones and recovering from a failed wait as recoveryFor decides. It
// reports false once the transaction has ended.
func (c *conn) awaitFinal(x *exchange) bool {
	for {
		err := c.readResponseHead(x)
		if err == nil {
			if st := c.w.resp.Status; st >= 200 || st == 101 {
				return true
			}
			if !c.relayInterim(x) {
				return false
			}
			continue
		}
		if err == errClientClosed {
			c.resetUp()
			return c.clientGone(x.start)
		}
		switch c.recoveryFor(x, err) {
		case sendAnyway: // unwatched: the 100 may still come
			if !c.sendBody(x, nil, false) {
				return false
			}
		case resend:
			if !c.resend(x) {
				return false
			}
		default:
			return c.responseFailed(x, err)
		}
	}
}

// recoveryFor decides what a failed wait for a response head calls for.
func (c *conn) recoveryFor(x *exchange, err error) recovery {
	switch {
	case x.body == bodyHeld && isTimeout(err):
		return sendAnyway
	case !x.heard && c.up.used && x.kind == h1.BodyNone && idempotent(c.w.method) && !isTimeout(err):
		return resend // once: the new connection is not used
	}
	return giveUp
}

// resend sends the request again on a new connection.
func (c *conn) resend(x *exchange) bool {
	c.closeUp()
	if !c.connect(x.start, true) {
		return false
	}
	c.up.pinned = x.pinned
	n, _ := c.up.nc.Write(c.w.out) // a failure shows in the read
	c.toServer().count(int64(n))
	x.toServer += int64(n)
	x.sentAt = time.Now()
	return true
}

// relayInterim passes a 1xx response on (not to HTTP/1.0 clients, RFC
// 9110 §15.2) and, after a 100 Continue, sends the body held for it.
func (c *conn) relayInterim(x *exchange) bool {
	w := c.w
	resp := &w.resp
	if x.minor == 1 {
		w.out = h1.AppendResponse(w.out[:0], resp, nil, nil)
		c.client.extendWrite(time.Now(), c.s.ReadTimeout)
		n, err := c.client.nc.Write(w.out)
		c.toClient().count(int64(n))
		w.e.Bytes += int64(n)
		if err != nil {
			w.e.Status = resp.Status
			return c.clientGone(x.start)
		}
	}
	w.up.consume(resp.HeadLen)
	if resp.Status == 100 && x.body == bodyHeld {
		return c.sendBody(x, nil, true)
	}
	return true
}

// readResponseHead reads until a response head parses, each read waiting
// at most ReadTimeout, or expectTimeout while the body waits for a 100.
func (c *conn) readResponseHead(x *exchange) error {
	s, w := c.s, c.w
	timeout := s.ReadTimeout
	if x.body == bodyHeld {
		timeout = expectTimeout
	}
	try := w.up.len() > 0
	for {
		if try {
			if err := h1.ParseResponse(w.up.bytes(), s.MaxHeaderSize, &w.resp); err != h1.ErrIncomplete {
				return err
			}
		}
		now := time.Now()
		if timeout != s.ReadTimeout {
			c.up.setReadDeadline(now.Add(timeout))
		} else {
			c.up.extendRead(now, timeout)
		}
		// Until the server answers, look at the client every clientCheck
		// (see "Closing" in docs/proxy.md).
		check := !x.heard && c.client.rc != nil && c.up.rd.Sub(now) > clientCheck
		if check {
			c.up.nc.SetReadDeadline(now.Add(clientCheck))
		}
		n, err := w.up.fill(c.up.nc, s.MaxHeaderSize)
		if check {
			c.up.nc.SetReadDeadline(c.up.rd)
			if n == 0 && isTimeout(err) && time.Now().Before(c.up.rd) {
				if c.peek.hasClosed(c.client.rc) {
					return errClientClosed
				}
				try = false
				continue
			}
		}
		if n > 0 && !x.heard {
			x.heard = true
			s.Stats.Response.Observe(time.Since(x.sentAt))
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

// responseFailed answers the client when no usable response head came.
func (c *conn) responseFailed(x *exchange, err error) bool {
	var he *h1.Error
	switch {
	case errors.As(err, &he):
		return c.refuse(errBadResponse, 502, "The server sent an invalid response.", x.start, "TCP_MISS")
	case isTimeout(err):
		return c.refuse(errUpstreamTimeout, 504, "The server did not respond in time.", x.start, "TCP_MISS")
	case x.heard:
		return c.refuse(errUpstreamAbort, 502, "The server closed the connection in the middle of its response.", x.start, "TCP_MISS")
	}
	return c.refuse(errUpstreamAbort, 502, "The server closed the connection without sending a response.", x.start, "TCP_MISS")
}

// relayResponse passes the final response on, or relays both ways as a
// tunnel after a 101 or a CONNECT's 2xx. It reports whether the client
// connection stays open for another request.
func (c *conn) relayResponse(x *exchange) bool {
	s, w := c.s, c.w
	resp, e := &w.resp, &w.e
	e.Status = resp.Status
	c.up.pinned = c.up.pinned || pins(resp.Fields)
	w.mime = appendMIME(w.mime[:0], resp.Fields)
	e.MIME = w.mime
	switch {
	case resp.Status == 101 && x.upgrade && x.body == bodySent:
		return c.switchToTunnel(x.start, connUpgrade, "TCP_MISS")
	case resp.Status == 101:
		return c.refuse(errBadResponse, 502, "The server switched protocols without being asked to.", x.start, "TCP_MISS")
	case bytes.Equal(w.method, methodConnect) && resp.Status < 300:
		return c.switchToTunnel(x.start, nil, "TCP_TUNNEL")
	}
	rk := resp.Body(w.method)
	keepClient, keepUp := c.keepAlive(x, rk)
	var cv []byte
	switch {
	case !keepClient:
		cv = connClose
	case x.minor == 0 || resp.Minor == 0:
		cv = connKeepAlive
	}
	c.finFirst = rk == h1.BodyUntilClose
	w.out = h1.AppendResponse(w.out[:0], resp, s.via, cv)
	w.up.consume(resp.HeadLen)
	n, f := c.copyResponse(rk, resp.ContentLength, w.out)
	e.Bytes += n
	if f != copied {
		return c.responseBroke(x, f, n)
	}
	if !keepUp || w.up.len() > 0 {
		c.resetUp()
	} else {
		c.up.used, c.up.clean, c.up.last = true, true, time.Now()
	}
	c.log(x.start, "TCP_MISS")
	return keepClient
}

// keepAlive decides whether the client connection and the upstream one
// outlive a response whose body is rk: only when the request body went
// whole and the response does not end at the server's close.
func (c *conn) keepAlive(x *exchange, rk h1.BodyKind) (client, up bool) {
	whole := x.body == bodySent && rk != h1.BodyUntilClose
	return whole && x.keepAlive && !c.s.shutdown.Load(), whole && c.w.resp.KeepAlive
}

// switchToTunnel passes the response head on and relays both ways.
func (c *conn) switchToTunnel(start time.Time, cv []byte, code string) bool {
	w := c.w
	w.out = h1.AppendResponse(w.out[:0], &w.resp, c.s.via, cv)
	w.up.consume(w.resp.HeadLen)
	c.tunnel(start, w.out, code)
	return false
}

// responseBroke ends a transaction whose response body could not be
// relayed whole: f says which side failed after n bytes.
func (c *conn) responseBroke(x *exchange, f failure, n int64) bool {
	if f == writeFail {
		return c.clientGone(x.start)
	}
	k := errUpstreamAbort // readFail, framingFail: the server broke the body
	if f == framingFail {
		k = errBadResponse
	}
	if n == 0 {
		return c.refuse(k, 502, "The server's response body is malformed.", x.start, "TCP_MISS")
	}
	return c.abandon(k, x.start, "TCP_MISS_ABORTED")
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
