// Package storage finds the router's partitions on its disk and mounts
// them: the boot partition read-only at /boot, where init reads
// cmdline.txt, and the persistent partition at /perm, where the services
// keep their state across reboots.
//
// There is no udev: the partitions are the ones the kernel lists in
// /sys/class/block, and their GPT names, types and PARTUUIDs are read
// from the disks themselves. The boot partition is the EFI system
// partition systemd-boot started from (its LoaderDevicePartUUID
// variable names it), else the partition named tprouter-boot; the
// persistent one is the partition named tprouter-perm on the same disk.
//
// Nothing here stops the boot. A partition that is missing, unreadable
// or does not mount is one line on the console naming the device and
// what to do, and the router runs without it: configured by the kernel
// command line alone, its state in memory. A partition is never
// formatted, not even one that looks blank: a disk that is not what
// init expects may still be someone's data. There is no fsck either:
// ext4's journal replays itself when it is mounted after a power cut,
// and a file system that recorded errors is mounted and reported.
package storage

import (
	"os"
	"path/filepath"
	"time"
)

// The names of the partitions in the disk image (GPT partition names).
const (
	BootName = "tprouter-boot"
	PermName = "tprouter-perm"
)

// Where the partitions are mounted.
const (
	BootDir = "/boot"
	PermDir = "/perm"
)

// Storage finds and mounts the partitions.
type Storage struct {
	// Root prefixes BootDir and PermDir: "/" on the router.
	Root string
	// Sys and Dev are where sysfs and the device nodes are: /sys, /dev.
	Sys, Dev string
	// Wait bounds the wait for the disk the boot loader started from.
	Wait time.Duration
	// Log reports what was found and what went wrong.
	Log func(format string, args ...any)

	// Seams for tests; zero values are the real thing.
	disks   []string                         // only these disks (scan)
	efiVars func(sys string) (string, error) // the efivarfs directory, mounted
}

// Mounted says where the partitions are mounted: BootDir and PermDir
// under Root, or "" for one that is not.
type Mounted struct {
	Boot, Perm string
}

// Mount finds the partitions and mounts them, reporting each problem
// through Log. It returns what it mounted.
func (s *Storage) Mount() Mounted {
	if s.efiVars == nil {
		s.efiVars = efiVars
	}
	boot, perm, notes := s.find()
	for _, n := range notes {
		s.Log("storage: %s", n)
	}
	var m Mounted
	if boot == nil {
		s.Log("storage: no boot partition (none named %s): configured by the kernel command line alone, state in memory", BootName)
		return m
	}
	m.Boot = s.mountOne(*boot, BootDir, mountBoot, "cmdline.txt is not read, the kernel command line alone configures the router")
	if perm != nil {
		m.Perm = s.mountOne(*perm, PermDir, mountPerm, "the router keeps its state in memory")
	}
	return m
}

// mountOne mounts p at dir under Root and returns where, or reports why
// not and what that means, and returns "".
func (s *Storage) mountOne(p Partition, dir string, mount func(Partition, string) ([]string, error), without string) string {
	target := filepath.Join(s.Root, dir)
	var notes []string
	err := os.MkdirAll(target, 0o755)
	if err == nil {
		notes, err = mount(p, target)
	}
	if err != nil {
		s.Log("storage: %s: %v; %s", dir, err, without)
		return ""
	}
	s.Log("storage: %s: %s mounted", dir, p)
	for _, n := range notes {
		s.Log("storage: %s: %s", dir, n)
	}
	return target
}

// Unmount unmounts the persistent and boot partitions under root, if they
// are mounted: after a sync, so that nothing is left to write. A busy one
// is made read-only if it can be and detached lazily, so the machine can
// go down.
func Unmount(root string, log func(format string, args ...any)) {
	for _, dir := range []string{PermDir, BootDir} {
		if err := unmount(filepath.Join(root, dir)); err != nil {
			log("storage: %v", err)
		}
	}
}
