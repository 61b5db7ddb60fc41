package intercept

import (
	"net/netip"
	"testing"

	"tprouter/services/proxy/h1"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want shape
	}{
		{"", shapeUnknown},
		{"GE", shapeUnknown},
		{"GET /", shapeUnknown},
		{"GET / HTTP/1.1\r\n", shapeHTTP},
		{"\r\nGET / HTTP/1.1\r\n", shapeHTTP},
		{"GET /a b HTTP/1.1\r\n", shapeHTTP},
		{"GET\t/ HTTP/1.1\r\n", shapeHTTP},
		{"FOO bar\r\n", shapeOther}, // no HTTP/: another line protocol
		{"\x16\x03\x01\x02\x00", shapeTLS},
		{"SSH-2.0-OpenSSH\r\n", shapeOther},
		{" GET / HTTP/1.1\r\n", shapeOther},
		{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", shapeOther}, // no method is that long
	} {
		if got := classify([]byte(tc.in), 1024); got != tc.want {
			t.Errorf("classify(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if got := classify([]byte("GET /"+string(make([]byte, 100))), 50); got != shapeHTTP {
		t.Errorf("a first line filling the head limit: %v, want HTTP (431)", got)
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
