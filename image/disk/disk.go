// Package disk writes the disk image a user flashes onto a router's boot
// medium: build/<board>/tprouter.img, made from the image the builder wrote
// beside it (vmlinuz, initramfs.img, cmdline). The image is a GPT disk,
// 1 MiB aligned, with two partitions:
//
//  1. tprouter-boot, the EFI system partition: FAT32, volume label
//     TPROUTER, 256 MiB. It holds systemd-boot (Debian's
//     systemd-bootx64.efi) as the firmware's removable-media loader
//     /EFI/BOOT/BOOTX64.EFI, so that a stick boots straight after dd
//     without a firmware boot entry; /loader/loader.conf; the entry of
//     slot a, /loader/entries/tprouter-a.conf, whose options line is the
//     board's kernel command line; slot a's /tprouter/a/vmlinuz and
//     /tprouter/a/initramfs.img; an empty /tprouter/b/ for an update to
//     fill; /cmdline.txt, the commented configuration file a user
//     edits; and, when Config has them, /update/key.pub and
//     /update/password.sha256, the key that signs updates and the
//     update password's hash (tprouter/internal/bundle). The entry is
//     bundle.Entry's, with the image's version, as the router writes
//     entries after an update.
//  2. tprouter-perm, the persistent partition: ext4 with the label
//     tprouter-perm, 128 MiB, empty but for lost+found and a README.txt.
//
// Nothing needs root, a loop device or a mount: the table is written here
// (gpt.go), the FAT by mkfs.fat and mtools at the partition's offset
// (boot.go), the ext4 by mkfs.ext4 -d at its offset (perm.go). The same
// inputs give the same bytes: every file has the time Config.Time, the
// disk's and the partitions' GUIDs, the FAT volume id and the ext4 UUID
// are derived from a hash of the board and the files, and the tools' own
// clocks are pinned (mkfs.fat --invariant, E2FSPROGS_FAKE_TIME). ReadFile
// and WriteFile read and replace a file on the boot partition of an image
// while nothing boots from it, as a user editing cmdline.txt would.
package disk

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"tprouter/internal/bundle"
)

// FileName is the disk image's name in the image's directory.
const FileName = "tprouter.img"

// The partitions: GPT partition names, file system labels, sizes.
const (
	BootName  = "tprouter-boot"
	BootLabel = "TPROUTER"
	BootSize  = 256 << 20
	PermName  = "tprouter-perm"
	PermLabel = "tprouter-perm"
	PermSize  = 128 << 20

	align = 1 << 20 // the first partition's start and the space after the last
)

// Partition types: the EFI system partition, Linux file system data.
var (
	ESPType   = mustGUID("C12A7328-F81F-11D2-BA4B-00A0C93EC93B")
	LinuxType = mustGUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4")
)

// Files on the boot partition.
const (
	LoaderFile  = "/EFI/BOOT/BOOTX64.EFI"
	LoaderConf  = "/loader/loader.conf"
	EntryA      = "/loader/entries/tprouter-a.conf"
	SlotA       = "/tprouter/a"
	SlotB       = "/tprouter/b"
	CmdlineFile = "/cmdline.txt"
)

// LoaderPackage is the Debian package that has systemd-boot, and
// LoaderPath the boot loader in it.
const (
	LoaderPackage = "systemd-boot-efi"
	LoaderPath    = "usr/lib/systemd/boot/efi/systemd-bootx64.efi"
)

// Epoch is every file's time when Config.Time is zero.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Config says what to write.
type Config struct {
	Board string // the board's name: in the entry's title and the GUIDs
	// Image is the directory with the builder's vmlinuz, initramfs.img
	// and cmdline (build/<board>).
	Image string
	// Loader is systemd-bootx64.efi (LoaderPath in LoaderPackage).
	Loader string
	// Cmdline is the text of /cmdline.txt.
	Cmdline string
	Out     string    // the disk image; default Image/FileName
	Time    time.Time // of every file; default Epoch
	// Version is the image's version, in the loader entry; default
	// the builder's Image/version file.
	Version string
	// Key and PasswordHash are bundle.BootKey and
	// bundle.BootPasswordHash; without them the router refuses
	// updates.
	Key, PasswordHash []byte
}

// Result describes a written image.
type Result struct {
	Out   string
	Table *Table
	Files int64 // bytes of files on the boot partition
}

// Write writes the disk image c describes, replacing c.Out only once it
// is complete.
func Write(c Config) (*Result, error) {
	if c.Out == "" {
		c.Out = filepath.Join(c.Image, FileName)
	}
	if c.Time.IsZero() {
		c.Time = Epoch
	}
	files, err := bootFiles(c)
	if err != nil {
		return nil, err
	}
	id := newIDs(c.Board, files)
	t := layout(id)
	f, err := os.CreateTemp(filepath.Dir(c.Out), ".tprouter-*.img")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the rename, a no-op
	err = f.Truncate(int64(t.Sectors) * SectorSize)
	if err == nil {
		err = t.Write(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tmp, err)
	}
	stage, err := os.MkdirTemp(filepath.Dir(c.Out), ".tprouter-stage-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	if err := makeBoot(tmp, t.Partitions[0], id.volume, files, filepath.Join(stage, "boot"), c.Time); err != nil {
		return nil, err
	}
	if err := makePerm(tmp, t.Partitions[1], id.permFS, filepath.Join(stage, "perm"), c.Time); err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, c.Out); err != nil {
		return nil, err
	}
	r := &Result{Out: c.Out, Table: t}
	for _, f := range files {
		r.Files += int64(len(f.data))
	}
	return r, nil
}

// layout is the partition table.
func layout(id ids) *Table {
	const s = SectorSize
	boot := Partition{Type: ESPType, GUID: id.boot, Name: BootName,
		First: align / s, Last: (align+BootSize)/s - 1}
	perm := Partition{Type: LinuxType, GUID: id.perm, Name: PermName,
		First: boot.Last + 1, Last: boot.Last + PermSize/s}
	return &Table{
		Disk:       id.disk,
		Sectors:    perm.Last + 1 + align/s,
		Partitions: []Partition{boot, perm},
	}
}

// ids are the image's identifiers.
type ids struct {
	disk, boot, perm GUID
	permFS           GUID   // the ext4 file system's UUID
	volume           uint32 // the FAT volume id
}

// newIDs derives the identifiers from the board and the files, so that
// the same inputs give the same image and another build other ones.
func newIDs(board string, files []file) ids {
	h := sha256.New()
	fmt.Fprintf(h, "tprouter disk image\x00%s\x00", board)
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00%t\x00", f.name, len(f.data), f.dir)
		h.Write(f.data)
	}
	seed := h.Sum(nil)
	guid := func(what string) GUID {
		var g GUID
		sum := sha256.Sum256(append(seed, what...))
		copy(g[:], sum[:])
		// A version 4 (random) GUID, as far as tools can tell.
		g[7] = g[7]&0x0f | 0x40
		g[8] = g[8]&0x3f | 0x80
		return g
	}
	v := guid("boot-fs")
	return ids{
		disk:   guid("disk"),
		boot:   guid(BootName),
		perm:   guid(PermName),
		permFS: guid("perm-fs"),
		volume: binary.LittleEndian.Uint32(v[:4]),
	}
}

// file is an entry of the boot partition, a directory or a file.
type file struct {
	name string // /EFI/BOOT
	dir  bool
	data []byte
}

// bootFiles is the boot partition's contents, in the order they are
// written: every directory before what it holds.
func bootFiles(c Config) ([]file, error) {
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("disk image: %w (build the image first: make image)", err)
		}
		return b, nil
	}
	vmlinuz, err := read(filepath.Join(c.Image, "vmlinuz"))
	if err != nil {
		return nil, err
	}
	initramfs, err := read(filepath.Join(c.Image, "initramfs.img"))
	if err != nil {
		return nil, err
	}
	cmdline, err := read(filepath.Join(c.Image, "cmdline"))
	if err != nil {
		return nil, err
	}
	options := strings.TrimSpace(string(cmdline))
	if options == "" || strings.ContainsAny(options, "\n\r") {
		return nil, fmt.Errorf("disk image: %s/cmdline: want the kernel command line on one line, have %q", c.Image, cmdline)
	}
	if c.Version == "" {
		v, err := read(filepath.Join(c.Image, "version"))
		if err != nil {
			return nil, err
		}
		c.Version = strings.TrimSpace(string(v))
	}
	if err := bundle.ValidVersion(c.Version); err != nil {
		return nil, fmt.Errorf("disk image: %w", err)
	}
	loader, err := os.ReadFile(c.Loader)
	if err != nil {
		return nil, fmt.Errorf("disk image: boot loader: %w (from Debian's %s)", err, LoaderPackage)
	}
	files := []file{
		{name: CmdlineFile, data: []byte(c.Cmdline)},
		{name: "/EFI", dir: true},
		{name: "/EFI/BOOT", dir: true},
		{name: LoaderFile, data: loader},
		{name: "/loader", dir: true},
		{name: LoaderConf, data: []byte(loaderConf)},
		{name: "/loader/entries", dir: true},
		{name: EntryA, data: []byte(bundle.Entry(c.Board, "a", c.Version, options))},
		{name: "/tprouter", dir: true},
		{name: SlotA, dir: true},
		{name: SlotA + "/vmlinuz", data: vmlinuz},
		{name: SlotA + "/initramfs.img", data: initramfs},
		{name: SlotB, dir: true},
	}
	if c.Key != nil && c.PasswordHash != nil {
		files = append(files,
			file{name: path.Dir(bundle.BootKey), dir: true},
			file{name: bundle.BootKey, data: c.Key},
			file{name: bundle.BootPasswordHash, data: c.PasswordHash})
	}
	return files, nil
}

// loaderConf is systemd-boot's configuration (loader.conf(5)).
const loaderConf = `# systemd-boot (man loader.conf). It boots the first entry at once; a key
# held while it starts shows the menu, where "e" edits an entry's options
# for that boot. Settings to keep go in /cmdline.txt.
timeout 0
editor yes
auto-entries no
`

// Summary is the image's size and its partitions', on one line.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d MiB", r.Table.Sectors*SectorSize>>20)
	for _, p := range r.Table.Partitions {
		fmt.Fprintf(&b, ", %s %d MiB", p.Name, p.Size()>>20)
	}
	fmt.Fprintf(&b, " (%.1f MiB of files on %s)", float64(r.Files)/(1<<20), BootName)
	return b.String()
}
