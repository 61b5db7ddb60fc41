package main

import (
	"testing"

	"tprouter/qemu/lab"
)

// newLab builds a lab whose router is left unconfigured (the caller
// configures it) and returns it with the function that removes it. A
// failure inside lab (a missing ip(8), no root) comes back as an error.
func newLab() (l *lab.Lab, closeLab func(), err error) {
	p := &lab.Program{}
	if err := p.Try(func() { l = lab.New(p, lab.Options{}) }); err != nil {
		p.Close()
		return nil, nil, err
	}
	return l, p.Close, nil
}

// must runs a lab helper that reports failure through t.Fatalf (NS.IP,
// NS.Sysctl) and returns that failure as an error.
func must(f func(t testing.TB)) error {
	p := &lab.Program{}
	defer p.Close()
	return p.Try(func() { f(p) })
}
