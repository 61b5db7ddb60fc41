package tlshello

import (
	"bytes"
	"crypto/tls"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, b []byte) *Hello {
	t.Helper()
	h, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(%d bytes): %v", len(b), err)
	}
	return h
}

// TestCryptoTLS parses what crypto/tls's client sends, as configured.
func TestCryptoTLS(t *testing.T) {
	tls13 := []uint16{tls.VersionTLS13, tls.VersionTLS12}
	for _, c := range []struct {
		name string
		cfg  *tls.Config
		want Hello
	}{
		{"sni", &tls.Config{ServerName: "www.example.com"},
			Hello{ServerName: "www.example.com", Versions: tls13}},
		{"sni upper case", &tls.Config{ServerName: "WWW.Example.COM"},
			Hello{ServerName: "www.example.com", Versions: tls13}},
		{"no sni (IPv4)", &tls.Config{ServerName: "192.0.2.1"},
			Hello{Versions: tls13}},
		{"no sni (IPv6)", &tls.Config{ServerName: "2001:db8::1"},
			Hello{Versions: tls13}},
		{"alpn", &tls.Config{ServerName: "example.org", NextProtos: []string{"h2", "http/1.1"}},
			Hello{ServerName: "example.org", ALPN: []string{"h2", "http/1.1"}, Versions: tls13}},
		{"tls 1.2 only", &tls.Config{ServerName: "example.net", MaxVersion: tls.VersionTLS12},
			Hello{ServerName: "example.net", Versions: []uint16{tls.VersionTLS12}}},
		{"tls 1.3 only", &tls.Config{ServerName: "example.net", MinVersion: tls.VersionTLS13},
			Hello{ServerName: "example.net", Versions: []uint16{tls.VersionTLS13}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := clientHello(t, c.cfg)
			h := mustParse(t, b)
			c.want.Len = len(b)
			if !reflect.DeepEqual(*h, c.want) {
				t.Errorf("Parse = %+v, want %+v", *h, c.want)
			}
		})
	}
}

// TestPostQuantum checks that crypto/tls's default hello carries an
// X25519MLKEM768 key share and is the large one the issue is about: over
// 1,500 bytes, more than one Ethernet TCP segment (MSS 1,460) holds.
func TestPostQuantum(t *testing.T) {
	b := clientHello(t, &tls.Config{ServerName: "pq.example.com"})
	if len(b) <= 1500 {
		t.Fatalf("crypto/tls's default ClientHello is %d bytes, not over 1,500", len(b))
	}
	if !hasKeyShare(split(t, b), 0x11ec) {
		t.Fatalf("crypto/tls's default ClientHello has no X25519MLKEM768 (0x11ec) key share")
	}
	if h := mustParse(t, b); h.ServerName != "pq.example.com" || h.Len != len(b) {
		t.Errorf("Parse = %+v, want pq.example.com in %d bytes", *h, len(b))
	}
}

// hasKeyShare reports whether r's key_share (51) offers group.
func hasKeyShare(r rebuilt, group uint16) bool {
	for _, e := range r.exts {
		if e.typ != 51 {
			continue
		}
		for l := e.data[2:]; len(l) >= 4; {
			n := int(l[2])<<8 | int(l[3])
			if uint16(l[0])<<8|uint16(l[1]) == group && n > 1000 {
				return true
			}
			l = l[min(4+n, len(l)):]
		}
	}
	return false
}

// TestByteAtATime re-fragments a real hello into 100-byte records and
// feeds it one byte per call, as a client sending one byte per segment:
// every prefix is incomplete, the whole is the same Hello, and bytes
// after it (the client's next record) are left out of Len.
func TestByteAtATime(t *testing.T) {
	one := clientHello(t, &tls.Config{ServerName: "slow.example.com", NextProtos: []string{"h2"}})
	want := mustParse(t, one)
	b := records(handshake(t, one), 100)
	if len(b) < 15*105 {
		t.Fatalf("only %d bytes in 100-byte records", len(b))
	}
	for i := range len(b) {
		if _, err := Parse(b[:i]); err != ErrIncomplete {
			t.Fatalf("Parse(first %d of %d bytes) = %v, want ErrIncomplete", i, len(b), err)
		}
	}
	next := append(bytes.Clone(b), 20, 3, 3, 0, 1, 1) // change_cipher_spec
	for _, in := range [][]byte{b, next} {
		h := mustParse(t, in)
		if h.Len != len(b) {
			t.Errorf("Len = %d of %d bytes, want %d", h.Len, len(in), len(b))
		}
		h.Len = want.Len
		if !reflect.DeepEqual(h, want) {
			t.Errorf("fragmented Parse = %+v, want %+v", *h, *want)
		}
	}
}

// TestLargeHello: a hello of over 2,000 bytes (many ALPN names on the
// post-quantum default) over several records of various sizes.
func TestLargeHello(t *testing.T) {
	var protos []string
	for i := range 60 {
		protos = append(protos, strings.Repeat("p", 10)+string(rune('a'+i%26)))
	}
	one := clientHello(t, &tls.Config{ServerName: "big.example.com", NextProtos: protos})
	if len(one) < 2000 {
		t.Fatalf("hello of %d bytes, want 2,000 or more", len(one))
	}
	for _, size := range []int{1, 7, 512, 1000, 1460} {
		b := records(handshake(t, one), size)
		h := mustParse(t, b)
		if h.Len != len(b) || h.ServerName != "big.example.com" || !reflect.DeepEqual(h.ALPN, protos) {
			t.Errorf("%d-byte records: Parse = %+v", size, *h)
		}
	}
}

// TestECH: a hello that crypto/tls encrypts to an ECH config says ECH,
// with the config's public name as its (outer) server name; and an
// encrypted_client_hello extension added to a plain hello says ECH.
func TestECH(t *testing.T) {
	b := clientHello(t, &tls.Config{
		ServerName:                     "secret.example.com",
		MinVersion:                     tls.VersionTLS13,
		EncryptedClientHelloConfigList: echConfigList(t, "front.example.net"),
	})
	h := mustParse(t, b)
	if !h.ECH || h.ServerName != "front.example.net" {
		t.Errorf("crypto/tls ECH hello: Parse = %+v, want ECH from front.example.net", *h)
	}
	plain := clientHello(t, &tls.Config{ServerName: "a.example.com"})
	if mustParse(t, plain).ECH {
		t.Errorf("a hello without ECH says ECH")
	}
	synth := split(t, plain).plus(ext{extECH, []byte{0, 1, 2, 3}}).record()
	if h := mustParse(t, synth); !h.ECH || h.ServerName != "a.example.com" {
		t.Errorf("synthetic ECH hello: Parse = %+v", *h)
	}
}

// TestHugeLength: a handshake length of 16 MiB is refused from its
// header, without reading on or allocating anywhere near it.
func TestHugeLength(t *testing.T) {
	b := []byte{22, 3, 1, 0x40, 0x00, 1, 0xff, 0xff, 0xff}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Parse(b); kindOf(err) != KindTooLarge {
			t.Fatalf("Parse = %v, want too_large", err)
		}
	})
	runtime.ReadMemStats(&after)
	if allocs > 4 {
		t.Errorf("%v allocations per refusal", allocs)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 101*MaxHello/4 {
		t.Errorf("%d bytes allocated for 101 refusals", n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("101 refusals took %v", d)
	}
}

// kindOf returns err's Kind, or -1 when it is not an *Error.
func kindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return -1
}

// TestKindStrings: the metric labels.
func TestKindStrings(t *testing.T) {
	want := []string{"record", "not_client_hello", "too_large", "malformed", "server_name"}
	for k := range NumKinds {
		if k.String() != want[k] {
			t.Errorf("Kind(%d) = %q, want %q", k, k.String(), want[k])
		}
	}
	if Kind(-1).String() != "unknown" || NumKinds.String() != "unknown" {
		t.Errorf("out-of-range kinds are not \"unknown\"")
	}
}

func TestIsRecordStart(t *testing.T) {
	if !IsRecordStart([]byte{22}) || IsRecordStart([]byte("GET")) || IsRecordStart(nil) {
		t.Error("IsRecordStart is wrong about 22, GET or nothing")
	}
}

// TestAlert: AlertAccessDenied is a fatal access_denied alert record.
func TestAlert(t *testing.T) {
	a := AlertAccessDenied
	if len(a) != 7 || a[0] != 21 || a[3] != 0 || a[4] != 2 || a[5] != 2 || a[6] != 49 {
		t.Errorf("AlertAccessDenied = % x", a)
	}
}

// allocated returns the bytes that n runs of f allocate, per run.
func allocated(n int, f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(n)
}

// TestNoCopy: an incomplete prefix allocates nothing, a hello in one
// record is parsed where it lies, and one over many records is copied
// once.
func TestNoCopy(t *testing.T) {
	one := clientHello(t, &tls.Config{ServerName: "www.example.com", NextProtos: []string{"h2"}})
	frag := records(handshake(t, one), 100)
	if n := testing.AllocsPerRun(100, func() { Parse(frag[:len(frag)-1]) }); n != 0 {
		t.Errorf("%v allocations per incomplete Parse", n)
	}
	if n := allocated(100, func() { Parse(one) }); n >= 512 {
		t.Errorf("%d bytes allocated to parse a %d-byte hello in one record: copied?", n, len(one))
	}
	if n := allocated(100, func() { Parse(frag) }); n >= uint64(len(one))+512 {
		t.Errorf("%d bytes allocated to parse a %d-byte hello in 100-byte records: copied more than once?", n, len(one))
	}
}
