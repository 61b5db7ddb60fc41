package h1

import "tprouter/internal/ascii"

// Field is one field line. Name and Value are slices of the parsed buffer
// (they alias it: copy them before the buffer is reused). Value has leading
// and trailing OWS removed.
type Field struct{ Name, Value []byte }

// MaxFields caps the field lines in one head; more is ErrHeadTooLarge. Like
// HAProxy's tune.http.maxhdr it bounds the memory of Fields and the work
// done per head independently of the byte limit.
const MaxFields = 256

// parseFields parses field lines from b[i:] up to and including the empty
// line that ends the section, appending them to fs. It returns the index
// just past the final CRLF. Every decision depends only on bytes already
// seen, so a prefix of a bad head fails the same way or needs more.
func parseFields(b []byte, i int, fs []Field) ([]Field, int, error) {
	for {
		if i >= len(b) {
			return fs, i, errNeedMore
		}
		switch b[i] {
		case '\r':
			if i+1 >= len(b) {
				return fs, i, errNeedMore
			}
			if b[i+1] != '\n' {
				return fs, i, errBareCR
			}
			return fs, i + 2, nil
		case '\n':
			return fs, i, errBareLF
		case ' ', '\t':
			// obs-fold, or whitespace before the first field line
			// (RFC 9112 §2.2, §5.2): both are smuggling vectors.
			return fs, i, errObsFold
		}
		if len(fs) == MaxFields {
			return fs, i, ErrHeadTooLarge
		}
		s := i
		for i < len(b) && isToken(b[i]) {
			i++
		}
		if i >= len(b) {
			return fs, i, errNeedMore
		}
		if c := b[i]; c != ':' {
			switch {
			case c == ' ' || c == '\t':
				return fs, i, errNameSpace
			case c == '\n':
				return fs, i, errBareLF
			case c == '\r':
				return fs, i, errNoColon
			}
			return fs, i, errFieldName
		}
		if i == s {
			return fs, i, errFieldName
		}
		name := b[s:i]
		i++
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		s = i
		i = valueEnd(b, i)
		if i >= len(b) {
			return fs, i, errNeedMore
		}
		switch b[i] {
		case '\r':
		case '\n':
			return fs, i, errBareLF
		default:
			return fs, i, errFieldValue
		}
		if i+1 >= len(b) {
			return fs, i, errNeedMore
		}
		if b[i+1] != '\n' {
			return fs, i, errBareCR
		}
		e := i
		for e > s && (b[e-1] == ' ' || b[e-1] == '\t') {
			e--
		}
		fs = append(fs, Field{Name: name, Value: b[s:e]})
		i += 2
	}
}

// meta is what the framing, routing and connection fields of one head say.
type meta struct {
	cl        int64 // -1 when absent
	te        bool  // Transfer-Encoding present
	chunked   bool  // chunked seen (and so, once valid, the final coding)
	close     bool  // Connection: close
	keepAlive bool  // Connection: keep-alive
	upTok     bool  // Connection: upgrade
	upgrade   bool  // Upgrade field present
	expect100 bool  // Expect: 100-continue
	hosts     int
	host      []byte
}

// scan fills m from fs and rejects malformed framing fields. Rules that
// differ between requests and responses are left to the callers.
func (m *meta) scan(fs []Field) error {
	m.cl = -1
	for _, f := range fs {
		n, v := f.Name, f.Value
		switch len(n) {
		case 4:
			if eqLower(n, "host") {
				m.hosts++
				m.host = v
			}
		case 6:
			if eqLower(n, "expect") && hasToken(v, tok100Continue) {
				m.expect100 = true
			}
		case 7:
			if eqLower(n, "upgrade") {
				m.upgrade = true
			}
		case 10:
			if eqLower(n, "connection") {
				if err := m.connection(v); err != nil {
					return err
				}
			}
		case 14:
			if eqLower(n, "content-length") {
				if err := m.contentLength(v); err != nil {
					return err
				}
			}
		case 17:
			if eqLower(n, "transfer-encoding") {
				if err := m.transferEncoding(v); err != nil {
					return err
				}
			}
		}
	}
	if m.cl >= 0 && m.te {
		// RFC 9112 §6.1 lets a server pick TE, but forwarding such a
		// message is exactly CL.TE / TE.CL smuggling: refuse it.
		return errCLTE
	}
	return nil
}

// contentLength accepts 1*DIGIT (at most 18, so it fits int64) or a list of
// identical values (RFC 9110 §8.6); anything else, including an empty
// element, a sign or inner spaces, is an error.
func (m *meta) contentLength(v []byte) error {
	for more := true; more; {
		var e []byte
		e, v, more = cut(v)
		if len(e) == 0 || len(e) > 18 {
			return errCL
		}
		var n int64
		for _, c := range e {
			if c < '0' || c > '9' {
				return errCL
			}
			n = n*10 + int64(c-'0')
		}
		if m.cl >= 0 && m.cl != n {
			return errCLConflict
		}
		m.cl = n
	}
	return nil
}

// transferEncoding walks the coding list, which continues across repeated
// fields. Each element must be a token; chunked may appear once and only
// last. Unknown codings before chunked are fine: we forward them untouched.
func (m *meta) transferEncoding(v []byte) error {
	m.te = true
	for more := true; more; {
		var e []byte
		e, v, more = cut(v)
		switch {
		case len(e) == 0:
			return errTEEmpty
		case !ascii.IsToken(e):
			return errTE
		case m.chunked && eqLower(e, "chunked"):
			return errTETwice
		case m.chunked:
			return errTENotLast
		}
		m.chunked = eqLower(e, "chunked")
	}
	return nil
}

// connection records the options we act on. Empty elements are ignored
// (RFC 9110 §5.6.1); a non-token is an error because the options decide
// which fields get stripped.
func (m *meta) connection(v []byte) error {
	for more := true; more; {
		var e []byte
		e, v, more = cut(v)
		switch {
		case len(e) == 0:
		case !ascii.IsToken(e):
			return errConnection
		case eqLower(e, "close"):
			m.close = true
		case eqLower(e, "keep-alive"):
			m.keepAlive = true
		case eqLower(e, "upgrade"):
			m.upTok = true
		}
	}
	return nil
}

// persistent applies RFC 9112 §9.3: close wins; 1.1 defaults to persistent;
// 1.0 only with keep-alive.
func (m *meta) persistent(minor int) bool {
	if m.close {
		return false
	}
	return minor == 1 || m.keepAlive
}
