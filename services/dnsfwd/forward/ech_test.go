package forward

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

var (
	alpn   = dnsmessage.SVCParam{Key: dnsmessage.SVCParamALPN, Value: []byte("\x02h2\x08http/1.1")}
	ech    = dnsmessage.SVCParam{Key: dnsmessage.SVCParamECH, Value: bytes.Repeat([]byte{0xfe}, 70)}
	v4hint = dnsmessage.SVCParam{Key: dnsmessage.SVCParamIPv4Hint, Value: []byte{203, 0, 113, 7}}
	v6hint = dnsmessage.SVCParam{Key: dnsmessage.SVCParamIPv6Hint, Value: netip.MustParseAddr("2001:db8::7").AsSlice()}
)

// rr is a record of name with TTL ttl and body b.
func rr(name string, ttl uint32, b dnsmessage.ResourceBody) dnsmessage.Resource {
	return dnsmessage.Resource{
		Header: dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(name), Class: dnsmessage.ClassINET, TTL: ttl},
		Body:   b,
	}
}

func https(params ...dnsmessage.SVCParam) *dnsmessage.HTTPSResource {
	return &dnsmessage.HTTPSResource{SVCBResource: dnsmessage.SVCBResource{
		Priority: 1, Target: dnsmessage.MustNewName("."), Params: slices.Clone(params),
	}}
}

// pack packs an answer to "Www.Example.test. HTTPS" with the records given.
func pack(t testing.TB, answers, additionals []dnsmessage.Resource) []byte {
	t.Helper()
	m := dnsmessage.Message{
		Header:      dnsmessage.Header{ID: 9, Response: true, RecursionDesired: true, RecursionAvailable: true, AuthenticData: true},
		Questions:   []dnsmessage.Question{{Name: dnsmessage.MustNewName("Www.Example.test."), Type: dnsmessage.TypeHTTPS, Class: dnsmessage.ClassINET}},
		Answers:     answers,
		Additionals: additionals,
	}
	msg, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func unpack(t testing.TB, msg []byte) dnsmessage.Message {
	t.Helper()
	var m dnsmessage.Message
	if err := m.Unpack(msg); err != nil {
		t.Fatalf("answer does not unpack: %v", err)
	}
	return m
}

// TestStripECH rewrites answers with ech in HTTPS and SVCB records, in
// the answer and additional sections, and compares what came out with
// the same message built without ech.
func TestStripECH(t *testing.T) {
	a := rr("Www.Example.test.", 300, &dnsmessage.AResource{A: [4]byte{203, 0, 113, 7}})
	mandatoryECH := dnsmessage.SVCParam{Key: dnsmessage.SVCParamMandatory, Value: []byte{0, 5}}
	svcb := func(params ...dnsmessage.SVCParam) *dnsmessage.SVCBResource {
		return &dnsmessage.SVCBResource{Priority: 2, Target: dnsmessage.MustNewName("Svc.Example.test."), Params: params}
	}
	for _, tc := range []struct {
		name      string
		in, want  [2][]dnsmessage.Resource // answers, additionals
		unchanged bool
	}{
		{name: "https alpn ech ipv4hint",
			in:   [2][]dnsmessage.Resource{{rr("Www.Example.test.", 1234, https(alpn, v4hint, ech, v6hint))}, nil},
			want: [2][]dnsmessage.Resource{{rr("Www.Example.test.", 1234, https(alpn, v4hint, v6hint))}, nil}},
		{name: "two records and an A",
			in:   [2][]dnsmessage.Resource{{rr("Www.Example.test.", 60, https(alpn, ech)), rr("Www.Example.test.", 61, https(v4hint)), a}, nil},
			want: [2][]dnsmessage.Resource{{rr("Www.Example.test.", 60, https(alpn)), rr("Www.Example.test.", 61, https(v4hint)), a}, nil}},
		{name: "svcb in additional",
			in:   [2][]dnsmessage.Resource{{a}, {rr("_dns.Example.test.", 30, svcb(alpn, ech))}},
			want: [2][]dnsmessage.Resource{{a}, {rr("_dns.Example.test.", 30, svcb(alpn))}}},
		{name: "ech only",
			in:   [2][]dnsmessage.Resource{{rr("Www.Example.test.", 5, https(ech))}, nil},
			want: [2][]dnsmessage.Resource{{rr("Www.Example.test.", 5, https())}, nil}},
		{name: "ech mandatory: record dropped",
			in:   [2][]dnsmessage.Resource{{rr("Www.Example.test.", 5, https(mandatoryECH, alpn, ech)), a}, nil},
			want: [2][]dnsmessage.Resource{{a}, nil}},
		{name: "no ech", unchanged: true,
			in: [2][]dnsmessage.Resource{{rr("Www.Example.test.", 5, https(alpn, v4hint)), a}, {rr("x.test.", 1, svcb(alpn))}}},
		{name: "no records", unchanged: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := pack(t, tc.in[0], tc.in[1])
			orig := slices.Clone(in)
			out, changed, err := stripECH(in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(in, orig) {
				t.Error("stripECH changed its argument")
			}
			if tc.unchanged {
				if changed || !bytes.Equal(out, orig) {
					t.Errorf("changed %v; want the answer byte for byte", changed)
				}
				return
			}
			if !changed || len(out) >= len(in) {
				t.Errorf("changed %v, %d bytes from %d; want a shorter answer", changed, len(out), len(in))
			}
			got, want := unpack(t, out), unpack(t, pack(t, tc.want[0], tc.want[1]))
			want.Header.AuthenticData = false // cleared on a changed answer
			if got.GoString() != want.GoString() {
				t.Errorf("got\n%s\nwant\n%s", got.GoString(), want.GoString())
			}
		})
	}
}

// TestStripECHRefuses leaves alone what it cannot repack safely: bad
// messages and records whose data may hold compressed names.
func TestStripECHRefuses(t *testing.T) {
	minfo := rr("Www.Example.test.", 5, &dnsmessage.UnknownResource{Type: 14, Data: []byte{0xc0, 0x0c, 0xc0, 0x0c}})
	in := pack(t, []dnsmessage.Resource{rr("Www.Example.test.", 5, https(alpn, ech)), minfo}, nil)
	out, changed, err := stripECH(in)
	if err == nil || changed || !bytes.Equal(out, in) {
		t.Errorf("with a MINFO record: changed %v, err %v; want the answer unchanged and an error", changed, err)
	}
	for _, bad := range [][]byte{nil, {0, 1}, in[:len(in)-10]} {
		out, changed, _ := stripECH(bad)
		if changed || !bytes.Equal(out, bad) {
			t.Errorf("%x: changed, want it relayed as it is", bad)
		}
	}
}

// TestForwardStripECH relays an HTTPS answer with and without StripECH,
// over UDP and TCP.
func TestForwardStripECH(t *testing.T) {
	withECH := pack(t, []dnsmessage.Resource{rr("Www.Example.test.", 1234, https(alpn, v4hint, ech))}, nil)
	u := startUpstream(t, func(q []byte) [][]byte {
		ans := slices.Clone(withECH)
		copy(ans, q[:2]) // the upstream's ID
		return [][]byte{ans}
	})
	for _, strip := range []bool{false, true} {
		f, _ := newForwarder(t, Config{Upstream: []netip.AddrPort{u.addr}, StripECH: strip})
		for _, network := range []string{"udp", "tcp"} {
			ans := f.Forward(t.Context(), network, query(t, 9, "Www.Example.test.", dnsmessage.TypeHTTPS))
			m := unpack(t, ans)
			if m.Header.ID != 9 || len(m.Answers) != 1 {
				t.Fatalf("strip %v %s: %s", strip, network, m.GoString())
			}
			r := m.Answers[0].Body.(*dnsmessage.HTTPSResource)
			_, hasECH := r.GetParam(dnsmessage.SVCParamECH)
			_, hasALPN := r.GetParam(dnsmessage.SVCParamALPN)
			_, hasHint := r.GetParam(dnsmessage.SVCParamIPv4Hint)
			if hasECH != !strip || !hasALPN || !hasHint || m.Answers[0].Header.TTL != 1234 {
				t.Errorf("strip %v %s: ech %v alpn %v ipv4hint %v TTL %d", strip, network, hasECH, hasALPN, hasHint, m.Answers[0].Header.TTL)
			}
			if !strip && !bytes.Equal(ans, withECH) {
				t.Errorf("%s: without StripECH the answer changed", network)
			}
		}
		if want := map[bool]uint64{false: 0, true: 2}[strip]; f.Stripped() != want {
			t.Errorf("strip %v: Stripped() = %d, want %d", strip, f.Stripped(), want)
		}
	}
}

// BenchmarkStripNoECH is the cost StripECH adds to an answer without
// HTTPS records: the check that walks the record headers.
func BenchmarkStripNoECH(b *testing.B) {
	a := rr("www.example.test.", 300, &dnsmessage.AResource{A: [4]byte{203, 0, 113, 7}})
	msg := pack(b, []dnsmessage.Resource{a, a, a}, nil)
	b.ReportAllocs()
	for b.Loop() {
		stripECH(msg)
	}
}

// BenchmarkStripECH is the cost of repacking an HTTPS answer.
func BenchmarkStripECH(b *testing.B) {
	msg := pack(b, []dnsmessage.Resource{rr("www.example.test.", 300, https(alpn, v4hint, ech, v6hint))}, nil)
	b.ReportAllocs()
	for b.Loop() {
		stripECH(msg)
	}
}
