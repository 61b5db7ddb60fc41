package accesslog

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

var tlsEntry = Entry{
	Time: time.Unix(1764100000, 123e6), Elapsed: 1500 * time.Millisecond,
	Client: netip.MustParseAddr("192.0.2.2"), Code: "TCP_TUNNEL", Status: 200, Bytes: 5120,
	Method: []byte("CONNECT"), URL: []byte("www.example.com:443"), Hier: "ORIGINAL_DST",
	Server: netip.MustParseAddr("198.51.100.2"),
	SNI:    "www.example.com", ALPN: []string{"h2", "http/1.1"}, ECH: ECHAbsent,
}

func TestAppendTLS(t *testing.T) {
	weird := tlsEntry
	weird.SNI, weird.ALPN, weird.ECH = "", []string{"a,b", "", "x y%"}, ECHOffered
	plain := Entry{Time: time.Unix(12, 0), Code: "TCP_MISS", Status: 200, Hier: "HIER_NONE"}
	for _, tc := range []struct {
		name string
		e    Entry
		want string
	}{
		{"spliced", tlsEntry, "1764100000.123   1500 192.0.2.2 TCP_TUNNEL/200 5120 CONNECT www.example.com:443 - ORIGINAL_DST/198.51.100.2 - www.example.com h2,http/1.1 0\n"},
		{"escapes, no SNI, ECH", weird, "1764100000.123   1500 192.0.2.2 TCP_TUNNEL/200 5120 CONNECT www.example.com:443 - ORIGINAL_DST/198.51.100.2 - - a%2Cb,%,x%20y%25 1\n"},
		{"not TLS", plain, "       12.000      0 - TCP_MISS/200 0 - - - HIER_NONE/- - - - -\n"},
	} {
		got := string(AppendTLS(nil, &tc.e))
		if got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
			continue
		}
		if sq := string(Append(nil, &tc.e)); got[:len(sq)-1] != sq[:len(sq)-1] {
			t.Errorf("%s: the tls line does not start with the squid line %q", tc.name, sq)
		}
		back, err := Parse(got)
		if err != nil {
			t.Errorf("%s: Parse: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(back.ALPN, tc.e.ALPN) || back.SNI != tc.e.SNI || back.ECH != tc.e.ECH {
			t.Errorf("%s: Parse gives SNI %q ALPN %q ECH %v, want %q %q %v", tc.name, back.SNI, back.ALPN, back.ECH, tc.e.SNI, tc.e.ALPN, tc.e.ECH)
		}
	}
}

func TestParseTLSRejects(t *testing.T) {
	base := "1764100000.123   1500 192.0.2.2 TCP_TUNNEL/200 5120 CONNECT h:443 - ORIGINAL_DST/198.51.100.2 -"
	for _, tail := range []string{" h h2 2", " h h2", " h h2 0 x", " h %4 0", " h h2  0"} {
		if _, err := Parse(base + tail); err == nil {
			t.Errorf("Parse accepts %q", tail)
		}
	}
	if _, err := Parse(base + " h %68%32 0"); err == nil {
		t.Errorf("Parse accepts a needless escape (not canonical)")
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range []Format{FormatSquid, FormatTLS} {
		if g, err := ParseFormat(f.String()); err != nil || g != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f, g, err)
		}
	}
	if _, err := ParseFormat("combined"); err == nil {
		t.Error("ParseFormat accepts combined")
	}
}

func TestLogFormatTLS(t *testing.T) {
	l := New(nil, 4)
	defer l.Close()
	l.SetFormat(FormatTLS)
	for i := 0; i < 8; i++ {
		l.Write(&tlsEntry)
	}
	if n := testing.AllocsPerRun(100, func() { l.Write(&tlsEntry) }); n != 0 {
		t.Errorf("Write in the tls format allocates %v times", n)
	}
}

// TestLoadBothFormats: a file with lines of both formats (the flag changed
// between two runs) loads whole into the ring.
func TestLoadBothFormats(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	sq := Append(nil, &tlsEntry)
	tl := AppendTLS(nil, &tlsEntry)
	if err := os.WriteFile(path, append(append(append([]byte{}, sq...), tl...), "torn line"...), 0o644); err != nil {
		t.Fatal(err)
	}
	l := New(nil, 10)
	defer l.Close()
	if n, err := l.Load(path); n != 2 || err != nil {
		t.Errorf("Load = %d, %v; want 2 lines", n, err)
	}
}

func BenchmarkAppendTLS(b *testing.B) {
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = AppendTLS(buf[:0], &tlsEntry)
	}
}
