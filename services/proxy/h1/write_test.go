package h1

import "testing"

func TestIsHopByHop(t *testing.T) {
	fields := []Field{
		{[]byte("Connection"), []byte("keep-alive, X-Secret , content-length,Transfer-Encoding, HOST")},
		{[]byte("connection"), []byte("x-other")},
	}
	for _, tc := range []struct {
		name string
		keep bool
		want bool
	}{
		{"Connection", false, true},
		{"keep-alive", false, true},
		{"Proxy-Connection", false, true},
		{"TE", false, true},
		{"Proxy-Authenticate", false, true},
		{"proxy-authorization", false, true},
		{"Upgrade", false, true},
		{"Upgrade", true, false},
		{"x-secret", false, true},
		{"X-Other", false, true},
		{"Trailer", false, false},
		{"Content-Length", false, false},    // listed, but framing is never stripped
		{"Transfer-Encoding", false, false}, // ditto
		{"Host", false, false},              // ditto
		{"Via", false, false},
		{"X-Secre", false, false},
	} {
		if got := IsHopByHop([]byte(tc.name), fields, tc.keep); got != tc.want {
			t.Errorf("IsHopByHop(%q, keep=%v) = %v", tc.name, tc.keep, got)
		}
	}
	if IsHopByHop([]byte("X-Secret"), nil, false) {
		t.Error("X-Secret hop-by-hop without Connection")
	}
}

func TestAppendRequest(t *testing.T) {
	via := []Field{{[]byte("Via"), []byte("1.1 tprouter")}}
	for _, tc := range []struct {
		name, in string
		extra    []Field
		conn     string
		want     string
	}{
		{"plain", "GET /a?b HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n", via, "keep-alive",
			"GET /a?b HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nVia: 1.1 tprouter\r\nConnection: keep-alive\r\n\r\n"},
		{"hop-by-hop stripped", "POST / HTTP/1.1\r\nhost: a\r\nConnection: Keep-Alive, X-Hop, Content-Length\r\nKeep-Alive: 300\r\n" +
			"X-Hop: 1\r\nTE: trailers\r\nProxy-Connection: x\r\nProxy-Authorization: Basic eA==\r\nTrailer: X-Sum\r\n" +
			"Content-Length: 3\r\nX-End:  e2e \r\n\r\n", nil, "close",
			"POST / HTTP/1.1\r\nhost: a\r\nTrailer: X-Sum\r\nContent-Length: 3\r\nX-End: e2e\r\nConnection: close\r\n\r\n"},
		{"content-length normalized", "POST / HTTP/1.0\r\nContent-length: 007, 7\r\nX: y\r\ncontent-length: 7\r\n\r\n", nil, "",
			"POST / HTTP/1.0\r\nContent-length: 7\r\nX: y\r\n\r\n"},
		{"chunked forwarded", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", nil, "",
			"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"codings merged", "POST / HTTP/1.1\r\nTransfer-encoding: GZip ,x\r\nHost: a\r\ntransfer-encoding: CHUNKED\r\n\r\n", nil, "",
			"POST / HTTP/1.1\r\nTransfer-encoding: gzip, x, chunked\r\nHost: a\r\n\r\n"},
		{"upgrade kept", "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n", nil, "Upgrade",
			"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\nConnection: Upgrade\r\n\r\n"},
		{"upgrade dropped", "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", nil, "keep-alive",
			"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n"},
		{"absolute form", "GET http://b.example:81/p?q HTTP/1.1\r\nX: 1\r\nHost: a\r\nHost-Name: n\r\n\r\n", nil, "",
			"GET /p?q HTTP/1.1\r\nHost: b.example:81\r\nX: 1\r\nHost-Name: n\r\n\r\n"},
		{"absolute form query only", "GET http://b?q HTTP/1.0\r\n\r\n", nil, "",
			"GET /?q HTTP/1.0\r\nHost: b\r\n\r\n"},
		{"absolute form no path", "GET http://b HTTP/1.0\r\n\r\n", nil, "",
			"GET / HTTP/1.0\r\nHost: b\r\n\r\n"},
		{"absolute form OPTIONS", "OPTIONS http://b:8001 HTTP/1.1\r\nHost: b:8001\r\n\r\n", nil, "",
			"OPTIONS * HTTP/1.1\r\nHost: b:8001\r\n\r\n"},
		{"connect", "CONNECT b:443 HTTP/1.1\r\nHost: b:443\r\nProxy-Authorization: x\r\n\r\n", nil, "",
			"CONNECT b:443 HTTP/1.1\r\nHost: b:443\r\n\r\n"},
		{"leading empty lines dropped", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", nil, "",
			"GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
	} {
		var r Request
		if err := ParseRequest([]byte(tc.in), 4096, &r); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := string(AppendRequest([]byte("prefix"), &r, tc.extra, []byte(tc.conn))); got != "prefix"+tc.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tc.name, got, "prefix"+tc.want)
		}
	}
}

func TestAppendResponse(t *testing.T) {
	for _, tc := range []struct {
		in, conn, want string
	}{
		{"HTTP/1.1 200 OK\r\nConnection: close, X-A\r\nX-A: 1\r\nContent-Length: 2\r\nProxy-Authenticate: Basic\r\n\r\n", "keep-alive",
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nVia: 1.1 tprouter\r\nConnection: keep-alive\r\n\r\n"},
		{"HTTP/1.0 404\r\nKeep-Alive: timeout=5\r\n\r\n", "close",
			"HTTP/1.0 404 \r\nVia: 1.1 tprouter\r\nConnection: close\r\n\r\n"},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", "upgrade",
			"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nVia: 1.1 tprouter\r\nConnection: upgrade\r\n\r\n"},
	} {
		var r Response
		if err := ParseResponse([]byte(tc.in), 4096, &r); err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		via := []Field{{[]byte("Via"), []byte("1.1 tprouter")}}
		if got := string(AppendResponse(nil, &r, via, []byte(tc.conn))); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}
