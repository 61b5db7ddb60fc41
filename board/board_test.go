package board

import (
	"slices"
	"strings"
	"testing"
)

func TestBoards(t *testing.T) {
	names := Names()
	if len(names) < 2 || !slices.Contains(names, "qemu-x86_64") || !slices.Contains(names, "x86_64") {
		t.Fatalf("boards = %v, want qemu-x86_64 and x86_64 among them", names)
	}
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			t.Errorf("board %s defined twice", name)
		}
		seen[name] = true
		b, err := Get(name)
		if err != nil {
			t.Errorf("Get(%s): %v", name, err)
			continue
		}
		cmdline := b.Cmdline()
		if strings.ContainsAny(cmdline, "\n\r") || !strings.Contains(cmdline, "console=ttyS0") {
			t.Errorf("%s: cmdline %q: want one line with console=ttyS0", name, cmdline)
		}
		for _, m := range router {
			if !slices.Contains(b.Modules, m) {
				t.Errorf("%s: lacks router module %s", name, m)
			}
		}
		for _, m := range []string{"virtio_pci", "virtio_net", "nvme", "virtio_blk"} {
			if !slices.Contains(b.Modules, m) {
				t.Errorf("%s: lacks %s (both boards boot in QEMU, from NVMe or virtio disks)", name, m)
			}
		}
		for _, m := range filesystems {
			if !slices.Contains(b.Modules, m) {
				t.Errorf("%s: lacks %s: init could not mount its partitions", name, m)
			}
		}
	}
	x86, _ := Get("x86_64")
	for _, m := range pcDisks {
		if !slices.Contains(x86.Modules, m) {
			t.Errorf("x86_64: lacks disk driver %s", m)
		}
	}
}

func TestCmdline(t *testing.T) {
	b, err := Get("qemu-x86_64")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Cmdline(), "console=ttyS0 panic=-1 loglevel=5 noreplace-smp cryptomgr.notests tprouter.wan=eth0 tprouter.lan=eth1"; got != want {
		t.Errorf("Cmdline() = %q, want %q", got, want)
	}
	x, _ := Get("x86_64")
	if !strings.HasPrefix(x.Cmdline(), "console=ttyS0,115200 ") {
		t.Errorf("x86_64 Cmdline() = %q, want the console at 115200", x.Cmdline())
	}
}

func TestValidate(t *testing.T) {
	good := Board{Name: "b", Kernel: "linux-image-amd64", Modules: []string{"nf_tables"},
		NICs: []NIC{{"eth0", WAN}, {"eth1", LAN}}}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(good) = %v", err)
	}
	for what, change := range map[string]func(*Board){
		"no kernel":   func(b *Board) { b.Kernel = "" },
		"module file": func(b *Board) { b.Modules = []string{"nf_tables.ko"} },
		"twice":       func(b *Board) { b.Modules = []string{"nf_tables", "nf_tables"} },
		"two WANs":    func(b *Board) { b.NICs[1].Role = WAN },
		"bad role":    func(b *Board) { b.NICs[1].Role = "dmz" },
		"line break":  func(b *Board) { b.KernelArgs = "console=ttyS0\nquiet" },
		"NIC twice":   func(b *Board) { b.NICs[1].Name = "eth0" },
		"gzip":        func(b *Board) { b.Initramfs = "gzip" },
	} {
		b := good
		b.NICs = slices.Clone(good.NICs)
		change(&b)
		if err := b.Validate(); err == nil {
			t.Errorf("Validate(%s): no error", what)
		}
	}
	if _, err := Get("nosuch"); err == nil || !strings.Contains(err.Error(), "qemu-x86_64") {
		t.Errorf("Get(nosuch) = %v, want an error naming the boards", err)
	}
}
