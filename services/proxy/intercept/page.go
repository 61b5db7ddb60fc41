package intercept

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
)

var statusText = map[int]string{
	400: "Bad Request",
	403: "Forbidden",
	408: "Request Timeout",
	431: "Request Header Fields Too Large",
	502: "Bad Gateway",
	504: "Gateway Timeout",
}

// appendPage appends a complete response the proxy makes itself: a short
// HTML page naming the destination and what went wrong, and Connection:
// close, since the proxy closes after any error. detail must be plain
// text without markup (fixed phrases and addresses).
func appendPage(b []byte, status int, dst netip.AddrPort, detail string) []byte {
	text := statusText[status]
	var body [512]byte
	p := append(body[:0], "<!DOCTYPE html>\n<html><head><title>"...)
	p = strconv.AppendInt(p, int64(status), 10)
	p = append(p, ' ')
	p = append(p, text...)
	p = append(p, "</title></head>\n<body><h1>"...)
	p = strconv.AppendInt(p, int64(status), 10)
	p = append(p, ' ')
	p = append(p, text...)
	p = append(p, "</h1>\n<p>"...)
	p = append(p, detail...)
	p = append(p, " (destination "...)
	p = appendHostPort(p, dst, 0)
	p = append(p, ")</p>\n</body></html>\n"...)

	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, text...)
	b = append(b, "\r\nContent-Type: text/html\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(p)), 10)
	b = append(b, "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"...)
	return append(b, p...)
}

// dialFailure maps a dial error to a counter, a status and a phrase for
// the error page: timeouts are 504, everything else 502.
func dialFailure(err error) (k kind, status int, detail string) {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, syscall.ETIMEDOUT), errors.As(err, &ne) && ne.Timeout():
		return errConnectTimeout, 504, "The server did not answer the connection attempt in time."
	case errors.Is(err, syscall.ECONNREFUSED):
		return errConnectRefused, 502, "The server refused the connection."
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.EHOSTDOWN):
		return errConnectUnreachable, 502, "The server is unreachable (no route to host)."
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ENETDOWN):
		return errConnectUnreachable, 502, "The server's network is unreachable."
	}
	return errConnectOther, 502, "The proxy could not connect to the server."
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
