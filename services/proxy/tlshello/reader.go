package tlshello

// reader reads the big-endian integers and length-prefixed vectors of
// TLS's presentation language (RFC 8446 §3). A read past the end sets
// bad and yields zeros, so a parse checks bad once per structure.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) empty() bool { return len(r.b) == 0 }

// take returns the next n bytes.
func (r *reader) take(n int) []byte {
	if n > len(r.b) {
		r.bad = true
		r.b = nil
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) u8() int {
	p := r.take(1)
	if p == nil {
		return 0
	}
	return int(p[0])
}

func (r *reader) u16() int {
	p := r.take(2)
	if p == nil {
		return 0
	}
	return int(p[0])<<8 | int(p[1])
}

func (r *reader) u24() int {
	p := r.take(3)
	if p == nil {
		return 0
	}
	return int(p[0])<<16 | int(p[1])<<8 | int(p[2])
}

// vec8 and vec16 return the vector that a 1- or 2-byte length prefixes.
func (r *reader) vec8() reader  { return r.sub(r.u8()) }
func (r *reader) vec16() reader { return r.sub(r.u16()) }

func (r *reader) sub(n int) reader {
	if r.bad {
		return reader{bad: true}
	}
	p := r.take(n)
	return reader{b: p, bad: p == nil && n > 0}
}
