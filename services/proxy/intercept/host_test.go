package intercept

import (
	"net/netip"
	"strings"
	"testing"

	"tprouter/services/proxy/h1"
)

// TestClassify: only bytes that could not start an HTTP request under
// any reading are "other"; the rest are HTTP (and h1 says 400 when they
// are malformed), decided on the first bytes that can decide.
func TestClassify(t *testing.T) {
	long := strings.Repeat("A", maxMethod+1)
	for _, tc := range []struct {
		in   string
		want shape
	}{
		{"", shapeUnknown},
		{"GE", shapeUnknown},
		{"GET", shapeUnknown},
		{"GET ", shapeHTTP}, // decided at the separator
		{"GET /", shapeHTTP},
		{"GET / HTTP/1.1\r\n", shapeHTTP},
		{"\r\nGET / HTTP/1.1\r\n", shapeHTTP},
		{strings.Repeat("\r\n", 100) + "GET / HTTP/1.1\r\n", shapeHTTP},
		{strings.Repeat("\r\n", 100), shapeUnknown},
		{"\r", shapeUnknown},
		{"GET /a b HTTP/1.1\r\n", shapeHTTP},
		{"GET\t/ HTTP/1.1\r\n", shapeHTTP},
		{"GE\x01T / HTTP/1.1\r\n", shapeHTTP},  // control byte in the method
		{"G\xffET / HTTP/1.1\r\n", shapeHTTP},  // non-token byte in the method
		{"GE(T / HTTP/1.1\r\n", shapeHTTP},     // delimiter in the method
		{"\x00 / HTTP/1.1\r\n", shapeHTTP},     // a single NUL as the method
		{"\x00", shapeUnknown},                 // a NUL alone: not yet
		{"GET\x01/ HTTP/1.1\r\n", shapeHTTP},   // control byte between method and target
		{"GET \x01/ HTTP/1.1\r\n", shapeHTTP},  // ... after the space
		{"\x01GET / HTTP/1.1\r\n", shapeHTTP},  // control byte before the method
		{"\x7fGET / HTTP/1.1\r\n", shapeHTTP},  // DEL before the method
		{"GET\n/ HTTP/1.1\r\n", shapeHTTP},     // bare LF as a separator
		{"GET /x\nHost: a\r\n\r\n", shapeHTTP}, // bare LF ending the line
		{"\nGET / HTTP/1.1\r\n", shapeHTTP},    // bare LF as an empty line
		{"GET\r/ HTTP/1.1\r\n", shapeHTTP},     // bare CR
		{"GET /x\r\n", shapeHTTP},              // HTTP/0.9
		{"FOO bar\r\n", shapeHTTP},             // an HTTP/0.9 reading
		{" GET / HTTP/1.1\r\n", shapeHTTP},
		{"GET/HTTP/1.1\r\n", shapeHTTP}, // names HTTP/
		{"HELLO\r\n", shapeOther},
		{"HELLO\r", shapeUnknown},
		{"\x16\x03\x01\x02\x00", shapeTLS},
		{"\x16GET / HTTP/1.1\r\n", shapeTLS}, // TLS first
		{"SSH-2.0-OpenSSH\r\n", shapeOther},
		{"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n", shapeOther},
		{"SSH-2.0-OpenSSH_9.6p1 Ubuntu", shapeUnknown},
		{"SSH-2.0-x / HTTP/1.1\r\n", shapeHTTP},
		{"SSH-2.0-x\x01 /\r\n", shapeHTTP},
		{"SSH-2.0-x /\n", shapeHTTP},
		{"\x00\x00\x00\x2a\x01\x02\x03\x04\x05\x06\x07\x08", shapeUnknown},
		{long, shapeOther}, // no method is that long
		{long[:maxMethod], shapeUnknown},
		{long[:maxMethod] + " /", shapeHTTP},
		{"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x00\x01\x02\x03\x04", shapeOther},
	} {
		if got := classify([]byte(tc.in), 1024); got != tc.want {
			t.Errorf("classify(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if got := classify([]byte("SSH-"+strings.Repeat("x", 100)), 50); got != shapeHTTP {
		t.Errorf("an SSH- line filling the head limit: %v, want HTTP (431)", got)
	}
}

func TestHostMismatch(t *testing.T) {
	v4 := netip.MustParseAddrPort("198.51.100.2:80")
	v6 := netip.MustParseAddrPort("[2001:db8:2::2]:80")
	for _, tc := range []struct {
		host string
		dst  netip.AddrPort
		want bool
	}{
		{"", v4, false},
		{"example.com", v4, false}, // names are not resolved
		{"example.com:80", v4, false},
		{"example.com:8080", v4, true},
		{"198.51.100.2", v4, false},
		{"198.51.100.2:80", v4, false},
		{"198.51.100.3", v4, true},
		{"198.51.100.2:81", v4, true},
		{"[2001:db8:2::2]", v6, false},
		{"[2001:db8:2::2]:80", v6, false},
		{"[2001:db8:2::3]", v6, true},
		{"[::ffff:198.51.100.2]", v4, false},
		{"198.51.100.2", v6, true},
	} {
		if got := hostMismatch([]byte(tc.host), tc.dst); got != tc.want {
			t.Errorf("hostMismatch(%q, %v) = %v, want %v", tc.host, tc.dst, got, tc.want)
		}
	}
}

func TestViaHas(t *testing.T) {
	f := func(v string) []h1.Field { return []h1.Field{{Name: []byte("Via"), Value: []byte(v)}} }
	for _, tc := range []struct {
		via  string
		want bool
	}{
		{"1.1 me (tprouter)", true},
		{"1.1 ME", true},
		{"HTTP/1.1 me", true},
		{"1.0 fred, 1.1 me (tprouter)", true},
		{"1.1 other (me, really), 1.0 fred", false},
		{"1.1 mee", false},
		{"1.1 other (tprouter)", false},
		{"", false},
	} {
		if got := viaHas(f(tc.via), "me"); got != tc.want {
			t.Errorf("viaHas(%q) = %v, want %v", tc.via, got, tc.want)
		}
	}
}

func TestAppendURL(t *testing.T) {
	for _, tc := range []struct {
		req, dst, want string
	}{
		{"GET /a?b HTTP/1.1\r\nHost: example.com\r\n\r\n", "198.51.100.2:80", "http://example.com/a?b"},
		{"GET /a HTTP/1.0\r\n\r\n", "198.51.100.2:80", "http://198.51.100.2/a"},
		{"GET /a HTTP/1.0\r\n\r\n", "198.51.100.2:8080", "http://198.51.100.2:8080/a"},
		{"GET /a HTTP/1.0\r\n\r\n", "[2001:db8:2::2]:80", "http://[2001:db8:2::2]/a"},
		{"GET http://example.com/x HTTP/1.1\r\nHost: other\r\n\r\n", "198.51.100.2:80", "http://example.com/x"},
	} {
		var r h1.Request
		if err := h1.ParseRequest([]byte(tc.req), 4096, &r); err != nil {
			t.Fatalf("%q: %v", tc.req, err)
		}
		if got := string(appendURL(nil, &r, netip.MustParseAddrPort(tc.dst))); got != tc.want {
			t.Errorf("URL of %q to %s: %q, want %q", tc.req, tc.dst, got, tc.want)
		}
	}
}
