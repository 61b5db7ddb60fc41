// Package oneline joins errors on one line, for the console. init's steps
// go on after a failure and return every failure at once; errors.Join
// would separate them with newlines, which the console shows as '?'
// (it replaces control characters). Here they are separated by "; ".
//
// The convention that goes with it: the callee names the call that
// failed and its arguments (`LinkSetUp(eth0): no such device`), the
// caller names the subsystem once (`netconf: ...`).
package oneline

import "strings"

// Join returns an error that lists the non-nil errs on one line,
// separated by "; ", or nil when there are none; the newlines of an error
// that errors.Join made become "; " too. errors.Is and errors.As see each
// of them.
func Join(errs ...error) error {
	var l list
	for _, err := range errs {
		if err != nil {
			l = append(l, err)
		}
	}
	if len(l) == 0 {
		return nil
	}
	return l
}

type list []error

func (l list) Error() string {
	s := make([]string, len(l))
	for i, err := range l {
		s[i] = strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	return strings.Join(s, "; ")
}

func (l list) Unwrap() []error { return l }
