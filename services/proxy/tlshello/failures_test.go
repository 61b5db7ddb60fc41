package tlshello

import (
	"bytes"
	"crypto/tls"
	"strings"
	"testing"
)

// cat joins byte slices.
func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// body returns a one-record ClientHello whose body is b.
func body(b ...byte) []byte {
	n := len(b)
	return records(append([]byte{1, byte(n >> 16), byte(n >> 8), byte(n)}, b...), maxRecord)
}

// failure is bytes that Parse must reject as want.
type failure struct {
	name string
	b    []byte
	want Kind
}

// TestFailures names each failure Kind with the bytes that cause it, and
// checks that each rejection comes as early as it can and is final.
func TestFailures(t *testing.T) {
	plain := clientHello(t, &tls.Config{ServerName: "www.example.com", NextProtos: []string{"h2"}})
	r := split(t, plain)
	m := handshake(t, plain)
	cases := recordFailures(r, m)
	cases = append(cases, fieldFailures(r, m)...)
	cases = append(cases, nameFailures(r)...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.b)
			if k := kindOf(err); k != c.want {
				t.Fatalf("Parse = %v (kind %v), want kind %v", err, k, c.want)
			}
			if !strings.HasPrefix(err.Error(), "tlshello: ") {
				t.Errorf("error %q does not say where it comes from", err)
			}
			checkFinal(t, c.b, c.want)
		})
	}
}

// recordFailures: the record layer and the handshake header.
func recordFailures(r rebuilt, m []byte) []failure {
	frag := records(m, 100)
	padded := r.plus(ext{21, make([]byte, 3000)}).message()
	return []failure{
		{"alert first", []byte{21, 3, 3, 0, 2, 2, 40}, KindRecord},
		{"application_data first", []byte{23, 3, 3, 0, 3, 1, 2, 3}, KindRecord},
		{"change_cipher_spec first", []byte{20, 3, 3, 0, 1, 1}, KindRecord},
		{"one byte, not 22", []byte{23}, KindRecord},
		{"SSLv2 ClientHello", []byte{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15}, KindRecord},
		{"HTTP", []byte("GET / HTTP/1.1\r\n"), KindRecord},
		{"record version 2.0", []byte{22, 2, 0}, KindRecord},
		{"record version 3.0 (SSL 3)", []byte{22, 3, 0, 0, 5}, KindRecord},
		{"record version 3.5", []byte{22, 3, 5}, KindRecord},
		{"alert between records", cat(frag[:105], []byte{21, 3, 3, 0, 2, 2, 40}, frag[105:]), KindRecord},
		{"application_data between records", cat(frag[:210], []byte{23, 3, 3, 0, 1, 0}, frag[210:]), KindRecord},
		{"garbage after a record", cat(frag[:105], []byte("\x16\x16garbage")), KindRecord},
		{"ServerHello", []byte{22, 3, 3, 0, 4, 2, 0, 0, 0}, KindNotClientHello},
		{"Certificate, first byte", []byte{22, 3, 1, 0, 10, 11}, KindNotClientHello},
		{"16 MiB handshake length", []byte{22, 3, 1, 0x40, 0, 1, 0xff, 0xff, 0xff}, KindTooLarge},
		{"one byte over MaxHello", []byte{22, 3, 1, 0x40, 0, 1, 0, (MaxHello - 8) >> 8, (MaxHello - 8) & 0xff}, KindTooLarge},
		{"a record past MaxHello", []byte{22, 3, 1, maxRecord >> 8, maxRecord & 0xff, 1}, KindTooLarge},
		{"a record past MaxHello, of type 0", []byte{22, 3, 1, 0x41, 0, 0}, KindTooLarge},
		{"3,000 bytes in 1-byte records", records(padded, 1), KindTooLarge},
		{"header over 4 records, too large", cat(records([]byte{1, 1, 0, 0}, 1)), KindTooLarge},
	}
}

// fieldFailures: the ClientHello's fields and extensions.
func fieldFailures(r rebuilt, m []byte) []failure {
	with := func(typ uint16, data ...byte) []byte { return r.with(ext{typ, data}).record() }
	fixed := func(sid, suites, comp int) []byte { // a body with these field lengths
		b := cat([]byte{3, 3}, make([]byte, 32), []byte{byte(sid)}, make([]byte, sid))
		b = cat(b, []byte{byte(suites >> 8), byte(suites)}, make([]byte, suites), []byte{byte(comp)}, make([]byte, comp))
		return body(b...)
	}
	return []failure{
		{"record length 0", []byte{22, 3, 1, 0, 0}, KindMalformed},
		{"record length over 2^14+256", []byte{22, 3, 1, (maxRecord + 1) >> 8, (maxRecord + 1) & 0xff}, KindMalformed},
		{"a byte after the hello in its record", records(cat(m, []byte{0}), maxRecord), KindMalformed},
		{"a record declared past the hello", records(cat(m, make([]byte, 10)), maxRecord)[:100], KindMalformed},
		{"handshake length 0", body(), KindMalformed},
		{"body ends in the random", body(3, 3, 1, 2, 3), KindMalformed},
		{"session_id of 33", fixed(33, 2, 1), KindMalformed},
		{"odd cipher_suites", fixed(0, 3, 1), KindMalformed},
		{"no cipher_suites", fixed(0, 0, 1), KindMalformed},
		{"no compression_methods", fixed(0, 2, 0), KindMalformed},
		{"extensions' length short", body(cat(r.head, []byte{0, 9, 0, 1, 0, 0})...), KindMalformed},
		{"extensions' length long", body(cat(r.head, []byte{0, 2, 0, 1, 0, 0})...), KindMalformed},
		{"an extension overruns", body(cat(r.head, []byte{0, 4, 0, 1, 0, 1})...), KindMalformed},
		{"an extension type twice", r.plus(ext{0xabcd, nil}).plus(ext{0xabcd, nil}).record(), KindMalformed},
		{"server_name twice", r.plus(ext{extServerName, sni("a.example")}).record(), KindMalformed},
		{"ALPN protocol empty", with(extALPN, 0, 4, 2, 'h', '2', 0), KindMalformed},
		{"ALPN list empty", with(extALPN, 0, 0), KindMalformed},
		{"ALPN list overruns", with(extALPN, 0, 5, 2, 'h', '2'), KindMalformed},
		{"ALPN bytes after the list", with(extALPN, 0, 3, 2, 'h', '2', 0), KindMalformed},
		{"supported_versions odd", with(extSupportedVersions, 3, 3, 4, 3), KindMalformed},
		{"supported_versions empty", with(extSupportedVersions, 0), KindMalformed},
		{"supported_versions overruns", with(extSupportedVersions, 4, 3, 4), KindMalformed},
	}
}

// nameFailures: server_name lists and host names.
func nameFailures(r rebuilt) []failure {
	sni := func(names ...string) []byte { return r.with(ext{extServerName, sni(names...)}).record() }
	with := func(data ...byte) []byte { return r.with(ext{extServerName, data}).record() }
	return []failure{
		{"two host names", sni("a.example", "b.example"), KindServerName},
		{"empty host name", sni(""), KindServerName},
		{"empty list", with(0, 0), KindServerName},
		{"empty extension", with(), KindServerName},
		{"list overruns", with(0, 9, 0, 0, 3, 'a', 'b', 'c'), KindServerName},
		{"name overruns", with(0, 6, 0, 0, 4, 'a', 'b', 'c'), KindServerName},
		{"name_type 1", with(0, 4, 1, 0, 1, 'a'), KindServerName},
		{"space", sni("a b.example"), KindServerName},
		{"trailing dot", sni("example.com."), KindServerName},
		{"leading dot", sni(".example.com"), KindServerName},
		{"empty label", sni("a..example"), KindServerName},
		{"space", sni("a b.example"), KindServerName},
		{"NUL", sni("a\x00.example"), KindServerName},
		{"UTF-8", sni("é.example"), KindServerName},
		{"IPv6 literal", sni("2001:db8::1"), KindServerName},
		{"254 bytes", sni(strings.Repeat("a.", 126) + "aa"), KindServerName},
		{"a label of 64", sni(strings.Repeat("a", 64) + ".example"), KindServerName},
	}
}

// checkFinal checks that a rejection of b as kind k is final, and
// comes as early as it can: one more byte is still k, and every prefix
// is ErrIncomplete or k.
func checkFinal(t *testing.T, b []byte, k Kind) {
	t.Helper()
	if _, err := Parse(append(b[:len(b):len(b)], 0)); kindOf(err) != k {
		t.Errorf("one byte more: %v, want kind %v", err, k)
	}
	for i := range len(b) {
		if _, err := Parse(b[:i]); err != ErrIncomplete && kindOf(err) != k {
			t.Fatalf("the first %d bytes: %v, want ErrIncomplete or kind %v", i, err, k)
		}
	}
}

// TestLimits: the largest names and the largest hello are accepted.
func TestLimits(t *testing.T) {
	plain := clientHello(t, &tls.Config{ServerName: "www.example.com"})
	r := split(t, plain)
	for _, name := range []string{strings.Repeat("a.", 125) + "aaa", strings.Repeat("a", 63) + ".example", "a", "1-2.3"} {
		b := r.with(ext{extServerName, sni(name)}).record()
		if h, err := Parse(b); err != nil || h.ServerName != name {
			t.Errorf("server name of %d bytes: Parse = %v, %v", len(name), h, err)
		}
	}
	// A hello that fills MaxHello exactly, in one record.
	m := r.message()
	pad := MaxHello - recordHeader - len(m) - 4
	b := r.plus(ext{21, make([]byte, pad)}).record()
	if h, err := Parse(b); len(b) != MaxHello || err != nil || h.Len != MaxHello {
		t.Errorf("a hello of MaxHello (%d) bytes: Parse = %v, %v", len(b), h, err)
	}
	// Its header alone is incomplete, not too large.
	if _, err := Parse(b[:9]); err != ErrIncomplete {
		t.Errorf("the header of a MaxHello hello: %v, want ErrIncomplete", err)
	}
	// No extensions at all, as TLS 1.2 allows.
	if h, err := Parse(body(r.head...)); err != nil || !equal(h.Versions, []uint16{tls.VersionTLS12}) {
		t.Errorf("no extensions: Parse = %v, %v", h, err)
	}
}

func equal(a, b []uint16) bool { return bytes.Equal(u16bytes(a), u16bytes(b)) }

func u16bytes(v []uint16) []byte {
	var b []byte
	for _, x := range v {
		b = append(b, byte(x>>8), byte(x))
	}
	return b
}
