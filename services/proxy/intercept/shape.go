package intercept

import (
	"bytes"

	"tprouter/internal/ascii"
	"tprouter/services/proxy/tlshello"
)

// shape is what the first bytes of a connection look like.
type shape int

const (
	shapeUnknown shape = iota // too few bytes to tell
	shapeHTTP                 // "METHOD SP ... HTTP/": HTTP, maybe malformed
	shapeOther                // not HTTP/1 at all: Server.Unknown decides
	shapeTLS                  // a TLS handshake record: peek and splice (tls.go)
)

// maxMethod bounds the first token. Real methods are short; a longer run
// of token characters is some other protocol.
const maxMethod = 32

// classify tells HTTP from other protocols on an intercepted port (see
// "Reading a request head" in docs/proxy.md): a method token, a space (or,
// malformed, a tab) and a line that names HTTP/, after the empty lines the
// parser skips. It decides at the end of the first line.
func classify(b []byte, limit int) shape {
	if tlshello.IsRecordStart(b) {
		return shapeTLS
	}
	i := 0
	for i < len(b) && i < 8 && (b[i] == '\r' || b[i] == '\n') {
		i++
	}
	s := i
	for i < len(b) && i-s <= maxMethod && ascii.IsTchar(b[i]) {
		i++
	}
	switch {
	case i-s > maxMethod:
		return shapeOther
	case i == len(b):
		return shapeUnknown
	case i == s || b[i] != ' ' && b[i] != '\t':
		return shapeOther
	}
	line := b[i:]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	} else if len(b) < limit {
		return shapeUnknown
	}
	if bytes.Contains(line, []byte("HTTP/")) {
		return shapeHTTP
	}
	if len(line) == len(b[i:]) {
		return shapeHTTP // head limit reached in the first line: 431
	}
	return shapeOther
}
