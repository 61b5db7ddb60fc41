package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// mountBoot mounts the boot partition p at dir: FAT, read-only (nothing
// on the router writes it, and a FAT file system has no journal to
// survive a power cut in the middle of a write).
//
// FAT has no owners or modes: the mount gives every file root's, and
// modes from fmask and dmask, which default to the mounting process's
// umask. They are given here (bootMasks), so that the proxy (its own
// uid) can read deny.txt and allow.txt whatever umask PID 1 runs with.
func mountBoot(p Partition, dir string) ([]string, error) {
	if err := supported("vfat", "vfat, nls_cp437 and nls_ascii"); err != nil {
		return nil, err
	}
	err := unix.Mount(p.Dev, dir, "vfat", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, bootMasks)
	if err != nil {
		why := ""
		if errors.Is(err, unix.EINVAL) && !fatBootSector(p.Dev) {
			why = " (no FAT file system on it: blank, or damaged)"
		}
		return nil, fmt.Errorf("mount %s as vfat, read-only: %w%s: check it with fsck.fat on another computer, or reflash the disk image", p, err, why)
	}
	return nil, nil
}

// RemountBoot remounts the boot partition mounted at dir read-write
// (rw) or read-only again, with the flags and masks mountBoot gave it
// (a remount without them would drop nosuid, nodev and noexec): init/update
// writes a slot between the two.
func RemountBoot(dir string, rw bool) error {
	flags := uintptr(unix.MS_REMOUNT | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	what := "read-write"
	if !rw {
		flags |= unix.MS_RDONLY
		what = "read-only"
	}
	if err := unix.Mount("", dir, "vfat", flags, bootMasks); err != nil {
		return fmt.Errorf("remount %s %s: %w", dir, what, err)
	}
	return nil
}

// bootMasks make the boot partition's files 0644 and its directories
// 0755: readable by every service, writable by none (it is read-only).
const bootMasks = "fmask=0133,dmask=0022"

// ext4Flags: no atime updates (every read would be a write to a USB
// stick that wears out), nothing to run or be privileged by.
const ext4Flags = unix.MS_NOATIME | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

// mountPerm mounts the persistent partition p at dir: ext4 with its
// default data=ordered journalling, so that after a power cut the journal
// replays at this mount and files hold what was written before the last
// commit; errors=remount-ro turns a file system error found later into a
// read-only file system rather than more damage. It returns notes on a
// file system that mounted but wants attention.
func mountPerm(p Partition, dir string) ([]string, error) {
	if err := supported("ext4", "ext4 and crc32c_generic"); err != nil {
		return nil, err
	}
	sb, err := readExt4Super(p.Dev)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if !sb.magic {
		return nil, fmt.Errorf("%s has no ext4 file system (blank, or its superblock is damaged): "+
			"repair it with e2fsck -f on another computer (it finds the backup superblocks), or make one there with mkfs.ext4 -L %s, which erases it", p, PermName)
	}
	if err := unix.Mount(p.Dev, dir, "ext4", ext4Flags, "errors=remount-ro"); err != nil {
		what := " (it is damaged, or has features this kernel lacks): repair it with e2fsck -f on another computer"
		switch {
		case errors.Is(err, unix.EBADMSG):
			what = " (a checksum does not match: it is damaged): repair it with e2fsck -f on another computer"
		case errors.Is(err, unix.EROFS), errors.Is(err, unix.EACCES):
			what = " (the disk is read-only: a write-protect switch?)"
		}
		return nil, fmt.Errorf("mount %s as ext4: %w%s", p, err, what)
	}
	var notes []string
	if sb.errors {
		notes = append(notes, "its file system recorded errors: check it with e2fsck -f on another computer")
	}
	if !sb.journal {
		notes = append(notes, "its file system has no journal, so a power cut can damage it: add one with tune2fs -j on another computer")
	}
	return notes, nil
}

// ext4Super is what mountPerm checks in an ext4 superblock.
type ext4Super struct {
	magic   bool // it is one
	errors  bool // the kernel recorded errors (EXT4_ERROR_FS)
	journal bool // has_journal
}

// readExt4Super reads the superblock at byte 1024 of dev.
func readExt4Super(dev string) (ext4Super, error) {
	f, err := os.Open(dev)
	if err != nil {
		return ext4Super{}, err
	}
	defer f.Close()
	b := make([]byte, 1024)
	if _, err := f.ReadAt(b, 1024); err != nil {
		return ext4Super{}, err
	}
	le := binary.LittleEndian
	return ext4Super{
		magic:   le.Uint16(b[0x38:]) == 0xef53,
		errors:  le.Uint16(b[0x3a:])&0x2 != 0,
		journal: le.Uint32(b[0x5c:])&0x4 != 0,
	}, nil
}

// fatBootSector reports whether dev starts with a boot sector (0x55 0xaa
// at its end), as every FAT file system does.
func fatBootSector(dev string) bool {
	f, err := os.Open(dev)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 512)
	_, err = f.ReadAt(b, 0)
	return err == nil && b[510] == 0x55 && b[511] == 0xaa
}

// supported checks that the kernel has the file system fs, which the
// board's module list loads as modules.
func supported(fs, modules string) error {
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); slices.Contains(f, fs) {
			return nil
		}
	}
	return fmt.Errorf("the kernel has no %s file system: the board's module list must name %s", fs, modules)
}

// unmount unmounts dir; a dir that is not a mount point is left alone.
// A busy one is made read-only, if it can be, and detached.
func unmount(dir string) error {
	err := unix.Unmount(dir, 0)
	switch {
	case err == nil, errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
		return nil
	case !errors.Is(err, unix.EBUSY):
		return fmt.Errorf("umount %s: %w", dir, err)
	}
	ro := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
	if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("umount %s: busy, and detaching it: %w", dir, err)
	}
	if ro != nil {
		return fmt.Errorf("umount %s: busy, detached without being made read-only first (%v): its journal repairs it at the next mount", dir, ro)
	}
	return fmt.Errorf("umount %s: busy: made read-only and detached", dir)
}
