// Package tlsconn has the client-side connection wrappers that the
// proxy's loopback and lab tests use to send a ClientHello the hard ways:
// a byte per TCP segment, and re-fragmented into many small TLS records.
// Go's crypto/tls server accepts both, so the handshake completes only if
// the proxy reassembles the hello and relays every byte unchanged.
package tlsconn

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"time"
)

// Slow writes its first N bytes one Write, so one TCP segment
// (Go sets TCP_NODELAY), per byte, and the rest as they come.
type Slow struct {
	net.Conn
	N int
}

func (c *Slow) Write(b []byte) (int, error) {
	done := 0
	for done < len(b) && c.N > 0 {
		if _, err := c.Conn.Write(b[done : done+1]); err != nil {
			return done, err
		}
		done++
		c.N--
		time.Sleep(100 * time.Microsecond) // let each byte leave alone
	}
	n, err := c.Conn.Write(b[done:])
	return done + n, err
}

// Frag re-fragments the first TLS handshake record it writes (the
// ClientHello) into records of at most Size bytes, as a TLS stack may
// (RFC 8446 §5.1). It assumes that record comes in one Write, as
// crypto/tls writes it.
type Frag struct {
	net.Conn
	Size    int
	Records int // records the hello went out in
	Hello   int // bytes of the hello's handshake message
	done    bool
}

func (c *Frag) Write(b []byte) (int, error) {
	if c.done || len(b) < 5 || b[0] != 22 {
		return c.Conn.Write(b)
	}
	c.done = true
	l := int(b[3])<<8 | int(b[4])
	if len(b) < 5+l {
		return c.Conn.Write(b)
	}
	body, rest := b[5:5+l], b[5+l:]
	c.Hello = l
	var out []byte
	for len(body) > 0 {
		k := min(len(body), c.Size)
		out = append(out, 22, b[1], b[2], byte(k>>8), byte(k))
		out = append(out, body[:k]...)
		body = body[k:]
		c.Records++
	}
	if _, err := c.Conn.Write(append(out, rest...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Big makes cfg's ClientHello well over 2,000 bytes, as a browser's
// post-quantum one is: an X25519MLKEM768 key share (1,216 bytes) and an
// ALPN list padded with protocols no server speaks, after http/1.1.
func Big(cfg *tls.Config) *tls.Config {
	cfg = cfg.Clone()
	cfg.CurvePreferences = []tls.CurveID{tls.X25519MLKEM768, tls.X25519}
	cfg.NextProtos = []string{"http/1.1"}
	for i := 0; i < 12; i++ {
		cfg.NextProtos = append(cfg.NextProtos, "x-padding-"+strings.Repeat("p", 40)+string(rune('a'+i)))
	}
	return cfg
}

// Ping makes a TLS connection over c with cfg, sends "ping\n" and returns
// the line the origin answers (see Echo); it closes c, so that a tunnel
// through the proxy ends and is logged.
func Ping(c net.Conn, cfg *tls.Config) (string, error) {
	defer c.Close()
	tc := tls.Client(c, cfg)
	if err := tc.Handshake(); err != nil {
		return "", err
	}
	io.WriteString(tc, "ping\n")
	return bufio.NewReader(tc).ReadString('\n')
}

// Echo is a test origin's side: it completes the handshake over c with
// cfg and answers the first line with "<sni> <client address> <line>",
// what the origin saw of the name and of the client.
func Echo(c net.Conn, cfg *tls.Config) {
	tc := tls.Server(c, cfg)
	line, err := bufio.NewReader(tc).ReadString('\n')
	if err != nil {
		return
	}
	io.WriteString(tc, tc.ConnectionState().ServerName+" "+c.RemoteAddr().String()+" "+line)
}
