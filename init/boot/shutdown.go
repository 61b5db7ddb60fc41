package boot

import (
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Action is how the system goes down.
type Action int

const (
	Reboot Action = iota
	Halt
	PowerOff
)

func (a Action) String() string {
	switch a {
	case Halt:
		return "halt"
	case PowerOff:
		return "power off"
	}
	return "reboot"
}

func (a Action) cmd() int {
	switch a {
	case Halt:
		return unix.LINUX_REBOOT_CMD_HALT
	case PowerOff:
		return unix.LINUX_REBOOT_CMD_POWER_OFF
	}
	return unix.LINUX_REBOOT_CMD_RESTART
}

// Signals are the signals PID 1 acts on, as gokrazy's and busybox's init
// do. SIGINT is what the kernel sends for ctrl-alt-del once init asked for
// it (LINUX_REBOOT_CMD_CAD_OFF).
var Signals = map[os.Signal]Action{
	syscall.SIGTERM: Reboot,
	syscall.SIGINT:  Reboot,
	syscall.SIGUSR1: Halt,
	syscall.SIGUSR2: PowerOff,
}

// Shutdown takes the system down, once: it stops the services, writes
// out what init holds, syncs, unmounts the partitions, and reboots, halts
// or powers off.
type Shutdown struct {
	// Stop stops the services (SIGTERM, then SIGKILL after a deadline);
	// they write out their own state as they exit.
	Stop func()
	// Flush writes out what init holds while the file systems are still
	// mounted: the console's queue, and what init keeps on /perm.
	Flush func()
	// Unmount unmounts the partitions init mounted (storage.Unmount).
	Unmount func()
	// Drain lets the console catch up with the last lines before the
	// machine goes.
	Drain func()
	// Disarm stops the hardware watchdog (Watchdog.Disarm) before a
	// power off or halt, which it would otherwise undo with a reset; a
	// reboot leaves it running, and a hung reboot still resets.
	Disarm func()
	Log    func(format string, args ...any)

	started atomic.Bool
	reboot  func(cmd int) error // seam: unix.Reboot
	sync    func()              // seam: unix.Sync
}

// Do takes the system down in that order. Only the first call does
// anything; later ones return at once. On the router Do does not return;
// it does when the reboot system call fails, which it says.
//
// It syncs before the unmount, so that the data is on the disks even if
// a partition cannot be unmounted, and after it, for one that was only
// detached; reboot(2) itself writes nothing.
func (s *Shutdown) Do(a Action, why string) {
	if !s.started.CompareAndSwap(false, true) {
		s.Log("%s: already shutting down", why)
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.Log("shutdown: panic: %v", r)
		}
	}()
	s.Log("%s: %s", why, a)
	sync, reboot := s.sync, s.reboot
	if sync == nil {
		sync = unix.Sync
	}
	if reboot == nil {
		reboot = unix.Reboot
	}
	for _, step := range []func(){s.Stop, s.Flush, sync, s.Unmount, sync} {
		if step != nil {
			step()
		}
	}
	if a != Reboot && s.Disarm != nil {
		s.Disarm()
	}
	s.Log("%s now", a)
	if s.Drain != nil {
		s.Drain()
	}
	if err := reboot(a.cmd()); err != nil {
		s.Log("reboot(%#x) for %s: %v", a.cmd(), a, err)
	}
}

// HandleSignals makes Signals take the system down through s.
func (s *Shutdown) HandleSignals() {
	ch := make(chan os.Signal, 4)
	for sig := range Signals {
		signal.Notify(ch, sig)
	}
	go func() {
		for sig := range ch {
			go s.Do(Signals[sig], "got "+unix.SignalName(sig.(syscall.Signal)))
		}
	}()
}

// IgnoreSIGPIPE keeps a write to a closed console pipe from ending the
// process: the Go runtime exits on EPIPE on fd 1 or 2 unless SIGPIPE is
// being notified. Notifying (rather than ignoring) keeps SIG_IGN from
// being inherited by the services.
func IgnoreSIGPIPE() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}

// CtrlAltDel makes the kernel send SIGINT to PID 1 on ctrl-alt-del instead
// of rebooting at once, so that the reboot is orderly.
func CtrlAltDel() error {
	return unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF)
}
