package h1

import (
	"strconv"
)

// IsHopByHop reports whether the field called name must not be forwarded.
// fields are the message's own fields: every option listed in its
// Connection fields names a hop-by-hop field too (RFC 9110 §7.6.1).
//
// Always hop-by-hop: Connection, Keep-Alive, Proxy-Connection, TE,
// Proxy-Authenticate, Proxy-Authorization, and Upgrade unless keepUpgrade.
// Never hop-by-hop, even when listed in Connection: Transfer-Encoding,
// Content-Length and Host. The body is forwarded byte for byte, so its
// framing fields must travel with it; letting a client strip them with
// "Connection: Content-Length" would hand the next hop a different message
// boundary (smuggling). Trailer is end-to-end.
func IsHopByHop(name []byte, fields []Field, keepUpgrade bool) bool {
	switch len(name) {
	case 2:
		if eqLower(name, "te") {
			return true
		}
	case 4:
		if eqLower(name, "host") {
			return false
		}
	case 7:
		if eqLower(name, "upgrade") {
			return !keepUpgrade
		}
	case 10:
		if eqLower(name, "connection") || eqLower(name, "keep-alive") {
			return true
		}
	case 14:
		if eqLower(name, "content-length") {
			return false
		}
	case 16:
		if eqLower(name, "proxy-connection") {
			return true
		}
	case 17:
		if eqLower(name, "transfer-encoding") {
			return false
		}
	case 18:
		if eqLower(name, "proxy-authenticate") {
			return true
		}
	case 19:
		if eqLower(name, "proxy-authorization") {
			return true
		}
	}
	for _, f := range fields {
		if eqLower(f.Name, "connection") && hasToken(f.Value, name) {
			return true
		}
	}
	return false
}

// AppendRequest appends the head to forward upstream and returns the
// extended buffer. The request line is kept as received, version included
// (a 1.0 client must not be sent a chunked response it cannot read), except
// that an absolute-form target becomes origin-form and its authority
// replaces the Host field (RFC 9112 §3.2.2). Then come the end-to-end fields
// in order with their original name case, minus hop-by-hop ones (see
// IsHopByHop), then extra, then "Connection: conn" if conn is not empty,
// then the final CRLF. Content-Length is written once, as the parsed
// decimal, so a tolerated "5, 5" or repeated field reaches the next hop as a
// single unambiguous value; likewise all Transfer-Encoding fields become one
// field with lower-case codings (the "TE.TE" obfuscation defence). The
// Upgrade field is kept when conn lists "upgrade". extra and conn are
// written verbatim and must be valid.
func AppendRequest(dst []byte, r *Request, extra []Field, conn []byte) []byte {
	dst = append(dst, r.Method...)
	dst = append(dst, ' ')
	if r.Absolute {
		_, rest := splitAbsolute(r.Target)
		switch {
		case len(rest) == 0 && string(r.Method) == "OPTIONS":
			dst = append(dst, '*') // RFC 9112 §3.2.4
		case len(rest) == 0 || rest[0] == '?':
			dst = append(dst, '/')
		}
		dst = append(dst, rest...)
	} else {
		dst = append(dst, r.Target...)
	}
	dst = append(dst, " HTTP/1."...)
	dst = append(dst, byte('0'+r.Minor), '\r', '\n')
	if r.Absolute {
		dst = appendField(dst, []byte("Host"), r.Host)
	}
	dst = appendFields(dst, r.Fields, r.ContentLength, r.Absolute, conn)
	return appendTail(dst, extra, conn)
}

// AppendResponse is AppendRequest for a response head: the status line as
// received (with a SP before an empty reason), the end-to-end fields, extra,
// "Connection: conn" if conn is not empty, and the final CRLF.
func AppendResponse(dst []byte, r *Response, extra []Field, conn []byte) []byte {
	dst = append(dst, "HTTP/1."...)
	dst = append(dst, byte('0'+r.Minor), ' ')
	dst = strconv.AppendInt(dst, int64(r.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, r.Reason...)
	dst = append(dst, '\r', '\n')
	dst = appendFields(dst, r.Fields, r.ContentLength, false, conn)
	return appendTail(dst, extra, conn)
}

func appendFields(dst []byte, fs []Field, cl int64, dropHost bool, conn []byte) []byte {
	keepUp := hasToken(conn, tokUpgrade)
	// IsHopByHop need only look at the span holding Connection fields.
	lo, hi := len(fs), 0
	for i, f := range fs {
		if eqLower(f.Name, "connection") {
			lo, hi = min(lo, i), i+1
		}
	}
	conns := fs[min(lo, hi):hi]
	clDone, teDone := false, false
	for _, f := range fs {
		switch {
		case IsHopByHop(f.Name, conns, keepUp):
		case dropHost && eqLower(f.Name, "host"):
		case cl >= 0 && eqLower(f.Name, "content-length"):
			if !clDone {
				clDone = true
				dst = append(dst, f.Name...)
				dst = append(dst, ':', ' ')
				dst = strconv.AppendInt(dst, cl, 10)
				dst = append(dst, '\r', '\n')
			}
		case eqLower(f.Name, "transfer-encoding"):
			if !teDone {
				teDone = true
				dst = appendCodings(dst, f.Name, fs)
			}
		default:
			dst = appendField(dst, f.Name, f.Value)
		}
	}
	return dst
}

// appendCodings writes all Transfer-Encoding fields of fs as one field with
// lower-case codings. Hops that read only the first field, or compare
// "chunked" case-sensitively, then still see the framing we validated.
func appendCodings(dst, name []byte, fs []Field) []byte {
	dst = append(dst, name...)
	sep := byte(':')
	for _, f := range fs {
		if !eqLower(f.Name, "transfer-encoding") {
			continue
		}
		for v, more := f.Value, true; more; {
			var e []byte
			e, v, more = cut(v)
			dst = append(dst, sep, ' ')
			for _, c := range e {
				dst = append(dst, lower[c])
			}
			sep = ','
		}
	}
	return append(dst, '\r', '\n')
}

func appendTail(dst []byte, extra []Field, conn []byte) []byte {
	for _, f := range extra {
		dst = appendField(dst, f.Name, f.Value)
	}
	if len(conn) > 0 {
		dst = appendField(dst, []byte("Connection"), conn)
	}
	return append(dst, '\r', '\n')
}

func appendField(dst, name, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	dst = append(dst, value...)
	return append(dst, '\r', '\n')
}
