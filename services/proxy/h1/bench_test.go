package h1

import (
	"strconv"
	"strings"
	"testing"
)

// typicalRequest is a ~400-byte browser GET.
var typicalRequest = []byte("GET /static/app.js?v=3 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: */*\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate\r\n" +
	"Referer: http://www.example.com/index.html\r\n" +
	"Cookie: session=0123456789abcdef0123; theme=dark\r\n" +
	"Connection: keep-alive\r\n" +
	"Sec-Fetch-Dest: script\r\n" +
	"If-None-Match: \"5f3c-61a2b\"\r\n" +
	"\r\n")

var typicalResponse = []byte("HTTP/1.1 200 OK\r\n" +
	"Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n" +
	"Server: nginx\r\n" +
	"Content-Type: application/javascript\r\n" +
	"Content-Length: 12345\r\n" +
	"Cache-Control: max-age=3600\r\n" +
	"ETag: \"5f3c-61a2b\"\r\n" +
	"Connection: keep-alive\r\n" +
	"\r\n")

// chunkedBody is 64 KiB of data in 4 KiB chunks with a trailer.
var chunkedBody = func() []byte {
	var b []byte
	data := strings.Repeat("x", 4096)
	for range 16 {
		b = strconv.AppendInt(b, int64(len(data)), 16)
		b = append(b, "\r\n"...)
		b = append(b, data...)
		b = append(b, "\r\n"...)
	}
	return append(b, "0\r\nX-Sum: 1234\r\n\r\n"...)
}()

func TestZeroAllocs(t *testing.T) {
	var (
		req  Request
		resp Response
		c    Chunked
		dst  = make([]byte, 0, 1024)
	)
	for name, f := range map[string]func(){
		"ParseRequest": func() {
			if err := ParseRequest(typicalRequest, DefaultMaxHead, &req); err != nil {
				t.Fatal(err)
			}
		},
		"ParseResponse": func() {
			if err := ParseResponse(typicalResponse, DefaultMaxHead, &resp); err != nil {
				t.Fatal(err)
			}
		},
		"ParseRequest error": func() {
			if err := ParseRequest(typicalRequest[:len(typicalRequest)-1], DefaultMaxHead, &req); err != ErrIncomplete {
				t.Fatal(err)
			}
		},
		"Chunked": func() {
			c.Reset()
			if _, done, err := c.Scan(chunkedBody); !done || err != nil {
				t.Fatal(err)
			}
		},
		"AppendRequest": func() {
			dst = AppendRequest(dst[:0], &req, []Field{{[]byte("Via"), []byte("1.1 tprouter")}}, []byte("keep-alive"))
		},
	} {
		f() // warm up: Fields grows once
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocs/run, want 0", name, n)
		}
	}
}

func BenchmarkParseRequest(b *testing.B) {
	var r Request
	b.SetBytes(int64(len(typicalRequest)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ParseRequest(typicalRequest, DefaultMaxHead, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseResponse(b *testing.B) {
	var r Response
	b.SetBytes(int64(len(typicalResponse)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ParseResponse(typicalResponse, DefaultMaxHead, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendRequest(b *testing.B) {
	var r Request
	if err := ParseRequest(typicalRequest, DefaultMaxHead, &r); err != nil {
		b.Fatal(err)
	}
	extra := []Field{{[]byte("Via"), []byte("1.1 tprouter")}}
	dst := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendRequest(dst[:0], &r, extra, []byte("keep-alive"))
	}
}

func BenchmarkChunkedScan(b *testing.B) {
	var c Chunked
	b.SetBytes(int64(len(chunkedBody)))
	b.ReportAllocs()
	for b.Loop() {
		c.Reset()
		if _, done, err := c.Scan(chunkedBody); !done || err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChunkedFraming is the worst case: one data byte per chunk, so
// nearly every byte goes through the state machine.
func BenchmarkChunkedFraming(b *testing.B) {
	body := []byte(strings.Repeat("1;e=v\r\nx\r\n", 1000) + "0\r\n\r\n")
	var c Chunked
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		c.Reset()
		if _, done, err := c.Scan(body); !done || err != nil {
			b.Fatal(err)
		}
	}
}
