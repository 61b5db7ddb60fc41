package supervise

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"tprouter/internal/syncbuf"

	"golang.org/x/sys/unix"

	"tprouter/qemu/lab"
)

func TestRestart(t *testing.T) {
	s, buf := newSupervisor(t)
	s.Add(helperService(t, "seven", "exit", "7"))
	waitFor(t, "two restarts", func() bool { return status(s, "seven").Restarts >= 2 })
	if got := status(s, "seven").LastExit; got != "exit status 7" {
		t.Errorf("LastExit = %q, want exit status 7", got)
	}
	waitConsole(t, buf, "seven exited after")
	// The child's own output, timestamped and prefixed with its name.
	line := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z seven: hello from \d+$`)
	if !line.MatchString(buf.String()) {
		t.Errorf("no line matching %v on the console", line)
	}
}

// TestDontRestart runs a service that exits with ExitDontRestart, as a
// usage error does, and one that panics (exit status 2): the first is
// reported once and not restarted, the second is restarted.
func TestDontRestart(t *testing.T) {
	s, buf := newSupervisor(t)
	s.Add(helperService(t, "usage", "exit", fmt.Sprint(ExitDontRestart)))
	s.Add(helperService(t, "panicky", "panic", ""))
	waitFor(t, "panicky's restarts", func() bool { return status(s, "panicky").Restarts >= 3 })
	waitConsole(t, buf, "usage exited after")
	if st := status(s, "usage"); st.Restarts != 0 || !st.Stopped || st.PID != 0 || st.LastExit != "exit status 125" {
		t.Errorf("usage: %+v, want stopped after one run with exit status 125", st)
	}
	if st := status(s, "panicky"); st.Stopped || st.LastExit != "exit status 2" {
		t.Errorf("panicky: %+v, want restarted after exit status 2", st)
	}
	out := buf.String()
	if n := strings.Count(out, "init: usage exited"); n != 1 || !strings.Contains(out, "not restarting it") {
		t.Errorf("usage's exit reported %d times, want once, with \"not restarting it\"", n)
	}
	if n := strings.Count(out, "init: started usage"); n != 1 {
		t.Errorf("usage started %d times, want once", n)
	}
}

// TestBackoff runs a service that exits at once three times and then runs
// longer than stableAfter: the delays double up to the maximum, three
// short runs are a crash loop, and a long run ends it and resets the
// backoff.
func TestBackoff(t *testing.T) {
	s, buf := newSupervisor(t)
	s.stableAfter = time.Second // far above a quick run's start-up, even under -race
	s.Add(helperService(t, "flaky", "flaky", filepath.Join(t.TempDir(), "runs")))
	waitFor(t, "5 starts", func() bool { return status(s, "flaky").Restarts >= 4 })
	s.Shutdown(time.Second)

	var delays []string
	for _, m := range matches(buf, regexp.MustCompile(`init: flaky exited after .*; restarting in (\S+)$`)) {
		delays = append(delays, m[1])
	}
	// Runs 1-3 exit at once; the later ones last 1.2s, longer than
	// stableAfter.
	want := []string{"10ms", "20ms", "40ms", "10ms"}
	if len(delays) < len(want) || strings.Join(delays[:len(want)], " ") != strings.Join(want, " ") {
		t.Errorf("delays %v, want %v...", delays, want)
	}
	for _, w := range []string{"flaky is crash-looping: 3 runs in a row", "flaky has been running for 1s: no longer crash-looping"} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("console lacks %q", w)
		}
	}

	// The delays are real: the starts are at least that far apart.
	var starts []time.Time
	for _, m := range matches(buf, regexp.MustCompile(`^(\S+) init: started flaky`)) {
		ts, err := time.Parse("2006-01-02T15:04:05.000Z07:00", m[1])
		if err != nil {
			t.Fatal(err)
		}
		starts = append(starts, ts)
	}
	if len(starts) < 4 {
		t.Fatalf("%d starts on the console", len(starts))
	}
	for i, min := range []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond} {
		if gap := starts[i+1].Sub(starts[i]); gap < min {
			t.Errorf("start %d came %v after start %d, want at least %v", i+2, gap, i+1, min)
		}
	}
}

func TestMaxBackoff(t *testing.T) {
	s, buf := newSupervisor(t)
	s.stableAfter = 10 * time.Second // no run may count as stable
	s.Add(helperService(t, "fail", "exit", "1"))
	waitFor(t, "7 starts", func() bool { return status(s, "fail").Restarts >= 6 })
	s.Shutdown(time.Second)
	var delays []string
	for _, m := range matches(buf, regexp.MustCompile(`restarting in (\S+)$`)) {
		delays = append(delays, m[1])
	}
	want := "10ms 20ms 40ms 80ms 80ms 80ms"
	if got := strings.Join(delays, " "); !strings.HasPrefix(got, want) {
		t.Errorf("delays %s, want %s", got, want)
	}
	if !status(s, "fail").CrashLoop {
		t.Error("Status().CrashLoop is false")
	}
}

// TestOrphans runs a service that double-forks: its grandchild, in a group
// of its own, outlives it and exits later. The reaper reaps the orphan, and
// the supervisor still gets the service's own exit status.
func TestOrphans(t *testing.T) {
	s, buf := newSupervisor(t)
	s.Add(helperService(t, "forker", "orphan", ""))
	waitConsole(t, buf, "forker: grandchild ")
	m := matches(buf, regexp.MustCompile(`forker: grandchild (\d+)`))
	var gpid int
	fmt.Sscan(m[0][1], &gpid)
	waitFor(t, fmt.Sprintf("orphan %d to be reaped", gpid), func() bool { _, ok := orphans.Load(gpid); return ok })
	if e, _ := orphans.Load(gpid); e.(Exit).String() != "exit status 0" {
		t.Errorf("orphan %d: %v, want exit status 0", gpid, e)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", gpid)); !os.IsNotExist(err) {
		t.Errorf("/proc/%d still there (a zombie?): %v", gpid, err)
	}
	if got := status(s, "forker").LastExit; got != "exit status 3" {
		t.Errorf("service's LastExit = %q, want exit status 3", got)
	}
}

// TestReaperStatuses starts many short processes at once, while orphans
// are being reaped too, and checks each starter gets its own exit status.
func TestReaperStatuses(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	start := func(mode string, code int) (int, <-chan Exit, error) {
		return reaper.Start(func() (int, error) {
			p, err := os.StartProcess(exe, []string{exe}, &os.ProcAttr{
				Env: helperEnviron(mode, fmt.Sprint(code)),
			})
			if err != nil {
				return 0, err
			}
			defer p.Release()
			return p.Pid, nil
		})
	}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mode := "exit"
			if i%4 == 0 {
				mode = "orphan" // exits 3 and leaves an orphan
			}
			pid, exit, err := start(mode, i)
			if err != nil {
				t.Error(err)
				return
			}
			e := <-exit
			want := fmt.Sprintf("exit status %d", i)
			if mode == "orphan" {
				want = "exit status 3"
			}
			if e.PID != pid || e.String() != want {
				t.Errorf("process %d (%s %d): got %d %v, want %s", pid, mode, i, e.PID, e, want)
			}
		}()
	}
	wg.Wait()
}

// TestShutdown stops a service that exits on SIGTERM and one that ignores
// it: the second is killed after the grace period, and neither restarts.
func TestShutdown(t *testing.T) {
	s, buf := newSupervisor(t)
	s.Add(helperService(t, "polite", "sleep", ""))
	s.Add(helperService(t, "stubborn", "stubborn", ""))
	waitConsole(t, buf, "polite: up")
	waitConsole(t, buf, "stubborn: ignoring SIGTERM")

	const grace = 300 * time.Millisecond
	start := time.Now()
	s.Shutdown(grace)
	took := time.Since(start)
	if took < grace || took > grace+killWait {
		t.Errorf("Shutdown took %v, want between %v and %v", took, grace, grace+killWait)
	}
	for name, want := range map[string]string{"polite": "killed by SIGTERM", "stubborn": "killed by SIGKILL"} {
		if st := status(s, name); st.LastExit != want || st.PID != 0 {
			t.Errorf("%s: LastExit %q, PID %d; want %q, 0", name, st.LastExit, st.PID, want)
		}
	}
	waitConsole(t, buf, "stubborn (pid ")
	if !regexp.MustCompile(`stubborn \(pid \d+\) still running 300ms after SIGTERM: SIGKILL`).MatchString(buf.String()) {
		t.Error("console does not say stubborn was SIGKILLed")
	}
	time.Sleep(50 * time.Millisecond)
	if n := strings.Count(buf.String(), "init: started "); n != 2 {
		t.Errorf("%d starts, want 2 (no restart after Shutdown)", n)
	}
}

func TestLines(t *testing.T) {
	s, buf := newSupervisor(t)
	s.Add(helperService(t, "talker", "lines", ""))
	waitConsole(t, buf, "talker: partial")
	var log []string
	for _, l := range s.con.Logs() {
		if l.Name() == "talker" {
			for _, line := range l.Lines() {
				log = append(log, line.Text)
			}
		}
	}
	want := []string{"one", "two", strings.Repeat("y", maxLine), strings.Repeat("y", 10), "partial"}
	if strings.Join(log[:min(len(log), 5)], "|") != strings.Join(want, "|") {
		t.Errorf("ring has %.60q, want %.60q", log, want)
	}
}

func TestStartFailure(t *testing.T) {
	s, buf := newSupervisor(t)
	s.Add(Service{Name: "ghost", Path: "/nonexistent/ghost"})
	waitConsole(t, buf, "ghost: retrying in 20ms")
	if !strings.Contains(buf.String(), "init: ghost: starting /nonexistent/ghost: fork/exec /nonexistent/ghost: no such file or directory") {
		t.Error("console does not name the failing call")
	}
	if got := status(s, "ghost").LastExit; got != "did not start" {
		t.Errorf("LastExit = %q", got)
	}
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		lab.Unavailable(t, "needs root to start a process as another uid with ambient capabilities")
	}
}

// capsOf starts the caps helper as uid/gid 3129 with caps and returns
// what it reports about itself.
func capsOf(t *testing.T, s *Supervisor, buf *syncbuf.Buffer, name string, caps ...Cap) map[string]string {
	svc := helperService(t, name, "caps", "")
	svc.Path = worldReadableExe(t)
	svc.User = &User{UID: 3129, GID: 3129, Caps: caps}
	s.Add(svc)
	waitConsole(t, buf, name+": low port")
	got := map[string]string{}
	for _, m := range matches(buf, regexp.MustCompile(`^\S+ `+name+`: ([A-Za-z_ ]+):\s?(.*)$`)) {
		got[m[1]] = m[2]
	}
	return got
}

func TestAmbientCaps(t *testing.T) {
	needRoot(t)
	s, buf := newSupervisor(t)
	got := capsOf(t, s, buf, "proxy", unix.CAP_NET_ADMIN, unix.CAP_NET_BIND_SERVICE)
	const both = "0000000000001400" // bits 10 and 12
	for k, want := range map[string]string{
		"Uid": "3129 3129 3129 3129", "Gid": "3129 3129 3129 3129", "Groups": "",
		"CapAmb": both, "CapEff": both, "CapPrm": both, "CapInh": both,
		"IP_TRANSPARENT": "<nil>", "low port": "<nil>",
	} {
		if got[k] != want {
			t.Errorf("%s: %q, want %q", k, got[k], want)
		}
	}
	if !strings.Contains(buf.String(), "init: started proxy (pid ") || !strings.Contains(buf.String(), "as uid 3129 gid 3129 with [CAP_NET_ADMIN CAP_NET_BIND_SERVICE]") {
		t.Error("console does not say how proxy was started")
	}
}

// TestCapsMissing pretends init lacks CAP_NET_ADMIN in its bounding set:
// the console says which capability and why, and the service starts with
// the others.
func TestCapsMissing(t *testing.T) {
	needRoot(t)
	s, buf := newSupervisor(t)
	fake := filepath.Join(t.TempDir(), "status")
	os.WriteFile(fake, []byte("Name:\tinit\nCapPrm:\t000001ffffffffff\nCapBnd:\t000001ffffffefff\n"), 0o644)
	s.procStatus = fake
	got := capsOf(t, s, buf, "proxy", unix.CAP_NET_ADMIN, unix.CAP_NET_BIND_SERVICE)
	if want := "0000000000000400"; got["CapAmb"] != want {
		t.Errorf("CapAmb %q, want %q", got["CapAmb"], want)
	}
	if got["IP_TRANSPARENT"] != "operation not permitted" {
		t.Errorf("IP_TRANSPARENT without CAP_NET_ADMIN: %q", got["IP_TRANSPARENT"])
	}
	want := "init: proxy: cannot grant CAP_NET_ADMIN: not in init's bounding set (CapBnd 000001ffffffefff)"
	if !strings.Contains(buf.String(), want) {
		t.Errorf("console lacks %q", want)
	}
}

// TestTTY runs a service on a terminal, as the rescue shell runs on the
// console: in its own session, with the terminal as its controlling
// terminal and itself in the foreground.
func TestTTY(t *testing.T) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		lab.Unavailable(t, fmt.Sprintf("no pseudo-terminals: %v", err))
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newSupervisor(t)
	svc := helperService(t, "shell", "tty", "")
	svc.TTY = fmt.Sprintf("/dev/pts/%d", n)
	s.Add(svc)
	got := make(chan string, 1)
	go func() {
		b := make([]byte, 256)
		var out []byte
		for !strings.Contains(string(out), "\n") {
			k, err := ptmx.Read(b)
			if err != nil {
				break
			}
			out = append(out, b[:k]...)
		}
		got <- string(out)
	}()
	select {
	case out := <-got:
		if want := "session leader true, foreground true, <nil>"; !strings.Contains(out, want) {
			t.Errorf("on the terminal: %q, want %q", out, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing on the terminal")
	}
}
