package lab

import (
	"fmt"
	"os"
	"testing"
)

// Program lets a plain program (make demo, make bench) use the lab's
// helpers, which take a testing.TB so that tests get cleanup and failure
// for free. testing.TB cannot be implemented outside package testing, so
// Program embeds a nil one and overrides exactly the methods the lab
// calls; any other method panics, which is the point: a new call in the
// lab must be noticed here. Fatalf and Skipf unwind with a panic that
// Try turns into an error.
type Program struct {
	testing.TB
	cleanups []func()
	failed   bool
}

type programFatal struct{ msg string }

func (p *Program) Helper()                           {}
func (p *Program) Name() string                      { return "lab" }
func (p *Program) Cleanup(f func())                  { p.cleanups = append(p.cleanups, f) }
func (p *Program) Logf(format string, args ...any)   { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (p *Program) Errorf(format string, args ...any) { p.failed = true; p.Logf(format, args...) }
func (p *Program) Failed() bool                      { return p.failed }
func (p *Program) Fatalf(format string, args ...any) {
	panic(programFatal{fmt.Sprintf(format, args...)})
}
func (p *Program) Skipf(format string, args ...any) {
	panic(programFatal{fmt.Sprintf(format, args...)})
}

// Close runs the cleanups in reverse order, as testing does: it removes
// every namespace and process the program's labs made.
func (p *Program) Close() {
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
	p.cleanups = nil
}

// Try runs f, which reports failure through p.Fatalf (New, NS.IP,
// NS.Sysctl, ...), and returns that failure as an error.
func (p *Program) Try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			pf, ok := r.(programFatal)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("%s", pf.msg)
		}
	}()
	f()
	return nil
}
