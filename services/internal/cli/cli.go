// Package cli holds what every tprouter service's main does with its
// command line, so that they all behave alike under init: -h prints the
// usage and exits 0; a bad flag prints one line that names it and exits 2.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
)

// Parse parses os.Args[1:] into fs, whose name is the program's. check,
// if not nil, validates the values once they are parsed. It returns only
// when the command line is good.
func Parse(fs *flag.FlagSet, check func() error) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(os.Args[1:])
	switch {
	case err != nil:
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case check != nil:
		err = check()
	}
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(os.Stderr)
		fs.Usage()
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v (see %s -h)\n", fs.Name(), err, fs.Name())
		os.Exit(2)
	}
}

// Addrs is a flag of comma-separated IP addresses of one family.
type Addrs struct {
	List []netip.Addr
	V6   bool // IPv6 addresses (no zone, not v4-mapped); else IPv4
}

func (l *Addrs) String() string {
	s := make([]string, len(l.List))
	for i, a := range l.List {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func (l *Addrs) Set(v string) error {
	l.List = nil
	for _, f := range strings.Split(v, ",") {
		a, err := netip.ParseAddr(strings.TrimSpace(f))
		switch {
		case l.V6 && (err != nil || !a.Is6() || a.Is4In6() || a.Zone() != ""):
			return fmt.Errorf("%q is not an IPv6 address", f)
		case !l.V6 && (err != nil || !a.Is4()):
			return fmt.Errorf("%q is not an IPv4 address", f)
		}
		l.List = append(l.List, a)
	}
	return nil
}
