package tlshello

// Record layer: where the ClientHello lies in a connection's first
// bytes, and its reassembly when it spans records.

const (
	recordHeader  = 5           // type, version, length
	maxRecord     = 1<<14 + 256 // RFC 8446 §5.2: a record's largest length
	typeHandshake = 22
	typeHello     = 1
)

// frame is where a complete ClientHello handshake message lies in b.
type frame struct {
	msgLen  int // the handshake message: 4 header bytes + body
	end     int // bytes of the records that carry it
	records int // how many records carry it
}

// locate walks the record headers of b until the records carry msgLen
// bytes of handshake message, once per record, copying nothing. It
// rejects as soon as the bytes present cannot begin a ClientHello, and
// returns ErrIncomplete while they still can.
func locate(b []byte) (frame, error) {
	var (
		hs   [4]byte // the handshake header, which may span records
		got  int     // handshake bytes seen, before the current record
		need int     // msgLen, once the header is in
		off  int
	)
	for n := 1; ; n++ {
		rl, err := recordAt(b[off:])
		if err != nil {
			return frame{}, err
		}
		end := off + recordHeader + rl
		if end > MaxHello { // first: it needs only the header
			return frame{}, tooLarge("the records carrying the ClientHello run past %d bytes", MaxHello)
		}
		p := b[off+recordHeader:]
		p = p[:min(rl, len(p))]
		for i := 0; got+i < len(hs) && i < len(p); i++ {
			hs[got+i] = p[i]
		}
		if got == 0 && len(p) > 0 && p[0] != typeHello {
			return frame{}, errorf(KindNotClientHello, "the first handshake message has type %d, not ClientHello (1)", p[0])
		}
		if need == 0 && got+len(p) >= len(hs) {
			need = len(hs) + (int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3]))
		}
		if err := fits(need, need-got-rl, end); err != nil {
			return frame{}, err
		}
		if len(p) < rl {
			return frame{}, ErrIncomplete
		}
		off, got = end, got+rl
		if need > 0 && got == need {
			return frame{msgLen: need, end: off, records: n}, nil
		}
	}
}

// fits checks, from the handshake length need (0 while unknown), that
// the ClientHello can still end where it must: within MaxHello bytes of
// records, the last of them carrying nothing after it. rest is the
// bytes of it that must follow the record that ends at end.
func fits(need, rest, end int) error {
	switch {
	case need == 0:
		return nil
	case rest < 0:
		return errorf(KindMalformed, "a record carries %d bytes after the ClientHello", -rest)
	case rest > 0 && end+recordHeader+rest > MaxHello:
		return tooLarge("a ClientHello of %d bytes does not fit in %d bytes of records", need, MaxHello)
	}
	return nil
}

// recordAt checks the record header at the start of b, as much of it as
// has arrived, and returns the record's length once it is all there.
func recordAt(b []byte) (int, error) {
	if len(b) > 0 && b[0] != typeHandshake {
		return 0, errorf(KindRecord, "a record of type %d, not handshake (22), before the ClientHello is complete", b[0])
	}
	if len(b) > 1 && b[1] != 3 {
		return 0, errorf(KindRecord, "record version %d.x, not 3.1 to 3.4", b[1])
	}
	if len(b) > 2 && (b[2] < 1 || b[2] > 4) {
		return 0, errorf(KindRecord, "record version 3.%d, not 3.1 to 3.4", b[2])
	}
	if len(b) < recordHeader {
		return 0, ErrIncomplete
	}
	rl := int(b[3])<<8 | int(b[4])
	if rl == 0 || rl > maxRecord {
		return 0, errorf(KindMalformed, "a handshake record of length %d, not 1 to %d", rl, maxRecord)
	}
	return rl, nil
}

// message returns the handshake message f locates in b: a slice of b
// when one record carries it, else a copy of f.msgLen bytes.
func message(b []byte, f frame) []byte {
	if f.records == 1 {
		return b[recordHeader : recordHeader+f.msgLen]
	}
	m := make([]byte, 0, f.msgLen)
	for off := 0; off < f.end; {
		rl := int(b[off+3])<<8 | int(b[off+4])
		m = append(m, b[off+recordHeader:off+recordHeader+rl]...)
		off += recordHeader + rl
	}
	return m
}
