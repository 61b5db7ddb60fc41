package disk

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// inputs writes a small stand-in for the builder's output directory and
// a boot loader, and returns the Config that makes a disk image of them.
func inputs(t *testing.T) Config {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"vmlinuz":       "MZ a kernel " + strings.Repeat("k", 100000),
		"initramfs.img": "an initramfs " + strings.Repeat("i", 300000),
		"cmdline":       "console=ttyS0 panic=-1 tprouter.wan=eth0 tprouter.lan=eth1\n",
		"version":       "2026.01.02.030405\n",
		"loader.efi":    "MZ systemd-boot",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Config{
		Board:        "qemu-x86_64",
		Image:        dir,
		Loader:       filepath.Join(dir, "loader.efi"),
		Cmdline:      "# tprouter configuration\n#tprouter.hostname=tprouter\n",
		Key:          []byte("ed25519 AAAA\n# a key\n"),
		PasswordHash: []byte(strings.Repeat("ab", 32) + "\n"),
	}
}

func write(t *testing.T, c Config) *Result {
	t.Helper()
	start := time.Now()
	r, err := Write(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s, in %.2f s", r.Out, r.Summary(), time.Since(start).Seconds())
	return r
}

// TestWrite writes a disk image and reads it back with other tools: its
// table with sfdisk and sgdisk, its boot partition with fsck.fat and
// mtools, its persistent partition with e2fsck and debugfs.
func TestWrite(t *testing.T) {
	needTools(t, "sfdisk", "sgdisk", "mkfs.fat", "fsck.fat", "mcopy", "mdir", "mkfs.ext4", "e2fsck", "debugfs", "dumpe2fs")
	c := inputs(t)
	r := write(t, c)
	if r.Out != filepath.Join(c.Image, FileName) {
		t.Errorf("Out = %s, want %s in the image's directory", r.Out, FileName)
	}
	checkSfdisk(t, r.Out, r.Table)
	if out, err := exec.Command("sgdisk", "-v", r.Out).CombinedOutput(); err != nil || !strings.Contains(string(out), "No problems found") {
		t.Errorf("sgdisk -v: %v\n%s", err, out)
	}
	boot, perm := r.Table.Partitions[0], r.Table.Partitions[1]
	if boot.Name != BootName || boot.Type != ESPType || boot.Offset() != 1<<20 || boot.Size() != BootSize ||
		perm.Name != PermName || perm.Type != LinuxType || perm.Offset() != 1<<20+BootSize || perm.Size() != PermSize {
		t.Errorf("partitions %+v, want %s and %s, 1 MiB aligned", r.Table.Partitions, BootName, PermName)
	}
	checkBoot(t, c, r.Out, boot)
	checkPerm(t, r.Out, perm)
}

// checkBoot checks the boot partition's file system and every file on it.
func checkBoot(t *testing.T, c Config, img string, p Partition) {
	t.Helper()
	part := extract(t, img, p)
	if out, err := exec.Command("fsck.fat", "-n", "-v", part).CombinedOutput(); err != nil ||
		!strings.Contains(string(out), "32 bit entries") ||
		!strings.Contains(string(out), fmt.Sprintf(" %d sectors total", p.Size()/SectorSize)) {
		t.Errorf("fsck.fat -n: %v\n%s", err, out)
	}
	out, err := mtools("mdir", img, p.Offset(), "-/", "-a", "::/")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "Volume in drive : is "+BootLabel) {
		t.Errorf("mdir: no volume label %s:\n%s", BootLabel, out)
	}
	// The whole tree, and nothing else.
	out, err = mtools("mdir", img, p.Offset(), "-/", "-b", "::/")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(string(out))
	want := []string{"::/EFI/", "::/EFI/BOOT/", "::/EFI/BOOT/BOOTX64.EFI", "::/cmdline.txt",
		"::/loader/", "::/loader/entries/", "::/loader/entries/tprouter-a.conf", "::/loader/loader.conf",
		"::/tprouter/", "::/tprouter/a/", "::/tprouter/a/initramfs.img", "::/tprouter/a/vmlinuz", "::/tprouter/b/",
		"::/update/", "::/update/key.pub", "::/update/password.sha256"}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("files on the boot partition:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	same := func(name, src string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, img, name); !bytes.Equal(got, b) {
			t.Errorf("%s: %d bytes, want the %d of %s", name, len(got), len(b), src)
		}
	}
	same(LoaderFile, c.Loader)
	same(SlotA+"/vmlinuz", filepath.Join(c.Image, "vmlinuz"))
	same(SlotA+"/initramfs.img", filepath.Join(c.Image, "initramfs.img"))
	if got := string(readFile(t, img, CmdlineFile)); got != c.Cmdline {
		t.Errorf("%s = %q, want %q", CmdlineFile, got, c.Cmdline)
	}
	if got := readFile(t, img, "/update/key.pub"); !bytes.Equal(got, c.Key) {
		t.Errorf("/update/key.pub = %q, want %q", got, c.Key)
	}
	if got := readFile(t, img, "/update/password.sha256"); !bytes.Equal(got, c.PasswordHash) {
		t.Errorf("/update/password.sha256 = %q, want %q", got, c.PasswordHash)
	}
	entry := "title   tprouter qemu-x86_64 (slot a)\nsort-key tprouter\nversion 2026.01.02.030405\n" +
		"linux   /tprouter/a/vmlinuz\ninitrd  /tprouter/a/initramfs.img\n" +
		"options console=ttyS0 panic=-1 tprouter.wan=eth0 tprouter.lan=eth1\n"
	if got := string(readFile(t, img, EntryA)); got != entry {
		t.Errorf("%s =\n%s\nwant\n%s", EntryA, got, entry)
	}
	conf := string(readFile(t, img, LoaderConf))
	for _, line := range []string{"timeout 0", "editor yes", "auto-entries no"} {
		if !slices.Contains(strings.Split(conf, "\n"), line) {
			t.Errorf("%s lacks the line %q:\n%s", LoaderConf, line, conf)
		}
	}
	out, err = mtools("mdir", img, p.Offset(), "::/tprouter/a/vmlinuz")
	if err != nil || !strings.Contains(string(out), "2026-01-01   0:00") {
		t.Errorf("mdir: vmlinuz's time is not Epoch's (%v):\n%s", err, out)
	}
}

func readFile(t *testing.T, img, name string) []byte {
	t.Helper()
	b, err := ReadFile(img, name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkPerm checks the persistent partition's file system, label and
// contents.
func checkPerm(t *testing.T, img string, p Partition) {
	t.Helper()
	part := extract(t, img, p)
	if out, err := exec.Command("e2fsck", "-fn", part).CombinedOutput(); err != nil {
		t.Errorf("e2fsck -fn: %v\n%s", err, out)
	}
	out, err := exec.Command("dumpe2fs", "-h", part).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Filesystem volume name:   "+PermLabel+"\n") ||
		!strings.Contains(string(out), "Block size:               4096\n") {
		t.Errorf("dumpe2fs -h: %v\n%s", err, out)
	}
	out, err = exec.Command("debugfs", "-R", "ls -l /", part).Output()
	if err != nil {
		t.Fatalf("debugfs ls: %v", err)
	}
	ls := string(out)
	for _, want := range []string{" 40755 (2)      0      0 ", " README.txt", " lost+found"} {
		if !strings.Contains(ls, want) {
			t.Errorf("the persistent partition's root lacks %q:\n%s", want, ls)
		}
	}
	// A build that does not run as root must not leave its user's
	// uid on the router.
	for _, line := range strings.Split(ls, "\n") {
		if f := strings.Fields(line); len(f) == 9 && f[8] == "README.txt" && (f[3] != "0" || f[4] != "0") {
			t.Errorf("README.txt is owned by %s:%s, want 0:0 (root)", f[3], f[4])
		}
	}
	out, err = exec.Command("debugfs", "-R", "cat /README.txt", part).Output()
	if err != nil || string(out) != permReadme {
		t.Errorf("README.txt = %q, %v", out, err)
	}
}

// extract copies partition p of img into a file of its own, for the
// tools that cannot read at an offset.
func extract(t *testing.T, img string, p Partition) string {
	t.Helper()
	in, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	name := filepath.Join(t.TempDir(), p.Name)
	out, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, io.NewSectionReader(in, p.Offset(), p.Size())); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestDeterministic writes the same inputs twice, a second apart, and
// wants the same bytes; another board's image differs in its identifiers.
func TestDeterministic(t *testing.T) {
	needTools(t, "mkfs.fat", "mcopy", "mkfs.ext4", "debugfs")
	c := inputs(t)
	c.Out = filepath.Join(t.TempDir(), "1.img")
	a := write(t, c)
	time.Sleep(time.Second) // past any clock a tool might read
	c.Out = filepath.Join(t.TempDir(), "2.img")
	b := write(t, c)
	if !sameBytes(t, a.Out, b.Out) {
		t.Errorf("two images of the same inputs differ")
	}
	c.Board, c.Out = "x86_64", filepath.Join(t.TempDir(), "3.img")
	other := write(t, c)
	if other.Table.Disk == a.Table.Disk || other.Table.Partitions[0].GUID == a.Table.Partitions[0].GUID {
		t.Errorf("images of two boards have the same GUIDs")
	}
	// Without keys: no /update, and the router refuses updates.
	c.Key, c.PasswordHash, c.Out = nil, nil, filepath.Join(t.TempDir(), "4.img")
	nokeys := write(t, c)
	if _, err := ReadFile(nokeys.Out, "/update/key.pub"); err == nil {
		t.Errorf("an image without keys has /update/key.pub")
	}
}

func sameBytes(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

// TestWriteFile edits a file on the boot partition as a user would, and
// copies the image: the copy has the edit, the file system stays clean,
// and the copy keeps the image's holes.
func TestWriteFile(t *testing.T) {
	needTools(t, "mkfs.fat", "fsck.fat", "mcopy", "mkfs.ext4", "debugfs")
	r := write(t, inputs(t))
	text := []byte("tprouter.hostname=gw\n# a longer file than before, " + strings.Repeat("x", 5000) + "\n")
	if err := WriteFile(r.Out, CmdlineFile, text); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(r.Out, "/tprouter/b/new", []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(r.Out, "/no/such/dir/file", []byte("x")); err == nil {
		t.Errorf("WriteFile into a missing directory: no error")
	}
	cp := filepath.Join(t.TempDir(), "copy.img")
	if err := Copy(cp, r.Out); err != nil {
		t.Fatal(err)
	}
	if !sameBytes(t, cp, r.Out) {
		t.Fatalf("the copy differs from the image")
	}
	if got := readFile(t, cp, CmdlineFile); !bytes.Equal(got, text) {
		t.Errorf("%s after WriteFile = %q, want %q", CmdlineFile, got, text)
	}
	if out, err := exec.Command("fsck.fat", "-n", extract(t, cp, r.Table.Partitions[0])).CombinedOutput(); err != nil {
		t.Errorf("fsck.fat -n after WriteFile: %v\n%s", err, out)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(cp, &st); err != nil {
		t.Fatal(err)
	}
	if used := st.Blocks * 512; used > st.Size/4 {
		t.Errorf("the copy takes %d of its %d bytes on disk: holes were filled", used, st.Size)
	}
	if err := Copy(cp, r.Out); err == nil {
		t.Errorf("Copy over an existing file: no error")
	}
}
