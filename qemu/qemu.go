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
// With Options.Disk the VM boots a disk image (tprouter/image/disk) as a
// router box does: UEFI firmware (Debian's OVMF) on a q35 machine, the
// disk on NVMe, systemd-boot, the loader entry's kernel and initramfs.
//
//	vm := qemu.Boot(t, qemu.Options{Disk: qemu.Disk(t, "qemu-x86_64"), ...})
//
// Each NIC is a virtio-net device (or another model) on a tap device that
// takes the place of the lab router's end of the link (lab.NS.TapPeer).
// QEMU gets the taps as open file descriptors and has no other network: no
// user-mode networking, no host bridge. It emulates the CPU (TCG) unless
// TPROUTER_KVM=1 asks for KVM, because nested KVM crashes on some hosts.
package qemu

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"tprouter/qemu/lab"
)

// Options describe a VM.
type Options struct {
	// Image is a directory with vmlinuz, initramfs.img and cmdline, as
	// `go run ./image` writes it (build/<board>), booted with QEMU's
	// -kernel and -initrd.
	Image string
	// Disk, instead of Image, is a disk image (tprouter.img) that the VM
	// boots under UEFI from NVMe. The guest writes to it, and so does
	// Start with Cmdline: boot a copy (Disk(t, board)), not the image
	// to flash.
	Disk string
	// Vars is the firmware's variable store for a Disk boot, created as
	// a copy of Debian's empty one if the file does not exist; default a
	// fresh one for this VM alone. Boot the same Disk with the same Vars
	// to boot the same machine again.
	Vars string
	// Cmdline is added to the image's kernel command line. A key given
	// here replaces the image's (tprouter.lan=eth1 and the like), so
	// that init sees every key once. With Disk, Start writes the
	// result into the options of the disk's loader entry (slot a), so
	// that booting the same disk again with the same Cmdline boots with
	// the same line.
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

// KVM reports whether TPROUTER_KVM=1 asks for hardware virtualization.
func KVM() bool { return os.Getenv("TPROUTER_KVM") == "1" }

// Binary is the QEMU that Start runs by default.
const Binary = "qemu-system-x86_64"

// Start boots a VM. It runs until ctx ends, the timeout passes, the guest
// powers off or reboots, or Close.
func Start(ctx context.Context, o Options) (vm *VM, err error) {
	o = o.withDefaults()
	vm = &VM{done: make(chan struct{})}
	defer func() {
		if err != nil {
			vm.release()
		}
	}()
	if vm.monDir, err = os.MkdirTemp("", "tprouter-qemu-"); err != nil {
		return nil, err
	}
	boot, err := o.boot(vm.monDir)
	if err != nil {
		return nil, err
	}
	nicArgs, files, err := vm.openNICs(o.NICs, o.Disk != "")
	if err != nil {
		return nil, err
	}
	vm.Args = append(append(o.args(vm.monitorSocket()), boot...), nicArgs...)
	if vm.console, err = newConsole(o.Console, o.Output); err != nil {
		return nil, err
	}
	if err := vm.launch(ctx, o.Timeout, files); err != nil {
		vm.console.closeWith(err)
		return nil, err
	}
	return vm, nil
}

// boot returns QEMU's arguments that boot the image or the disk, with
// the firmware's files in dir.
func (o Options) boot(dir string) ([]string, error) {
	if o.Disk != "" {
		if o.Image != "" {
			return nil, fmt.Errorf("qemu: Options has an Image (%s) and a Disk (%s): boot one", o.Image, o.Disk)
		}
		return o.uefi(dir)
	}
	base, err := os.ReadFile(filepath.Join(o.Image, "cmdline"))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w (build it with: go run ./image)", o.Image, err)
	}
	cmdline, err := mergeCmdline(string(base), o.Cmdline)
	if err != nil {
		return nil, err
	}
	return []string{
		"-kernel", filepath.Join(o.Image, "vmlinuz"),
		"-initrd", filepath.Join(o.Image, "initramfs.img"),
		"-append", cmdline,
	}, nil
}

// withDefaults fills in the fields left zero.
func (o Options) withDefaults() Options {
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
	return o
}

// args is QEMU's command line without what it boots and the NICs: the
// serial console on stdio, the human monitor on the Unix socket monitor,
// the watchdog, no other device.
func (o Options) args(monitor string) []string {
	args := []string{
		o.QEMU,
		"-nodefaults", "-no-user-config", // no NIC, VGA or monitor unless asked for below
		"-display", "none",
		"-serial", "stdio",
		"-no-reboot", // a reboot (or panic=-1) ends QEMU
		"-m", o.Memory,
		"-smp", fmt.Sprint(o.CPUs),
		// The human monitor, for VM.Monitor (the power button:
		// system_powerdown).
		"-chardev", "socket,id=mon,path=" + monitor + ",server=on,wait=off",
		"-mon", "chardev=mon,mode=readline",
		// A watchdog, as a router box has, which resets a hung guest;
		// with -no-reboot the reset ends QEMU, as a reboot does. The
		// x86_64 board's kernel drives it (i6300esb); the cloud
		// kernel has no driver for it and uses softdog instead.
		"-device", "i6300esb", "-action", "watchdog=reset",
	}
	if KVM() {
		return append(args, "-accel", "kvm", "-cpu", "host")
	}
	return append(args, "-accel", "tcg", "-cpu", "max")
}

// openNICs opens a tap for each NIC in place of the far end of its
// namespace's link (lab.NS.TapPeer) and returns QEMU's arguments for them
// and the taps' files, which QEMU gets as descriptors 3, 4, ... The taps
// are vm's to close. With noROM the NICs have no option ROM, so UEFI
// firmware has no network boot to fall back to: a disk that does not
// boot stops there, without DHCP and PXE attempts on the lab's links.
func (vm *VM) openNICs(nics []NIC, noROM bool) (args []string, files []*os.File, err error) {
	for i, nic := range nics {
		nic = nic.withDefaults(i)
		if nic.NS == nil {
			return nil, nil, fmt.Errorf("NIC %d: no namespace", i)
		}
		tap, err := nic.NS.TapPeer(nic.Link)
		if err != nil {
			return nil, nil, fmt.Errorf("NIC %d (eth%d): %w", i, i, err)
		}
		vm.taps = append(vm.taps, tap)
		files = append(files, tap.File)
		// ExtraFiles[i] is the child's descriptor 3+i.
		dev := fmt.Sprintf("%s,netdev=net%d,mac=%s", nic.Model, i, nic.MAC)
		if noROM {
			dev += ",romfile="
		}
		args = append(args, "-netdev", fmt.Sprintf("tap,id=net%d,fd=%d", i, 3+i), "-device", dev)
	}
	return args, files, nil
}

// withDefaults fills in the fields of the guest's i-th NIC left empty.
func (n NIC) withDefaults(i int) NIC {
	if n.Link == "" {
		n.Link = "eth0"
	}
	if n.MAC == "" {
		n.MAC = fmt.Sprintf("52:54:00:12:34:%02x", 0x56+i)
	}
	if n.Model == "" {
		n.Model = "virtio-net-pci"
	}
	return n
}

// launch starts QEMU as vm.Args says, with files as its descriptors 3, 4,
// ..., and waits for it in the background: when it exits, vm.done closes.
// QEMU runs in a process group of its own, so a Ctrl-C on the terminal
// reaches only the harness, which stops it through ctx.
func (vm *VM) launch(ctx context.Context, timeout time.Duration, files []*os.File) error {
	ctx, vm.cancel = context.WithTimeout(ctx, timeout)
	cmd := exec.CommandContext(ctx, vm.Args[0], vm.Args[1:]...)
	cmd.Stdout = vm.console
	cmd.Stderr = vm.console
	stdin, err := cmd.StdinPipe()
	if err != nil {
		vm.cancel()
		return err
	}
	vm.stdin = stdin
	cmd.ExtraFiles = files
	// QEMU must not outlive the harness, even one killed with SIGKILL,
	// or it keeps the lab's taps and namespaces alive.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}

	started := make(chan error)
	go func() {
		// Pdeathsig fires when the thread that started the child
		// exits, and Go ends threads (e.g. those that lab.NS.Do
		// locked); this one stays until QEMU is gone.
		runtime.LockOSThread()
		vm.Started = time.Now()
		vm.console.start = vm.Started
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("%s: %w", strings.Join(vm.Args, " "), err)
			return
		}
		started <- nil
		err := cmd.Wait()
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("killed after the VM timeout of %v: %w", timeout, err)
		}
		vm.err = err
		vm.console.closeWith(vm.err)
		close(vm.done)
	}()
	if err := <-started; err != nil {
		vm.cancel()
		return err
	}
	return nil
}
