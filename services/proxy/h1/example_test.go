package h1_test

import (
	"errors"
	"fmt"

	"tprouter/services/proxy/h1"
)

// Example walks a buffer holding two pipelined requests, the first with a
// chunked body, the way a proxy's client loop would: parse a head, forward
// it, forward its body, then carry on at the first unused byte.
func Example() {
	buf := []byte("POST /up HTTP/1.1\r\nHost: a.example\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n" +
		"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" +
		"GET /next HTTP/1.1\r\nHost: a.example\r\n\r\n")
	var (
		req  h1.Request
		body h1.Chunked
		out  []byte
	)
	for len(buf) > 0 {
		err := h1.ParseRequest(buf, h1.DefaultMaxHead, &req)
		var pe *h1.Error
		switch {
		case err == h1.ErrIncomplete:
			return // read more, then parse again
		case err == h1.ErrHeadTooLarge:
			fmt.Println("431")
			return
		case errors.As(err, &pe):
			fmt.Println("400:", pe.Reason)
			return
		}
		via := []h1.Field{{Name: []byte("Via"), Value: []byte("1.1 tprouter")}}
		out = h1.AppendRequest(out[:0], &req, via, []byte("keep-alive"))
		fmt.Printf("%q\n", out)
		buf = buf[req.HeadLen:]

		switch req.Body() {
		case h1.BodyLength:
			buf = buf[req.ContentLength:] // or stream ContentLength bytes
		case h1.BodyChunked:
			body.Reset()
			n, done, err := body.Scan(buf) // forward buf[:n] as is
			if err != nil || !done {
				return // 400, or read more and Scan again
			}
			fmt.Printf("chunked body: %d bytes\n", n)
			buf = buf[n:]
		}
	}
	// Output:
	// "POST /up HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\nVia: 1.1 tprouter\r\nConnection: keep-alive\r\n\r\n"
	// chunked body: 15 bytes
	// "GET /next HTTP/1.1\r\nHost: a.example\r\nVia: 1.1 tprouter\r\nConnection: keep-alive\r\n\r\n"
}
