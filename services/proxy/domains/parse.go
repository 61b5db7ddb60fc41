package domains

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"tprouter/internal/ascii"

	"golang.org/x/net/idna"
)

// maxLine is the longest line read; a longer one is a problem.
const maxLine = 64 << 10

// maxName is the longest DNS name in text form, without the final dot
// (RFC 1035 section 2.3.4: 255 octets on the wire).
const maxName = 253

// readLines calls fn for each line of r, numbered from 1, without its
// line end. A line longer than maxLine is passed as nil.
func readLines(r io.Reader, fn func(n int, line []byte)) error {
	br := bufio.NewReaderSize(r, maxLine)
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		long := errors.Is(err, bufio.ErrBufferFull)
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		switch {
		case long:
			fn(n, nil)
		case len(line) > 0:
			fn(n, line)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// line adds the entries of one line, or says why it cannot.
func (b *Builder) line(line []byte) error {
	if line == nil {
		return fmt.Errorf("line longer than %d KiB", maxLine>>10)
	}
	if i := bytes.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	first, rest := field(line)
	if first == nil {
		return nil // blank or a comment
	}
	if next, _ := field(rest); next == nil {
		name, flags, err := parseEntry(first)
		if err != nil {
			return err
		}
		return b.t.add(name, flags)
	}
	if _, err := netip.ParseAddr(string(first)); err != nil {
		return fmt.Errorf("%q: more than one field, and the first is no address as a hosts-file line's is", line)
	}
	for name, rest := field(rest); name != nil; name, rest = field(rest) {
		if hostsSelf(name) {
			continue
		}
		n, err := normalize(name)
		if err != nil {
			return err
		}
		if err := b.t.add(n, flagExact); err != nil {
			return err
		}
	}
	return nil
}

// field returns the first field of s (split at spaces, tabs and line
// ends) and what follows it; nil when there is none.
func field(s []byte) (f, rest []byte) {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i == len(s) {
		return nil, nil
	}
	j := i
	for j < len(s) && !isSpace(s[j]) {
		j++
	}
	return s[i:j], s[j:]
}

// hostsSelf reports whether a hosts-file name is one the file carries
// for the machine itself, or an address: those are not blocklist entries.
func hostsSelf(name []byte) bool {
	switch string(bytes.ToLower(name)) {
	case "localhost", "localhost.localdomain", "local", "broadcasthost":
		return true
	}
	if len(name) > 4 && bytes.EqualFold(name[:4], []byte("ip6-")) {
		return true
	}
	_, err := netip.ParseAddr(string(name))
	return err == nil
}

// parseEntry reads one dstdomain entry: the name in canonical form, and
// whether it stands for the name or the domain.
func parseEntry(e []byte) ([]byte, uint8, error) {
	flags := uint8(flagExact)
	s := e
	switch {
	case bytes.HasPrefix(s, []byte("*.")):
		s, flags = s[2:], flagDomain
	case bytes.HasPrefix(s, []byte(".")):
		s, flags = s[1:], flagDomain
	}
	if len(bytes.TrimSuffix(s, []byte("."))) == 0 {
		return nil, 0, fmt.Errorf("%q would match every name (the root): an allow list says \"only these\"", e)
	}
	if a, ok := parseAddr(s); ok {
		if flags == flagDomain {
			return nil, 0, fmt.Errorf("%q: an address has no subdomains", e)
		}
		return a, flagExact, nil
	}
	n, err := normalize(s)
	return n, flags, err
}

// parseAddr returns s in canonical form when it is an IP address.
func parseAddr(s []byte) ([]byte, bool) {
	if !looksLikeAddr(s) {
		return nil, false
	}
	a, err := netip.ParseAddr(string(s))
	if err != nil {
		return nil, false
	}
	return a.Unmap().WithZone("").AppendTo(nil), true
}

// looksLikeAddr is a cheap test before netip.ParseAddr: an address has
// a colon (IPv6) or ends in a digit (IPv4, which no DNS name does).
func looksLikeAddr(s []byte) bool {
	return len(s) > 0 && (bytes.IndexByte(s, ':') >= 0 || s[len(s)-1] >= '0' && s[len(s)-1] <= '9')
}

// normalize returns the name s lower-cased, without a trailing dot, in
// its A-label form, or why it is no name.
func normalize(s []byte) ([]byte, error) {
	n := bytes.TrimSuffix(s, []byte("."))
	if !isASCII(n) {
		a, err := idna.Lookup.ToASCII(string(n))
		if err != nil {
			return nil, fmt.Errorf("%q: %v", s, err)
		}
		n = []byte(a)
	}
	n = lower(n)
	if err := checkName(n); err != nil {
		return nil, fmt.Errorf("%q: %v", s, err)
	}
	return n, nil
}

// checkName reports why n (lower-case ASCII) is not a DNS name.
func checkName(n []byte) error {
	if len(n) > maxName {
		return fmt.Errorf("longer than %d characters", maxName)
	}
	for label := range bytes.SplitSeq(n, []byte(".")) {
		switch {
		case len(label) == 0:
			return errors.New("an empty label")
		case len(label) > 63:
			return errors.New("a label longer than 63 characters")
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				if c == '*' {
					return errors.New(`"*" only as "*." at the start`)
				}
				return fmt.Errorf("%q is not a letter, digit, \"-\" or \"_\"", c)
			}
		}
	}
	return nil
}

func isASCII(s []byte) bool {
	for _, c := range s {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// lower lower-cases ASCII letters in place.
func lower(s []byte) []byte {
	for i, c := range s {
		s[i] = ascii.Lower(c)
	}
	return s
}

// problem records a skipped line.
func (b *Builder) problem(source string, line int, err error) {
	b.nproblem++
	if len(b.problems) < maxProblems {
		b.problems = append(b.problems, fmt.Sprintf("%s:%d: %v", source, line, err))
	}
}
