// Package cli is what every tprouter service's main does with its command
// line, its signals and its exit, so that they all keep one contract with
// init, which runs them:
//
//   - -h prints the usage on standard error and exits 0.
//   - A usage error (a bad flag, or an environment the program can never
//     work in, such as a kernel without TPROXY) is one line on standard
//     error that names the flag and what to change, and exit status
//     ExitUsage (125). init's supervisor reports such an exit once and
//     does not restart the program: running it again cannot help. The
//     line does not start with the program's name, because init's
//     console prefixes every line of a service with it.
//   - Any other failure is one line and exit status 1; the supervisor
//     restarts the program. A Go panic exits with status 2 and is
//     restarted too, which is why 2 does not mean "usage error" here.
//   - SIGTERM and SIGINT cancel the context the program runs with;
//     context.Cause says which ("SIGTERM"). Returning nil exits 0.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// ExitUsage is the exit status of a usage error: init's supervisor does
// not restart a program that exits with it (supervise.ExitDontRestart;
// gokrazy's "do not supervise" status).
const ExitUsage = 125

// UsageError is a mistake in the command line or the environment, which
// restarting the program cannot fix.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// Usagef returns a UsageError: a run func returns one for an environment
// it can never work in, naming the flag and what to change.
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Sprintf(format, args...)}
}

// Parse parses args (without the program name) into fs. check, if not
// nil, validates the values once they are parsed. It returns nil,
// flag.ErrHelp for -h (the caller prints the usage), or a *UsageError
// that ends with how to see the flags.
func Parse(fs *flag.FlagSet, args []string, check func() error) error {
	out := fs.Output()
	fs.SetOutput(io.Discard) // the flag package's own messages; ours is the error
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return flag.ErrHelp
	case err != nil:
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q: only flags are taken", fs.Arg(0))
	case check != nil:
		err = check()
	}
	if err != nil {
		return Usagef("%v (-h lists the flags)", err)
	}
	return nil
}

// Main is a service's main: Run with the process's arguments and
// standard error, then exit with its status. The standard logger writes
// bare lines (init adds the time and the name).
func Main(fs *flag.FlagSet, check func() error, run func(ctx context.Context) error) {
	log.SetFlags(0)
	os.Exit(Run(fs, os.Args[1:], os.Stderr, check, run))
}

// Run parses args into fs (see Parse) and calls run with a context that
// SIGTERM and SIGINT cancel. It prints the usage or an error to stderr,
// and returns the exit status: 0 for -h or when run returns nil,
// ExitUsage for a usage error (Parse's, or a *UsageError from run), 1
// for any other error.
func Run(fs *flag.FlagSet, args []string, stderr io.Writer, check func() error, run func(ctx context.Context) error) int {
	err := Parse(fs, args, check)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stderr)
		fs.Usage()
		return 0
	}
	if err == nil {
		ctx, stop := signalContext()
		err = run(ctx)
		stop()
	}
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, strings.ReplaceAll(err.Error(), "\n", "; "))
	if _, ok := errors.AsType[*UsageError](err); ok {
		return ExitUsage
	}
	return 1
}

// signalContext returns a context that SIGTERM or SIGINT cancels, with
// the signal's name as its cause, and the func that releases it.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		select {
		case sig := <-sigs:
			cancel(signalError{sig.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel(context.Canceled)
	}
}

type signalError struct{ sig syscall.Signal }

func (e signalError) Error() string {
	if e.sig == syscall.SIGINT {
		return "SIGINT"
	}
	return "SIGTERM"
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

// Prefixes is a flag of comma-separated IP prefixes of either family,
// masked (198.18.0.0/15,2001:db8:5e1f::/48); empty clears it.
type Prefixes struct{ List []netip.Prefix }

func (p *Prefixes) String() string {
	s := make([]string, len(p.List))
	for i, x := range p.List {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

func (p *Prefixes) Set(v string) error {
	p.List = nil
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		x, err := netip.ParsePrefix(f)
		if err != nil {
			return fmt.Errorf("%q is not a prefix such as 198.18.0.0/15 or 2001:db8:5e1f::/48", f)
		}
		p.List = append(p.List, x.Masked())
	}
	return nil
}
