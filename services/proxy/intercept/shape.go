package intercept

import (
	"bytes"

	"tprouter/services/proxy/tlshello"
)

// shape is what the first bytes of a connection look like.
type shape int

const (
	shapeUnknown shape = iota // too few bytes to tell
	shapeHTTP                 // could start an HTTP request under some reading: parsed, maybe 400
	shapeOther                // could not: Server.Unknown decides
	shapeTLS                  // a TLS handshake record: peek and splice (tls.go)
)

// maxMethod bounds the first token. Real methods are short; a longer run
// without a separator is some other protocol.
const maxMethod = 32

var (
	crlf      = []byte("\r\n")
	httpSlash = []byte("HTTP/")
	sshPrefix = []byte("SSH-")
)

// classify tells HTTP from other protocols on an intercepted port (see
// "Reading a request head" in docs/proxy.md). Every byte relayed unparsed
// escapes the log and the rules, so "other" means bytes that could not
// start an HTTP request under any reading, however lenient: after the
// empty lines (CRLF) a server may skip, the first line ends (CRLF) or
// maxMethod+1 bytes pass with no separator a reader could split a method
// at (SP, HTAB, a bare LF or CR) and no "HTTP/". Anything else is HTTP,
// and h1 answers it 400 when it is malformed (a control byte in the
// method, HTTP/0.9). It decides on the first bytes that can, without
// waiting for a line end, except for an SSH banner (sshShape). limit is
// the head size limit.
func classify(b []byte, limit int) shape {
	if tlshello.IsRecordStart(b) {
		return shapeTLS
	}
	for bytes.HasPrefix(b, crlf) {
		b = b[2:]
	}
	if bytes.HasPrefix(b, sshPrefix) {
		return sshShape(b, limit)
	}
	for j := 0; j < len(b) && j <= maxMethod; j++ {
		switch b[j] {
		case ' ', '\t', '\n':
			return shapeHTTP // a bare LF: some read it as a space, some as a line end
		case '\r':
			switch {
			case j+1 == len(b):
				return shapeUnknown
			case b[j+1] != '\n':
				return shapeHTTP // a bare CR, as a bare LF
			case bytes.Contains(b[:j], httpSlash):
				return shapeHTTP
			}
			return shapeOther // the first line ended without a separator
		}
	}
	if bytes.Contains(b[:min(len(b), maxMethod+1)], httpSlash) {
		return shapeHTTP
	}
	if len(b) > maxMethod {
		return shapeOther
	}
	return shapeUnknown
}

// sshShape classifies a first line starting "SSH-". An SSH client sends
// its banner first, "SSH-2.0-software SP comments CRLF" (RFC 4253 §4.2),
// and OpenSSH's has a comment: read as HTTP it would be an HTTP/0.9 line
// with an unknown method, which no server accepts (HTTP/0.9 knows only
// GET). So a whole printable line without "HTTP/" is SSH; anything else in
// it (a control byte, a bare LF, no line end within limit) is HTTP.
func sshShape(b []byte, limit int) shape {
	j := bytes.IndexByte(b, '\n')
	switch {
	case j < 0 && len(b) < limit:
		return shapeUnknown
	case j < 1 || b[j-1] != '\r' || bytes.Contains(b[:j], httpSlash):
		return shapeHTTP
	}
	for _, c := range b[:j-1] {
		if c < ' ' || c > '~' {
			return shapeHTTP
		}
	}
	return shapeOther
}
