package intercept

import (
	"errors"
	"io"
	"strconv"
	"time"

	"tprouter/services/proxy/accesslog"
	"tprouter/services/proxy/tlshello"
)

// alertDecodeError is a fatal decode_error alert (RFC 8446 §6.2), what a
// TLS server sends for a ClientHello it cannot parse: the client of a
// refused malformed hello gets it before the close.
var alertDecodeError = []byte{21, 3, 3, 0, 2, 2, 50}

// Outcomes of reading a ClientHello.
type helloResult int

const (
	helloOK      helloResult = iota
	helloBad                 // began like a handshake record, is no ClientHello
	helloTimeout             // not complete within HeaderTimeout of the first byte
	helloGone                // the client failed first
	helloEOF                 // the client half-closed before the hello was whole
)

// serveTLS serves a connection whose first bytes are a TLS handshake
// record: it reads the ClientHello (tlshello), applies the domain policy
// to its server name and splices the connection to the original
// destination from the client's address, as Squid's "ssl_bump peek
// step1, splice" does. See "Peek and splice" in docs/proxy.md.
func (c *conn) serveTLS(start time.Time) {
	h, res, err := c.readHello(start)
	switch res {
	case helloOK:
		c.s.Stats.TLSConns.Inc()
		c.s.Stats.TLSHello.Observe(time.Since(start))
		c.spliceTLS(start, h)
	case helloBad:
		c.helloFailed(start, err)
	case helloTimeout:
		c.placeholders("error:request-too-slow")
		c.abandon(errHeaderTimeout, start, "TAG_NONE")
	case helloEOF:
		if !c.s.policy.Load().Active() {
			c.tunnelRaw(start) // no TLS after all: relay it as before the peek
			return
		}
		fallthrough
	case helloGone:
		c.gone = true
		c.placeholders("error:transaction-end-before-headers")
		c.abandon(errClientAbort, start, "TAG_NONE_ABORTED")
	}
}

// readHello reads until the ClientHello parses or cannot, within
// HeaderTimeout of start, the first byte, with readHead's deadline
// discipline. Parsing after every read is cheap: while the hello is
// incomplete Parse only walks the record headers. The buffer, and so the
// hello, is bounded by tlshello.MaxHello, at which Parse has answered.
func (c *conn) readHello(start time.Time) (*tlshello.Hello, helloResult, error) {
	s, w := c.s, c.w
	end := start.Add(s.HeaderTimeout)
	if c.client.rd.After(end) || c.client.rd.IsZero() {
		c.client.setReadDeadline(end)
	}
	for {
		h, err := tlshello.Parse(w.in.bytes())
		if err == nil {
			return h, helloOK, nil
		}
		if !errors.Is(err, tlshello.ErrIncomplete) {
			return nil, helloBad, err
		}
		_, err = w.in.fill(c.client.nc, tlshello.MaxHello)
		switch {
		case err == nil:
		case err == errBufferFull:
			return nil, helloBad, &tlshello.Error{Kind: tlshello.KindTooLarge, Reason: "ClientHello records longer than tlshello.MaxHello"}
		case isTimeout(err) && time.Now().Before(end):
			c.client.setReadDeadline(end) // an earlier deadline, waitIdle's
		case isTimeout(err):
			return nil, helloTimeout, err
		case err == io.EOF:
			return nil, helloEOF, err
		default:
			return nil, helloGone, err
		}
	}
}

// spliceTLS applies the policy to the hello's name (the SNI, or without
// one the destination address) and then denies or splices. The SNI only
// names the connection: the server is always the original destination
// (CVE-2009-0801).
func (c *conn) spliceTLS(start time.Time, h *tlshello.Hello) {
	s, w := c.s, c.w
	e := &w.e
	e.SNI, e.ALPN, e.ECH = h.ServerName, h.ALPN, accesslog.ECHAbsent
	if h.ECH {
		e.ECH = accesslog.ECHOffered
	}
	e.Method = methodConnect
	name := h.ServerName
	if name == "" {
		name = c.dst.Addr().Unmap().String()
		w.url = appendHostPort(w.url[:0], c.dst, 0)
	} else {
		w.url = append(append(w.url[:0], name...), ':')
		w.url = strconv.AppendUint(w.url, uint64(c.dst.Port()), 10)
	}
	e.URL = w.url
	w.host = append(w.host[:0], name...)
	if s.denied(name) {
		s.Stats.Denied[1].Inc()
		c.alert(tlshello.AlertAccessDenied)
		e.Status = 200 // Squid's, for a denied CONNECT
		c.log(start, "TCP_DENIED")
		return
	}
	if !c.connect(start, false) {
		return
	}
	e.Hier, e.Server, e.Status = hierDirect, c.dst.Addr(), 200
	toServer := c.tunnel(start, nil, "TCP_TUNNEL")
	s.Stats.TLSToClient.Add(uint64(e.Bytes))
	s.Stats.TLSToServer.Add(uint64(toServer))
}

// helloFailed handles bytes that began like a TLS handshake record but
// are no ClientHello. With a domain policy in force they are refused (a
// difference between our parser and a server's must not let a client
// past the rules): a decode_error alert, the close, a line logged as
// "TAG_NONE/000 0 NONE error:invalid-tls-hello". Without one they are
// relayed untouched, as before the peek.
func (c *conn) helloFailed(start time.Time, err error) {
	k := tlshello.KindMalformed
	var he *tlshello.Error
	if errors.As(err, &he) && he.Kind >= 0 && he.Kind < tlshello.NumKinds {
		k = he.Kind
	}
	c.s.Stats.TLSParseFailures[k].Inc()
	if !c.s.policy.Load().Active() {
		c.tunnelRaw(start)
		return
	}
	c.alert(alertDecodeError)
	c.placeholders("error:invalid-tls-hello")
	c.log(start, "TAG_NONE")
}

// alert sends a TLS alert record of the proxy's own; the connection then
// closes. Like a page, it is not counted in the logged bytes.
func (c *conn) alert(rec []byte) {
	c.client.wd = time.Now().Add(pageTimeout)
	c.client.nc.SetWriteDeadline(c.client.wd)
	n, err := c.client.nc.Write(rec)
	c.toClient().count(int64(n))
	if err != nil {
		c.gone = true
	}
}
