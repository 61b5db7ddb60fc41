package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/u-root/mkuimage/cpio"

	"tprouter/board"
	"tprouter/image/builder"
	"tprouter/image/disk"
	"tprouter/image/kmod"
	"tprouter/init/cmdline"
	"tprouter/qemu/lab"
)

// TestBoards builds every board's image from the working tree with this
// command, as make image does, and checks what init relies on: /init and
// the services as links to the multicall program, the rescue shell, the kernel modules with a modules.dep that
// names only modules in the image, the module list in dependency order,
// and the output files; and, as make disk does, the disk image to flash.
// The kernel packages are cached in build/cache (the first run downloads
// ~100 MB).
func TestBoards(t *testing.T) {
	for _, tool := range []string{"apt-get", "apt-cache", "dpkg-deb", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			lab.Unavailable(t, tool+" not found: the image build needs Debian's apt and dpkg tools and Go")
		}
	}
	root, err := builder.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	services, err := exec.Command("go", "list", "-e", "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, builder.Services).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", builder.Services, err)
	}
	for _, name := range board.Names() {
		t.Run(name, func(t *testing.T) {
			b, err := board.Get(name)
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			start := time.Now()
			// The builder runs as its own process, as under make
			// image, and not inside this test binary, which go test
			// -race would slow down tenfold.
			cache := filepath.Join(root, "build", "cache")
			cmd := exec.Command("go", "run", ".", "-board", name, "-o", out, "-cache", cache, "-disk")
			summary, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go run ./image -board %s: %v\n%s", name, err, summary)
			}
			t.Logf("built in %.1f s:\n%s", time.Since(start).Seconds(), summary)
			release := checkOutputs(t, b, out)
			checkInitramfs(t, b, release, strings.Fields(string(services)), filepath.Join(out, "initramfs.img"))
			checkDisk(t, b, out, cache)
		})
	}
}

// checkOutputs checks the files beside the initramfs and returns the
// kernel release.
func checkOutputs(t *testing.T, b board.Board, out string) string {
	cmdline, err := os.ReadFile(filepath.Join(out, "cmdline"))
	if err != nil {
		t.Fatal(err)
	}
	if want := b.Cmdline() + "\n"; string(cmdline) != want {
		t.Errorf("cmdline = %q, want %q (one line)", cmdline, want)
	}
	version, err := os.ReadFile(filepath.Join(out, "kernel.version"))
	if err != nil {
		t.Fatal(err)
	}
	release, pkg, _ := strings.Cut(strings.TrimSpace(string(version)), "\n")
	if !strings.HasPrefix(pkg, "linux-image-"+release+" ") {
		t.Errorf("kernel.version = %q, want the release, then the package linux-image-<release> and its version", version)
	}
	// A bzImage has "HdrS" at 0x202 (Documentation/arch/x86/boot.rst).
	vmlinuz, err := os.ReadFile(filepath.Join(out, "vmlinuz"))
	if err != nil {
		t.Fatal(err)
	}
	if len(vmlinuz) < 0x206 || string(vmlinuz[0x202:0x206]) != "HdrS" {
		t.Errorf("vmlinuz is not a bzImage")
	}
	return release
}

func checkInitramfs(t *testing.T, b board.Board, release string, services []string, img string) {
	files := readInitramfs(t, b, img)
	file := func(name string) cpio.Record {
		t.Helper()
		rec, ok := files[name]
		if !ok {
			t.Fatalf("initramfs has no %s", name)
		}
		return rec
	}
	content := func(name string) string {
		t.Helper()
		rec := file(name)
		b, err := io.ReadAll(io.NewSectionReader(rec, 0, int64(rec.FileSize)))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// /init and the programs init starts: links to one program.
	initBin := "bin/" + path.Base(builder.DefaultInit)
	if target := content("init"); file("init").Mode&cpio.S_IFMT != cpio.S_IFLNK || target != initBin {
		t.Errorf("/init -> %q, want a symlink to %s", target, initBin)
	}
	multicall := "bin/" + builder.Multicall
	for _, name := range []string{multicall, "bbin/bb"} {
		if rec := file(name); rec.Mode&cpio.S_IFMT != cpio.S_IFREG || rec.Mode&0o777 != 0o755 {
			t.Errorf("%s: mode %o, want a 0755 file", name, rec.Mode)
		}
	}
	for _, p := range append([]string{builder.DefaultInit}, services...) {
		name := "bin/" + path.Base(p)
		if target := content(name); file(name).Mode&cpio.S_IFMT != cpio.S_IFLNK || target != builder.Multicall {
			t.Errorf("/%s -> %q, want a symlink to %s", name, target, builder.Multicall)
		}
	}
	if target := content("bin/sh"); target != "../bbin/gosh" {
		t.Errorf("/bin/sh -> %q, want ../bbin/gosh", target)
	}
	// Services run as their own users: every directory must be
	// searchable by them, the root included (which no record may
	// make 0700).
	for name, rec := range files {
		if rec.Mode&cpio.S_IFMT == cpio.S_IFDIR && rec.Mode&0o005 != 0o005 && name != "tmp" {
			t.Errorf("directory %s: mode %o, not searchable by other users", name, rec.Mode&0o7777)
		}
	}

	// Modules: modules.dep names files in the image, the list is in
	// dependency order, and the board's modules are all there.
	dir := "lib/modules/" + release
	deps := map[string][]string{} // name → names it needs
	sc := bufio.NewScanner(strings.NewReader(content(dir + "/modules.dep")))
	for sc.Scan() {
		mod, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			t.Fatalf("modules.dep: line without ':': %q", sc.Text())
		}
		if rec := file(dir + "/" + mod); rec.FileSize == 0 {
			t.Errorf("modules.dep: %s is empty", mod)
		}
		for _, d := range strings.Fields(rest) {
			file(dir + "/" + d)
			deps[kmod.Name(mod)] = append(deps[kmod.Name(mod)], kmod.Name(d))
		}
		if _, dup := deps[kmod.Name(mod)]; !dup {
			deps[kmod.Name(mod)] = nil
		}
	}
	list := strings.Fields(content(builder.ModuleList))
	loaded := map[string]bool{}
	for _, m := range list {
		d, ok := deps[m]
		if !ok {
			t.Errorf("%s lists %s, which modules.dep does not have", builder.ModuleList, m)
		}
		for _, dep := range d {
			if !loaded[dep] {
				t.Errorf("%s: %s comes before its dependency %s", builder.ModuleList, m, dep)
			}
		}
		loaded[m] = true
	}
	if len(loaded) != len(deps) {
		t.Errorf("modules.dep has %d modules, %s %d", len(deps), builder.ModuleList, len(loaded))
	}
	builtin := map[string]bool{}
	for _, p := range strings.Fields(content(dir + "/modules.builtin")) {
		builtin[kmod.Name(p)] = true
	}
	for _, m := range b.Modules {
		if !loaded[kmod.Name(m)] && !builtin[kmod.Name(m)] {
			t.Errorf("board module %s is neither in %s nor built in", m, builder.ModuleList)
		}
	}
	if got := strings.Fields(content(builder.DriverList)); !slices.Equal(got, b.Drivers) {
		t.Errorf("%s lists %v, want the board's drivers %v in order", builder.DriverList, got, b.Drivers)
	}
	file("dev/console")
}

// readInitramfs decompresses img as board b says and returns its records
// by name. The records' contents stay readable until the test ends.
func readInitramfs(t *testing.T, b board.Board, img string) map[string]cpio.Record {
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var zr io.Reader
	switch b.Initramfs {
	case board.Zstd:
		d, err := zstd.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", img, err)
		}
		defer d.Close()
		zr = d
	default: // LZ4's legacy format, the only one the kernel reads
		magic := make([]byte, 4)
		if _, err := io.ReadFull(f, magic); err != nil || !bytes.Equal(magic, []byte{0x02, 0x21, 0x4c, 0x18}) {
			t.Fatalf("%s: starts with %x (%v), want the magic number of LZ4's legacy format, 02214c18", img, magic, err)
		}
		f.Seek(0, io.SeekStart)
		zr = lz4.NewReader(f)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", img, err)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("%s: %v", img, err)
	}
	files := map[string]cpio.Record{}
	for _, r := range recs {
		files[r.Name] = r
	}
	return files
}

// checkDisk checks the disk image beside the image (tprouter/image/disk
// tests the file systems): the partitions, slot a's files, the entry's
// command line, the boot loader, cmdline.txt; and that writing it again
// from the same image gives the same bytes.
func checkDisk(t *testing.T, b board.Board, out, cache string) {
	img := filepath.Join(out, disk.FileName)
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	tab, err := disk.ReadTable(f, fi.Size())
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{disk.BootName, disk.PermName} {
		if _, err := tab.Find(name); err != nil {
			t.Error(err)
		}
	}
	read := func(name string) []byte {
		t.Helper()
		data, err := disk.ReadFile(img, name)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	for _, name := range []string{"vmlinuz", "initramfs.img"} {
		built, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(read(disk.SlotA+"/"+name), built) {
			t.Errorf("%s/%s differs from the image's %s", disk.SlotA, name, name)
		}
	}
	if entry := string(read(disk.EntryA)); !strings.Contains(entry, "\noptions "+b.Cmdline()+"\n") {
		t.Errorf("%s does not boot with the board's command line %q:\n%s", disk.EntryA, b.Cmdline(), entry)
	}
	if got := string(read(disk.CmdlineFile)); got != cmdline.Template() {
		t.Errorf("%s is not cmdline.Template():\n%s", disk.CmdlineFile, got)
	}
	// An x86-64 EFI application: a PE32+ image for machine 0x8664.
	efi := read(disk.LoaderFile)
	if len(efi) < 0x40 || string(efi[:2]) != "MZ" {
		t.Fatalf("%s is not a PE image", disk.LoaderFile)
	}
	pe := int(binary.LittleEndian.Uint32(efi[0x3c:]))
	if pe+6 > len(efi) || string(efi[pe:pe+4]) != "PE\x00\x00" || binary.LittleEndian.Uint16(efi[pe+4:]) != 0x8664 {
		t.Errorf("%s is not an x86-64 EFI application", disk.LoaderFile)
	}

	first := filepath.Join(t.TempDir(), "first.img")
	if err := os.Rename(img, first); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cmd := exec.Command("go", "run", ".", "-board", b.Name, "-o", out, "-cache", cache, "-disk-only")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./image -disk-only: %v\n%s", err, msg)
	}
	t.Logf("disk image written again in %.1f s (go run included)", time.Since(start).Seconds())
	x, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		t.Errorf("two disk images of the same image differ")
	}
}
