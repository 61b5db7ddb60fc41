package qemu

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tprouter/image/disk"
	"tprouter/qemu/lab"
)

// TestBoot is the harness's smoke test, for each board: the image boots
// between a lab's server (WAN, eth0) and client (LAN, eth1) to
// "tprouter: ready", the client reaches the router's LAN addresses and the
// server its WAN addresses over the taps and bridges that replace the lab
// router, and the rescue shell answers on the serial console. The x86_64
// board gets Intel e1000e NICs, one of its real-hardware drivers, and
// boots its disk image too, the one a user flashes, under UEFI.
func TestBoot(t *testing.T) {
	Require(t)
	for _, tc := range []struct {
		name, board, nic string
		disk             bool
	}{
		{"qemu-x86_64", "qemu-x86_64", "virtio-net-pci", false},
		{"x86_64", "x86_64", "e1000e", false},
		{"x86_64-disk", "x86_64", "e1000e", true},
	} {
		t.Run(tc.name, func(t *testing.T) { testBoot(t, tc.board, tc.nic, tc.disk) })
	}
}

func testBoot(t *testing.T, board, model string, disk bool) {
	o := Options{
		Cmdline: "tprouter.lan.addr=" + lab.RouterLANv4.String() + "," + lab.RouterLANv6.String() +
			" tprouter.wan.addr=" + lab.RouterWANv4.String() + "," + lab.RouterWANv6.String() +
			" tprouter.shell=on",
	}
	if disk {
		o.Disk = Disk(t, board)
	} else {
		o.Image = Image(t, board)
	}
	l := lab.New(t, lab.Options{})
	o.NICs = []NIC{{NS: l.Server, Model: model}, {NS: l.Client, Model: model}}
	vm := Boot(t, o)
	d := vm.Expect(t, "tprouter: ready", 3*time.Minute)
	t.Logf("boot: %.1f s from QEMU start to tprouter: ready", d.Seconds())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, p := range []struct {
		from *lab.NS
		to   netip.Addr
	}{
		{l.Client, lab.RouterLANv4.Addr()},
		{l.Client, lab.RouterLANv6.Addr()},
		{l.Server, lab.RouterWANv4.Addr()},
		{l.Server, lab.RouterWANv6.Addr()},
	} {
		rtt, err := p.from.Ping(ctx, p.to)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("ping %s from %s: %v", p.to, p.from.Name, rtt.Round(time.Microsecond))
	}

	// The console echoes what is typed; only the shell's output has
	// the two words joined. Input typed before the shell has set up
	// its terminal is dropped, so type until it answers.
	for ctx.Err() == nil {
		if err := vm.Send("echo rescue'-'shell $(uname -r)\n"); err != nil {
			t.Fatal(err)
		}
		wait, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := vm.Wait(wait, "rescue-shell 6.")
		cancel()
		if err == nil {
			return
		}
	}
	t.Fatalf("the rescue shell did not answer on the console")
}

// TestBootDisk boots a disk image twice as the same machine, as tests of
// what a router keeps across a reboot do: the same disk and firmware
// variables, QEMU ending at the power button in between. Each boot's
// Cmdline goes into the disk's loader entry (the second's host name
// replaces the first's), the firmware keeps its boot entry in the
// variables, and a file edited on the disk between the boots is there.
func TestBootDisk(t *testing.T) {
	RequireUEFI(t)
	img := Disk(t, "qemu-x86_64")
	vars := filepath.Join(t.TempDir(), "vars.fd")
	l := lab.New(t, lab.Options{})
	addrs := " tprouter.lan.addr=" + lab.RouterLANv4.String() + " tprouter.wan.addr=" + lab.RouterWANv4.String()
	for i, host := range []string{"first", "second"} {
		vm := Boot(t, Options{
			Disk:    img,
			Vars:    vars,
			Cmdline: "tprouter.hostname=" + host + addrs,
			NICs:    []NIC{{NS: l.Server}, {NS: l.Client}},
		})
		fw := vm.Expect(t, FirmwareBoots, 3*time.Minute)
		vm.Expect(t, "init: config: host "+host+";", 3*time.Minute)
		ready := vm.Expect(t, "tprouter: ready", 3*time.Minute)
		t.Logf("boot %d: the firmware started the boot loader after %.1f s, tprouter: ready %.1f s later", i+1, fw.Seconds(), (ready - fw).Seconds())
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := vm.PowerDown(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		vm.Close()
		if i == 0 {
			if err := disk.WriteFile(img, "/tprouter/b/note", []byte("between boots")); err != nil {
				t.Fatal(err)
			}
		}
	}
	entry, err := disk.ReadFile(img, disk.EntryA)
	if err != nil {
		t.Fatal(err)
	}
	if e := string(entry); !strings.Contains(e, " tprouter.hostname=second ") || strings.Contains(e, "first") {
		t.Errorf("%s after two boots:\n%s", disk.EntryA, e)
	}
	if note, err := disk.ReadFile(img, "/tprouter/b/note"); err != nil || string(note) != "between boots" {
		t.Errorf("the file written between the boots: %q, %v", note, err)
	}
	got, err := os.ReadFile(vars)
	if err != nil {
		t.Fatal(err)
	}
	empty, err := os.ReadFile(OVMFVars)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got, empty) {
		t.Errorf("the firmware wrote nothing into its variables")
	}
}

// TestConsole checks Wait's expect(1) semantics on a console fed by hand:
// a match consumes the output up to its end, and the time returned is the
// arrival of the chunk that completed the match.
func TestConsole(t *testing.T) {
	c, err := newConsole(t.TempDir()+"/console.log", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.start = time.Now()
	c.Write([]byte("boot\ntprouter: re"))
	time.Sleep(10 * time.Millisecond)
	c.Write([]byte("ady\nproxy: exited\n"))
	ctx := context.Background()
	d, err := c.wait(ctx, "tprouter: ready")
	if err != nil || d < 10*time.Millisecond {
		t.Errorf("wait(ready) = %v, %v; want ≥ 10ms, nil", d, err)
	}
	if _, err := c.wait(ctx, "proxy: exited"); err != nil {
		t.Errorf("wait(after ready): %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := c.wait(short, "boot"); err == nil {
		t.Errorf("wait found text before the cursor again")
	}
	go c.Write([]byte("proxy: started\n"))
	if _, err := c.wait(ctx, "started"); err != nil {
		t.Errorf("wait(started): %v", err)
	}
	c.closeWith(nil)
	if _, err := c.wait(ctx, "never"); err == nil {
		t.Errorf("wait after QEMU ended: no error")
	}
}

// TestMergeCmdline checks that a key of extra replaces base's, however
// either writes it, as the kernel splits the line.
func TestMergeCmdline(t *testing.T) {
	base := "console=ttyS0 panic=-1 tprouter.wan=eth0 tprouter.lan=eth1\n"
	for _, tc := range []struct{ base, extra, want string }{
		{base, "", "console=ttyS0 panic=-1 tprouter.wan=eth0 tprouter.lan=eth1"},
		{base, "tprouter.lan=eth2 quiet", "console=ttyS0 panic=-1 tprouter.wan=eth0 tprouter.lan=eth2 quiet"},
		{base, `tprouter.hostname="a b"`, `console=ttyS0 panic=-1 tprouter.wan=eth0 tprouter.lan=eth1 tprouter.hostname="a b"`},
		// A whole parameter in quotes, as the kernel allows.
		{`console=ttyS0 "tprouter.hostname=a b"`, "tprouter.hostname=gw", "console=ttyS0 tprouter.hostname=gw"},
		{`console=ttyS0 tprouter.hostname="a b"`, `"tprouter.hostname=c d"`, `console=ttyS0 tprouter.hostname="c d"`},
		// All of the kernel's white space separates parameters.
		{"console=ttyS0\vtprouter.lan=eth1\rquiet\f", "tprouter.lan=eth2", "console=ttyS0 quiet tprouter.lan=eth2"},
		// Quotes that are not around a value stay, as for the kernel.
		{`a=b"c`, "", `a=b"c`},
	} {
		got, err := mergeCmdline(tc.base, tc.extra)
		if err != nil || got != tc.want {
			t.Errorf("mergeCmdline(%q, %q) = %q, %v; want %q", tc.base, tc.extra, got, err, tc.want)
		}
	}
	// The kernel has no escape: a value with a quote and a space cannot
	// be written before another parameter.
	if got, err := mergeCmdline(`a=x"b c`, "d=e"); err == nil {
		t.Errorf("mergeCmdline of an unwritable value = %q, want an error", got)
	}
}
