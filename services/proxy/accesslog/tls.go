package accesslog

import (
	"fmt"
	"strings"
)

// Format is a layout of the access log line.
type Format int

const (
	// FormatSquid is Squid's native line (Append), the default.
	FormatSquid Format = iota
	// FormatTLS is the native line and three more fields, as a Squid
	// logformat "... %ssl::>sni" would give: the SNI (or -), the ALPN
	// protocols comma-joined (or -), and ECH offered 1 or 0 (- when the
	// connection was not TLS). Analyzers that split on spaces and read
	// the first ten fields still read it.
	FormatTLS
)

// String returns the format's flag value.
func (f Format) String() string {
	if f == FormatTLS {
		return "tls"
	}
	return "squid"
}

// Set makes *f the format s names, for a flag.
func (f *Format) Set(s string) error {
	g, err := ParseFormat(s)
	if err == nil {
		*f = g
	}
	return err
}

// ParseFormat reads a flag value: "squid" or "tls".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "squid":
		return FormatSquid, nil
	case "tls":
		return FormatTLS, nil
	}
	return 0, fmt.Errorf("access log format %q: want squid or tls", s)
}

// ECH is whether a TLS client offered Encrypted Client Hello.
type ECH int8

const (
	ECHNone    ECH = iota // not a TLS connection (or no ClientHello): "-"
	ECHAbsent             // a ClientHello without ECH: "0"
	ECHOffered            // a ClientHello with an encrypted_client_hello extension: "1"
)

// AppendTLS appends e's line in FormatTLS, with its trailing newline.
func AppendTLS(b []byte, e *Entry) []byte {
	b = Append(b, e)
	b = b[:len(b)-1]
	b = append(b, ' ')
	b = appendField(b, e.SNI)
	b = append(b, ' ')
	if len(e.ALPN) == 0 {
		b = append(b, '-')
	}
	for i, p := range e.ALPN {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendProto(b, p)
	}
	switch e.ECH {
	case ECHAbsent:
		b = append(b, " 0"...)
	case ECHOffered:
		b = append(b, " 1"...)
	default:
		b = append(b, " -"...)
	}
	return append(b, '\n')
}

// appendProto writes an ALPN protocol name (any bytes, RFC 7301) escaped
// as appendField does, and also ',' (the list separator) and '%', so that
// the field splits back into the names as sent. An empty name is "%".
func appendProto(b []byte, p string) []byte {
	const hex = "0123456789ABCDEF"
	if p == "" {
		return append(b, '%')
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= ' ' || c >= 0x7f || c == ',' || c == '%' {
			b = append(b, '%', hex[c>>4], hex[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}

// parseTLS reads FormatTLS's three fields into e.
func parseTLS(e *Entry, f []string) error {
	if f[0] != "-" {
		e.SNI = f[0]
	}
	if f[1] != "-" {
		e.ALPN = strings.Split(f[1], ",")
		for i, p := range e.ALPN {
			if u, ok := unescape(p); ok {
				e.ALPN[i] = u
			} else {
				return fmt.Errorf("accesslog: ALPN %q: bad escape", f[1])
			}
		}
	}
	switch f[2] {
	case "-":
	case "0":
		e.ECH = ECHAbsent
	case "1":
		e.ECH = ECHOffered
	default:
		return fmt.Errorf("accesslog: ECH %q: want 1, 0 or -", f[2])
	}
	return nil
}

// unescape undoes appendProto.
func unescape(s string) (string, bool) {
	if s == "%" {
		return "", true
	}
	if !strings.Contains(s, "%") {
		return s, true
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, lo := unhex(s[i+1]), unhex(s[i+2])
		if hi < 0 || lo < 0 {
			return "", false
		}
		b = append(b, byte(hi<<4|lo))
		i += 2
	}
	return string(b), true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
