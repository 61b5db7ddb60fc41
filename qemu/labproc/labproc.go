// Package labproc runs the address services as real processes inside the
// network namespaces of qemu/lab, for tests: it builds the programs once per
// test binary, starts them with their log captured, waits for log lines and
// stops them as init would (SIGTERM, then a check of the exit status).
package labproc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tprouter/internal/syncbuf"

	"tprouter/qemu/lab"
)

var build struct {
	once sync.Once
	dir  string
	err  error
}

// Run runs the tests of m and then removes the programs Build made. Call
// it from TestMain: os.Exit(labproc.Run(m)).
func Run(m *testing.M) int {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	return code
}

// Build compiles the main packages pkgs (import paths) into a temporary
// directory, once per test binary, and returns the path of each program by
// its base name. Call it after lab.New, so a test that skips builds nothing.
func Build(t testing.TB, pkgs ...string) map[string]string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "labproc")
		if build.err != nil {
			return
		}
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		args := append([]string{"build", "-o", build.dir + "/"}, pkgs...)
		if out, err := exec.Command(gobin, args...).CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	bins := make(map[string]string)
	for _, p := range pkgs {
		bins[path.Base(p)] = filepath.Join(build.dir, path.Base(p))
	}
	return bins
}

// Proc is a program running in a lab namespace.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	out  syncbuf.Buffer
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, valid after done
}

// Start runs bin with args in ns. The process is killed when t ends, and
// its log is shown if t failed.
func Start(t testing.TB, ns *lab.NS, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Name: filepath.Base(bin), cmd: ns.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	// ip netns exec execs bin in place, so signals reach bin itself.
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s in %s: %v", p.Name, ns.Name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("log of %s %s:\n%s", p.Name, strings.Join(args, " "), p.Log())
		}
	})
	return p
}

// Log returns everything the process wrote so far.
func (p *Proc) Log() string { return p.out.String() }

// WaitLog waits up to within for a line that contains s.
func (p *Proc) WaitLog(t testing.TB, s string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(p.Log(), s) {
		select {
		case <-p.done:
			t.Fatalf("%s exited (%v) before logging %q; log:\n%s", p.Name, p.err, s, p.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not log %q within %v; log:\n%s", p.Name, s, within, p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Running reports whether the process has not exited.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM and fails t unless the process exits with status 0
// within 5 s.
func (p *Proc) Stop(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", p.Name, err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("%s after SIGTERM: %v, want exit 0; log:\n%s", p.Name, p.err, p.Log())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still running 5 s after SIGTERM", p.Name)
	}
}

// Kill kills the process and waits for it.
func (p *Proc) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// CheckUsage checks a program's command line as init and people see it:
// -h prints the usage and exits 0, and each of bad (one bad command line
// each) exits 125 (services/internal/cli.ExitUsage: init does not restart
// it) with a single line on stderr that does not start with the program's
// name (init's console adds it).
func CheckUsage(t *testing.T, bin string, bad ...[]string) {
	t.Helper()
	name := filepath.Base(bin)
	out, err := exec.Command(bin, "-h").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Usage of "+name) {
		t.Errorf("%s -h: %v, want exit 0 and the usage; got:\n%s", name, err, out)
	}
	for _, args := range bad {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 125 {
			t.Errorf("%s %s: %v, want exit status 125", name, strings.Join(args, " "), err)
		}
		if s := stderr.String(); strings.Count(s, "\n") != 1 || strings.HasPrefix(s, name+":") {
			t.Errorf("%s %s: stderr %q, want one line, not starting with %q", name, strings.Join(args, " "), s, name+":")
		}
	}
}
