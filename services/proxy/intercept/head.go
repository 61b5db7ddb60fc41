package intercept

import (
	"bytes"
	"errors"
	"time"

	"tprouter/services/proxy/h1"
)

// Results of reading a request head.
type headResult int

const (
	headOK     headResult = iota
	headTunnel            // not HTTP: Server.Unknown decides
	headTLS               // a TLS ClientHello follows: peek and splice
	headBad
	headTooLarge
	headTimeout
	headGone
	headMore // not whole yet: read on (readHead's own)
)

// readHead reads until a whole request head parses, within HeaderTimeout
// of its first byte (start), parsing again only after a read that brought
// a line end, and touching the read deadline only when it must. Empty
// lines before the request line are consumed as they come (skipEmpty):
// any number of them, within MaxHeaderSize with the head that follows
// (see "Reading a request head" in docs/proxy.md); it returns how many
// bytes they took, for a tunnel to pass on.
func (c *conn) readHead(first bool, start time.Time) (res headResult, skipped int, err error) {
	s, w := c.s, c.w
	end := start.Add(s.HeaderTimeout)
	if c.client.rd.After(end) || c.client.rd.IsZero() {
		c.client.setReadDeadline(end)
	}
	try := w.in.len() > 0
	for {
		if try {
			skipped += skipEmpty(&w.in)
			if res, err := c.parseHead(first, skipped, s.MaxHeaderSize-skipped); res != headMore {
				return res, skipped, err
			}
		}
		var n int
		n, err = w.in.fill(c.client.nc, s.MaxHeaderSize-skipped)
		if err != nil {
			switch {
			case err == errBufferFull:
				return headTooLarge, skipped, h1.ErrHeadTooLarge
			case isTimeout(err) && time.Now().Before(end):
				c.client.setReadDeadline(end) // an earlier deadline, waitIdle's
				try = false
				continue
			case isTimeout(err):
				return headTimeout, skipped, err
			}
			return headGone, skipped, err
		}
		fresh := w.in.b[w.in.w-n : w.in.w]
		try = bytes.IndexByte(fresh, '\n') >= 0 || w.in.len() <= 2*maxMethod || w.in.len() >= s.MaxHeaderSize-skipped
	}
}

// skipEmpty consumes the empty lines (CRLF) at the start of in, which RFC
// 9112 §2.2 lets a server ignore before a request line, and returns how
// many bytes they took. Consuming them as they come keeps a client that
// sends thousands from making each parse start over on them.
func skipEmpty(in *buffer) int {
	b := in.bytes()
	i := 0
	for i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
		i += 2
	}
	in.consume(i)
	return i
}

// parseHead parses what has come of the head so far, at most limit bytes.
// On a connection's first bytes it also tells HTTP from other protocols
// (see classify): those that could not start an HTTP request are not
// parsed; the rest are, and get 400 when they are malformed. A TLS record
// after skipped bytes of empty lines is no TLS handshake: other.
func (c *conn) parseHead(first bool, skipped, limit int) (headResult, error) {
	w := c.w
	err := h1.ParseRequest(w.in.bytes(), limit, &w.req)
	if err == nil {
		return headOK, nil
	}
	if first {
		switch classify(w.in.bytes(), limit) {
		case shapeOther:
			return headTunnel, nil
		case shapeTLS:
			if skipped > 0 {
				return headTunnel, nil
			}
			return headTLS, nil
		case shapeUnknown:
			if err != h1.ErrHeadTooLarge { // the empty lines filled it
				err = h1.ErrIncomplete // judge the first bytes when more come
			}
		}
	}
	switch {
	case err == h1.ErrIncomplete:
		return headMore, nil
	case err == h1.ErrHeadTooLarge:
		return headTooLarge, err
	}
	return headBad, err
}

// headFailed answers a request head that did not parse and logs it with
// Squid's placeholders; a client that sent nothing gets nothing.
func (c *conn) headFailed(res headResult, err error, start time.Time) {
	if res == headGone {
		c.gone = true
	}
	if c.w.in.len() == 0 && res != headTooLarge { // too large: empty lines only
		return
	}
	switch res {
	case headGone:
		c.placeholders("error:transaction-end-before-headers")
		c.abandon(errClientAbort, start, "TAG_NONE_ABORTED")
	case headTimeout:
		c.placeholders("error:request-too-slow")
		c.refuse(errHeaderTimeout, 408, "The request head did not arrive in time.", start, "TAG_NONE")
	case headTooLarge:
		c.placeholders("error:request-too-large")
		c.refuse(errHeadTooLarge, 431, "The request head is larger than this proxy accepts.", start, "TAG_NONE")
	case headBad:
		reason := "malformed request"
		var he *h1.Error
		if errors.As(err, &he) {
			reason = he.Reason
		}
		c.placeholders("error:invalid-request")
		c.refuse(errBadRequest, 400, "The request is not valid HTTP/1.1: "+reason+".", start, "TAG_NONE")
	}
}
