package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"syscall"
	"testing"
	"time"

	"tprouter/init/supervise"
)

// The exit status of a usage error is the one init's supervisor does not
// restart.
func TestExitUsageIsInitsDontRestart(t *testing.T) {
	if ExitUsage != supervise.ExitDontRestart {
		t.Errorf("ExitUsage %d, supervise.ExitDontRestart %d: init would restart usage errors", ExitUsage, supervise.ExitDontRestart)
	}
}

func flags() (*flag.FlagSet, *int) {
	fs := flag.NewFlagSet("svc", flag.ContinueOnError)
	return fs, fs.Int("n", 1, "a `number`, 1 to 9")
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		args []string
		run  error // what the run func returns
		code int
		says string // the whole output contains it; "" for no output
		ran  bool   // whether the run func runs
	}{
		{nil, nil, 0, "", true},
		{[]string{"-n", "3"}, nil, 0, "", true},
		{[]string{"-h"}, nil, 0, "Usage of svc", false},
		{[]string{"-bogus"}, nil, ExitUsage, "flag provided but not defined: -bogus (-h lists the flags)\n", false},
		{[]string{"-n", "x"}, nil, ExitUsage, `invalid value "x" for flag -n`, false},
		{[]string{"-n", "10"}, nil, ExitUsage, "-n 10: want 1 to 9 (-h lists the flags)\n", false},
		{[]string{"extra"}, nil, ExitUsage, `unexpected argument "extra"`, false},
		{nil, Usagef("-n 1: no such device; use another"), ExitUsage, "-n 1: no such device; use another\n", true},
		{nil, errors.New("line one\nline two"), 1, "line one; line two\n", true},
	} {
		fs, n := flags()
		var out bytes.Buffer
		ran := false
		code := Run(fs, tc.args, &out, func() error {
			if *n < 1 || *n > 9 {
				return errors.New("-n " + fs.Lookup("n").Value.String() + ": want 1 to 9")
			}
			return nil
		}, func(context.Context) error {
			ran = true
			return tc.run
		})
		s := out.String()
		if code != tc.code || (tc.says == "") != (s == "") || !strings.Contains(s, tc.says) {
			t.Errorf("%q: exit %d, output %q; want exit %d and %q", tc.args, code, s, tc.code, tc.says)
		}
		if code != 0 && (strings.Count(s, "\n") != 1 || strings.HasPrefix(s, "svc:")) {
			t.Errorf("%q: output %q, want one line, not starting with the program's name", tc.args, s)
		}
		if ran != tc.ran {
			t.Errorf("%q: run called: %v, want %v", tc.args, ran, tc.ran)
		}
	}
}

// TestRunSignal sends SIGTERM to the test process while run waits: its
// context ends, with the signal's name as the cause.
func TestRunSignal(t *testing.T) {
	fs, _ := flags()
	var cause error
	code := Run(fs, nil, &bytes.Buffer{}, nil, func(ctx context.Context) error {
		syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
		select {
		case <-ctx.Done():
			cause = context.Cause(ctx)
		case <-time.After(5 * time.Second):
		}
		return nil
	})
	if code != 0 || cause == nil || cause.Error() != "SIGTERM" {
		t.Errorf("exit %d, cause %v; want 0 and SIGTERM", code, cause)
	}
}
