package accesslog

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestAppendSquidExample(t *testing.T) {
	// The example from Squid's documentation of the native format, as the
	// issue gives it.
	e := Entry{
		Time:    time.Unix(1764100000, 123_456_789),
		Elapsed: 12 * time.Millisecond,
		Client:  netip.MustParseAddr("192.0.2.2"),
		Code:    "TCP_MISS",
		Status:  200,
		Bytes:   1534,
		Method:  []byte("GET"),
		URL:     []byte("http://198.51.100.2/index.html"),
		Hier:    "ORIGINAL_DST",
		Server:  netip.MustParseAddr("198.51.100.2"),
		MIME:    []byte("text/html"),
	}
	want := "1764100000.123     12 192.0.2.2 TCP_MISS/200 1534 GET http://198.51.100.2/index.html - ORIGINAL_DST/198.51.100.2 text/html\n"
	if got := string(Append(nil, &e)); got != want {
		t.Errorf("Append:\n got %q\nwant %q", got, want)
	}
}

func TestAppendEdges(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    Entry
		want string
	}{{
		name: "error without upstream",
		e: Entry{
			Time: time.Unix(1764100000, 5e6), Elapsed: 1234567 * time.Millisecond,
			Client: netip.MustParseAddr("2001:db8:1::2"), Code: "TAG_NONE", Status: 400,
			Bytes: 3870, Method: []byte("NONE"), URL: []byte("error:invalid-request"),
			Hier: "HIER_NONE", MIME: []byte("text/html"),
		},
		want: "1764100000.005 1234567 2001:db8:1::2 TAG_NONE/400 3870 NONE error:invalid-request - HIER_NONE/- text/html\n",
	}, {
		name: "mapped client, no status, no mime, escaped url",
		e: Entry{
			Time: time.Unix(12, 0), Client: netip.MustParseAddr("::ffff:192.0.2.2"),
			Code: "TCP_MISS_ABORTED", Method: []byte("GET"), URL: []byte("http://h/a b\x01%41"),
			Hier: "ORIGINAL_DST", Server: netip.MustParseAddr("2001:db8:2::2"),
		},
		want: "       12.000      0 192.0.2.2 TCP_MISS_ABORTED/000 0 GET http://h/a%20b%01%41 - ORIGINAL_DST/2001:db8:2::2 -\n",
	}} {
		if got := string(Append(nil, &tc.e)); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, line := range []string{
		"1764100000.123     12 192.0.2.2 TCP_MISS/200 1534 GET http://198.51.100.2/index.html - ORIGINAL_DST/198.51.100.2 text/html",
		"1764100000.005 1234567 2001:db8:1::2 TAG_NONE/400 3870 NONE error:invalid-request - HIER_NONE/- text/html",
		"1764100000.999      0 192.0.2.2 TCP_TUNNEL/200 10 CONNECT 198.51.100.2:80 - ORIGINAL_DST/198.51.100.2 -",
	} {
		e, err := Parse(line + "\n")
		if err != nil {
			t.Errorf("Parse(%q): %v", line, err)
			continue
		}
		if got := string(Append(nil, &e)); got != line+"\n" {
			t.Errorf("round trip:\n got %q\nwant %q", got, line)
		}
	}
	e, _ := Parse("1764100000.123     12 192.0.2.2 TCP_MISS/200 1534 GET http://198.51.100.2/index.html - ORIGINAL_DST/198.51.100.2 text/html")
	if e.Elapsed != 12*time.Millisecond || e.Status != 200 || e.Bytes != 1534 || e.Server != netip.MustParseAddr("198.51.100.2") ||
		e.Time.UnixMilli() != 1764100000123 || string(e.MIME) != "text/html" || e.Code != "TCP_MISS" {
		t.Errorf("Parse fields: %+v", e)
	}
}

func TestParseRejects(t *testing.T) {
	for _, line := range []string{
		"",
		"1764100000.123 12 192.0.2.2 TCP_MISS/200 1534 GET http://x/ - ORIGINAL_DST/198.51.100.2 text/html", // elapsed not padded
		"1764100000.12     12 192.0.2.2 TCP_MISS/200 1534 GET http://x/ - ORIGINAL_DST/198.51.100.2 text/html",
		"1764100000.123     12 192.0.2.2 TCP_MISS/20 1534 GET http://x/ - ORIGINAL_DST/198.51.100.2 text/html",
		"1764100000.123     12 [2001:db8::1] TCP_MISS/200 1534 GET http://x/ - ORIGINAL_DST/198.51.100.2 text/html",
		"1764100000.123     12 192.0.2.2 TCP_MISS/200 1534 GET http://x/ bob ORIGINAL_DST/198.51.100.2 text/html",
		"1764100000.123     12 192.0.2.2 TCP_MISS/200 1534 GET http://x/ - ORIGINAL_DST text/html",
		"1764100000.123     12 192.0.2.2 TCP_MISS/200 1534 GET http://x/ - ORIGINAL_DST/198.51.100.2",
	} {
		if _, err := Parse(line); err == nil {
			t.Errorf("Parse(%q) accepted", line)
		}
	}
}

func TestLogRingAndFlush(t *testing.T) {
	var out bytes.Buffer
	l := New(&out, 3)
	for i := 0; i < 5; i++ {
		l.Write(&Entry{Time: time.Unix(int64(1000000000+i), 0), Code: "TCP_MISS", Status: 200, Hier: "HIER_NONE"})
	}
	var recent bytes.Buffer
	l.WriteRecent(&recent)
	lines := strings.Split(strings.TrimSuffix(recent.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "1000000002.") || !strings.HasPrefix(lines[2], "1000000004.") {
		t.Errorf("recent lines: %q", lines)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 5 {
		t.Errorf("after Close, %d lines written, want 5", n)
	}
}

func TestLogWriteDoesNotAllocate(t *testing.T) {
	l := New(nil, 4)
	defer l.Close()
	e := Entry{
		Time: time.Now(), Client: netip.MustParseAddr("192.0.2.2"), Code: "TCP_MISS", Status: 200,
		Method: []byte("GET"), URL: []byte("http://198.51.100.2/"), Hier: "ORIGINAL_DST",
		Server: netip.MustParseAddr("198.51.100.2"), MIME: []byte("text/html"),
	}
	for i := 0; i < 8; i++ {
		l.Write(&e)
	}
	if n := testing.AllocsPerRun(100, func() { l.Write(&e) }); n != 0 {
		t.Errorf("Write allocates %v times", n)
	}
}
