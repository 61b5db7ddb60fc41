// Package supervise keeps the router's services running, in the manner of
// gokrazy's supervisor. Each service is a child process in its own process
// group. When it exits, what is left of its group is killed and it is
// started again after a backoff that doubles from 100 ms to 30 s and
// resets once a run lasted 10 s; five short runs in a row are reported as
// a crash loop. Its standard output and error are read line by line into
// the service's ring and copied to the console under its name.
//
// A program that exits with status ExitDontRestart (125, gokrazy's "do
// not supervise") says that running it again cannot help: its command
// line or environment is wrong, and its last line says how. The
// supervisor reports that once and does not restart it. Any other exit,
// a panic's status 2 among them, is restarted.
//
// The Reaper does all waiting, so that PID 1 can reap orphans without
// stealing its services' exit statuses.
package supervise

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tprouter/init/console"
)

// Service is a program to keep running.
type Service struct {
	// Name prefixes the service's console lines and names it in /logs
	// and /metrics.
	Name string
	Path string
	Args []string
	// Env is the environment; nil passes init's.
	Env []string
	// User, when set, runs the service unprivileged.
	User *User
	// TTY, when set, is a terminal device that the service gets as
	// standard input, output and error and as its controlling terminal,
	// in a session of its own: the rescue shell. Its output then goes to
	// that terminal only, not through a ring.
	TTY string
}

// User is an unprivileged identity for a service. Caps are raised as
// ambient capabilities, which survive the exec of a program without file
// capabilities: the service gets exactly these and nothing else, as Squid
// keeps CAP_NET_ADMIN after it drops root. No user database is needed.
type User struct {
	UID, GID uint32
	Caps     []Cap
}

// ExitDontRestart is the exit status of a program that must not be
// restarted: a usage error, in its command line or its environment. The
// services exit with it through services/internal/cli (ExitUsage).
const ExitDontRestart = 125

// The supervision policy.
const (
	MinBackoff  = 100 * time.Millisecond
	MaxBackoff  = 30 * time.Second
	StableAfter = 10 * time.Second // a run this long resets the backoff
	CrashLoop   = 5                // short runs in a row that make a crash loop
	RingLen     = 500              // lines kept per service

	maxLine  = 4096            // longer output lines are split
	killWait = 2 * time.Second // for SIGKILLed processes to be reaped
)

// Supervisor runs services.
type Supervisor struct {
	con    *console.Console
	log    *console.Log // init's own lines
	reaper *Reaper

	// The policy, as fields so tests can shorten it.
	minBackoff, maxBackoff, stableAfter time.Duration
	crashLoop                           int
	procStatus                          string // /proc/self/status, for checkCaps

	stop chan struct{} // closed by Shutdown
	wg   sync.WaitGroup

	mu       sync.Mutex
	stopping bool
	services []*service
}

// service is a Service and its state, which Supervisor.mu guards.
type service struct {
	Service
	log *console.Log

	pid      int // 0 when not running
	since    time.Time
	starts   int
	lastExit string
	looping  bool
	stopped  bool   // exited with ExitDontRestart: not restarted
	capWhy   string // the capability problem last reported
}

// New returns a supervisor that logs to con: its own lines to log and each
// service's output to a log of the service's name.
func New(con *console.Console, log *console.Log, r *Reaper) *Supervisor {
	return &Supervisor{
		con: con, log: log, reaper: r,
		minBackoff: MinBackoff, maxBackoff: MaxBackoff, stableAfter: StableAfter,
		crashLoop: CrashLoop, procStatus: "/proc/self/status",
		stop: make(chan struct{}),
	}
}

// Add starts svc and keeps it running until Shutdown.
func (s *Supervisor) Add(svc Service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return
	}
	sv := &service{Service: svc, log: s.con.Log(svc.Name, RingLen)}
	s.services = append(s.services, sv)
	s.wg.Add(1)
	go s.supervise(sv)
}

// supervise is the life of one service: start, wait, back off, repeat.
func (s *Supervisor) supervise(sv *service) {
	defer s.wg.Done()
	backoff, short := s.minBackoff, 0
	for {
		ran, started, ok := s.runOnce(sv)
		if !ok {
			return
		}
		if ran >= s.stableAfter {
			backoff, short = s.minBackoff, 0
		} else {
			short++
		}
		s.mu.Lock()
		exit, stopped := sv.lastExit, sv.stopped
		s.mu.Unlock()
		if stopped {
			s.log.Printf("%s exited after %v (%s): its command line or environment is wrong, as its last line says; not restarting it",
				sv.Name, ran.Round(time.Millisecond), exit)
			return
		}
		s.mu.Lock()
		if short == s.crashLoop {
			sv.looping = true
			s.log.Printf("%s is crash-looping: %d runs in a row ended within %v; restarts slow down to one every %v",
				sv.Name, short, s.stableAfter, s.maxBackoff)
		}
		s.mu.Unlock()
		if started {
			s.log.Printf("%s exited after %v (%s); restarting in %v", sv.Name, ran.Round(time.Millisecond), exit, backoff)
		} else {
			s.log.Printf("%s: retrying in %v", sv.Name, backoff)
		}
		select {
		case <-time.After(backoff):
		case <-s.stop:
			return
		}
		backoff = min(2*backoff, s.maxBackoff)
	}
}

// runOnce starts the service and waits for it to exit. It returns how
// long it ran, whether it started at all, and false when the supervisor
// is stopping.
func (s *Supervisor) runOnce(sv *service) (ran time.Duration, started, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Printf("supervising %s: panic: %v", sv.Name, r)
			ok = true
		}
	}()
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return 0, false, false
	}
	pid, exit, err := s.start(sv)
	start := time.Now()
	if err != nil {
		sv.lastExit = "did not start"
		s.mu.Unlock()
		s.log.Printf("%s: %v", sv.Name, err)
		return 0, false, true
	}
	sv.pid, sv.since = pid, start
	sv.starts++
	s.mu.Unlock()

	stable := time.NewTimer(s.stableAfter)
	defer stable.Stop()
	var e Exit
wait:
	for {
		select {
		case e = <-exit:
			break wait
		case <-stable.C:
			s.mu.Lock()
			if sv.looping {
				sv.looping = false
				s.log.Printf("%s has been running for %v: no longer crash-looping", sv.Name, s.stableAfter)
			}
			s.mu.Unlock()
		}
	}
	// A service is its process group: nothing of an old run may outlive
	// it and meet the new one.
	unix.Kill(-pid, unix.SIGKILL)

	s.mu.Lock()
	defer s.mu.Unlock()
	sv.pid, sv.since = 0, time.Time{}
	sv.lastExit = e.String()
	sv.stopped = e.Status.Exited() && e.Status.ExitStatus() == ExitDontRestart
	return time.Since(start), true, !s.stopping
}

// start starts one run of sv. s.mu is held across the fork and exec, so
// that Shutdown cannot miss a process that starts at that moment (and
// Status waits for a fork to finish).
func (s *Supervisor) start(sv *service) (int, <-chan Exit, error) {
	sys := &syscall.SysProcAttr{Setpgid: true}
	env := sv.Env
	if env == nil {
		env = os.Environ()
	}
	caps := s.credentials(sv, sys)

	var files []*os.File
	var out *os.File // the read end of the output pipe
	if sv.TTY != "" {
		tty, err := os.OpenFile(sv.TTY, os.O_RDWR, 0)
		if err != nil {
			return 0, nil, fmt.Errorf("open %s: %w", sv.TTY, err)
		}
		defer tty.Close()
		files = []*os.File{tty, tty, tty}
		sys.Setpgid, sys.Setsid, sys.Setctty, sys.Ctty = false, true, true, 0
	} else {
		null, err := os.Open(os.DevNull)
		if err != nil {
			return 0, nil, fmt.Errorf("open %s: %w", os.DevNull, err)
		}
		defer null.Close()
		r, w, err := os.Pipe()
		if err != nil {
			return 0, nil, fmt.Errorf("pipe: %w", err)
		}
		defer w.Close()
		files, out = []*os.File{null, w, w}, r
	}

	argv := append([]string{sv.Path}, sv.Args...)
	pid, exit, err := s.reaper.Start(func() (int, error) {
		p, err := os.StartProcess(sv.Path, argv, &os.ProcAttr{Env: env, Files: files, Sys: sys})
		if err != nil {
			return 0, err
		}
		defer p.Release() // the Reaper waits, by PID
		return p.Pid, nil
	})
	if err != nil {
		if out != nil {
			out.Close()
		}
		if sys.Credential != nil {
			return 0, nil, fmt.Errorf("starting %s as uid %d gid %d with ambient %v: %w", sv.Path, sys.Credential.Uid, sys.Credential.Gid, caps, err)
		}
		return 0, nil, fmt.Errorf("starting %s: %w", sv.Path, err)
	}
	if out != nil {
		go func() {
			defer s.log.Recover()
			defer out.Close()
			readLines(out, sv.log.Print)
		}()
	}
	who := ""
	if sys.Credential != nil {
		who = fmt.Sprintf(" as uid %d gid %d", sys.Credential.Uid, sys.Credential.Gid)
		if len(caps) > 0 {
			who += fmt.Sprintf(" with %v", caps)
		}
	}
	s.log.Printf("started %s (pid %d)%s", sv.Name, pid, who)
	return pid, exit, nil
}

// credentials sets sys to run sv as its User, if it has one, with the
// capabilities that can be granted, which it returns. It reports the
// ones that cannot, once for each change.
func (s *Supervisor) credentials(sv *service, sys *syscall.SysProcAttr) []Cap {
	u := sv.User
	if u == nil {
		return nil
	}
	caps, why := checkCaps(s.procStatus, u.Caps)
	if w := strings.Join(why, "; "); w != sv.capWhy {
		sv.capWhy = w
		for _, w := range why {
			s.log.Printf("%s: cannot grant %s; starting it without", sv.Name, w)
		}
	}
	sys.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: []uint32{}}
	for _, c := range caps {
		sys.AmbientCaps = append(sys.AmbientCaps, uintptr(c))
	}
	return caps
}

// readLines calls emit with each line read from r, without the newline.
// Lines longer than maxLine are split; a last line without a newline is
// emitted too.
func readLines(r io.Reader, emit func(string)) {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			emit(strings.TrimSuffix(string(line), "\n"))
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// Shutdown stops supervising and stops every service: SIGTERM (and SIGHUP
// for a terminal's session) to each process group, SIGKILL to the groups
// still running after grace. It returns once all have exited, or when
// they still have not a moment after SIGKILL.
func (s *Supervisor) Shutdown(grace time.Duration) {
	s.mu.Lock()
	if !s.stopping {
		s.stopping = true
		close(s.stop)
	}
	for _, sv := range s.services {
		if sv.pid == 0 {
			continue
		}
		s.log.Printf("stopping %s (pid %d): SIGTERM", sv.Name, sv.pid)
		if sv.TTY != "" {
			unix.Kill(-sv.pid, unix.SIGHUP) // an interactive shell ignores SIGTERM
		}
		unix.Kill(-sv.pid, unix.SIGTERM)
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-time.After(grace):
	}

	s.mu.Lock()
	for _, sv := range s.services {
		if sv.pid != 0 {
			s.log.Printf("%s (pid %d) still running %v after SIGTERM: SIGKILL", sv.Name, sv.pid, grace)
			unix.Kill(-sv.pid, unix.SIGKILL)
		}
	}
	s.mu.Unlock()
	select {
	case <-done:
	case <-time.After(killWait):
		s.log.Printf("services still not reaped %v after SIGKILL", killWait)
	}
}

// Status is a snapshot of one service.
type Status struct {
	Name string
	PID  int // 0 when not running
	// Since is when the current run started.
	Since time.Time
	// Restarts counts the starts after the first.
	Restarts  int
	LastExit  string
	CrashLoop bool
	// Stopped: it exited with ExitDontRestart and is not restarted.
	Stopped bool
}

// Status returns a snapshot of every service, in the order they were
// added.
func (s *Supervisor) Status() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st []Status
	for _, sv := range s.services {
		st = append(st, Status{
			Name: sv.Name, PID: sv.pid, Since: sv.since,
			Restarts: max(sv.starts-1, 0), LastExit: sv.lastExit, CrashLoop: sv.looping,
			Stopped: sv.stopped,
		})
	}
	return st
}
