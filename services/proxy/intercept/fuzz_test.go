package intercept

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"tprouter/internal/ascii"
	"tprouter/services/proxy/h1"
	"tprouter/services/proxy/internal/badreq"
)

// FuzzForwarded feeds arbitrary client bytes through the proxy and checks
// what reaches the origin: either exactly the client's bytes (a non-HTTP
// tunnel), or a sequence of requests that h1 parses cleanly, each with our
// Via and a valid body. Whatever a client sends, the proxy must never hand
// the origin an ambiguous message: that is request smuggling.
func FuzzForwarded(f *testing.F) {
	for _, tc := range badreq.Cases {
		f.Add([]byte(tc.Request))
	}
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX: y\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"GET http://a/x HTTP/1.1\r\nHost: b\r\nConnection: keep-alive, X-Foo\r\nX-Foo: 1\r\n\r\n",
		"\x16\x03\x01\x00\x05hello",
		"SSH-2.0-x\r\n",
	} {
		f.Add([]byte(s))
	}

	o := newRecorder(f)
	h := newProxy(f, o.addr, func(s *Server) { s.HeaderTimeout = time.Second })
	var mu sync.Mutex // one input at a time: records are matched by order
	f.Fuzz(func(t *testing.T, in []byte) {
		mu.Lock()
		defer mu.Unlock()
		before := h.s.Stats.UpstreamConns.Value()
		c, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(in)
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
		dialled := h.s.Stats.UpstreamConns.Value() - before
		for i := uint64(0); i < dialled; i++ {
			select {
			case r := <-o.records:
				if r.err != "" && !bytes.Equal(r.got, in) {
					t.Errorf("origin got %q from %q: %s", r.got, in, r.err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no origin record for %q", in)
			}
		}
	})
}

type record struct {
	got []byte
	err string // why got is not a clean sequence of requests
}

type recorder struct {
	addr    string
	records chan record
}

// newRecorder is an origin that answers each request it can parse and
// reports, when the connection ends, what it got and whether it parsed.
func newRecorder(t testing.TB) *recorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	o := &recorder{addr: ln.Addr().String(), records: make(chan record, 16)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				var all []byte
				buf := make([]byte, 4096)
				var req h1.Request
				var ch h1.Chunked
				bad := ""
				off := 0 // start of the next request in all
				for {
					n, err := c.Read(buf)
					all = append(all, buf[:n]...)
					for bad == "" && off < len(all) {
						used, msg := parseOne(all[off:], &req, &ch)
						if msg != "" {
							bad = msg
							break
						}
						if used == 0 {
							break // need more
						}
						off += used
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
					}
					if err != nil {
						break
					}
				}
				// A request cut short at the end is fine: the client went
				// away mid-body, and the connection ends with it.
				o.records <- record{got: all, err: bad}
			}()
		}
	}()
	return o
}

// parseOne parses one whole request at the start of b: bytes used (0 when
// incomplete) or what is wrong with it.
func parseOne(b []byte, req *h1.Request, ch *h1.Chunked) (int, string) {
	err := h1.ParseRequest(b, 1<<20, req)
	if err == h1.ErrIncomplete {
		return 0, ""
	}
	if err != nil {
		return 0, "head: " + err.Error()
	}
	via := false
	for _, f := range req.Fields {
		if ascii.EqualFold(f.Name, "via") && bytes.Contains(f.Value, []byte("test-proxy (tprouter)")) {
			via = true
		}
	}
	if !via {
		return 0, "no Via"
	}
	n := req.HeadLen
	switch req.Body() {
	case h1.BodyLength:
		if int64(len(b)-n) < req.ContentLength {
			return 0, ""
		}
		n += int(req.ContentLength)
	case h1.BodyChunked:
		ch.Reset()
		used, done, err := ch.Scan(b[n:])
		if err != nil {
			return 0, "chunked body: " + err.Error()
		}
		if !done {
			return 0, ""
		}
		n += used
	}
	return n, ""
}
