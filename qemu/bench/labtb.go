package main

import (
	"fmt"
	"os"
	"testing"

	"tprouter/qemu/lab"
)

// labTB lets a plain program use lab.New, which takes a testing.TB so that
// tests get cleanup and failure for free. testing.TB cannot be implemented
// outside package testing, so labTB embeds a nil one and overrides exactly
// the methods lab calls; any other method would panic, which is the point:
// a new call in lab must be noticed here.
type labTB struct {
	testing.TB
	cleanups []func()
	failed   bool
}

// labFatal is the panic value of labTB.Fatalf; newLab recovers it and
// turns it into an error.
type labFatal struct{ msg string }

func (t *labTB) Helper()                           {}
func (t *labTB) Name() string                      { return "bench" }
func (t *labTB) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *labTB) Logf(format string, args ...any)   { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (t *labTB) Errorf(format string, args ...any) { t.failed = true; t.Logf(format, args...) }
func (t *labTB) Failed() bool                      { return t.failed }
func (t *labTB) Fatalf(format string, args ...any) { panic(labFatal{fmt.Sprintf(format, args...)}) }
func (t *labTB) Skipf(format string, args ...any)  { panic(labFatal{fmt.Sprintf(format, args...)}) }

// close runs the cleanups in reverse order, as testing does.
func (t *labTB) close() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	t.cleanups = nil
}

// newLab builds a lab whose router is left unconfigured (the caller
// configures it) and returns it with the function that removes it. A
// failure inside lab (a missing ip(8), no root) comes back as an error
// instead of a test failure.
func newLab() (l *lab.Lab, closeLab func(), err error) {
	tb := &labTB{}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(labFatal)
			if !ok {
				panic(r)
			}
			tb.close()
			l, closeLab, err = nil, nil, fmt.Errorf("lab.New: %s", f.msg)
		}
	}()
	l = lab.New(tb, lab.Options{})
	return l, tb.close, nil
}

// must runs a lab helper that reports failure through t.Fatalf (NS.IP,
// NS.Sysctl) and returns that failure as an error.
func must(f func(t testing.TB)) (err error) {
	tb := &labTB{}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(labFatal)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("%s", f.msg)
		}
	}()
	f(tb)
	return nil
}
