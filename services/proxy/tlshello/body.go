package tlshello

// The ClientHello's fields (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2).

// parseMessage parses a whole handshake message m, already known to be
// a ClientHello of len(m)-4 body bytes.
func parseMessage(m []byte) (*Hello, error) {
	r := reader{b: m[4:]}
	legacy := r.u16()
	r.take(32) // random
	sid := r.vec8()
	suites := r.vec16()
	comp := r.vec8()
	if r.bad {
		return nil, errorf(KindMalformed, "a ClientHello of %d bytes ends inside its fixed fields", len(m))
	}
	switch {
	case len(sid.b) > 32:
		return nil, errorf(KindMalformed, "a session_id of %d bytes, over 32", len(sid.b))
	case len(suites.b) < 2 || len(suites.b)%2 != 0:
		return nil, errorf(KindMalformed, "cipher_suites of %d bytes, not an even number of at least 2", len(suites.b))
	case comp.empty():
		return nil, errorf(KindMalformed, "no compression methods")
	}
	h := &Hello{}
	if !r.empty() { // TLS 1.2 lets a ClientHello end with no extensions
		exts := r.vec16()
		if exts.bad || !r.empty() {
			return nil, errorf(KindMalformed, "the extensions' length does not match the %d bytes after compression_methods", len(exts.b)+len(r.b))
		}
		if err := h.extensions(exts); err != nil {
			return nil, err
		}
	}
	if h.Versions == nil {
		h.Versions = []uint16{uint16(legacy)}
	}
	return h, nil
}
