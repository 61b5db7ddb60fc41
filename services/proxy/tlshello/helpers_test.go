package tlshello

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"testing"
)

// capture is a connection that keeps a TLS client's first write, its
// ClientHello, and ends the handshake there.
type capture struct {
	net.Conn
	b []byte
}

func (c *capture) Write(p []byte) (int, error) {
	if c.b == nil {
		c.b = append([]byte(nil), p...)
	}
	return len(p), nil
}

func (c *capture) Read([]byte) (int, error) { return 0, io.EOF }

// clientHello returns the record(s) crypto/tls's client sends first.
func clientHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &capture{Conn: a}
	if err := tls.Client(c, cfg).Handshake(); err == nil {
		t.Fatal("a handshake with no server succeeded")
	}
	if c.b == nil {
		t.Fatal("crypto/tls wrote no ClientHello")
	}
	return c.b
}

// handshake returns the handshake bytes that the records in b carry.
func handshake(t testing.TB, b []byte) []byte {
	t.Helper()
	var m []byte
	for len(b) > 0 {
		if len(b) < 5 {
			t.Fatalf("a record header cut short: % x", b)
		}
		n := int(binary.BigEndian.Uint16(b[3:]))
		m = append(m, b[5:5+n]...)
		b = b[5+n:]
	}
	return m
}

// records wraps the handshake bytes m in records of at most size bytes
// of payload each.
func records(m []byte, size int) []byte {
	var out []byte
	for len(m) > 0 {
		n := min(size, len(m))
		out = append(out, 22, 3, 1, byte(n>>8), byte(n))
		out = append(out, m[:n]...)
		m = m[n:]
	}
	return out
}

// ext is one extension of a rebuilt ClientHello.
type ext struct {
	typ  uint16
	data []byte
}

// rebuilt is a ClientHello taken apart, to change its extensions.
type rebuilt struct {
	head []byte // the body up to the extensions' length
	exts []ext
}

// split takes apart the ClientHello in the records b.
func split(t testing.TB, b []byte) rebuilt {
	t.Helper()
	body := handshake(t, b)[4:]
	i := 2 + 32
	i += 1 + int(body[i])                           // session_id
	i += 2 + int(binary.BigEndian.Uint16(body[i:])) // cipher_suites
	i += 1 + int(body[i])                           // compression_methods
	r := rebuilt{head: append([]byte(nil), body[:i]...)}
	e := body[i+2:]
	for len(e) > 0 {
		n := int(binary.BigEndian.Uint16(e[2:]))
		r.exts = append(r.exts, ext{binary.BigEndian.Uint16(e), e[4 : 4+n]})
		e = e[4+n:]
	}
	return r
}

// with returns r with x replacing the extensions of its type, or added
// at the end when there are none.
func (r rebuilt) with(x ext) rebuilt {
	out := rebuilt{head: r.head}
	done := false
	for _, e := range r.exts {
		if e.typ == x.typ {
			if !done {
				out.exts = append(out.exts, x)
			}
			done = true
			continue
		}
		out.exts = append(out.exts, e)
	}
	if !done {
		out.exts = append(out.exts, x)
	}
	return out
}

// plus returns r with x added at the end, whatever is there.
func (r rebuilt) plus(x ext) rebuilt {
	return rebuilt{head: r.head, exts: append(append([]ext(nil), r.exts...), x)}
}

// message returns the handshake message of r.
func (r rebuilt) message() []byte {
	var e []byte
	for _, x := range r.exts {
		e = binary.BigEndian.AppendUint16(e, x.typ)
		e = binary.BigEndian.AppendUint16(e, uint16(len(x.data)))
		e = append(e, x.data...)
	}
	body := append(append([]byte(nil), r.head...), byte(len(e)>>8), byte(len(e)))
	body = append(body, e...)
	n := len(body)
	return append([]byte{1, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// record returns r as one record.
func (r rebuilt) record() []byte { return records(r.message(), maxRecord) }

// sni returns a server_name extension's data naming the names.
func sni(names ...string) []byte {
	var l []byte
	for _, n := range names {
		l = append(l, 0, byte(len(n)>>8), byte(len(n)))
		l = append(l, n...)
	}
	return append([]byte{byte(len(l) >> 8), byte(len(l))}, l...)
}

// echConfigList returns an ECHConfigList (draft-ietf-tls-esni §4) with
// a fresh X25519 key, for crypto/tls to encrypt a ClientHello to.
func echConfigList(t testing.TB, publicName string) []byte {
	t.Helper()
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := k.PublicKey().Bytes()
	var c []byte
	c = append(c, 7)                                       // config_id
	c = binary.BigEndian.AppendUint16(c, 0x0020)           // DHKEM(X25519, HKDF-SHA256)
	c = binary.BigEndian.AppendUint16(c, uint16(len(pub))) // public_key
	c = append(c, pub...)
	c = append(c, 0, 4, 0, 1, 0, 1) // HKDF-SHA256, AES-128-GCM
	c = append(c, 0)                // maximum_name_length
	c = append(c, byte(len(publicName)))
	c = append(c, publicName...)
	c = append(c, 0, 0) // no extensions
	cfg := binary.BigEndian.AppendUint16(nil, 0xfe0d)
	cfg = binary.BigEndian.AppendUint16(cfg, uint16(len(c)))
	cfg = append(cfg, c...)
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(cfg))), cfg...)
}
