// Package domains holds the proxy's deny and allow lists of domain names
// and answers whether a name is denied, in a few hash probes whatever the
// lists' size.
//
// A list is read from lines in either of two syntaxes, so that published
// blocklists load as they are: Squid's dstdomain (".example.com" is the
// domain and every name under it, "example.com" that name alone) and
// hosts-file lines ("0.0.0.0 ads.example", the names after the address).
// "#" starts a comment. Names compare case-insensitively, without a
// trailing dot, internationalised names in their A-label (xn--) form.
package domains

import "io"

// List is a set of names and domains. It does not change once built and
// is safe for concurrent lookups.
type List struct{}

// Builder collects names for a List.
type Builder struct{}

// Read adds the names of r's lines, source naming r in problems
// ("deny.txt"). A bad line is skipped and kept as a problem; only r's
// read error is returned.
func (b *Builder) Read(r io.Reader, source string) error { return nil }

// Add adds one entry in dstdomain syntax (".example.com" or
// "example.com"), as a line would.
func (b *Builder) Add(entry string) error { return nil }

// Problems returns the lines skipped so far, "source:line: why", at
// most the first few, and how many there were in all.
func (b *Builder) Problems() ([]string, int) { return nil, 0 }

// List returns the list built so far.
func (b *Builder) List() *List { return &List{} }

// Len returns how many entries l holds.
func (l *List) Len() int { return 0 }

// Match reports whether host (a name or an IP address literal, without
// a port) is on l, itself or under one of its domains. It does not
// allocate for ASCII names.
func (l *List) Match(host string) bool { return false }

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
