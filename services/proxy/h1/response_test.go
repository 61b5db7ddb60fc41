package h1

import (
	"errors"
	"reflect"
	"testing"
)

type respView struct {
	Minor, Status int
	Reason        string
	Fields        []string
	CL            int64
	Chunked       bool
	Keep          bool
	Body          BodyKind // for a GET
}

func viewResponse(r *Response) respView {
	return respView{
		Minor: r.Minor, Status: r.Status, Reason: string(r.Reason),
		Fields: fieldStrings(r.Fields), CL: r.ContentLength,
		Chunked: r.Chunked, Keep: r.KeepAlive, Body: r.Body([]byte("GET")),
	}
}

var goodResponses = []struct {
	name string
	head string
	tail string
	want respView
}{
	{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n", "hello",
		respView{Minor: 1, Status: 200, Reason: "OK", Fields: []string{"Content-Length: 5", "Content-Type: text/plain"},
			CL: 5, Keep: true, Body: BodyLength}},
	{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "0\r\n\r\n",
		respView{Minor: 1, Status: 200, Reason: "OK", Fields: []string{"Transfer-Encoding: gzip, chunked"},
			CL: -1, Chunked: true, Keep: true, Body: BodyChunked}},
	{"until close 1.0", "HTTP/1.0 200 OK\r\nServer: x\r\n\r\n", "data",
		respView{Minor: 0, Status: 200, Reason: "OK", Fields: []string{"Server: x"}, CL: -1, Body: BodyUntilClose}},
	{"1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", "",
		respView{Minor: 0, Status: 200, Reason: "OK", Fields: []string{"Connection: keep-alive", "Content-Length: 0"},
			CL: 0, Keep: true, Body: BodyNone}},
	{"TE not chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "",
		respView{Minor: 1, Status: 200, Reason: "OK", Fields: []string{"Transfer-Encoding: gzip"},
			CL: -1, Keep: true, Body: BodyUntilClose}},
	{"no reason no space", "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n", "x",
		respView{Minor: 1, Status: 200, Fields: []string{"Content-Length: 1"}, CL: 1, Keep: true, Body: BodyLength}},
	{"empty reason", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", "",
		respView{Minor: 1, Status: 404, Fields: []string{"Content-Length: 0"}, CL: 0, Keep: true, Body: BodyNone}},
	{"odd reason", "HTTP/1.1 599 Any\tthing \xff goes \r\nConnection: close\r\n\r\n", "",
		respView{Minor: 1, Status: 599, Reason: "Any\tthing \xff goes ", Fields: []string{"Connection: close"},
			CL: -1, Body: BodyUntilClose}},
	{"204 with length", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", "",
		respView{Minor: 1, Status: 204, Reason: "No Content", Fields: []string{"Content-Length: 10"},
			CL: 10, Keep: true, Body: BodyNone}},
	{"304", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", "",
		respView{Minor: 1, Status: 304, Reason: "Not Modified", Fields: []string{"Transfer-Encoding: chunked"},
			CL: -1, Chunked: true, Keep: true, Body: BodyNone}},
	{"100 continue", "HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n",
		respView{Minor: 1, Status: 100, Reason: "Continue", CL: -1, Keep: true, Body: BodyNone}},
	{"101", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", "",
		respView{Minor: 1, Status: 101, Reason: "Switching Protocols",
			Fields: []string{"Connection: Upgrade", "Upgrade: websocket"}, CL: -1, Keep: true, Body: BodyNone}},
	{"999", "HTTP/1.1 999 X\r\nContent-Length: 2, 2\r\n\r\n", "ab",
		respView{Minor: 1, Status: 999, Reason: "X", Fields: []string{"Content-Length: 2, 2"}, CL: 2, Keep: true, Body: BodyLength}},
}

func TestParseResponseGood(t *testing.T) {
	var r Response
	for _, tc := range goodResponses {
		t.Run(tc.name, func(t *testing.T) {
			buf := []byte(tc.head + tc.tail)
			if err := ParseResponse(buf, DefaultMaxHead, &r); err != nil {
				t.Fatalf("err = %v", err)
			}
			if r.HeadLen != len(tc.head) {
				t.Errorf("HeadLen = %d, want %d", r.HeadLen, len(tc.head))
			}
			if got := viewResponse(&r); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			for k := range len(tc.head) {
				if err := ParseResponse(buf[:k], DefaultMaxHead, &r); err != ErrIncomplete {
					t.Fatalf("prefix %d: err = %v, want ErrIncomplete", k, err)
				}
			}
		})
	}
}

var badResponses = []struct {
	name string
	in   string
	want error
}{
	{"CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", errCLTE},
	{"TE and CL", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n", errCLTE},
	{"conflicting CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\n", errCLConflict},
	{"CL sign", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", errCL},
	{"TE chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", errTETwice},
	{"TE chunked first", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", errTENotLast},
	{"TE empty element", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,,chunked\r\n\r\n", errTEEmpty},
	{"TE in 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", errTE10},
	{"two digit status", "HTTP/1.1 20 OK\r\n\r\n", errStatus},
	{"four digit status", "HTTP/1.1 2000 OK\r\n\r\n", errStatusLine},
	{"status 099", "HTTP/1.1 099 X\r\n\r\n", errStatus},
	{"double space", "HTTP/1.1  200 OK\r\n\r\n", errStatus},
	{"no space", "HTTP/1.1 200OK\r\n\r\n", errStatusLine},
	{"missing status", "HTTP/1.1\r\n\r\n", errStatusLine},
	{"lowercase", "http/1.1 200 OK\r\n\r\n", errVersion},
	{"HTTP/2", "HTTP/2 200 OK\r\n\r\n", errVersion},
	{"HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", errVersion},
	{"NUL in reason", "HTTP/1.1 200 O\x00K\r\n\r\n", errReason},
	{"bare LF status", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", errBareLF},
	{"bare LF no reason", "HTTP/1.1 200\n\r\n", errBareLF},
	{"bare CR status", "HTTP/1.1 200 OK\rX: y\r\n\r\n", errBareCR},
	{"obs-fold", "HTTP/1.1 200 OK\r\nX: y\r\n\tz\r\n\r\n", errObsFold},
	{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", errNameSpace},
	{"bare LF end", "HTTP/1.1 200 OK\r\nX: y\r\n\n", errBareLF},
	{"leading empty line", "\r\nHTTP/1.1 200 OK\r\n\r\n", errVersion},
}

func TestParseResponseBad(t *testing.T) {
	var r Response
	for _, tc := range badResponses {
		t.Run(tc.name, func(t *testing.T) {
			buf := []byte(tc.in)
			err := ParseResponse(buf, DefaultMaxHead, &r)
			var pe *Error
			if !errors.As(err, &pe) || err != tc.want {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for k := range len(buf) {
				if e := ParseResponse(buf[:k], DefaultMaxHead, &r); e != ErrIncomplete && e != tc.want {
					t.Fatalf("prefix %d: err = %v", k, e)
				}
			}
		})
	}
}

func TestResponseBody(t *testing.T) {
	for _, tc := range []struct {
		head   string
		method string
		want   BodyKind
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD", BodyNone},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD", BodyNone},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "head", BodyLength}, // methods are case-sensitive
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "POST", BodyLength},
		{"HTTP/1.1 200 OK\r\n\r\n", "CONNECT", BodyNone},
		{"HTTP/1.1 204 OK\r\n\r\n", "CONNECT", BodyNone},
		{"HTTP/1.1 407 Auth\r\nContent-Length: 3\r\n\r\n", "CONNECT", BodyLength},
		{"HTTP/1.1 502 Bad\r\n\r\n", "CONNECT", BodyUntilClose},
		{"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", "GET", BodyNone},
		{"HTTP/1.1 304 NM\r\nContent-Length: 9\r\n\r\n", "GET", BodyNone},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: br\r\n\r\n", "GET", BodyUntilClose},
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "GET", BodyNone},
		{"HTTP/1.1 200 OK\r\n\r\n", "GET", BodyUntilClose},
	} {
		var r Response
		if err := ParseResponse([]byte(tc.head), 1024, &r); err != nil {
			t.Fatalf("%q: %v", tc.head, err)
		}
		if got := r.Body([]byte(tc.method)); got != tc.want {
			t.Errorf("%s to %q: Body = %v, want %v", tc.method, tc.head, got, tc.want)
		}
	}
}
