package qemu

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tprouter/image/disk"
	"tprouter/qemu/lab"
)

// Require stops t, like lab.Require, when the machine cannot boot VMs on a
// lab: it fails t under CI=true and skips it elsewhere, saying what is
// missing.
func Require(t testing.TB) {
	t.Helper()
	lab.Require(t)
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		lab.Unavailable(t, "no /dev/net/tun for the VM's tap devices (modprobe tun)")
	}
	if _, err := exec.LookPath(Binary); err != nil {
		lab.Unavailable(t, Binary+" not found: install qemu-system-x86 (make deps)")
	}
	if KVM() {
		if _, err := os.Stat("/dev/kvm"); err != nil {
			lab.Unavailable(t, "TPROUTER_KVM=1 but no /dev/kvm")
		}
	}
}

// RequireUEFI is Require for VMs that boot a disk image: it also wants
// OVMF and the tools that write and edit disk images.
func RequireUEFI(t testing.TB) {
	t.Helper()
	Require(t)
	for _, f := range []string{OVMFCode, OVMFVars} {
		if _, err := os.Stat(f); err != nil {
			lab.Unavailable(t, f+" not found: install ovmf (make deps)")
		}
	}
	for tool, pkg := range map[string]string{"mkfs.fat": "dosfstools", "mcopy": "mtools", "mkfs.ext4": "e2fsprogs"} {
		if _, err := exec.LookPath(tool); err != nil {
			lab.Unavailable(t, tool+" not found: install "+pkg+" (make deps)")
		}
	}
}

// Boot starts a VM for t and stops it when t ends. The console goes to
// console.log in t.TempDir() and, when t fails, into the test log with
// QEMU's command line; TPROUTER_CONSOLE=1 also shows it as it arrives.
func Boot(t testing.TB, o Options) *VM {
	t.Helper()
	if o.Disk != "" {
		RequireUEFI(t)
	} else {
		Require(t)
	}
	if o.Console == "" {
		o.Console = filepath.Join(t.TempDir(), "console.log")
	}
	if o.Output == nil && os.Getenv("TPROUTER_CONSOLE") == "1" {
		o.Output = os.Stderr
	}
	vm, err := Start(context.Background(), o)
	if err != nil {
		t.Fatalf("qemu.Start: %v", err)
	}
	t.Cleanup(func() {
		err := vm.Close()
		if t.Failed() {
			t.Logf("QEMU: %s\nconsole (%s):\n%s", vm.CmdlineQuoted(), vm.ConsoleFile(), vm.Console())
		}
		if err != nil {
			t.Logf("QEMU exited: %v", err)
		}
	})
	return vm
}

// Expect waits up to timeout for s on vm's console (see VM.Wait) and fails
// t if it does not come. It returns when s arrived, counted from QEMU's
// start.
func (vm *VM) Expect(t testing.TB, s string, timeout time.Duration) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	d, err := vm.Wait(ctx, s)
	if err != nil {
		t.Fatalf("after %.1f s: %v", time.Since(vm.Started).Seconds(), err)
	}
	return d
}

var images sync.Map // board name → *image

type image struct {
	once, diskOnce sync.Once
	dir            string
	err, diskErr   error
}

// Image returns a bootable image of board for tests. With TPROUTER_IMAGE
// set (say, to build/qemu-x86_64 after make image) it returns that
// directory. Otherwise it builds the image once per test process, from the
// working tree, into build/test/<board>. Test processes of several
// packages take turns (build.Build locks the cache), and a rebuild
// replaces files by renaming, so a VM another process started keeps the
// image it read.
func Image(t testing.TB, boardName string) string {
	t.Helper()
	if dir := os.Getenv("TPROUTER_IMAGE"); dir != "" {
		return dir
	}
	img := imageOf(boardName)
	img.once.Do(func() { img.dir, img.err = buildImage(t, boardName, "") })
	if img.err != nil {
		t.Fatalf("building the %s image: %v", boardName, img.err)
	}
	return img.dir
}

// Disk returns a copy of board's disk image (make disk) in t.TempDir(),
// for t to boot (and boot again) as Options.Disk and to change: the
// image's directory is Image's, and its disk image is written there once
// per test process (with TPROUTER_IMAGE, the one make disk wrote there).
func Disk(t testing.TB, boardName string) string {
	t.Helper()
	RequireUEFI(t)
	dir := Image(t, boardName)
	src := filepath.Join(dir, disk.FileName)
	if os.Getenv("TPROUTER_IMAGE") == "" {
		img := imageOf(boardName)
		img.diskOnce.Do(func() { _, img.diskErr = buildImage(t, boardName, "-disk-only") })
		if img.diskErr != nil {
			t.Fatalf("writing the %s disk image: %v", boardName, img.diskErr)
		}
	} else if _, err := os.Stat(src); err != nil {
		t.Fatalf("TPROUTER_IMAGE=%s: %v (make disk writes it)", dir, err)
	}
	dst := filepath.Join(t.TempDir(), disk.FileName)
	if err := disk.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	return dst
}

func imageOf(boardName string) *image {
	v, _ := images.LoadOrStore(boardName, new(image))
	return v.(*image)
}

// buildImage runs the image builder as make image does (with flag, make
// disk's second step), as a process of its own: inside a test binary
// built with -race it would take ten times as long.
func buildImage(t testing.TB, board, flag string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "build", "test", board)
	args := []string{"-board", board, "-o", dir}
	if flag != "" {
		args = append(args, flag)
	}
	out, err := goRun(root, "./image", args...)
	if err != nil {
		return "", err
	}
	t.Log(out)
	return dir, nil
}

// moduleRoot is the tprouter module's directory, where go run runs.
func moduleRoot() (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(gomod))), nil
}

// goRun runs `go run pkg args...` in root and returns a line that says
// what ran and how long it took, with the command's output; the error
// has the output too.
func goRun(root, pkg string, args ...string) (string, error) {
	start := time.Now()
	args = append([]string{"run", pkg}, args...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return fmt.Sprintf("go %s: %.0f s: %s", strings.Join(args, " "), time.Since(start).Seconds(), out), nil
}
