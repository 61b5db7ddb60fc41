package intercept

import (
	"bytes"
	"time"
)

// unsupported serves a connection whose first bytes could not start an
// HTTP request nor a TLS handshake, as Server.Unknown says (Squid's
// on_unsupported_protocol): relayed untouched, or closed at once without
// dialling and logged as "TAG_NONE/000 0 NONE error:unsupported-protocol".
// skipped is how many bytes of empty lines readHead consumed before them.
func (c *conn) unsupported(start time.Time, skipped int) {
	st := c.s.Stats
	if c.s.Unknown != UnknownReject {
		st.Unknown[0].Inc()
		c.tunnelLead(start, skipped)
		return
	}
	st.Unknown[1].Inc()
	c.gone = true // close at once: no lingering for more of the protocol
	c.placeholders("error:unsupported-protocol")
	c.log(start, "TAG_NONE")
}

// tunnelRaw relays a connection whose first bytes are not HTTP to its
// original destination untouched, so other protocols on an intercepted
// port keep working (Squid's on_unsupported_protocol tunnel). Squid logs
// such a connection as a CONNECT to the destination.
func (c *conn) tunnelRaw(start time.Time) { c.tunnelLead(start, 0) }

// tunnelLead is tunnelRaw for a connection whose first skipped bytes,
// empty lines, readHead consumed: they go first, untouched means all.
func (c *conn) tunnelLead(start time.Time, skipped int) {
	w := c.w
	e := &w.e
	e.Method = methodConnect
	w.url = appendHostPort(w.url[:0], c.dst, 0)
	e.URL = w.url
	if !c.connect(start, false) {
		return
	}
	e.Hier, e.Server, e.Status = hierDirect, c.dst.Addr(), 200
	var lead []byte
	if skipped > 0 {
		lead = bytes.Repeat(crlf, skipped/2)
	}
	c.tunnelWith(start, nil, lead, "TCP_TUNNEL")
}

// tunnel writes head to the client and what each side sent ahead to the
// other side, then relays both directions until both have ended, and
// logs; it returns the bytes written to the server (serveTLS counts
// them). A direction that reaches EOF half-closes the other side
// (CloseWrite) and the other direction carries on; an error or
// ReadTimeout of silence ends both.
func (c *conn) tunnel(start time.Time, head []byte, code string) (toServer int64) {
	return c.tunnelWith(start, head, nil, code)
}

// tunnelWith is tunnel that also writes lead to the server first.
func (c *conn) tunnelWith(start time.Time, head, lead []byte, code string) (toServer int64) {
	s, w := c.s, c.w
	s.Stats.Tunnels.Inc()
	e := &w.e
	toClient, f := c.write(c.toClient(), head, w.up.bytes())
	if f == copied {
		toServer, f = c.write(c.toServer(), lead, w.in.bytes())
	}
	w.dropBuffers()
	if f == copied {
		done := make(chan int64, 1)
		go func() {
			l := c.toServer()
			n, f, _ := c.relay(l)
			c.endDirection(l, f)
			done <- n
		}()
		l := c.toClient()
		n, f, _ := c.relay(l)
		c.endDirection(l, f)
		toClient += n
		toServer += <-done
	}
	e.Bytes += toClient
	s.Stats.ToServer.Add(uint64(toServer))
	c.gone = true // the client's side has been closed or half-closed
	c.log(start, code)
	return toServer
}

// endDirection finishes one direction of a tunnel: at EOF it passes the
// half-close on; after an error it closes both sockets, which also ends
// the other direction's relay.
func (c *conn) endDirection(l leg, f failure) {
	if f == copied && l.dst.tcp != nil {
		l.dst.tcp.CloseWrite()
		return
	}
	l.dst.nc.Close()
	l.src.nc.Close()
}
