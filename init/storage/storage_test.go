package storage

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tprouter/qemu/lab"
)

// The mount tests run Storage.Mount on loop devices in a child process in
// a mount namespace of its own (the test binary re-executed with
// helperEnv), so that the machine's mount table stays as it was.
const helperEnv = "STORAGE_TEST_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(helper(h))
	}
	os.Exit(m.Run())
}

// helperArgs say what the helper runs.
type helperArgs struct {
	Root  string
	Disks []string
	Vars  string // stands in for efivarfs; "" is a BIOS boot
	Wait  time.Duration
	Busy  string // a file under Root to keep open while Unmount runs
	Write bool   // ... for writing
}

// helperResult is what it saw.
type helperResult struct {
	Mounted Mounted
	Log     []string
	Took    time.Duration
	Mounts  []string // under Root: "dir fstype options", after Mount
	After   []string // the same, after Unmount
	Cmdline string   // Root/boot/cmdline.txt
	Mode    uint32   // its permission bits
	Wrote   error    // writing a file on /perm
}

func helper(h string) int {
	var a helperArgs
	if err := json.Unmarshal([]byte(h), &a); err != nil {
		fmt.Println(err)
		return 1
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fmt.Println("make / private:", err)
		return 1
	}
	var r helperResult
	s := &Storage{Root: a.Root, Sys: "/sys", Dev: "/dev", Wait: a.Wait, disks: a.Disks,
		Log:     func(f string, args ...any) { r.Log = append(r.Log, fmt.Sprintf(f, args...)) },
		efiVars: func(string) (string, error) { return a.Vars, nil }}
	// Mount's result must not depend on init's umask.
	unix.Umask(0o077)
	start := time.Now()
	r.Mounted = s.Mount()
	r.Took = time.Since(start)
	r.Mounts = mountsUnder(a.Root)
	b, _ := os.ReadFile(filepath.Join(a.Root, BootDir, "cmdline.txt"))
	r.Cmdline = string(b)
	if fi, err := os.Stat(filepath.Join(a.Root, BootDir, "cmdline.txt")); err == nil {
		r.Mode = uint32(fi.Mode().Perm())
	}
	if r.Mounted.Perm != "" {
		r.Wrote = os.WriteFile(filepath.Join(r.Mounted.Perm, "x"), []byte("x"), 0o644)
	}
	if a.Busy != "" {
		flag := os.O_RDONLY
		if a.Write {
			flag = os.O_WRONLY
		}
		path := filepath.Join(a.Root, a.Busy)
		os.WriteFile(path, nil, 0o644)
		f, err := os.OpenFile(path, flag, 0)
		if err != nil {
			fmt.Println(err)
			return 1
		}
		defer f.Close()
	}
	Unmount(a.Root, s.Log)
	r.After = mountsUnder(a.Root)
	json.NewEncoder(os.Stdout).Encode(r)
	return 0
}

// mountsUnder lists the mounts under root from /proc/self/mountinfo.
func mountsUnder(root string) []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var ms []string
	for _, l := range strings.Split(string(b), "\n") {
		// 36 35 98:0 / /mnt2 rw,noatime master:1 - ext4 /dev/root rw,errors=remount-ro
		f := strings.Fields(l)
		_, after, _ := strings.Cut(l, " - ")
		sf := strings.Fields(after)
		if len(f) > 5 && len(sf) > 2 && strings.HasPrefix(f[4], root+"/") {
			ms = append(ms, strings.TrimPrefix(f[4], root)+" "+sf[0]+" "+f[5]+","+sf[2])
		}
	}
	return ms
}

// mountIn runs Storage.Mount and Unmount in a mount namespace.
func mountIn(t *testing.T, a helperArgs) helperResult {
	t.Helper()
	a.Root = t.TempDir()
	h, _ := json.Marshal(a)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(h))
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var r helperResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	t.Logf("console:\n%s", strings.Join(r.Log, "\n"))
	return r
}

// hasVFAT reports whether this machine's kernel can mount the boot
// partition; a kernel without FAT gets the named error instead.
func hasVFAT() bool {
	return supported("vfat", "") == nil
}

func mounted(r helperResult, dir, fstype string, opts ...string) bool {
	for _, m := range r.Mounts {
		f := strings.Fields(m)
		if f[0] != dir || f[1] != fstype {
			continue
		}
		o := "," + f[2] + ","
		for _, want := range opts {
			if !strings.Contains(o, ","+want+",") {
				return false
			}
		}
		return true
	}
	return false
}

func logHas(r helperResult, s string) bool {
	return strings.Contains(strings.Join(r.Log, "\n"), s)
}

// TestMount mounts the disk image's two partitions from a loop device:
// /perm read-write with the options that survive a power cut, /boot
// read-only with cmdline.txt on it (or, on a kernel without FAT, a named
// error), then unmounts both.
func TestMount(t *testing.T) {
	img := disk(t, image("", map[string]string{"cmdline.txt": "tprouter.hostname=stick\n"})...)
	loop := attach(t, img)
	r := mountIn(t, helperArgs{Disks: []string{loop}, Wait: 5 * time.Second})
	if r.Mounted.Perm == "" || !mounted(r, PermDir, "ext4", "rw", "noatime", "nosuid", "nodev", "noexec", "errors=remount-ro") {
		t.Errorf("/perm: %q, mounts %q; want ext4, rw, noatime, errors=remount-ro", r.Mounted.Perm, r.Mounts)
	}
	if r.Wrote != nil {
		t.Errorf("writing on /perm: %v", r.Wrote)
	}
	if !logHas(r, "storage: /perm: /dev/"+loop+"p2 (tprouter-perm) mounted") {
		t.Errorf("console does not say where /perm is")
	}
	if hasVFAT() {
		if r.Mounted.Boot == "" || !mounted(r, BootDir, "vfat", "ro") || r.Cmdline != "tprouter.hostname=stick\n" {
			t.Errorf("/boot: %q, mounts %q, cmdline.txt %q; want vfat, ro, and the file", r.Mounted.Boot, r.Mounts, r.Cmdline)
		}
		// Under umask 077 too, every service (the proxy: deny.txt) can read it.
		if r.Mode != 0o644 || !mounted(r, BootDir, "vfat", "fmask=0133", "dmask=0022") {
			t.Errorf("/boot: cmdline.txt mode %o, mounts %q; want 644, fmask=0133,dmask=0022", r.Mode, r.Mounts)
		}
	} else if r.Mounted.Boot != "" || !logHas(r, "storage: /boot: the kernel has no vfat file system: the board's module list must name vfat") {
		t.Errorf("/boot without vfat in the kernel: %q, want the named error", r.Mounted.Boot)
	}
	if len(r.After) != 0 {
		t.Errorf("after Unmount: %q, want nothing mounted", r.After)
	}
	// Unmounted cleanly, with what was written on it.
	need(t, "dumpe2fs", "debugfs")
	if out := run(t, "", "dumpe2fs", "-h", "/dev/"+loop+"p2"); !regexp.MustCompile(`(?m)^Filesystem state: +clean$`).MatchString(out) {
		t.Errorf("after Unmount, dumpe2fs -h:\n%s", out)
	}
	if out := run(t, "", "debugfs", "-R", "cat /x", "/dev/"+loop+"p2"); !strings.HasSuffix(out, "\nx") && out != "x" {
		t.Errorf("after Unmount, /x on the partition: %q", out)
	}
	if r.Took > time.Second {
		t.Errorf("Mount took %v with the disk there", r.Took)
	}
}

// TestMountCorrupt overwrites the ext4 superblock: a named error, and no
// /perm; the partition is left as it was (never formatted).
func TestMountCorrupt(t *testing.T) {
	img := disk(t, image("", nil)...)
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	permStart := int64(2048+34*2048) * 512
	f.WriteAt(make([]byte, 1024), permStart+1024)
	f.Close()
	loop := attach(t, img)
	r := mountIn(t, helperArgs{Disks: []string{loop}, Wait: 5 * time.Second})
	want := "storage: /perm: /dev/" + loop + "p2 (tprouter-perm) has no ext4 file system (blank, or its superblock is damaged): " +
		"repair it with e2fsck -f on another computer"
	if r.Mounted.Perm != "" || !logHas(r, want) || !logHas(r, "the router keeps its state in memory") {
		t.Errorf("corrupt /perm: %q; want no /perm and the console to say\n%s", r.Mounted.Perm, want)
	}
	b, _ := os.ReadFile(img)
	if sb := b[permStart+1024 : permStart+2048]; !allZero(sb) {
		t.Error("the damaged superblock was written to")
	}
}

// TestMountErrors: an ext4 file system that recorded errors mounts, and
// the console says to check it.
func TestMountErrors(t *testing.T) {
	need(t, "tune2fs")
	loop := attach(t, disk(t, image("", nil)...))
	run(t, "", "tune2fs", "-E", "force_fsck", "/dev/"+loop+"p2") // sets EXT4_ERROR_FS
	r := mountIn(t, helperArgs{Disks: []string{loop}})
	if r.Mounted.Perm == "" || !logHas(r, "storage: /perm: its file system recorded errors: check it with e2fsck -f on another computer") {
		t.Errorf("/perm with errors: %q; want it mounted and the console to say so", r.Mounted.Perm)
	}
}

// TestMountReadOnly: a write-protected stick; /perm is not mounted, and
// the console says why.
func TestMountReadOnly(t *testing.T) {
	loop := attach(t, disk(t, image("", nil)...), "-r")
	r := mountIn(t, helperArgs{Disks: []string{loop}})
	if r.Mounted.Perm != "" || !logHas(r, "(the disk is read-only: a write-protect switch?); the router keeps its state in memory") {
		t.Errorf("a read-only disk: /perm %q", r.Mounted.Perm)
	}
}

// TestMountNoPerm: a disk with the boot partition only.
func TestMountNoPerm(t *testing.T) {
	img := disk(t, image("", nil)[0])
	loop := attach(t, img)
	r := mountIn(t, helperArgs{Disks: []string{loop}})
	if r.Mounted.Perm != "" || !logHas(r, "storage: no partition named tprouter-perm on "+loop+", the boot partition's disk: the router keeps its state in memory") {
		t.Errorf("no perm partition: %q", r.Mounted.Perm)
	}
}

// TestMountBootedFrom: of two disks with the image, the one systemd-boot
// started from; and the wait for a disk that appears late.
func TestMountBootedFrom(t *testing.T) {
	const b1, b2 = "0b00b00b-0000-4000-8000-000000000001", "0b00b00b-0000-4000-8000-000000000002"
	one, two := attach(t, disk(t, image(b1, nil)...)), attach(t, disk(t, image(b2, nil)...))
	vars := t.TempDir()
	efivar(t, vars, loaderDevicePartUUID, strings.ToUpper(b2)+"\x00")
	efivar(t, vars, loaderEntrySelected, "tprouter-a.conf\x00")
	r := mountIn(t, helperArgs{Disks: []string{one, two}, Vars: vars, Wait: 5 * time.Second})
	if !logHas(r, "storage: /perm: /dev/"+two+"p2 (tprouter-perm) mounted") || logHas(r, "/dev/"+one) {
		t.Errorf("want /perm from %s, the disk booted from", two)
	}
	if !logHas(r, "storage: systemd-boot booted loader entry tprouter-a.conf") {
		t.Errorf("the log does not name the loader entry booted")
	}

	// The disk booted from never appears: a bounded wait, then the
	// partition by its name.
	efivar(t, vars, loaderDevicePartUUID, "0B00B00B-0000-4000-8000-000000000009\x00")
	r = mountIn(t, helperArgs{Disks: []string{one}, Vars: vars, Wait: 300 * time.Millisecond})
	if r.Took < 300*time.Millisecond || r.Took > 3*time.Second || r.Mounted.Perm == "" ||
		!logHas(r, "the boot loader started from the partition with PARTUUID 0b00b00b-0000-4000-8000-000000000009, which did not appear within 300ms") {
		t.Errorf("a missing boot disk: took %v, /perm %q", r.Took, r.Mounted.Perm)
	}
}

// TestMountLate attaches the disk while Mount waits for it, as a USB
// stick appears a while after its driver loads.
func TestMountLate(t *testing.T) {
	const b = "0b00b00b-0000-4000-8000-000000000003"
	img := disk(t, image(b, nil)...)
	vars := t.TempDir()
	efivar(t, vars, loaderDevicePartUUID, b+"\x00")
	// Mount looks at every disk here, so that it sees the new one; no
	// other disk on this machine has that PARTUUID.
	done := make(chan helperResult)
	go func() { done <- mountIn(t, helperArgs{Vars: vars, Wait: 10 * time.Second}) }()
	time.Sleep(500 * time.Millisecond)
	loop := attach(t, img)
	r := <-done
	if r.Took < 400*time.Millisecond || r.Took > 9*time.Second || !logHas(r, "storage: /perm: /dev/"+loop+"p2 (tprouter-perm) mounted") {
		t.Errorf("a late disk: took %v, /perm %q", r.Took, r.Mounted.Perm)
	}
}

// TestMountNothing is a kernel started without a boot disk (QEMU's
// -kernel): one line, no wait.
func TestMountNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		lab.Unavailable(t, "needs root for a mount namespace")
	}
	r := mountIn(t, helperArgs{Disks: []string{"nosuch"}, Wait: 5 * time.Second})
	if r.Mounted != (Mounted{}) || len(r.Log) != 1 || !logHas(r, "storage: no boot partition (none named tprouter-boot)") || r.Took > 100*time.Millisecond {
		t.Errorf("no disks: %+v in %v", r.Mounted, r.Took)
	}
}

// TestUnmountBusy: a file still open on /perm at shutdown; /perm is
// made read-only if it can be, and detached, so the machine can go down.
func TestUnmountBusy(t *testing.T) {
	loop := attach(t, disk(t, image("", nil)...))
	for write, want := range map[bool]string{
		false: ": busy: made read-only and detached",
		true:  ": busy, detached without being made read-only first (device or resource busy): its journal repairs it at the next mount",
	} {
		r := mountIn(t, helperArgs{Disks: []string{loop}, Busy: "perm/open", Write: write})
		if r.Mounted.Perm == "" || len(r.After) != 0 || !logHas(r, "storage: umount "+r.Mounted.Perm+want) {
			t.Errorf("/perm busy (a file open, for writing: %t): after Unmount %q; want the console to say %q", write, r.After, want)
		}
	}
}
