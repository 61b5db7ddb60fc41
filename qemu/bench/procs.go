package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"tprouter/qemu/lab"
)

// proc is a daemon (nginx, a proxy) started in a namespace. It runs in its
// own process group, so stopping it also stops the workers it forks (Squid
// kids, nginx workers), and its output goes to a log file that errors quote.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // Wait's result, valid after done is closed
	// cleanup, if set, runs after the process has stopped.
	cleanup func()
}

// startProc runs name args in ns with env added to the environment and
// stdout and stderr appended to dir/<label>.log.
func startProc(ns *lab.NS, dir, label string, env []string, name string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, label+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", logPath, err)
	}
	defer f.Close() // the child has its own copy
	cmd := ns.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("in %s: start %s %s: %w", ns.Name, name, strings.Join(args, " "), err)
	}
	p := &proc{name: label, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// pid is the daemon's own PID: ip netns exec execs the program, so the PID
// of the started command is the program's.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// failure describes an unexpected exit with the end of the log.
func (p *proc) failure() error {
	return fmt.Errorf("%s (pid %d) exited: %v; %s ends with:\n%s", p.name, p.pid(), p.err, p.log, tail(p.log, 15))
}

// stop sends SIGTERM to the process group, waits up to grace, then kills
// the group. Errors from the exit itself are not reported: a daemon killed
// by a signal is what stop asks for.
func (p *proc) stop(grace time.Duration) {
	pg := -p.pid()
	syscall.Kill(pg, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		syscall.Kill(pg, syscall.SIGKILL)
		<-p.done
	}
	// Kids whose parent exited first may still be alive in the group.
	syscall.Kill(pg, syscall.SIGKILL)
	if p.cleanup != nil {
		p.cleanup()
		p.cleanup = nil
	}
}

// groupPIDs lists the live processes of the process group (the daemon and
// every worker it forked), read from /proc/<pid>/stat.
func (p *proc) groupPIDs() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return []int{p.pid()}
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// state(0) ppid pgrp ...
		if f := procStat(pid); len(f) > 2 && f[2] == strconv.Itoa(p.pid()) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// rssBytes sums VmRSS over the process group. Shared pages (Squid's shared
// memory, libraries) count once per process, as VmRSS does.
func (p *proc) rssBytes() (int64, error) {
	pids := p.groupPIDs()
	if len(pids) == 0 {
		return 0, fmt.Errorf("%s: no live process in group %d", p.name, p.pid())
	}
	var sum int64
	for _, pid := range pids {
		kb, err := vmRSSkB(pid)
		if err != nil {
			return 0, err
		}
		sum += kb * 1024
	}
	return sum, nil
}

func vmRSSkB(pid int) (int64, error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v) // "1234 kB"
			if len(f) == 2 && f[1] == "kB" {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("%s: no VmRSS line", path)
}

// tail returns the last n lines of the file at path, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// errTimeout is returned by waitFor when its condition never held.
var errTimeout = errors.New("timed out")

// waitFor polls cond every 50 ms until it returns nil, the process exits
// or d passes; the error is cond's last one.
func waitFor(d time.Duration, p *proc, cond func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if p != nil && p.exited() {
			return p.failure()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %v: %v", errTimeout, d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// userHZ is the unit of the CPU times in /proc/<pid>/stat: USER_HZ, which
// Linux fixes at 100 for user space whatever the kernel's own tick.
const userHZ = 100

// cpuSeconds sums user and system CPU time over the process group. System
// time includes the network stack's work done in the proxy's syscalls
// (a send on a veth runs much of the receiver's path), which is most of a
// proxy's cost here.
func (p *proc) cpuSeconds() float64 {
	var ticks int64
	for _, pid := range p.groupPIDs() {
		// state(0) ppid pgrp session tty tpgid flags minflt cminflt
		// majflt cmajflt utime(11) stime(12).
		if f := procStat(pid); len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + s
		}
	}
	return float64(ticks) / userHZ
}

// procStat returns the fields of /proc/<pid>/stat after the
// parenthesised command name (which may hold spaces), from the state on;
// nil if the process is gone.
func procStat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// hostCPU reads the machine's busy and total CPU time from /proc/stat, in
// USER_HZ ticks, to tell how loaded the box was during a run.
func hostCPU() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// killOnDone kills cmd's process when ctx ends, until the returned stop
// is called: exec.CommandContext cannot be used with NS.Command's
// ready-made Cmd.
func killOnDone(ctx context.Context, cmd *exec.Cmd) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		if cmd.Process != nil {
			cmd.Process.Kill()
		}
	})
}
