// Package domains holds the proxy's deny and allow lists of domain names
// and answers whether a name is denied, in a few hash probes whatever the
// lists' size.
//
// A list is read from lines in either of two syntaxes, so that published
// blocklists load as they are:
//
//   - Squid's dstdomain: ".example.com" is the domain and every name
//     under it, "example.com" that name alone. "*.example.com", the
//     wildcard that many blocklists use, is read as ".example.com". An
//     IP address ("198.51.100.2", "2001:db8::2") is an entry too: it
//     matches a TLS connection without SNI to that address.
//   - hosts-file lines: "0.0.0.0 ads.example", "127.0.0.1 a b c": the
//     names after the address. The names a hosts file carries for the
//     machine itself (localhost, localhost.localdomain, local,
//     broadcasthost, ip6-*) and names that are addresses are skipped.
//
// "#" starts a comment; blank lines are ignored; CRLF line ends are
// accepted. Names compare case-insensitively, without a trailing dot,
// internationalised names in their A-label (xn--) form (IDNA 2008 lookup
// rules, golang.org/x/net/idna). Labels may hold letters, digits, "-" and
// "_" (blocklists carry underscores). A bad line is skipped and kept as a
// problem; "." (the root, every name) is refused rather than taken to
// deny everything: an allow list says "only these" instead.
//
// Storage: every name lives once, lower-cased, in one byte arena; an
// open-addressing table of uint64 slots (arena offset, length, whether the
// entry is the name, the domain, or both, and hash bits) indexes them.
// Match hashes the host, then those of its parent domains that have no
// more labels than the list's longest domain entry: a few probe sequences
// however deep the host, with no allocation for ASCII hosts. A million
// names take 16 MiB of table plus the arena (about 42 MiB in all for
// names of 28 characters; BenchmarkLoad1M).
package domains

import "io"

// List is a set of names and domains. It does not change once built and
// is safe for concurrent lookups. A nil *List is empty.
type List struct {
	t table
}

// Builder collects names for a List. The zero Builder is empty and ready.
type Builder struct {
	t        table
	problems []string
	nproblem int
}

// maxProblems is how many problem lines Problems keeps.
const maxProblems = 20

// Read adds the names of r's lines, source naming r in problems
// ("deny.txt"). A bad line is skipped and kept as a problem; only r's
// read error is returned.
func (b *Builder) Read(r io.Reader, source string) error {
	return readLines(r, func(n int, line []byte) {
		if err := b.line(line); err != nil {
			b.problem(source, n, err)
		}
	})
}

// Add adds one entry in dstdomain syntax (".example.com" or
// "example.com"), as a line would. A bad entry is returned as an error
// and not counted in Problems.
func (b *Builder) Add(entry string) error {
	name, flags, err := parseEntry([]byte(entry))
	if err != nil {
		return err
	}
	b.t.add(name, flags)
	return nil
}

// Problems returns the lines skipped so far, "source:line: why", at
// most the first few, and how many there were in all.
func (b *Builder) Problems() ([]string, int) { return b.problems, b.nproblem }

// List returns the list built so far. The builder may go on adding: the
// list does not see it.
func (b *Builder) List() *List { return &List{t: b.t.freeze()} }

// Len returns how many entries l holds: names, with ".example.com" and
// "example.com" counted once.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return l.t.n
}

// Match reports whether host (a name or an IP address literal, without
// a port) is on l, itself or under one of its domains. It does not
// allocate for ASCII names.
func (l *List) Match(host string) bool {
	if l == nil || l.t.n == 0 {
		return false
	}
	return l.t.match(host)
}

// Policy is the deny and allow lists together. A name on the allow list
// is never denied; a name on the deny list is denied; when there is an
// allow list and no deny list, every name not on the allow list is
// denied (a school's "only these sites"). Nil lists are empty.
type Policy struct {
	Deny, Allow *List
}

// Active reports whether p denies anything at all.
func (p *Policy) Active() bool {
	return p != nil && (p.Deny.Len() > 0 || p.Allow.Len() > 0)
}

// Denied reports whether host is denied.
func (p *Policy) Denied(host string) bool {
	if !p.Active() {
		return false
	}
	if p.Allow.Len() > 0 && p.Allow.Match(host) {
		return false
	}
	if p.Deny.Len() == 0 {
		return true
	}
	return p.Deny.Match(host)
}
