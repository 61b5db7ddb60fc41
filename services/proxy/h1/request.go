package h1

// DefaultMaxHead is a sensible head limit to pass to ParseRequest and
// ParseResponse (Squid and HAProxy use similar defaults).
const DefaultMaxHead = 64 << 10

// maxLeadingEmpty is how many empty lines may precede a request line; RFC
// 9112 §2.2 says to ignore "at least one", clients send at most one or two
// after a body.
const maxLeadingEmpty = 4

// Request is a parsed request head. All byte slices alias the parsed buffer.
type Request struct {
	Method, Target []byte
	Minor          int     // HTTP/1.Minor: 0 or 1
	Fields         []Field // in order; reused across parses
	// Host is the routing authority: the target of a CONNECT, the
	// authority of an absolute-form target (RFC 9112 §3.2.2: the Host field
	// is then ignored and AppendRequest rewrites it), else the value of the
	// single Host field. Nil when absent (HTTP/1.0 only). A Host field
	// present is always validated, even when it is not used.
	Host           []byte
	ContentLength  int64 // -1 when absent
	Chunked        bool  // Transfer-Encoding ends in chunked
	KeepAlive      bool  // RFC 9112 §9.3, from the client's point of view
	ExpectContinue bool  // Expect: 100-continue (HTTP/1.1 only, RFC 9110 §10.1.1)
	Upgrade        bool  // Connection: upgrade and an Upgrade field (HTTP/1.1 only)
	Absolute       bool  // Target is absolute-form (http://authority/...)
	HeadLen        int   // bytes of the head from buf[0] through the final CRLFCRLF
}

// Reset clears r for reuse, keeping the capacity of Fields.
func (r *Request) Reset() {
	*r = Request{Fields: r.Fields[:0], ContentLength: -1}
}

// Body reports how the request body is framed. Requests are never read
// until close (RFC 9112 §6.3): no framing means no body. A zero
// Content-Length is BodyNone, so BodyLength always has ContentLength > 0.
func (r *Request) Body() BodyKind {
	switch {
	case r.Chunked:
		return BodyChunked
	case r.ContentLength > 0:
		return BodyLength
	}
	return BodyNone
}

// ParseRequest parses one request head at the start of buf into r (which it
// resets first). It returns ErrIncomplete when buf does not yet hold a whole
// head and len(buf) < max, ErrHeadTooLarge when no complete head is within
// max bytes, or an *Error. Malformed bytes are reported as soon as they are
// seen, before the head is complete. On success the head is
// buf[:r.HeadLen]; any bytes after it are body or a pipelined request.
// r is meaningful only when the error is nil.
func ParseRequest(buf []byte, max int, r *Request) error {
	r.Reset()
	return within(buf, max, func(b []byte) error { return parseRequest(b, r) })
}

// within runs parse on at most max bytes of buf and turns its errNeedMore
// into ErrIncomplete, or into ErrHeadTooLarge when max bytes were there.
func within(buf []byte, max int, parse func([]byte) error) error {
	b := buf
	if max < 0 {
		max = 0
	}
	if len(b) > max {
		b = b[:max]
	}
	err := parse(b)
	if err == errNeedMore {
		if len(buf) >= max {
			return ErrHeadTooLarge
		}
		return ErrIncomplete
	}
	return err
}

func parseRequest(b []byte, r *Request) error {
	i, err := skipEmptyLines(b)
	if err != nil {
		return err
	}
	if i, err = r.parseLine(b, i); err != nil {
		return err
	}
	if r.Fields, i, err = parseFields(b, i, r.Fields); err != nil {
		return err
	}
	r.HeadLen = i
	var m meta
	if err := m.scan(r.Fields); err != nil {
		return err
	}
	return r.frame(&m)
}

// skipEmptyLines skips the empty lines a request may follow (RFC 9112
// §2.2), at most maxLeadingEmpty of them, and returns where the request
// line starts.
func skipEmptyLines(b []byte) (int, error) {
	i := 0
	for n := 0; ; n++ {
		if i >= len(b) {
			return 0, errNeedMore
		}
		if b[i] == '\n' {
			return 0, errBareLF
		}
		if b[i] != '\r' {
			return i, nil
		}
		if i+1 >= len(b) {
			return 0, errNeedMore
		}
		if b[i+1] != '\n' {
			return 0, errBareCR
		}
		if n == maxLeadingEmpty {
			return 0, errLeadingEmpty
		}
		i += 2
	}
}

// parseLine parses the request line at b[i:] into r's Method, Target
// and Minor, and returns where the fields start.
func (r *Request) parseLine(b []byte, i int) (int, error) {
	s := i
	for i < len(b) && isToken(b[i]) {
		i++
	}
	if i >= len(b) {
		return 0, errNeedMore
	}
	if b[i] != ' ' || i == s {
		return 0, lineErr(b[i], errMethod)
	}
	r.Method = b[s:i]
	i++

	s = i
	i = targetEnd(b, i)
	if i >= len(b) {
		return 0, errNeedMore
	}
	if b[i] != ' ' {
		return 0, lineErr(b[i], errTarget)
	}
	if i == s {
		return 0, errRequestLine // two SPs, or nothing between them
	}
	r.Target = b[s:i]
	if err := r.checkTarget(); err != nil {
		return 0, err
	}
	i++

	minor, i, err := version(b, i)
	if err != nil {
		return 0, err
	}
	r.Minor = minor
	return crlf(b, i, errVersion)
}

// frame checks the fields that decide r's host and framing (m) against
// each other and sets r's Host, ContentLength, Chunked, KeepAlive,
// ExpectContinue and Upgrade from them.
func (r *Request) frame(m *meta) error {
	minor := r.Minor
	switch {
	case m.hosts > 1:
		return errHostDup
	case m.hosts == 0 && minor == 1:
		return errHostMissing
	case m.hosts == 1 && !validHost(m.host, false):
		return errHost
	case m.te && minor == 0:
		// RFC 9112 §6.1: a 1.0 message with TE was likely forwarded by
		// something that did not understand chunked; its framing is faulty.
		return errTE10
	case m.te && !m.chunked:
		return errTENotChunk // RFC 9112 §6.3 item 4: length unknowable
	case string(r.Method) == "CONNECT" && (m.te || m.cl > 0):
		// Bytes after a CONNECT head are tunnel data (RFC 9110 §9.3.6);
		// a body would be read differently by different hops.
		return errConnectBody
	}
	if r.Host == nil {
		r.Host = m.host
	}
	r.ContentLength = m.cl
	r.Chunked = m.chunked
	r.KeepAlive = m.persistent(minor)
	r.ExpectContinue = m.expect100 && minor == 1
	r.Upgrade = m.upTok && m.upgrade && minor == 1
	return nil
}

// lineErr picks the reason for an unexpected byte c in a start line.
func lineErr(c byte, def *Error) error {
	if c == '\n' {
		return errBareLF
	}
	return def
}

// version parses exactly "HTTP/1.0" or "HTTP/1.1" at b[i:].
func version(b []byte, i int) (minor, next int, err error) {
	const proto = "HTTP/1."
	for k := 0; k < len(proto); k++ {
		if i+k >= len(b) {
			return 0, i, errNeedMore
		}
		if b[i+k] != proto[k] {
			return 0, i, errVersion
		}
	}
	i += len(proto)
	if i >= len(b) {
		return 0, i, errNeedMore
	}
	if c := b[i]; c != '0' && c != '1' {
		return 0, i, errVersion
	}
	return int(b[i] - '0'), i + 1, nil
}

// crlf expects CRLF at b[i:], reporting def for any other byte.
func crlf(b []byte, i int, def *Error) (int, error) {
	if i >= len(b) {
		return i, errNeedMore
	}
	switch b[i] {
	case '\r':
	case '\n':
		return i, errBareLF
	default:
		return i, def
	}
	if i+1 >= len(b) {
		return i, errNeedMore
	}
	if b[i+1] != '\n' {
		return i, errBareCR
	}
	return i + 2, nil
}

// checkTarget enforces RFC 9112 §3.2: authority-form only with CONNECT,
// asterisk-form only with OPTIONS, absolute-form only for http.
func (r *Request) checkTarget() error {
	t := r.Target
	switch {
	case string(r.Method) == "CONNECT":
		if !validHost(t, true) {
			return errConnect
		}
		r.Host = t
	case t[0] == '/':
	case len(t) == 1 && t[0] == '*':
		if string(r.Method) != "OPTIONS" {
			return errAsterisk
		}
	case len(t) >= 7 && eqLower(t[:7], "http://"):
		a, _ := splitAbsolute(t)
		if !validHost(a, false) {
			return errTarget
		}
		r.Absolute = true
		r.Host = a
	default:
		return errTarget
	}
	return nil
}

// splitAbsolute splits an absolute-form "http://" target into its authority
// and the path-abempty [ "?" query ] that follows it.
func splitAbsolute(t []byte) (authority, rest []byte) {
	t = t[len("http://"):]
	for i, c := range t {
		if c == '/' || c == '?' {
			return t[:i], t[i:]
		}
	}
	return t, nil
}
