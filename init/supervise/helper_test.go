package supervise

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tprouter/internal/syncbuf"

	"golang.org/x/sys/unix"

	"tprouter/init/console"
)

// The tests run real child processes: the test binary itself, re-executed
// with helperEnv naming what to do. The test process makes itself a child
// subreaper, so orphans of its children are reparented to it and reaped
// by the one Reaper, as they would be by PID 1.

const helperEnv = "SUPERVISE_TEST_HELPER"

var (
	reaper  *Reaper
	orphans sync.Map // pid → Exit, every orphan reaped
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		helper(mode, os.Getenv(helperEnv+"_ARG"))
		os.Exit(0)
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "prctl(PR_SET_CHILD_SUBREAPER): %v\n", err)
		os.Exit(1)
	}
	reaper = NewReaper(func(e Exit) { orphans.Store(e.PID, e) })
	os.Exit(m.Run())
}

// helper is the child's side.
func helper(mode, arg string) {
	switch mode {
	case "exit": // print and exit with status arg
		fmt.Printf("hello from %d\n", os.Getpid())
		var code int
		fmt.Sscan(arg, &code)
		os.Exit(code)
	case "panic": // a Go panic: exit status 2
		fmt.Println("panicking")
		panic("on purpose")
	case "sleep": // run until killed (SIGTERM kills a Go program)
		fmt.Println("up")
		time.Sleep(time.Hour)
	case "stubborn": // ignore SIGTERM
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ignoring SIGTERM")
		time.Sleep(time.Hour)
	case "flaky": // exit at once for the first 3 runs, then run 1.2s
		f, _ := os.OpenFile(arg, os.O_APPEND|os.O_CREATE|os.O_RDWR, 0o644)
		f.Write([]byte{'x'})
		st, _ := f.Stat()
		if st.Size() > 3 {
			time.Sleep(1200 * time.Millisecond)
		}
		os.Exit(1)
	case "orphan": // double-fork: a grandchild in its own group outlives us
		exe, _ := os.Executable()
		p, err := os.StartProcess(exe, []string{exe}, &os.ProcAttr{
			Env: helperEnviron("grandchild", ""),
			Sys: &syscall.SysProcAttr{Setpgid: true},
		})
		if err != nil {
			fmt.Println(err)
			os.Exit(2)
		}
		fmt.Printf("grandchild %d\n", p.Pid)
		os.Exit(3)
	case "grandchild":
		time.Sleep(200 * time.Millisecond)
	case "lines":
		fmt.Println("one")
		fmt.Println("two\r")
		fmt.Println(strings.Repeat("y", maxLine+10))
		fmt.Print("partial")
		os.Exit(0)
	case "tty": // report whether the terminal is ours
		sid, _ := unix.Getsid(0)
		pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
		fmt.Printf("session leader %t, foreground %t, %v\n", sid == os.Getpid(), pgrp == os.Getpid(), err)
		time.Sleep(time.Hour)
	case "caps": // report identity, capabilities and what they allow
		b, _ := os.ReadFile("/proc/self/status")
		for _, l := range strings.Split(string(b), "\n") {
			for _, k := range []string{"Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapAmb:"} {
				if strings.HasPrefix(l, k) {
					fmt.Println(strings.Join(strings.Fields(l), " "))
				}
			}
		}
		fmt.Println("IP_TRANSPARENT:", transparent())
		fmt.Println("low port:", lowPort())
		time.Sleep(time.Hour)
	}
}

// transparent tries what the proxy needs CAP_NET_ADMIN for.
func transparent() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_TRANSPARENT, 1)
}

// lowPort tries to bind a port below 1024 (CAP_NET_BIND_SERVICE).
func lowPort() error {
	var err error
	for p := 1023; p > 900; p-- {
		fd, e := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if e != nil {
			return e
		}
		err = unix.Bind(fd, &unix.SockaddrInet4{Port: p, Addr: [4]byte{127, 0, 0, 1}})
		unix.Close(fd)
		if err != unix.EADDRINUSE {
			return err
		}
	}
	return err
}

// helperService returns a service that runs the helper in mode.
func helperService(t *testing.T, name, mode, arg string) Service {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Service{Name: name, Path: exe, Env: helperEnviron(mode, arg)}
}

// helperEnviron is the environment that runs the helper in mode. It
// replaces the variables of the calling helper: with duplicates the first
// would win, and a double-forking helper would fork forever.
func helperEnviron(mode, arg string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, helperEnv) {
			env = append(env, kv)
		}
	}
	return append(env, helperEnv+"="+mode, helperEnv+"_ARG="+arg)
}

// matches returns the submatches of re in each line of buf that it matches.
func matches(buf *syncbuf.Buffer, re *regexp.Regexp) [][]string {
	var out [][]string
	sc := bufio.NewScanner(strings.NewReader(buf.String()))
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// newSupervisor returns a supervisor with a short policy, writing to a
// buffer, that is shut down when the test ends.
func newSupervisor(t *testing.T) (*Supervisor, *syncbuf.Buffer) {
	buf := &syncbuf.Buffer{}
	con := console.New(buf)
	s := New(con, con.Log("init", 1000), reaper)
	s.minBackoff, s.maxBackoff, s.stableAfter, s.crashLoop = 10*time.Millisecond, 80*time.Millisecond, 300*time.Millisecond, 3
	t.Cleanup(func() {
		s.Shutdown(time.Second)
		if t.Failed() {
			con.Flush(time.Second)
			t.Logf("console:\n%s", buf)
		}
	})
	return s, buf
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitConsole waits for a console line containing s.
func waitConsole(t *testing.T, buf *syncbuf.Buffer, s string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%q on the console", s), func() bool { return strings.Contains(buf.String(), s) })
}

func status(s *Supervisor, name string) Status {
	for _, st := range s.Status() {
		if st.Name == name {
			return st
		}
	}
	return Status{}
}

// worldReadableExe copies the test binary where an unprivileged uid can
// execute it (go test's work directory is mode 0700).
func worldReadableExe(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "supervise-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := filepath.Join(dir, "helper")
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, src); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}
