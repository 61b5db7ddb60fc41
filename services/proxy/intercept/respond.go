package intercept

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"
)

// pageTimeout bounds the write of a page of the proxy's own.
const pageTimeout = 5 * time.Second

// pageBadChunked answers a request body whose chunked framing breaks.
const pageBadChunked = "The request body's chunked framing is invalid."

var (
	methodNone = []byte("NONE")
	mimeHTML   = []byte("text/html")
)

var statusText = map[int]string{
	400: "Bad Request",
	403: "Forbidden",
	408: "Request Timeout",
	431: "Request Header Fields Too Large",
	502: "Bad Gateway",
	504: "Gateway Timeout",
}

// appendPage appends a complete response the proxy makes itself: a short
// HTML page naming the destination and what went wrong, and Connection:
// close, since the proxy closes after any error. detail must be plain
// text without markup (fixed phrases and addresses).
func appendPage(b []byte, status int, dst netip.AddrPort, detail string) []byte {
	text := statusText[status]
	var body [512]byte
	p := append(body[:0], "<!DOCTYPE html>\n<html><head><title>"...)
	p = strconv.AppendInt(p, int64(status), 10)
	p = append(p, ' ')
	p = append(p, text...)
	p = append(p, "</title></head>\n<body><h1>"...)
	p = strconv.AppendInt(p, int64(status), 10)
	p = append(p, ' ')
	p = append(p, text...)
	p = append(p, "</h1>\n<p>"...)
	p = append(p, detail...)
	p = append(p, " (destination "...)
	p = appendHostPort(p, dst, 0)
	p = append(p, ")</p>\n</body></html>\n"...)

	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, text...)
	b = append(b, "\r\nContent-Type: text/html\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(p)), 10)
	b = append(b, "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"...)
	return append(b, p...)
}

// dialFailure maps a dial error to a counter, a status and a phrase for
// the error page: timeouts are 504, everything else 502.
func dialFailure(err error) (k kind, status int, detail string) {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, syscall.ETIMEDOUT), errors.As(err, &ne) && ne.Timeout():
		return errConnectTimeout, 504, "The server did not answer the connection attempt in time."
	case errors.Is(err, syscall.ECONNREFUSED):
		return errConnectRefused, 502, "The server refused the connection."
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.EHOSTDOWN):
		return errConnectUnreachable, 502, "The server is unreachable (no route to host)."
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ENETDOWN):
		return errConnectUnreachable, 502, "The server's network is unreachable."
	}
	return errConnectOther, 502, "The proxy could not connect to the server."
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// refuse ends a transaction with a response of the proxy's own: it counts
// an error of kind k, sends the page (status, detail) and logs code. It
// returns false, for callers to return: the connection closes.
func (c *conn) refuse(k kind, status int, detail string, start time.Time, code string) bool {
	c.s.Stats.Errors[k].Inc()
	c.page(status, detail)
	c.log(start, code)
	return false
}

// abandon ends a transaction that can get no page (the client or the
// response is gone): it counts an error of kind k and logs code.
func (c *conn) abandon(k kind, start time.Time, code string) bool {
	c.s.Stats.Errors[k].Inc()
	c.log(start, code)
	return false
}

// clientGone ends a transaction whose client went away or stalled.
func (c *conn) clientGone(start time.Time) bool {
	c.gone = true
	return c.abandon(errClientAbort, start, "TCP_MISS_ABORTED")
}

// page sends a response of the proxy's own, which always ends the
// connection.
func (c *conn) page(status int, detail string) {
	w := c.w
	w.out = appendPage(w.out[:0], status, c.dst, detail)
	c.client.wd = time.Now().Add(pageTimeout)
	c.client.nc.SetWriteDeadline(c.client.wd)
	n, err := c.client.nc.Write(w.out)
	c.toClient().count(int64(n))
	w.e.Bytes += int64(n)
	w.e.Status = status
	w.e.MIME = mimeHTML
	if err != nil {
		c.gone = true
	}
}

// placeholders names a transaction whose request never parsed as Squid
// does: method NONE and url, an "error:..." phrase.
func (c *conn) placeholders(url string) {
	w := c.w
	w.e.Method = methodNone
	w.url = append(w.url[:0], url...)
	w.e.URL = w.url
}

// log writes the transaction's access log line with code and counts it.
func (c *conn) log(start time.Time, code string) {
	e := &c.w.e
	e.Code = code
	e.Time = time.Now()
	e.Elapsed = e.Time.Sub(start)
	st := c.s.Stats
	st.request(e.Status)
	st.ToClient.Add(uint64(e.Bytes))
	if len(c.s.SelfTestNet) > 0 && c.s.selfTest(e.Client) {
		st.SelfTest.Inc()
		return
	}
	if c.s.Top != nil {
		c.countTop()
	}
	if c.s.Log != nil {
		c.s.Log.Write(e)
	}
}

// countTop counts the transaction in Server.Top under its host (Host or
// SNI, else the destination address) and its client, with its bytes
// both ways.
func (c *conn) countTop() {
	w := c.w
	if len(w.host) == 0 {
		w.host = c.dst.Addr().AppendTo(w.host[:0])
	}
	c.s.Top.Add(w.host, c.src.Addr(), uint64(w.sent[0]+w.sent[1]))
}

// selfTest reports whether a is one of SelfTestNet's clients.
func (s *Server) selfTest(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.SelfTestNet {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
