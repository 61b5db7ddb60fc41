package tlshello

import (
	"crypto/tls"
	"errors"
	"reflect"
	"testing"
)

// FuzzParse checks Parse's contract on any bytes: no panic; a Hello
// lies within b, parses the same from b[:Len] and from longer buffers,
// and every shorter prefix is incomplete; ErrIncomplete only while the
// records declare more bytes than b has; a rejection is final.
func FuzzParse(f *testing.F) {
	for _, cfg := range []*tls.Config{
		{ServerName: "www.example.com"},
		{ServerName: "192.0.2.1", NextProtos: []string{"h2", "http/1.1"}},
		{ServerName: "example.net", MaxVersion: tls.VersionTLS12},
		{ServerName: "secret.example.com", MinVersion: tls.VersionTLS13,
			EncryptedClientHelloConfigList: echConfigList(f, "front.example.net")},
	} {
		b := clientHello(f, cfg)
		f.Add(b)
		f.Add(records(handshake(f, b), 100))
		f.Add(records(handshake(f, b), 1000))
	}
	f.Add([]byte{22, 3, 1, 0x40, 0, 1, 0xff, 0xff, 0xff})
	f.Add([]byte{22, 3, 1, 0, 4, 1, 0, 0, 0})
	f.Add([]byte{21, 3, 3, 0, 2, 2, 40})
	f.Add([]byte{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15})
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Parse(b)
		switch {
		case err == nil:
			checkHello(t, b, h)
		case err == ErrIncomplete:
			if len(b) >= MaxHello || !declaresMore(b) {
				t.Fatalf("ErrIncomplete on %d bytes whose records declare no more", len(b))
			}
		default:
			var e *Error
			if !errors.As(err, &e) || e.Kind < 0 || e.Kind >= NumKinds {
				t.Fatalf("Parse = %v, neither ErrIncomplete nor an *Error with a kind", err)
			}
			if _, err2 := Parse(append(b[:len(b):len(b)], 0)); kindOf(err2) != e.Kind {
				t.Fatalf("Parse rejected %d bytes (%v), then not one more (%v)", len(b), err, err2)
			}
		}
	})
}

func checkHello(t *testing.T, b []byte, h *Hello) {
	if h.Len > len(b) || h.Len > MaxHello || h.Len < recordHeader+4 {
		t.Fatalf("Len %d of %d bytes", h.Len, len(b))
	}
	if len(h.Versions) == 0 {
		t.Fatalf("no versions")
	}
	for _, b2 := range [][]byte{b[:h.Len], append(b[:len(b):len(b)], 23, 3, 3)} {
		if h2, err := Parse(b2); err != nil || !reflect.DeepEqual(h, h2) {
			t.Fatalf("Parse of %d bytes = %+v, but of %d bytes = %+v, %v", len(b), h, len(b2), h2, err)
		}
	}
	for _, k := range []int{0, 1, 5, h.Len / 2, h.Len - 1} {
		if _, err := Parse(b[:k]); err != ErrIncomplete {
			t.Fatalf("Parse of the first %d of a %d-byte hello = %v", k, h.Len, err)
		}
	}
}

// declaresMore reports whether the records in b, read naively, declare
// more bytes than b holds: a record cut short, or fewer handshake bytes
// than the first handshake header says.
func declaresMore(b []byte) bool {
	var m []byte
	for off := 0; off < len(b); {
		if len(b)-off < recordHeader {
			return true
		}
		end := off + recordHeader + (int(b[off+3])<<8 | int(b[off+4]))
		if end > len(b) {
			return true
		}
		m = append(m, b[off+recordHeader:end]...)
		off = end
	}
	return len(m) < 4 || len(m) < 4+(int(m[1])<<16|int(m[2])<<8|int(m[3]))
}
