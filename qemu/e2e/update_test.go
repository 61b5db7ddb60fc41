package e2e

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tprouter/image/disk"
	"tprouter/internal/bundle"
	"tprouter/qemu"
	"tprouter/qemu/lab"
)

// TestUpdate is a router box's life through A/B updates, in one disk image
// and one firmware variable store booted again after each reboot (QEMU
// runs with -no-reboot, so a reboot ends it and the test starts it again,
// as the firmware would):
//
//  1. version 1 boots from slot a;
//  2. bad bundles (unsigned, signed by another key, truncated, for another
//     board, older) and a missing password are refused with a clear error
//     while the router keeps intercepting, and the update port cannot be
//     reached from the WAN;
//  3. version 2 is written to slot b, boots, passes its self-test, is
//     blessed, and survives a power cycle;
//  4. version 3, whose proxy cannot start, fails its self-test three
//     times, and systemd-boot falls back to version 2, which reports the
//     rollback on its console, /version and /metrics;
//  5. a VM killed while it writes a slot boots the old slot again.
//
// The router's configuration is in cmdline.txt, not on the kernel command
// line: an update writes its own loader entry with the board's options.
func TestUpdate(t *testing.T) {
	qemu.RequireUEFI(t)
	u := newUpdateRun(t)
	steps := []struct {
		name string
		run  func(*testing.T)
	}{
		{"BootV1", u.bootV1},
		{"Refusals", u.refusals},
		{"ToV2", u.toV2},
		{"ToV3RollsBack", u.toV3},
		{"KilledWhileWriting", u.killedWhileWriting},
	}
	// The steps run in t itself, not as subtests: a VM lives as long as
	// the test that booted it, and each step hands its VM to the next.
	for _, s := range steps {
		start := time.Now()
		t.Logf("step %s", s.name)
		s.run(t)
		t.Logf("step %s: %.1f s", s.name, time.Since(start).Seconds())
		if t.Failed() {
			return // each step starts from the state the one before left
		}
	}
}

// updateRun is TestUpdate's state, carried from step to step.
type updateRun struct {
	l        *lab.Lab
	keys     string // go run ./image/update keys -dir
	key      ed25519.PrivateKey
	password string
	o        qemu.Options // the disk and variable store booted each time
	vm       *qemu.VM     // the VM running now, if any
	cmdline  []byte       // cmdline.txt as the test wrote it

	v1       string      // image directories
	v2, v3   *qemu.Build // built while version 1 boots
	v2Bundle []byte
}

// updateBoard is the board of the images; wrongBoard another one.
const (
	updateBoard = "qemu-x86_64"
	wrongBoard  = "x86_64"
)

// newUpdateRun makes the lab, the keys and version 1's disk image, and
// starts building versions 2 and 3.
func newUpdateRun(t *testing.T) *updateRun {
	u := &updateRun{l: lab.New(t, lab.Options{}), keys: t.TempDir()}
	u.l.Server.ServeHTTP(t, ":80", lab.EchoAddr)
	qemu.GoRun(t, "./image/update", "keys", "-dir", u.keys)
	u.key, u.password = readKeys(t, u.keys)
	start := time.Now()
	u.v1 = qemu.StartVariant(updateBoard, qemu.Variant{Name: "v1", Version: "1", Keys: u.keys, Disk: true}).Wait(t)
	t.Logf("version 1 with its disk image built in %.1f s", time.Since(start).Seconds())
	u.v2 = qemu.StartVariant(updateBoard, qemu.Variant{Name: "v2", Version: "2"})
	u.v3 = qemu.StartVariant(updateBoard, qemu.Variant{Name: "v3", Version: "3", Without: []string{"tprouter/services/proxy"}})
	img := filepath.Join(t.TempDir(), disk.FileName)
	if err := disk.Copy(img, filepath.Join(u.v1, disk.FileName)); err != nil {
		t.Fatal(err)
	}
	u.cmdline = routedCmdlineTxt(t, img)
	u.o = qemu.Options{
		Disk: img,
		Vars: filepath.Join(t.TempDir(), "vars.fd"),
		NICs: []qemu.NIC{{NS: u.l.Server}, {NS: u.l.Client}},
	}
	return u
}

// routedCmdlineTxt adds the routed configuration to img's cmdline.txt and
// returns the file's new content.
func routedCmdlineTxt(t *testing.T, img string) []byte {
	t.Helper()
	text, err := disk.ReadFile(img, disk.CmdlineFile)
	if err != nil {
		t.Fatal(err)
	}
	text = append(text, []byte("\n# TestUpdate\n"+strings.ReplaceAll(routed, " ", "\n")+"\n")...)
	if err := disk.WriteFile(img, disk.CmdlineFile, text); err != nil {
		t.Fatal(err)
	}
	return text
}

// readKeys reads the signing key and the update password that
// `go run ./image/update keys` wrote into dir.
func readKeys(t *testing.T, dir string) (ed25519.PrivateKey, string) {
	t.Helper()
	key, err := bundle.SigningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := os.ReadFile(filepath.Join(dir, bundle.PasswordFile))
	if err != nil {
		t.Fatal(err)
	}
	return key, strings.TrimSpace(string(pw))
}

// bootV1: version 1 boots from slot a.
func (u *updateRun) bootV1(t *testing.T) {
	u.vm = bootDisk(t, u.o)
	u.expectRunning(t, "1", "a")
}

// expectRunning checks the booted loader entry on the console and what
// /version says.
func (u *updateRun) expectRunning(t *testing.T, version, slot string) string {
	t.Helper()
	if c := u.vm.Console(); !strings.Contains(c, "storage: systemd-boot booted loader entry tprouter-"+slot) {
		t.Errorf("the console does not say systemd-boot booted slot %s's entry", slot)
	}
	v := getRetry(t, u.l.Client, statusURL+"/version")
	lines := strings.Split(v, "\n")
	if len(lines) < 2 || lines[0] != "version "+version || lines[1] != "slot "+slot {
		t.Errorf("/version says %q, want version %s, slot %s first", v, version, slot)
	}
	return v
}

// statusURL is the status endpoint on the router's LAN address.
var statusURL = "http://" + netip.AddrPortFrom(lab.RouterLANv4.Addr(), 9090).String()

// stillServes checks that the router intercepts a request from the client.
func (u *updateRun) stillServes(t *testing.T) {
	t.Helper()
	if got := fetch(t, u.l.Client, "http://198.51.100.2/"); got != lab.ClientV4 {
		t.Errorf("the server saw %s, want the client's own %s", got, lab.ClientV4)
	}
}

// bootedSlot waits for the console's line that names the loader entry
// systemd-boot booted and returns its slot.
func bootedSlot(t *testing.T, vm *qemu.VM) string {
	t.Helper()
	const line = "storage: systemd-boot booted loader entry tprouter-"
	vm.Expect(t, line, bootTimeout)
	c := vm.Console()
	i := strings.LastIndex(c, line) + len(line)
	if i >= len(c) {
		vm.Expect(t, "\n", time.Second)
		c = vm.Console()
	}
	return c[i : i+1]
}

// waitReboot waits for the guest to reboot (QEMU, with -no-reboot, exits)
// and releases the VM's taps for the next boot.
func (u *updateRun) waitReboot(t *testing.T, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-u.vm.Done():
	case <-time.After(timeout):
		t.Fatalf("the VM did not reboot within %v", timeout)
	}
	if err := u.vm.Err(); err != nil {
		t.Errorf("QEMU: %v", err)
	}
	if !strings.Contains(u.vm.Console(), "reboot: Restarting system") {
		t.Errorf("QEMU ended without the kernel's reboot line")
	}
	u.vm.Close()
	return time.Since(start)
}

// toV2: version 2 is written to slot b, boots, passes its self-test, is
// blessed, and still runs after a power cycle.
func (u *updateRun) toV2(t *testing.T) {
	u.v2Bundle = u.bundle(t, u.v2.Wait(t), "v2.tar")
	push := u.push(t, u.v2Bundle)
	u.vm.Expect(t, "update: version 2 written to slot b; rebooting", waitTimeout)
	d := u.waitReboot(t, waitTimeout)
	t.Logf("version 1 rebooted %.1f s after answering", d.Seconds())
	u.vm = bootDisk(t, u.o)
	u.expectRunning(t, "2", "b")
	at := u.vm.Expect(t, "update: version 2 in slot b blessed", waitTimeout)
	t.Logf("blessed %.1f s after QEMU start", at.Seconds())
	out, err := push()
	if err != nil || !strings.Contains(out, "running version 2 (updated)") {
		t.Errorf("make update's client (image/update push): %v\n%s", err, out)
	}
	t.Logf("make update's client said:\n%s", out)
	u.stillServes(t)
	powerOff(t, u.vm)
	if _, err := disk.ReadFile(u.o.Disk, "/loader/entries/tprouter-b.conf"); err != nil {
		t.Errorf("after the blessing, slot b's entry without a counter: %v", err)
	}
	u.vm = bootDisk(t, u.o)
	u.expectRunning(t, "2", "b")
}

// toV3: version 3 (no proxy) is written to slot a, fails its self-test on
// each of its three tries, and systemd-boot falls back to version 2.
func (u *updateRun) toV3(t *testing.T) {
	b := u.bundle(t, u.v3.Wait(t), "v3.tar")
	code, body := u.put(t, bytes.NewReader(b), true, false)
	if code != 200 || !strings.Contains(body, "version 3 written to slot a") {
		t.Fatalf("PUT /update (version 3): %d %q, want 200 and version 3 written to slot a", code, body)
	}
	u.waitReboot(t, waitTimeout)
	tries := 0
	for ; ; tries++ {
		u.vm = qemu.Boot(t, u.o)
		u.vm.Expect(t, qemu.FirmwareBoots, bootTimeout)
		if bootedSlot(t, u.vm) == "b" {
			break // systemd-boot fell back
		}
		if tries == 3 {
			t.Fatalf("systemd-boot booted version 3 (slot a) a fourth time")
		}
		// Within the 3 minutes of the deadline for a slot that does
		// not pass (the self-test fails sooner).
		failed := u.vm.Expect(t, "update: version 3 failed its self-test", 4*time.Minute)
		u.waitReboot(t, 4*time.Minute)
		t.Logf("try %d of version 3: self-test failed %.1f s after QEMU start, rebooted %.1f s later",
			tries+1, failed.Seconds(), time.Since(u.vm.Started.Add(failed)).Seconds())
	}
	if tries != 3 {
		t.Errorf("version 3 booted %d times, want 3 (systemd-boot's tries)", tries)
	}
	u.vm.Expect(t, "update: rolled back: version 3 in slot a failed", bootTimeout)
	u.vm.Expect(t, "running version 2 in slot b", time.Second)
	u.vm.Expect(t, "tprouter: ready", bootTimeout)
	if v := u.expectRunning(t, "2", "b"); !strings.Contains(v, "rolled back") {
		t.Errorf("/version does not say the update was rolled back:\n%s", v)
	}
	m := getRetry(t, u.l.Client, statusURL+"/metrics")
	if !hasLine(m, "tprouter_update_rolled_back 1") {
		t.Errorf("/metrics lacks tprouter_update_rolled_back 1")
	}
	u.stillServes(t)
}

// killedWhileWriting kills QEMU once the router, having said it writes
// the new slot, has written a MiB to the disk (QEMU's block statistics), then boots the disk again: version 2 runs from slot b, and
// cmdline.txt is as the test wrote it.
func (u *updateRun) killedWhileWriting(t *testing.T) {
	v2 := u.v2.Wait(t)
	b := craft(t, u.key, updateBoard, "4", v2)
	before, err := u.vm.DiskWritten()
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan struct{})
	answered := make(chan string, 1)
	go func() {
		code, body, err := u.tryPut(&signalEOF{r: bytes.NewReader(b), eof: sent}, true, false)
		answered <- fmt.Sprintf("%d %s (%v)", code, strings.TrimSpace(body), err)
	}()
	<-sent
	u.vm.Expect(t, "update: writing version 4 to slot a", waitTimeout)
	deadline := time.Now().Add(waitTimeout)
	for {
		n, err := u.vm.DiskWritten()
		if err != nil {
			t.Fatal(err)
		}
		if n-before > 1<<20 {
			t.Logf("killing QEMU: the guest wrote %d bytes since the upload began", n-before)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the guest wrote only %d bytes in %v after the upload", n-before, waitTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	u.vm.Close()
	select {
	case a := <-answered:
		if strings.HasPrefix(a, "200 ") {
			t.Fatalf("the router had answered %q before QEMU was killed: the kill came too late", a)
		}
	case <-time.After(5 * time.Second):
	}
	if got, err := disk.ReadFile(u.o.Disk, disk.CmdlineFile); err != nil || !bytes.Equal(got, u.cmdline) {
		t.Errorf("cmdline.txt after the kill: %v; changed: %t", err, !bytes.Equal(got, u.cmdline))
	}
	u.vm = bootDisk(t, u.o)
	u.expectRunning(t, "2", "b")
	u.stillServes(t)
}

// signalEOF is a reader that closes eof when r is at its end.
type signalEOF struct {
	r   *bytes.Reader
	eof chan struct{}
}

func (s *signalEOF) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if s.r.Len() == 0 && s.eof != nil {
		close(s.eof)
		s.eof = nil
	}
	return n, err
}

// otherKey is a signing key the router does not know.
func otherKey(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
