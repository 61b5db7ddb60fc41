// Package qemu boots a tprouter image in QEMU with its network interfaces
// on the links of a lab (tprouter/qemu/lab), so that the lab's client and
// server namespaces talk to the virtual router exactly as they would to the
// lab's router namespace. Tests wait for what the router prints on its
// serial console.
//
//	l := lab.New(t, lab.Options{})
//	vm := qemu.Boot(t, qemu.Options{
//		Image:   qemu.Image(t, "qemu-x86_64"),
//		Cmdline: "tprouter.lan.addr=192.0.2.1/24",
//		NICs:    []qemu.NIC{{NS: l.Server}, {NS: l.Client}}, // eth0 (WAN), eth1 (LAN)
//	})
//	d := vm.Expect(t, "tprouter: ready", time.Minute)
//
// Each NIC is a virtio-net device (or another model) on a tap device that
// takes the place of the lab router's end of the link (lab.NS.TapPeer).
// QEMU gets the taps as open file descriptors and has no other network: no
// user-mode networking, no host bridge. It emulates the CPU (TCG) unless
// TPROUTER_KVM=1 asks for KVM, because nested KVM crashes on some hosts.
package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"tprouter/qemu/lab"
)

// Options describe a VM.
type Options struct {
	// Image is a directory with vmlinuz, initramfs.img and cmdline, as
	// `go run ./image` writes it (build/<board>).
	Image string
	// Cmdline is added to the image's kernel command line. A key given
	// here replaces the image's (tprouter.lan=eth1 and the like), so
	// that init sees every key once.
	Cmdline string
	// NICs are the guest's network interfaces, in the order the guest
	// names them: eth0, eth1, ...
	NICs []NIC

	Memory  string        // -m; default 512M
	CPUs    int           // -smp; default 1
	Timeout time.Duration // QEMU is killed after this; default 10 minutes
	// Console is a file that receives the serial console, if not
	// empty; Boot puts one in t.TempDir(). VM.Console has it anyway.
	Console string
	// Output, if not nil, receives the console as it arrives (make demo
	// shows it on the terminal).
	Output io.Writer
	// QEMU is the emulator binary; default qemu-system-x86_64.
	QEMU string
}

// NIC is one network interface of the guest.
type NIC struct {
	// NS is the namespace at the other end of the link; the guest's NIC
	// replaces the far end of NS's veth link.
	NS *lab.NS
	// Link is NS's veth link towards the router; default eth0
	// (lab.ClientIf, lab.ServerIf).
	Link string
	// MAC is the guest NIC's address; default 52:54:00:12:34:56 for
	// eth0, :57 for eth1 and so on (QEMU's own default, counted up).
	MAC string
	// Model is QEMU's device; default virtio-net-pci. e1000e stands in
	// for an Intel NIC of a real router box (board x86_64).
	Model string
}

// DefaultTimeout bounds a VM's life when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Minute

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

// KVM reports whether TPROUTER_KVM=1 asks for hardware virtualization.
func KVM() bool { return os.Getenv("TPROUTER_KVM") == "1" }

// Binary is the QEMU that Start runs by default.
const Binary = "qemu-system-x86_64"

// Start boots a VM. It runs until ctx ends, the timeout passes, the guest
// powers off, or Close.
func Start(ctx context.Context, o Options) (vm *VM, err error) {
	if o.Memory == "" {
		o.Memory = "512M"
	}
	if o.CPUs == 0 {
		o.CPUs = 1
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.QEMU == "" {
		o.QEMU = Binary
	}
	cmdline, err := os.ReadFile(filepath.Join(o.Image, "cmdline"))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w (build it with: go run ./image)", o.Image, err)
	}
	vm = &VM{done: make(chan struct{})}
	defer func() {
		if err != nil {
			vm.closeTaps()
		}
	}()
	if vm.monDir, err = os.MkdirTemp("", "tprouter-qemu-"); err != nil {
		return nil, err
	}

	args := []string{
		o.QEMU,
		"-nodefaults", "-no-user-config", // no NIC, VGA or monitor unless asked for below
		"-display", "none",
		"-serial", "stdio",
		"-no-reboot", // a reboot (or panic=-1) ends QEMU
		"-m", o.Memory,
		"-smp", fmt.Sprint(o.CPUs),
		"-kernel", filepath.Join(o.Image, "vmlinuz"),
		"-initrd", filepath.Join(o.Image, "initramfs.img"),
		"-append", mergeCmdline(string(cmdline), o.Cmdline),
		// The human monitor on a socket, for VM.Monitor (the power
		// button: system_powerdown).
		"-chardev", "socket,id=mon,path=" + filepath.Join(vm.monDir, "monitor.sock") + ",server=on,wait=off",
		"-mon", "chardev=mon,mode=readline",
	}
	if KVM() {
		args = append(args, "-accel", "kvm", "-cpu", "host")
	} else {
		args = append(args, "-accel", "tcg", "-cpu", "max")
	}
	var files []*os.File
	for i, nic := range o.NICs {
		link := nic.Link
		if link == "" {
			link = "eth0"
		}
		mac := nic.MAC
		if mac == "" {
			mac = fmt.Sprintf("52:54:00:12:34:%02x", 0x56+i)
		}
		model := nic.Model
		if model == "" {
			model = "virtio-net-pci"
		}
		if nic.NS == nil {
			return nil, fmt.Errorf("NIC %d: no namespace", i)
		}
		tap, err := nic.NS.TapPeer(link)
		if err != nil {
			return nil, fmt.Errorf("NIC %d (eth%d): %w", i, i, err)
		}
		vm.taps = append(vm.taps, tap)
		files = append(files, tap.File)
		// ExtraFiles[i] is the child's descriptor 3+i.
		args = append(args,
			"-netdev", fmt.Sprintf("tap,id=net%d,fd=%d", i, 3+i),
			"-device", fmt.Sprintf("%s,netdev=net%d,mac=%s", model, i, mac))
	}
	vm.Args = args

	if vm.console, err = newConsole(o.Console, o.Output); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			vm.console.closeWith(err)
		}
	}()

	ctx, vm.cancel = context.WithTimeout(ctx, o.Timeout)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdout = vm.console
	cmd.Stderr = vm.console
	if vm.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	cmd.ExtraFiles = files
	// QEMU must not outlive the test process, even one killed with
	// SIGKILL, or it keeps the lab's taps and namespaces alive.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

	started := make(chan error)
	go func() {
		// Pdeathsig fires when the thread that started the child
		// exits, and Go ends threads (e.g. those that lab.NS.Do
		// locked); this one stays until QEMU is gone.
		runtime.LockOSThread()
		vm.Started = time.Now()
		vm.console.start = vm.Started
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("%s: %w", strings.Join(args, " "), err)
			return
		}
		started <- nil
		err := cmd.Wait()
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("killed after the VM timeout of %v: %w", o.Timeout, err)
		}
		vm.err = err
		vm.console.closeWith(vm.err)
		close(vm.done)
	}()
	if err := <-started; err != nil {
		vm.cancel()
		return nil, err
	}
	return vm, nil
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
		vm.closeTaps()
	})
	return vm.err
}

func (vm *VM) closeTaps() {
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
	c, err := net.DialTimeout("unix", filepath.Join(vm.monDir, "monitor.sock"), 5*time.Second)
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

// mergeCmdline returns base with extra appended, without the parameters
// of base whose keys extra has.
func mergeCmdline(base, extra string) string {
	key := func(p string) string { k, _, _ := strings.Cut(p, "="); return k }
	override := map[string]bool{}
	for _, p := range splitCmdline(extra) {
		override[key(p)] = true
	}
	var out []string
	for _, p := range splitCmdline(base) {
		if !override[key(p)] {
			out = append(out, p)
		}
	}
	return strings.Join(append(out, splitCmdline(extra)...), " ")
}

// splitCmdline splits a kernel command line into parameters at spaces
// outside double quotes, as the kernel does.
func splitCmdline(s string) []string {
	var ps []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case !quoted && (r == ' ' || r == '\t' || r == '\n'):
			if cur.Len() > 0 {
				ps = append(ps, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteRune(r)
	}
	if cur.Len() > 0 {
		ps = append(ps, cur.String())
	}
	return ps
}

// console collects QEMU's output, in a file and in memory, and wakes those
// waiting for text.
type console struct {
	name  string    // Options.Console
	file  *os.File  // name, open
	out   io.Writer // file and Options.Output
	start time.Time

	mu      sync.Mutex
	buf     []byte
	chunks  []chunk       // when which part of buf arrived
	cursor  int           // where the next wait starts looking
	changed chan struct{} // closed on every write, then replaced
	end     error         // set when QEMU has exited
}

type chunk struct {
	end int           // offset in buf after the chunk
	at  time.Duration // since start
}

func newConsole(name string, out io.Writer) (*console, error) {
	c := &console{name: name, out: io.Discard, changed: make(chan struct{})}
	var ws []io.Writer
	if name != "" {
		f, err := os.Create(name)
		if err != nil {
			return nil, err
		}
		c.file = f
		ws = append(ws, f)
	}
	if out != nil {
		ws = append(ws, out)
	}
	if len(ws) > 0 {
		c.out = io.MultiWriter(ws...)
	}
	return c, nil
}

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, p...)
	c.chunks = append(c.chunks, chunk{len(c.buf), time.Since(c.start)})
	close(c.changed)
	c.changed = make(chan struct{})
	c.out.Write(p) // a full disk must not stop the VM
	return len(p), nil
}

func (c *console) closeWith(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		err = errors.New("QEMU exited")
	}
	c.end = err
	close(c.changed)
	c.changed = make(chan struct{})
	if c.file != nil {
		c.file.Close()
	}
}

func (c *console) wait(ctx context.Context, s string) (time.Duration, error) {
	for {
		c.mu.Lock()
		if i := bytes.Index(c.buf[c.cursor:], []byte(s)); i >= 0 {
			end := c.cursor + i + len(s)
			c.cursor = end
			var at time.Duration
			for _, ch := range c.chunks {
				if ch.end >= end {
					at = ch.at
					break
				}
			}
			c.mu.Unlock()
			return at, nil
		}
		end, changed := c.end, c.changed
		c.mu.Unlock()
		if end != nil {
			return 0, fmt.Errorf("console: %q not seen before QEMU ended: %v", s, end)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return 0, fmt.Errorf("console: %q not seen: %w", s, ctx.Err())
		}
	}
}
