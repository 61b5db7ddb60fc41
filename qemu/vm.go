package qemu

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"tprouter/qemu/lab"
)

// VM is a running QEMU.
type VM struct {
	Started time.Time // just before QEMU was started
	Args    []string  // QEMU's command line

	console *console
	stdin   io.WriteCloser // the serial console's input
	taps    []*lab.Tap
	monDir  string // holds monitor.sock, QEMU's human monitor
	cancel  context.CancelFunc
	done    chan struct{} // closed when QEMU has exited
	err     error         // QEMU's exit, valid after done
	close   sync.Once
}

// Close kills QEMU if it still runs and removes the taps. It returns
// QEMU's exit error only if QEMU ended on its own with one.
func (vm *VM) Close() error {
	vm.close.Do(func() {
		select {
		case <-vm.done:
		default:
			vm.cancel()
			<-vm.done
			vm.err = nil // killed on purpose
		}
		vm.cancel()
		vm.release()
	})
	return vm.err
}

// release closes the taps and removes the monitor's socket.
func (vm *VM) release() {
	if vm.monDir != "" {
		os.RemoveAll(vm.monDir)
	}
	for _, t := range vm.taps {
		t.Close()
	}
}

// Send types s on the serial console, for the rescue shell
// (tprouter.shell=on): vm.Send("ps\n").
func (vm *VM) Send(s string) error {
	_, err := io.WriteString(vm.stdin, s)
	return err
}

// Monitor runs cmd in QEMU's human monitor, e.g. "system_powerdown" (the
// ACPI power button), and returns what the monitor answered.
func (vm *VM) Monitor(cmd string) (string, error) {
	c, err := net.DialTimeout("unix", vm.monitorSocket(), 5*time.Second)
	if err != nil {
		return "", fmt.Errorf("QEMU monitor: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	prompt := func() (string, error) {
		var out []byte
		buf := make([]byte, 4096)
		for !bytes.HasSuffix(out, []byte("(qemu) ")) {
			n, err := c.Read(buf)
			if err != nil {
				return string(out), fmt.Errorf("QEMU monitor: %w", err)
			}
			out = append(out, buf[:n]...)
		}
		return string(out), nil
	}
	if _, err := prompt(); err != nil {
		return "", err
	}
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return "", fmt.Errorf("QEMU monitor: %w", err)
	}
	return prompt()
}

// PowerDown presses the ACPI power button until QEMU exits, for an
// orderly shutdown: init stops the services and powers off. A press
// before init watches the button (it looks for new input devices every
// second) is lost, so it presses every 5 s. It returns QEMU's exit error,
// or ctx's when QEMU still runs.
func (vm *VM) PowerDown(ctx context.Context) error {
	for {
		out, err := vm.Monitor("system_powerdown")
		select {
		case <-vm.done:
			return vm.err
		default:
		}
		if err != nil {
			return fmt.Errorf("system_powerdown: %w (%s)", err, out)
		}
		select {
		case <-vm.done:
			return vm.err
		case <-ctx.Done():
			return fmt.Errorf("QEMU still runs after pressing the power button: %w", ctx.Err())
		case <-time.After(5 * time.Second):
		}
	}
}

func (vm *VM) monitorSocket() string { return filepath.Join(vm.monDir, "monitor.sock") }

// Done is closed when QEMU has exited.
func (vm *VM) Done() <-chan struct{} { return vm.done }

// Err is how QEMU exited; valid once Done is closed.
func (vm *VM) Err() error { return vm.err }

// ConsoleFile is Options.Console.
func (vm *VM) ConsoleFile() string { return vm.console.name }

// Console returns the serial console so far.
func (vm *VM) Console() string {
	vm.console.mu.Lock()
	defer vm.console.mu.Unlock()
	return string(vm.console.buf)
}

// Wait waits until s appears on the console after everything an earlier
// Wait or Expect matched, like expect(1), and consumes the console up to
// the end of s. It returns when s arrived, counted from QEMU's start. It
// fails when ctx ends, or when QEMU exits without printing s.
func (vm *VM) Wait(ctx context.Context, s string) (time.Duration, error) {
	return vm.console.wait(ctx, s)
}

// CmdlineQuoted is QEMU's command line, quoted for a shell, to reproduce
// a run by hand (the taps' descriptors aside).
func (vm *VM) CmdlineQuoted() string {
	var q []string
	for _, a := range vm.Args {
		if strings.ContainsAny(a, " \t'\"") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q = append(q, a)
	}
	return strings.Join(q, " ")
}

// DiskWritten returns how many bytes the guest has written to its disk
// (Options.Disk) so far, from QEMU's block statistics: a test sees the
// guest start writing a file (an update's slot) and can kill QEMU in the
// middle of it.
func (vm *VM) DiskWritten() (int64, error) {
	out, err := vm.Monitor("info blockstats")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), diskID+":") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "wr_bytes="); ok {
				return strconv.ParseInt(v, 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("QEMU's info blockstats has no wr_bytes for %s (a VM booted from a Disk?):\n%s", diskID, out)
}
