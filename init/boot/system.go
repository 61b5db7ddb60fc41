package boot

import (
	"fmt"
	"os"

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
