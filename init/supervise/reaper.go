package supervise

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Exit is a reaped process and how it ended.
type Exit struct {
	PID    int
	Status unix.WaitStatus
}

func (e Exit) String() string { return describe(e.Status) }

// Reaper is the process's only caller of wait. PID 1 inherits every orphan
// on the system and must reap them, and a loop of Wait4(-1) does; but such
// a loop also collects the children that exec.Cmd.Wait or os.Process.Wait
// would wait for, which then fail with ECHILD. So nothing else waits: the
// Reaper collects every exit and hands those of the processes started
// through it to their starters, by PID.
//
// Only one Reaper may run in a process. In tests, the test process makes
// itself a child subreaper (PR_SET_CHILD_SUBREAPER) to stand in for PID 1.
type Reaper struct {
	mu      sync.Mutex
	waiting map[int]chan Exit // started through Start, not yet reaped

	kick    chan struct{} // a child was started: wait again
	orphan  func(Exit)
	orphans atomic.Uint64
}

// NewReaper starts reaping. orphan, if not nil, is called with each
// reaped process that was not started through Start.
func NewReaper(orphan func(Exit)) *Reaper {
	r := &Reaper{waiting: map[int]chan Exit{}, kick: make(chan struct{}, 1), orphan: orphan}
	go func() {
		for {
			r.loop() // returns only after a panic (in orphan)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return r
}

// Start calls start, which starts a process and returns its PID, and
// returns a channel that gets the process's exit. The reaper cannot hand
// the exit to anyone else: Start holds the reaper's lock while the process
// starts, so an exit reaped before start returns waits for the PID to be
// registered. start must not wait for the process.
func (r *Reaper) Start(start func() (pid int, err error)) (int, <-chan Exit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := start()
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan Exit, 1)
	r.waiting[pid] = ch
	select {
	case r.kick <- struct{}{}:
	default:
	}
	return pid, ch, nil
}

// Orphans returns how many processes not started through Start were
// reaped.
func (r *Reaper) Orphans() uint64 { return r.orphans.Load() }

func (r *Reaper) loop() {
	defer func() { recover() }()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ECHILD):
			// No children: wait for one to be started. The timeout is a
			// safety net; orphans only come from our own children.
			select {
			case <-r.kick:
			case <-time.After(time.Second):
			}
			continue
		case err != nil:
			time.Sleep(100 * time.Millisecond)
			continue
		}
		r.mu.Lock()
		ch := r.waiting[pid]
		delete(r.waiting, pid)
		r.mu.Unlock()
		if ch != nil {
			ch <- Exit{pid, ws}
			continue
		}
		r.orphans.Add(1)
		if r.orphan != nil {
			r.orphan(Exit{pid, ws})
		}
	}
}

// describe says how a process ended, in the words of a shell.
func describe(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return "exit status " + strconv.Itoa(ws.ExitStatus())
	case ws.Signaled():
		s := "killed by " + signalName(ws.Signal())
		if ws.CoreDump() {
			s += " (core dumped)"
		}
		return s
	}
	return "wait status " + strconv.Itoa(int(ws))
}

func signalName(s unix.Signal) string {
	if n := unix.SignalName(s); n != "" {
		return n
	}
	return "signal " + strconv.Itoa(int(s))
}
