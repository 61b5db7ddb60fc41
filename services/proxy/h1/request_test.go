package h1

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// reqView is a Request with strings, so whole results compare with DeepEqual.
type reqView struct {
	Method, Target string
	Minor          int
	Fields         []string // "Name: Value"
	Host           string   // "<nil>" when nil
	CL             int64
	Chunked        bool
	Keep           bool
	Expect         bool
	Upgrade        bool
	Abs            bool
	Body           BodyKind
}

func fieldStrings(fs []Field) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Name)+": "+string(f.Value))
	}
	return out
}

func viewRequest(r *Request) reqView {
	host := "<nil>"
	if r.Host != nil {
		host = string(r.Host)
	}
	return reqView{
		Method: string(r.Method), Target: string(r.Target), Minor: r.Minor,
		Fields: fieldStrings(r.Fields), Host: host, CL: r.ContentLength,
		Chunked: r.Chunked, Keep: r.KeepAlive, Expect: r.ExpectContinue,
		Upgrade: r.Upgrade, Abs: r.Absolute, Body: r.Body(),
	}
}

var goodRequests = []struct {
	name string
	head string // HeadLen must equal len(head)
	tail string // body or pipelined bytes after the head
	want reqView
}{
	{"get", "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n", "",
		reqView{Method: "GET", Target: "/", Minor: 1, Fields: []string{"Host: a.example"},
			Host: "a.example", CL: -1, Keep: true, Body: BodyNone}},
	{"post length", "POST /up?x=1 HTTP/1.1\r\nHost: a:8080\r\nContent-Length: 5\r\n\r\n", "hello",
		reqView{Method: "POST", Target: "/up?x=1", Minor: 1,
			Fields: []string{"Host: a:8080", "Content-Length: 5"},
			Host:   "a:8080", CL: 5, Keep: true, Body: BodyLength}},
	{"chunked after unknown codings", "PUT /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\ntransfer-encoding: x-custom , CHUNKED\r\n\r\n", "0\r\n\r\n",
		reqView{Method: "PUT", Target: "/f", Minor: 1,
			Fields: []string{"Host: a", "Transfer-Encoding: gzip", "transfer-encoding: x-custom , CHUNKED"},
			Host:   "a", CL: -1, Chunked: true, Keep: true, Body: BodyChunked}},
	{"equal content-length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 7\r\ncontent-length: 007\r\n\r\n", "",
		reqView{Method: "POST", Target: "/", Minor: 1,
			Fields: []string{"Host: a", "Content-Length: 7, 7", "content-length: 007"},
			Host:   "a", CL: 7, Keep: true, Body: BodyLength}},
	{"zero length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", "",
		reqView{Method: "POST", Target: "/", Minor: 1, Fields: []string{"Host: a", "Content-Length: 0"},
			Host: "a", CL: 0, Keep: true, Body: BodyNone}},
	{"1.0 no host", "GET /x HTTP/1.0\r\n\r\n", "",
		reqView{Method: "GET", Target: "/x", Minor: 0, Host: "<nil>", CL: -1, Body: BodyNone}},
	{"1.0 keep-alive", "GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: a\r\n\r\n", "",
		reqView{Method: "GET", Target: "/x", Minor: 0, Fields: []string{"Connection: Keep-Alive", "Host: a"},
			Host: "a", CL: -1, Keep: true, Body: BodyNone}},
	{"1.1 close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", "",
		reqView{Method: "GET", Target: "/", Minor: 1,
			Fields: []string{"Host: a", "Connection: keep-alive", "Connection: close"},
			Host:   "a", CL: -1, Keep: false, Body: BodyNone}},
	{"websocket upgrade", "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n", "",
		reqView{Method: "GET", Target: "/ws", Minor: 1,
			Fields: []string{"Host: a", "Connection: keep-alive, Upgrade", "Upgrade: websocket"},
			Host:   "a", CL: -1, Keep: true, Upgrade: true, Body: BodyNone}},
	{"upgrade field without option", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", "",
		reqView{Method: "GET", Target: "/", Minor: 1, Fields: []string{"Host: a", "Upgrade: websocket"},
			Host: "a", CL: -1, Keep: true, Body: BodyNone}},
	{"upgrade ignored in 1.0", "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", "",
		reqView{Method: "GET", Target: "/", Minor: 0, Fields: []string{"Connection: upgrade", "Upgrade: websocket"},
			Host: "<nil>", CL: -1, Body: BodyNone}},
	{"expect continue", "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 10\r\n\r\n", "",
		reqView{Method: "PUT", Target: "/", Minor: 1,
			Fields: []string{"Host: a", "Expect: 100-Continue", "Content-Length: 10"},
			Host:   "a", CL: 10, Keep: true, Expect: true, Body: BodyLength}},
	{"expect ignored in 1.0", "PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", "x",
		reqView{Method: "PUT", Target: "/", Minor: 0,
			Fields: []string{"Expect: 100-continue", "Content-Length: 1"},
			Host:   "<nil>", CL: 1, Body: BodyLength}},
	{"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "",
		reqView{Method: "GET", Target: "/", Minor: 1, Fields: []string{"Host: a"},
			Host: "a", CL: -1, Keep: true, Body: BodyNone}},
	{"absolute form", "GET HTTP://Example.COM:8080/p?q=1 HTTP/1.1\r\nHost: ignored.example\r\n\r\n", "",
		reqView{Method: "GET", Target: "HTTP://Example.COM:8080/p?q=1", Minor: 1,
			Fields: []string{"Host: ignored.example"},
			Host:   "Example.COM:8080", CL: -1, Keep: true, Abs: true, Body: BodyNone}},
	{"absolute form no path 1.0", "OPTIONS http://a.example HTTP/1.0\r\n\r\n", "",
		reqView{Method: "OPTIONS", Target: "http://a.example", Minor: 0,
			Host: "a.example", CL: -1, Abs: true, Body: BodyNone}},
	{"connect", "CONNECT a.example:443 HTTP/1.1\r\nHost: b.example\r\n\r\n", "\x16\x03\x01",
		reqView{Method: "CONNECT", Target: "a.example:443", Minor: 1, Fields: []string{"Host: b.example"},
			Host: "a.example:443", CL: -1, Keep: true, Body: BodyNone}},
	{"connect zero length", "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\nContent-Length: 0\r\n\r\n", "",
		reqView{Method: "CONNECT", Target: "[2001:db8::1]:443", Minor: 1,
			Fields: []string{"Host: [2001:db8::1]:443", "Content-Length: 0"},
			Host:   "[2001:db8::1]:443", CL: 0, Keep: true, Body: BodyNone}},
	{"options asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "",
		reqView{Method: "OPTIONS", Target: "*", Minor: 1, Fields: []string{"Host: a"},
			Host: "a", CL: -1, Keep: true, Body: BodyNone}},
	{"pipelined", "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n", "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
		reqView{Method: "GET", Target: "/1", Minor: 1, Fields: []string{"Host: a"},
			Host: "a", CL: -1, Keep: true, Body: BodyNone}},
	{"ows trimmed and odd values", "GET /a?b={c}|d HTTP/1.1\r\nHost:a.\r\nX-A: \t v  w \t\r\nX-Empty:\r\nX-Sp:   \r\nX-Obs: caf\xe9\r\n\r\n", "",
		reqView{Method: "GET", Target: "/a?b={c}|d", Minor: 1,
			Fields: []string{"Host: a.", "X-A: v  w", "X-Empty: ", "X-Sp: ", "X-Obs: caf\xe9"},
			Host:   "a.", CL: -1, Keep: true, Body: BodyNone}},
	{"underscore is not transfer-encoding", "GET / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\n\r\n", "",
		reqView{Method: "GET", Target: "/", Minor: 1, Fields: []string{"Host: a", "Transfer_Encoding: chunked"},
			Host: "a", CL: -1, Keep: true, Body: BodyNone}},
	{"custom method and empty connection elements", "PROPFIND /d HTTP/1.1\r\nHost: a\r\nConnection: , close ,\r\n\r\n", "",
		reqView{Method: "PROPFIND", Target: "/d", Minor: 1, Fields: []string{"Host: a", "Connection: , close ,"},
			Host: "a", CL: -1, Body: BodyNone}},
}

func TestParseRequestGood(t *testing.T) {
	var r Request
	for _, tc := range goodRequests {
		t.Run(tc.name, func(t *testing.T) {
			buf := []byte(tc.head + tc.tail)
			if err := ParseRequest(buf, DefaultMaxHead, &r); err != nil {
				t.Fatalf("err = %v", err)
			}
			if r.HeadLen != len(tc.head) {
				t.Errorf("HeadLen = %d, want %d", r.HeadLen, len(tc.head))
			}
			if got := viewRequest(&r); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			// Every proper prefix is incomplete, never an error.
			for k := range len(tc.head) {
				if err := ParseRequest(buf[:k], DefaultMaxHead, &r); err != ErrIncomplete {
					t.Fatalf("prefix %d: err = %v, want ErrIncomplete", k, err)
				}
			}
		})
	}
}

const host = "Host: a\r\n"

// badRequests are malformed or ambiguous heads, most of them straight from
// request-smuggling write-ups and corpora (PortSwigger, smuggler.py, HAProxy
// and Node.js advisories). Each must fail with exactly this reason.
var badRequests = []struct {
	name string
	in   string
	want error
}{
	// Framing conflicts.
	{"CL.TE", "POST / HTTP/1.1\r\n" + host + "Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED", errCLTE},
	{"TE.CL", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n", errCLTE},
	{"TE with CL 0", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", errCLTE},
	{"TE leading comma", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: ,chunked\r\n\r\n", errTEEmpty},
	{"TE trailing comma", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked,\r\n\r\n", errTEEmpty},
	{"TE empty", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:\r\n\r\n", errTEEmpty},
	{"TE empty second field", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: \r\n\r\n", errTEEmpty},
	{"TE space before colon", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding : chunked\r\n\r\n", errNameSpace},
	{"TE tab before colon", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding\t: chunked\r\n\r\n", errNameSpace},
	{"TE trailing VT", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\x0b\r\n\r\n", errFieldValue},
	{"TE leading VT", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:\x0bchunked\r\n\r\n", errFieldValue},
	{"TE form feed", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: \x0cchunked\r\n\r\n", errFieldValue},
	{"TE chunked twice one field", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, chunked\r\n\r\n", errTETwice},
	{"TE chunked twice two fields", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", errTETwice},
	{"TE chunked not last", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, identity\r\n\r\n", errTENotLast},
	{"TE chunked then field", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", errTENotLast},
	{"TE identity", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\n\r\n", errTENotChunk},
	{"TE xchunked", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: xchunked\r\n\r\n", errTENotChunk},
	{"TE chunked-false", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked-false\r\n\r\n", errTENotChunk},
	{"TE quoted", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: \"chunked\"\r\n\r\n", errTE},
	{"TE with parameter", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked;q=1\r\n\r\n", errTE},
	{"TE space inside", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chun ked\r\n\r\n", errTE},
	{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", errTE10},
	{"TE obs-fold", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:\r\n chunked\r\n\r\n", errObsFold},
	{"TE obs-fold tab", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: x\r\n\tchunked\r\n\r\n", errObsFold},
	{"CL differing fields", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", errCLConflict},
	{"CL differing list", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5, 6\r\n\r\n", errCLConflict},
	{"CL list then field", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5,5\r\nContent-Length: 6\r\n\r\n", errCLConflict},
	{"CL plus", "POST / HTTP/1.1\r\n" + host + "Content-Length: +5\r\n\r\n", errCL},
	{"CL minus", "POST / HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", errCL},
	{"CL hex", "POST / HTTP/1.1\r\n" + host + "Content-Length: 0x5\r\n\r\n", errCL},
	{"CL empty", "POST / HTTP/1.1\r\n" + host + "Content-Length: \r\n\r\n", errCL},
	{"CL space inside", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1 2\r\n\r\n", errCL},
	{"CL empty list element", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5,\r\n\r\n", errCL},
	{"CL decimal point", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5.0\r\n\r\n", errCL},
	{"CL 19 digits", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1000000000000000000\r\n\r\n", errCL},
	{"CL overflow", "POST / HTTP/1.1\r\n" + host + "Content-Length: 18446744073709551621\r\n\r\n", errCL},
	{"CL NUL", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\x00\r\n\r\n", errFieldValue},
	{"CL obs-fold", "POST / HTTP/1.1\r\n" + host + "Content-Length:\r\n 5\r\n\r\n", errObsFold},
	{"CL space before colon", "POST / HTTP/1.1\r\n" + host + "Content-Length : 5\r\n\r\n", errNameSpace},
	{"connect with body", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 5\r\n\r\n", errConnectBody},
	{"connect chunked", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nTransfer-Encoding: chunked\r\n\r\n", errConnectBody},

	// Line structure.
	{"bare LF endings", "GET / HTTP/1.1\nHost: a\n\n", errBareLF},
	{"bare LF field line", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", errBareLF},
	{"bare LF final line", "GET / HTTP/1.1\r\nHost: a\r\n\n", errBareLF},
	{"bare LF leading", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", errBareLF},
	{"bare LF in name", "GET / HTTP/1.1\r\nHo\nst: a\r\n\r\n", errBareLF},
	{"bare CR field", "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", errBareCR},
	{"bare CR request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", errBareCR},
	{"CR CR LF", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", errBareCR},
	{"bare CR final", "GET / HTTP/1.1\r\nHost: a\r\n\rX", errBareCR},
	{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n", errObsFold},
	{"space before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", errObsFold},
	{"NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", errFieldValue},
	{"DEL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", errFieldValue},
	{"ESC in value", "GET / HTTP/1.1\r\nHost: a\r\nX: \x1b[31m\r\n\r\n", errFieldValue},
	{"NUL in name", "GET / HTTP/1.1\r\nHo\x00st: a\r\n\r\n", errFieldName},
	{"empty name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", errFieldName},
	{"non-token name", "GET / HTTP/1.1\r\nHost: a\r\nX(y): z\r\n\r\n", errFieldName},
	{"no colon", "GET / HTTP/1.1\r\nHost: a\r\nJunk\r\n\r\n", errNoColon},
	{"too many empty lines", strings.Repeat("\r\n", 5) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n", errLeadingEmpty},
	{"too many fields", "GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", MaxFields+1) + "\r\n", ErrHeadTooLarge},

	// Request line.
	{"trailing space after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", errVersion},
	{"lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", errVersion},
	{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", errVersion},
	{"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", errVersion},
	{"HTTP/1.10", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", errVersion},
	{"HTTP/01.1", "GET / HTTP/01.1\r\nHost: a\r\n\r\n", errVersion},
	{"HTTP/0.9", "GET /\r\n\r\n", errTarget},
	{"double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", errRequestLine},
	{"double space before version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", errVersion},
	{"tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", errMethod},
	{"leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", errMethod},
	{"non-token method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", errMethod},
	{"non-ASCII target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", errTarget},
	{"fragment in target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", errTarget},
	{"NUL in target", "GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n", errTarget},
	{"relative target", "GET index.html HTTP/1.1\r\nHost: a\r\n\r\n", errTarget},
	{"asterisk with GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", errAsterisk},
	{"authority form with GET", "GET a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n", errTarget},
	{"connect origin form", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", errConnect},
	{"connect without port", "CONNECT a.example HTTP/1.1\r\nHost: a\r\n\r\n", errConnect},
	{"connect absolute form", "CONNECT http://a:80/ HTTP/1.1\r\nHost: a\r\n\r\n", errConnect},
	{"absolute with userinfo", "GET http://u:p@a.example/ HTTP/1.1\r\nHost: a\r\n\r\n", errTarget},
	{"absolute empty authority", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", errTarget},
	{"https absolute", "GET https://a.example/ HTTP/1.1\r\nHost: a\r\n\r\n", errTarget},
	{"ftp absolute", "GET ftp://a.example/ HTTP/1.1\r\nHost: a\r\n\r\n", errTarget},

	// Host.
	{"missing Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", errHostMissing},
	{"two Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", errHostDup},
	{"two equal Host", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", errHostDup},
	{"Host with @", "GET / HTTP/1.1\r\nHost: evil@a\r\n\r\n", errHost},
	{"Host with /", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", errHost},
	{"Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", errHost},
	{"Host list", "GET / HTTP/1.1\r\nHost: a,b\r\n\r\n", errHost},
	{"Host empty", "GET / HTTP/1.1\r\nHost:\r\n\r\n", errHost},
	{"Host port only", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", errHost},
	{"Host empty port", "GET / HTTP/1.1\r\nHost: a:\r\n\r\n", errHost},
	{"Host big port", "GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", errHost},
	{"Host bad IPv6", "GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n", errHost},
	{"Host pct", "GET / HTTP/1.1\r\nHost: a%2eb\r\n\r\n", errHost},
	{"Host in 1.0 bad", "GET / HTTP/1.0\r\nHost: a b\r\n\r\n", errHost},

	// Connection.
	{"Connection junk", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close x\r\n\r\n", errConnection},
}

func TestParseRequestBad(t *testing.T) {
	var r Request
	for _, tc := range badRequests {
		t.Run(tc.name, func(t *testing.T) {
			buf := []byte(tc.in)
			err := ParseRequest(buf, DefaultMaxHead, &r)
			var pe *Error
			if !errors.As(err, &pe) || err != tc.want {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			// A prefix is either still incomplete or already the same error.
			for k := range len(buf) {
				if e := ParseRequest(buf[:k], DefaultMaxHead, &r); e != ErrIncomplete && e != tc.want {
					t.Fatalf("prefix %d: err = %v", k, e)
				}
			}
		})
	}
	if len(badRequests) < 40 {
		t.Errorf("only %d malformed cases", len(badRequests))
	}
}

func TestParseRequestLimit(t *testing.T) {
	head := "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	var r Request
	for _, tc := range []struct {
		buf  string
		max  int
		want error
	}{
		{head, len(head), nil},
		{head + "xyz", len(head), nil},
		{head, len(head) - 1, ErrHeadTooLarge},
		{head[:10], 10, ErrHeadTooLarge},
		{head[:10], 11, ErrIncomplete},
		{head[:10], 0, ErrHeadTooLarge},
		{head, -1, ErrHeadTooLarge},
		{"GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 100), 64, ErrHeadTooLarge},
		{"GET / HTTP/1.1\r\nX: \x00" + strings.Repeat("a", 100), 64, errFieldValue}, // seen before the limit
		{"", 10, ErrIncomplete},
	} {
		if err := ParseRequest([]byte(tc.buf), tc.max, &r); err != tc.want {
			t.Errorf("ParseRequest(%q, %d) = %v, want %v", tc.buf, tc.max, err, tc.want)
		}
	}
}

func TestParseRequestReuse(t *testing.T) {
	var r Request
	if err := ParseRequest([]byte("POST / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nContent-Length: 3\r\n\r\n"), 1024, &r); err != nil {
		t.Fatal(err)
	}
	if err := ParseRequest([]byte("GET / HTTP/1.0\r\n\r\n"), 1024, &r); err != nil {
		t.Fatal(err)
	}
	want := reqView{Method: "GET", Target: "/", Host: "<nil>", CL: -1, Body: BodyNone}
	if got := viewRequest(&r); !reflect.DeepEqual(got, want) {
		t.Errorf("stale state: %+v", got)
	}
	if cap(r.Fields) < 4 {
		t.Errorf("Fields capacity not kept: %d", cap(r.Fields))
	}
}

func TestErrorStrings(t *testing.T) {
	if s := errBareLF.Error(); s != "h1: bare LF in header" {
		t.Errorf("Error() = %q", s)
	}
	var pe *Error
	if !errors.As(fmt.Errorf("wrapped: %w", errCLConflict), &pe) || pe.Reason != "conflicting Content-Length" {
		t.Errorf("errors.As through wrap failed: %v", pe)
	}
	if errors.As(ErrIncomplete, &pe) {
		t.Error("ErrIncomplete must not be an *Error")
	}
}
