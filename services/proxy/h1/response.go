package h1

// BodyKind says how the body that follows a head is framed.
type BodyKind int

const (
	BodyNone       BodyKind = iota // no body: the next message starts at HeadLen
	BodyLength                     // exactly ContentLength (> 0) bytes
	BodyChunked                    // chunked; feed it through a Chunked scanner
	BodyUntilClose                 // response only: everything until the server closes
)

func (k BodyKind) String() string {
	switch k {
	case BodyNone:
		return "none"
	case BodyLength:
		return "length"
	case BodyChunked:
		return "chunked"
	case BodyUntilClose:
		return "until-close"
	}
	return "BodyKind(?)"
}

// Response is a parsed response head. All byte slices alias the parsed buffer.
type Response struct {
	Minor         int // HTTP/1.Minor: 0 or 1
	Status        int // 100-999
	Reason        []byte
	Fields        []Field // in order; reused across parses
	ContentLength int64   // -1 when absent
	Chunked       bool    // Transfer-Encoding ends in chunked
	// KeepAlive is what the fields say (RFC 9112 §9.3). The connection must
	// still be closed after a BodyUntilClose body.
	KeepAlive bool
	HeadLen   int // bytes of the head through the final CRLFCRLF

	te bool // Transfer-Encoding present (not ending in chunked: until close)
}

// Reset clears r for reuse, keeping the capacity of Fields.
func (r *Response) Reset() {
	*r = Response{Fields: r.Fields[:0], ContentLength: -1}
}

// Body reports how the response body is framed (RFC 9112 §6.3), given the
// method of the request it answers (methods are case-sensitive). A zero
// Content-Length is BodyNone. BodyUntilClose also means the connection
// cannot be reused.
func (r *Response) Body(reqMethod []byte) BodyKind {
	switch {
	case string(reqMethod) == "HEAD", r.Status < 200, r.Status == 204, r.Status == 304:
		return BodyNone
	case r.Status < 300 && string(reqMethod) == "CONNECT":
		return BodyNone // the connection is a tunnel now
	case r.Chunked:
		return BodyChunked
	case r.te:
		return BodyUntilClose // RFC 9112 §6.3 item 4
	case r.ContentLength == 0:
		return BodyNone
	case r.ContentLength > 0:
		return BodyLength
	}
	return BodyUntilClose
}

// ParseResponse parses one response head at the start of buf into r, with
// the same contract as ParseRequest. Interim (1xx) responses parse like any
// other; the caller loops until a final status.
func ParseResponse(buf []byte, max int, r *Response) error {
	r.Reset()
	return within(buf, max, func(b []byte) error { return parseResponse(b, r) })
}

func parseResponse(b []byte, r *Response) error {
	minor, i, err := version(b, 0)
	if err != nil {
		return err
	}
	r.Minor = minor
	if i >= len(b) {
		return errNeedMore
	}
	if b[i] != ' ' {
		return lineErr(b[i], errStatusLine)
	}
	i++
	st := 0
	for k := 0; k < 3; k++ {
		if i >= len(b) {
			return errNeedMore
		}
		c := b[i]
		if c < '0' || c > '9' {
			return errStatus
		}
		st = st*10 + int(c-'0')
		i++
	}
	if st < 100 {
		return errStatus
	}
	r.Status = st
	if i >= len(b) {
		return errNeedMore
	}
	switch b[i] {
	case ' ':
		i++
		s := i
		i = valueEnd(b, i)
		if i >= len(b) {
			return errNeedMore
		}
		r.Reason = b[s:i]
		if i, err = crlf(b, i, errReason); err != nil {
			return err
		}
	case '\r':
		// Tolerated: "HTTP/1.1 200\r\n" (no SP before an empty reason).
		r.Reason = b[i:i]
		if i, err = crlf(b, i, errStatusLine); err != nil {
			return err
		}
	default:
		return lineErr(b[i], errStatusLine)
	}

	if r.Fields, i, err = parseFields(b, i, r.Fields); err != nil {
		return err
	}
	r.HeadLen = i

	var m meta
	if err := m.scan(r.Fields); err != nil {
		return err
	}
	if m.te && minor == 0 {
		return errTE10 // RFC 9112 §6.1: faulty framing, refuse (502)
	}
	r.ContentLength = m.cl
	r.Chunked = m.chunked
	r.te = m.te && !m.chunked
	r.KeepAlive = m.persistent(minor)
	return nil
}
