// Package boot holds the steps that bring a bare kernel to a system a
// router can run on, and the ones that take it down: file systems, the
// host name, kernel modules, the power button, signals and shutdown.
//
// Each step is a function that reports what failed and lets the caller go
// on: PID 1 logs errors and boots as far as it can.
package boot

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/u-root/u-root/pkg/libinit"
	"golang.org/x/sys/unix"

	"tprouter/init/internal/oneline"
)

// mounts are the file systems PID 1 mounts, in order: /proc first, so that
// the rest can be checked against /proc/self/mountinfo; /dev before
// /dev/pts.
var mounts = []libinit.Mount{
	{Source: "proc", Target: "/proc", FSType: "proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
	{Source: "sysfs", Target: "/sys", FSType: "sysfs", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
	{Source: "devtmpfs", Target: "/dev", FSType: "devtmpfs", Flags: unix.MS_NOSUID, Opts: "mode=0755"},
	// newinstance: the rescue shell's ptys live in a devpts of their own;
	// /dev/ptmx from devtmpfs finds it next to itself (Linux 4.7 and later).
	{Source: "devpts", Target: "/dev/pts", FSType: "devpts", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Opts: "newinstance,ptmxmode=0666,mode=0620"},
	{Source: "tmpfs", Target: "/run", FSType: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV, Opts: "mode=0755"},
	{Source: "tmpfs", Target: "/tmp", FSType: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV, Opts: "mode=1777"},
}

// Mount mounts /proc, /sys, /dev, /dev/pts, /run and /tmp under root ("/"
// on the router; a directory in tests). A file system already mounted
// there is left alone, so Mount can run twice, and also after a kernel
// with CONFIG_DEVTMPFS_MOUNT mounted /dev itself. It tries every mount and
// returns the failures.
//
// libinit.CreateRootfs does more than a router needs (cgroups, efivarfs,
// a copy of /etc) and mounts over what is already there, so PID 1 uses its
// Mount type with this list instead.
func Mount(root string) error {
	var errs []error
	for _, m := range mounts {
		m.Target = filepath.Join(root, m.Target)
		if mounted(m.Target) {
			continue
		}
		if err := os.MkdirAll(m.Target, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("mkdir %s: %w", m.Target, err))
			continue
		}
		if err := m.Create(); err != nil {
			errs = append(errs, fmt.Errorf("%v: %w", m, err))
		}
	}
	return oneline.Join(errs...)
}

// mounted reports whether a file system is mounted on dir: dir is on
// another device than its parent, or /proc/self/mountinfo lists it (which
// also finds a bind mount of the parent's file system).
func mounted(dir string) bool {
	var st, parent unix.Stat_t
	if unix.Stat(dir, &st) != nil {
		return false
	}
	if unix.Stat(filepath.Dir(dir), &parent) == nil && st.Dev != parent.Dev {
		return true
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && unescape(fields[4]) == dir {
			return true
		}
	}
	return false
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
