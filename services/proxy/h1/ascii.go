package h1

import (
	"bytes"
	"encoding/binary"

	"tprouter/internal/ascii"
)

// Byte classes, looked up by table so the hot loops stay branch-light.
const (
	cToken = 1 << iota // tchar, RFC 9110 §5.6.2
	cValue             // field-vchar / SP / HTAB / obs-text, RFC 9110 §5.5
	cHex               // HEXDIG
	cHost              // reg-name byte we accept in Host (see validHost)
)

var class = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if c == '\t' || c >= 0x20 && c != 0x7f {
			t[c] |= cValue
		}
		if ascii.IsTchar(byte(c)) {
			t[c] |= cToken
		}
	}
	for c := '0'; c <= '9'; c++ {
		t[c] |= cHex | cHost
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= cHost
		t[c-32] |= cHost
	}
	for _, c := range []byte("abcdefABCDEF") {
		t[c] |= cHex
	}
	for _, c := range []byte("-._~") {
		t[c] |= cHost
	}
	return t
}()

func isToken(c byte) bool { return class[c]&cToken != 0 }

// lower is ascii.Lower as a table.
var lower = func() (t [256]byte) {
	for c := range t {
		t[c] = ascii.Lower(byte(c))
	}
	return t
}()

// eqLower reports whether b equals lit, a lower-case literal, ignoring
// ASCII case in b: ascii.EqualFold with one side folded already and the
// other folded by table, for the field names of every head.
func eqLower(b []byte, lit string) bool {
	if len(b) != len(lit) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower[b[i]] != lit[i] {
			return false
		}
	}
	return true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// cut splits the first element off a comma-separated list (RFC 9110 §5.6.1).
// more is false once elem was the last element, so "a," yields "a" then ""
// and callers can tell an empty trailing element from the end of the list.
func cut(v []byte) (elem, rest []byte, more bool) {
	i := bytes.IndexByte(v, ',')
	if i < 0 {
		return trimOWS(v), nil, false
	}
	return trimOWS(v[:i]), v[i+1:], true
}

// List elements looked for in Expect and Connection.
var (
	tok100Continue = []byte("100-continue")
	tokUpgrade     = []byte("upgrade")
)

// hasToken reports whether the list v contains tok, ignoring ASCII case.
func hasToken(v, tok []byte) bool {
	for more := true; more; {
		var e []byte
		e, v, more = cut(v)
		if ascii.EqualFold(e, tok) {
			return true
		}
	}
	return false
}

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// valueEnd returns the index of the first byte at or after i that cannot
// appear in a field value (a CTL other than HTAB, or DEL), or len(b). Eight
// bytes at a time: a word passes when no byte is < 0x20 and none is 0x7f.
func valueEnd(b []byte, i int) int {
	for {
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			d := x ^ (lo8 * 0x7f)
			if ((x-lo8*0x20)&^x|(d-lo8)&^d)&hi8 != 0 {
				break
			}
			i += 8
		}
		for end := min(i+8, len(b)); i < end; i++ {
			if class[b[i]]&cValue == 0 {
				return i
			}
		}
		if i == len(b) {
			return i
		}
	}
}

// targetEnd returns the index of the first byte at or after i that cannot
// appear in a request-target: CTL, SP, DEL, non-ASCII or '#', or len(b).
func targetEnd(b []byte, i int) int {
	for {
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			d := x ^ (lo8 * 0x7f)
			h := x ^ (lo8 * '#')
			if ((x-lo8*0x21)&^x|(d-lo8)&^d|(h-lo8)&^h|x)&hi8 != 0 {
				break
			}
			i += 8
		}
		for end := min(i+8, len(b)); i < end; i++ {
			if c := b[i]; c <= ' ' || c >= 0x7f || c == '#' {
				return i
			}
		}
		if i == len(b) {
			return i
		}
	}
}

// validHost reports whether v is uri-host [":" port] as we accept it in Host
// fields, absolute-form authorities and CONNECT targets. It is stricter than
// RFC 3986 on purpose: a reg-name may hold only ALPHA, DIGIT and "-._~";
// sub-delims, pct-encoding and userinfo ('@') are rejected because no DNS
// name needs them and each one lets two parsers disagree about the host (an
// ACL or route keyed on Host must see the same name the origin sees). An
// IP-literal is "[" hex digits, ':' and '.' "]". The port, when present, is
// 1-5 digits <= 65535; needPort demands one (authority-form, RFC 9112 §3.2.3).
func validHost(v []byte, needPort bool) bool {
	i := 0
	if len(v) > 0 && v[0] == '[' {
		j := bytes.IndexByte(v, ']')
		if j < 3 {
			return false
		}
		colons := 0
		for _, c := range v[1:j] {
			switch {
			case c == ':':
				colons++
			case c == '.' || class[c]&cHex != 0:
			default:
				return false
			}
		}
		if colons < 2 {
			return false
		}
		i = j + 1
	} else {
		for i < len(v) && class[v[i]]&cHost != 0 {
			i++
		}
		if i == 0 {
			return false
		}
	}
	if i == len(v) {
		return !needPort
	}
	if v[i] != ':' {
		return false
	}
	p := v[i+1:]
	if len(p) == 0 || len(p) > 5 {
		return false
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}
