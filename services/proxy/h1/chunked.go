package h1

// Limits of the chunked scanner. Neither is needed for memory (nothing is
// buffered) but both bound how much framing a peer can make us forward for
// no data, the chunk-extension and trailer abuse behind CVE-2023-39326.
const (
	MaxChunkLine = 1024     // chunk-size plus extensions, CRLF excluded
	MaxTrailer   = 64 << 10 // trailer section including the final CRLF
)

type chunkState uint8

const (
	csSize0      chunkState = iota // first hex digit of a chunk-size
	csSize                         // more digits, ';' or CR
	csExtName0                     // first byte of an extension name
	csExtName                      // name bytes, '=', ';' or CR
	csExtVal0                      // first byte of an extension value
	csExtTok                       // token value
	csQuoted                       // inside a quoted-string value
	csQuotedPair                   // after a backslash
	csQuotedEnd                    // after the closing quote
	csLineLF                       // LF ending the chunk line
	csData                         // chunk data
	csDataCR                       // CR after the data
	csDataLF                       // LF after the data
	csTrailer0                     // start of a trailer line or the final CRLF
	csTrName                       // trailer field name
	csTrValue                      // trailer field value
	csTrLF                         // LF ending a trailer line
	csEndLF                        // LF ending the body
	csDone
)

// Chunked validates a chunked body (RFC 9112 §7.1) as it streams past, so
// the original bytes can be forwarded untouched. The zero value is ready to
// use. It buffers nothing: any split of the input gives the same result.
type Chunked struct {
	st    chunkState
	n     int64    // chunk-size being read, then data bytes left
	line  int      // bytes in the current chunk line
	trail int      // bytes in the trailer section
	nlen  int      // length of the current trailer field name
	name  [17]byte // lower-cased start of it, enough for the forbidden names
	err   error
}

// Reset prepares c for a new body.
func (c *Chunked) Reset() { *c = Chunked{} }

// Scan consumes a prefix of p. n is how many leading bytes of p belong to
// the body; done reports that the body (last-chunk, trailers and the final
// CRLF) ended at p[n-1], so p[n:] is the next message. err is an *Error for
// malformed framing, found at p[n]; it is sticky. When err is nil and !done,
// n == len(p). After done, Scan returns (0, true, nil) until Reset.
func (c *Chunked) Scan(p []byte) (n int, done bool, err error) {
	if c.err != nil {
		return 0, false, c.err
	}
	// The chunk-line states run on locals: with 1-byte chunks nearly every
	// byte is framing, and this loop is what a hostile peer makes us run.
	st, size, line := c.st, c.n, c.line
	i := 0
scan:
	for i < len(p) && st != csDone {
		if st == csData {
			k := int64(len(p) - i)
			if size < k {
				k = size
			}
			i += int(k)
			if size -= k; size == 0 {
				st = csDataCR
			}
			continue
		}
		b := p[i]
		if st < csLineLF {
			if line++; line > MaxChunkLine {
				err = errChunkLine
				break
			}
		}
		switch st {
		case csSize0:
			if class[b]&cHex == 0 {
				err = chunkErr(b, errChunkSize)
				break scan
			}
			size, st = unhex(b), csSize
		case csSize:
			switch {
			case class[b]&cHex != 0:
				// 16 digits at most, and the value must fit int64.
				if line > 16 || size > (1<<63-1)>>4 {
					err = errChunkOverflow
					break scan
				}
				size = size<<4 | unhex(b)
			case b == ';':
				st = csExtName0
			case b == '\r':
				st = csLineLF
			default:
				err = chunkErr(b, errChunkSize)
				break scan
			}
		case csExtName0:
			if !isToken(b) {
				err = chunkErr(b, errChunkExt)
				break scan
			}
			st = csExtName
		case csExtName:
			switch {
			case isToken(b):
			case b == '=':
				st = csExtVal0
			default:
				if st, err = extEnd(b); err != nil {
					break scan
				}
			}
		case csExtVal0:
			switch {
			case b == '"':
				st = csQuoted
			case isToken(b):
				st = csExtTok
			default:
				err = chunkErr(b, errChunkExt)
				break scan
			}
		case csExtTok:
			if !isToken(b) {
				if st, err = extEnd(b); err != nil {
					break scan
				}
			}
		case csQuoted:
			switch {
			case b == '"':
				st = csQuotedEnd
			case b == '\\':
				st = csQuotedPair
			case class[b]&cValue == 0:
				err = chunkErr(b, errChunkExt)
				break scan
			}
		case csQuotedPair:
			if class[b]&cValue == 0 {
				err = chunkErr(b, errChunkExt)
				break scan
			}
			st = csQuoted
		case csQuotedEnd:
			if st, err = extEnd(b); err != nil {
				break scan
			}
		case csLineLF:
			if b != '\n' {
				err = errChunkBareCR
				break scan
			}
			line = 0
			if st = csData; size == 0 {
				st = csTrailer0
			}
		case csDataCR:
			if b != '\r' {
				err = errChunkCRLF
				break scan
			}
			st = csDataLF
		case csDataLF:
			if b != '\n' {
				err = errChunkCRLF
				break scan
			}
			st = csSize0
		default:
			if st, err = c.trailer(st, b); err != nil {
				break scan
			}
		}
		i++
	}
	c.st, c.n, c.line = st, size, line
	if err != nil {
		c.err = err
		return i, false, err
	}
	return i, st == csDone, nil
}

// DataLeft returns how many bytes of chunk data come next before any framing
// byte, 0 when the scanner is inside framing. Those bytes need no
// inspection: copy or splice them and then call Skip.
func (c *Chunked) DataLeft() int64 {
	if c.st == csData && c.err == nil {
		return c.n
	}
	return 0
}

// Skip records that k bytes of chunk data were passed on without Scan. It
// panics if k is negative or more than DataLeft, a caller bug that would
// otherwise desynchronise the framing silently.
func (c *Chunked) Skip(k int64) {
	if k < 0 || k > c.DataLeft() {
		panic("h1: Chunked.Skip beyond DataLeft")
	}
	if k == 0 {
		return
	}
	if c.n -= k; c.n == 0 {
		c.st = csDataCR
	}
}

// trailer advances the trailer-section states over one byte.
func (c *Chunked) trailer(st chunkState, b byte) (chunkState, error) {
	if c.trail++; c.trail > MaxTrailer {
		return st, errTrailerSize
	}
	switch st {
	case csTrailer0:
		switch {
		case b == '\r':
			return csEndLF, nil
		case isToken(b):
			c.nlen = 0
			c.addName(b)
			return csTrName, nil
		case b == ' ' || b == '\t':
			return st, errObsFold
		}
		return st, chunkErr(b, errFieldName)
	case csTrName:
		switch {
		case isToken(b):
			c.addName(b)
			return st, nil
		case b == ':':
			if c.forbidden() {
				return st, errTrailerField
			}
			return csTrValue, nil
		case b == ' ' || b == '\t':
			return st, errNameSpace
		case b == '\r':
			return st, errNoColon
		}
		return st, chunkErr(b, errFieldName)
	case csTrValue:
		switch {
		case b == '\r':
			return csTrLF, nil
		case class[b]&cValue == 0:
			return st, chunkErr(b, errFieldValue)
		}
		return st, nil
	case csTrLF:
		if b != '\n' {
			return st, errChunkBareCR
		}
		return csTrailer0, nil
	}
	// csEndLF
	if b != '\n' {
		return st, errChunkBareCR
	}
	return csDone, nil
}

// extEnd handles the byte after a complete extension name or value.
func extEnd(b byte) (chunkState, error) {
	switch b {
	case ';':
		return csExtName0, nil
	case '\r':
		return csLineLF, nil
	}
	return 0, chunkErr(b, errChunkExt)
}

func (c *Chunked) addName(b byte) {
	if c.nlen < len(c.name) {
		c.name[c.nlen] = lower[b]
	}
	c.nlen++
}

// forbidden reports a trailer field that would change framing or routing if
// a downstream merged trailers into the header section (RFC 9110 §6.5.1).
func (c *Chunked) forbidden() bool {
	if c.nlen > len(c.name) {
		return false
	}
	switch string(c.name[:c.nlen]) {
	case "content-length", "transfer-encoding", "host":
		return true
	}
	return false
}

// chunkErr reports a bare LF as such and anything else as def.
func chunkErr(b byte, def *Error) error {
	if b == '\n' {
		return errChunkBareLF
	}
	return def
}

func unhex(b byte) int64 {
	switch {
	case b <= '9':
		return int64(b - '0')
	case b >= 'a':
		return int64(b - 'a' + 10)
	}
	return int64(b - 'A' + 10)
}
