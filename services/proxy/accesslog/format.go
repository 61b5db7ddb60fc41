// Package accesslog writes access.log lines in Squid's native format,
//
//	%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt
//
// byte for byte as Squid's Log::Format::SquidNative prints them, so the log
// analyzers written for Squid (calamaris, sarg, lightsquid, GoAccess's squid
// format) read tprouter's log unchanged. FormatTLS (tls.go) is that line
// with three more fields for spliced TLS: the SNI, the ALPN protocols and
// whether the client offered ECH.
//
// Log keeps the recent lines for the status page and hands them to a
// writer in batches, off the request path: a file that fails or is slow
// costs lines, counted and reported, never the proxy's speed (log.go).
// File is the writer for a file on a small partition: it rotates at a
// size cap and holds whole lines only, also after a full disk or a power
// cut (file.go). Load puts a file's last lines back into a Log at start.
package accesslog

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Entry is one transaction. The byte slices may alias the caller's buffers:
// Append copies them and keeps nothing.
type Entry struct {
	Time    time.Time     // when the transaction ended (Squid logs current_time)
	Elapsed time.Duration // from the first byte of the request to the end
	Client  netip.Addr
	Code    string // Squid result code: TCP_MISS, TCP_TUNNEL, TAG_NONE, ...
	Status  int    // HTTP status sent to the client, 0 when none
	Bytes   int64  // bytes sent to the client, heads included
	Method  []byte
	URL     []byte
	Hier    string     // hierarchy code: ORIGINAL_DST, HIER_NONE, ...
	Server  netip.Addr // the upstream peer; the zero Addr logs "-"
	MIME    []byte     // Content-Type without parameters; empty logs "-"

	// The TLS fields, logged by FormatTLS only.
	SNI  string   // the ClientHello's server name; "" logs "-"
	ALPN []string // its ALPN protocols; none logs "-"
	ECH  ECH      // whether it offered ECH; ECHNone (not TLS) logs "-"
}

// Append appends e's line, with its trailing newline, to b. Squid prints the
// seconds with %9ld and the elapsed milliseconds with %6ld; both are padded
// with spaces the same way here. The user field is always "-": an
// intercepting proxy never authenticates (Squid disables it on tproxy ports).
func Append(b []byte, e *Entry) []byte {
	sec := e.Time.Unix()
	ms := e.Time.Nanosecond() / 1e6
	b = pad(b, sec, 9)
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), ' ')
	b = pad(b, e.Elapsed.Milliseconds(), 6)
	b = append(b, ' ')
	b = appendAddr(b, e.Client)
	b = append(b, ' ')
	b = appendWord(b, e.Code)
	b = append(b, '/')
	st := e.Status
	if st < 0 || st > 999 {
		st = 0
	}
	b = append(b, byte('0'+st/100), byte('0'+st/10%10), byte('0'+st%10), ' ')
	b = strconv.AppendInt(b, e.Bytes, 10)
	b = append(b, ' ')
	b = appendField(b, e.Method)
	b = append(b, ' ')
	b = appendField(b, e.URL)
	b = append(b, " - "...)
	b = appendWord(b, e.Hier)
	b = append(b, '/')
	b = appendAddr(b, e.Server)
	b = append(b, ' ')
	b = appendField(b, e.MIME)
	return append(b, '\n')
}

// AppendFormat appends e's line in format f.
func AppendFormat(b []byte, e *Entry, f Format) []byte {
	if f == FormatTLS {
		return AppendTLS(b, e)
	}
	return Append(b, e)
}

func pad(b []byte, v int64, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], v, 10)
	for i := len(s); i < width; i++ {
		b = append(b, ' ')
	}
	return append(b, s...)
}

// appendAddr writes an address as Squid does: IPv6 without brackets, IPv4
// (also an IPv4-mapped IPv6 peer) dotted, nothing known as "-".
func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, '-')
	}
	return a.Unmap().AppendTo(b)
}

func appendWord(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return append(b, s...)
}

// appendField writes v with every byte that would split or break the line
// (controls, space, DEL, non-ASCII) percent-encoded, as Squid's canonical
// URL escaping does, so a line always has exactly ten fields. '%' stays: a
// URL's own escapes are logged as sent.
func appendField[T string | []byte](b []byte, v T) []byte {
	if len(v) == 0 {
		return append(b, '-')
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f {
			b = append(b, '%', hex[c>>4], hex[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}

// Parse reads one line written by Append or AppendTLS (with or without its
// newline) back into an Entry: ten fields are FormatSquid, thirteen
// FormatTLS. Fields logged as "-" come back empty or zero; URL, MIME and
// ALPN come back as logged (escaped). It exists for tests, tools and Load;
// it is strict, so it also checks that a line is exactly in its format.
func Parse(line string) (Entry, error) {
	var e Entry
	line = strings.TrimSuffix(line, "\n")
	f := strings.Fields(line)
	format := FormatSquid
	switch len(f) {
	case 10:
	case 13:
		format = FormatTLS
		if err := parseTLS(&e, f[10:]); err != nil {
			return e, err
		}
	default:
		return e, fmt.Errorf("accesslog: %d fields, want 10 (squid format) or 13 (tls format): %q", len(f), line)
	}
	sec, frac, ok := strings.Cut(f[0], ".")
	if !ok || len(frac) != 3 {
		return e, fmt.Errorf("accesslog: time %q: want seconds.milliseconds", f[0])
	}
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return e, fmt.Errorf("accesslog: time %q: %v", f[0], err)
	}
	ms, err := strconv.Atoi(frac)
	if err != nil {
		return e, fmt.Errorf("accesslog: time %q: %v", f[0], err)
	}
	e.Time = time.Unix(s, int64(ms)*1e6)
	el, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || el < 0 {
		return e, fmt.Errorf("accesslog: elapsed %q: want milliseconds", f[1])
	}
	e.Elapsed = time.Duration(el) * time.Millisecond
	if e.Client, err = parseAddr(f[2]); err != nil {
		return e, err
	}
	code, status, ok := strings.Cut(f[3], "/")
	if !ok || code == "" || len(status) != 3 {
		return e, fmt.Errorf("accesslog: result %q: want CODE/NNN", f[3])
	}
	e.Code = code
	if e.Status, err = strconv.Atoi(status); err != nil {
		return e, fmt.Errorf("accesslog: status %q: %v", status, err)
	}
	if e.Bytes, err = strconv.ParseInt(f[4], 10, 64); err != nil || e.Bytes < 0 {
		return e, fmt.Errorf("accesslog: bytes %q: want a count", f[4])
	}
	e.Method = dash(f[5])
	e.URL = dash(f[6])
	if f[7] != "-" {
		return e, fmt.Errorf("accesslog: user %q: want -", f[7])
	}
	hier, srv, ok := strings.Cut(f[8], "/")
	if !ok || hier == "" {
		return e, fmt.Errorf("accesslog: hierarchy %q: want CODE/address", f[8])
	}
	e.Hier = hier
	if e.Server, err = parseAddr(srv); err != nil {
		return e, err
	}
	e.MIME = dash(f[9])
	// The layout is fixed, not merely ten words: re-render and compare, so
	// a wrong padding or separator fails too.
	if got := string(AppendFormat(nil, &e, format)); got != line+"\n" {
		return e, errors.New("accesslog: line is not in canonical form: " + strconv.Quote(line) + " re-renders as " + strconv.Quote(got))
	}
	return e, nil
}

func parseAddr(s string) (netip.Addr, error) {
	if s == "-" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, fmt.Errorf("accesslog: address %q: %v", s, err)
	}
	if a.Zone() != "" || a.Is4In6() {
		return a, fmt.Errorf("accesslog: address %q: want a plain IPv4 or IPv6 address", s)
	}
	return a, nil
}

func dash(s string) []byte {
	if s == "-" {
		return nil
	}
	return []byte(s)
}
