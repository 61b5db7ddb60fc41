// Package badreq is a table of malformed and smuggling requests that the
// proxy must answer with an error and forward to nobody, shared by its
// loopback and lab tests. Sources: RFC 9112 §6 and §7, HTTP Garden's
// TROPHIES.md, aws/http-desync-guardian's severe.yaml, and
// CVE-2025-22871 (bare LF in a chunk line).
package badreq

// Case is one request, sent whole in one write.
type Case struct {
	Name    string
	Request string
	Status  int // what the proxy answers
}

const host = "Host: example.com\r\n"

// Cases are the requests. Each one's first line looks like HTTP, so it is
// parsed and refused rather than relayed as a non-HTTP tunnel.
var Cases = []Case{
	{"CL and TE", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
	{"TE and CL", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400},
	{"CL conflicting fields", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
	{"CL conflicting list", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5, 6\r\n\r\nhello!", 400},
	{"CL plus sign", "POST / HTTP/1.1\r\n" + host + "Content-Length: +5\r\n\r\nhello", 400},
	{"CL negative", "POST / HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", 400},
	{"CL hex", "POST / HTTP/1.1\r\n" + host + "Content-Length: 0x5\r\n\r\nhello", 400},
	{"CL empty", "POST / HTTP/1.1\r\n" + host + "Content-Length: \r\n\r\n", 400},
	{"CL inner space", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1 0\r\n\r\n0123456789", 400},
	{"CL overflow", "POST / HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999\r\n\r\n", 400},
	{"TE chunked not last", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400},
	{"TE identity", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\n\r\nhello", 400},
	{"TE empty element", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n", 400},
	{"TE chunked twice", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400},
	{"TE unknown coding", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400},
	{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
	{"space before colon", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400},
	{"obs-fold", "GET / HTTP/1.1\r\n" + host + "X-A: a\r\n b\r\n\r\n", 400},
	{"space before first field", "GET / HTTP/1.1\r\n " + host + "\r\n", 400},
	{"bare LF in head", "GET / HTTP/1.1\r\n" + host + "X-A: a\nX-B: b\r\n\r\n", 400},
	{"bare CR in value", "GET / HTTP/1.1\r\n" + host + "X-A: a\rb\r\n\r\n", 400},
	{"NUL in value", "GET / HTTP/1.1\r\n" + host + "X-A: a\x00b\r\n\r\n", 400},
	{"control in name", "GET / HTTP/1.1\r\n" + host + "X\x01A: b\r\n\r\n", 400},
	{"field without colon", "GET / HTTP/1.1\r\n" + host + "X-A\r\n\r\n", 400},
	{"no Host in 1.1", "GET / HTTP/1.1\r\n\r\n", 400},
	{"two Hosts", "GET / HTTP/1.1\r\n" + host + "Host: evil.example\r\n\r\n", 400},
	{"Host with userinfo", "GET / HTTP/1.1\r\nHost: a@evil.example\r\n\r\n", 400},
	{"space in target", "GET /a b HTTP/1.1\r\n" + host + "\r\n", 400},
	{"tab separator", "GET\t/ HTTP/1.1\r\n" + host + "\r\n", 400},
	{"HTTP/1.2", "GET / HTTP/1.2\r\n" + host + "\r\n", 400},
	{"trailing space after version", "GET / HTTP/1.1 \r\n" + host + "\r\n", 400},
	{"https absolute-form", "GET https://example.com/ HTTP/1.1\r\n" + host + "\r\n", 400},
	{"fragment in target", "GET /#frag HTTP/1.1\r\n" + host + "\r\n", 400},
	{"CONNECT with body", "CONNECT example.com:80 HTTP/1.1\r\nHost: example.com:80\r\nContent-Length: 5\r\n\r\nhello", 400},
	{"chunk size not hex", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk size 0x", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk line bare LF", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400},
	{"chunk data too long", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello!\r\n0\r\n\r\n", 400},
	{"chunk size overflow", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\nx\r\n0\r\n\r\n", 400},
	{"chunk extension junk", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5;a b\r\nhello\r\n0\r\n\r\n", 400},
	{"Content-Length in trailer", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n", 400},
}
