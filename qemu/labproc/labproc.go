// Package labproc runs the address services as real processes inside the
// network namespaces of qemu/lab, for tests: it builds each program once
// per test binary, starts them with their log captured, waits for log
// lines and stops them as init would (SIGTERM, then a check of the exit
// status).
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
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tprouter/internal/syncbuf"
	"tprouter/qemu/lab"
)

// built holds the programs Build made in this test binary, by import
// path, in subdirectories of dir (one per go build, so that programs of
// the same name from different calls never overwrite each other).
var built struct {
	mu   sync.Mutex
	dir  string
	n    int               // go builds so far
	bins map[string]string // import path → program
}

// Run runs the tests of m and then removes the programs Build made. Call
// it from TestMain: os.Exit(labproc.Run(m)).
func Run(m *testing.M) int {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	return code
}

// Build compiles the main packages pkgs (import paths) into a temporary
// directory and returns the path of each program by its base name. Each
// package is built once per test binary: a later call builds only the
// packages no earlier call asked for. Call it after lab.New, so a test
// that skips builds nothing.
func Build(t testing.TB, pkgs ...string) map[string]string {
	t.Helper()
	bins, err := build(pkgs)
	if err != nil {
		t.Fatal(err)
	}
	return bins
}

func build(pkgs []string) (map[string]string, error) {
	built.mu.Lock()
	defer built.mu.Unlock()
	var todo []string
	for _, p := range pkgs {
		if _, ok := built.bins[p]; !ok && !slices.Contains(todo, p) {
			todo = append(todo, p)
		}
	}
	if len(todo) > 0 {
		if err := goBuild(todo); err != nil {
			return nil, err
		}
	}
	bins := make(map[string]string)
	for _, p := range pkgs {
		bins[path.Base(p)] = built.bins[p]
	}
	return bins, nil
}

// goBuild builds pkgs with one go build into a new subdirectory of
// built.dir and records where each program is.
func goBuild(pkgs []string) error {
	if built.dir == "" {
		dir, err := os.MkdirTemp("", "labproc")
		if err != nil {
			return err
		}
		built.dir, built.bins = dir, map[string]string{}
	}
	built.n++
	out := filepath.Join(built.dir, strconv.Itoa(built.n))
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	args := append([]string{"build", "-o", out + "/"}, pkgs...)
	if b, err := exec.Command(gobin, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	for _, p := range pkgs {
		built.bins[p] = filepath.Join(out, path.Base(p))
	}
	return nil
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
