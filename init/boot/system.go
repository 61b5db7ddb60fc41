package boot

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// SetHostname sets the kernel's host name.
func SetHostname(name string) error {
	if err := unix.Sethostname([]byte(name)); err != nil {
		return fmt.Errorf("sethostname(%q): %w", name, err)
	}
	return nil
}

// ReadCmdline returns the kernel command line. Read it after Mount:
// before /proc is mounted there is nothing to read (u-root's cmdline
// package then silently returns an empty line).
func ReadCmdline() (string, error) {
	b, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// FileLimit is the open-file limit init gives itself and so every service
// it starts: the kernel's default of 1024 (4096 hard) is far below what the
// proxy needs for its default -max-conns of 16384 (a client and an upstream
// socket each, and the kept idle ones), and the services, running as their
// own users, cannot raise their hard limit themselves.
const FileLimit = 65536

// RaiseFileLimit raises the open-file limit of init, and of the processes
// it starts after, to at least n. (Go raises its own soft limit at start
// but gives the children it starts the original one back, unless the
// program set the limit itself, as here.)
func RaiseFileLimit(n uint64) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return fmt.Errorf("getrlimit(RLIMIT_NOFILE): %w", err)
	}
	if rl.Cur >= n && rl.Max >= n {
		return nil
	}
	want := syscall.Rlimit{Cur: max(rl.Cur, n), Max: max(rl.Max, n)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		return fmt.Errorf("setrlimit(RLIMIT_NOFILE, %d): %w", n, err)
	}
	return nil
}
