package update

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"tprouter/init/storage"
)

// Updater is the router's update state: the running slot and entry, and
// whether an update was rolled back.
type Updater struct {
	// Boot is where the boot partition is mounted (/boot); Perm is where
	// the persistent partition is (/perm), "" without one.
	Boot, Perm string
	// Board is the board's name, Version the running version
	// (ReadLine("/etc/tprouter/version")).
	Board, Version string
	// Log writes a line on the console.
	Log func(format string, args ...any)
	// Reboot reboots through init's shutdown path.
	Reboot func(why string)
	// LAN returns the LAN prefixes: PUT /update only from those.
	LAN func() []netip.Prefix

	// Seams for tests; zero values are the real thing.
	EFIVars string                          // efivarfs: /sys/firmware/efi/efivars
	Remount func(dir string, rw bool) error // storage.RemountBoot

	interrupt func(step string) error // tests: a power cut at step
	maxSize   int64                   // tests: MaxBundle

	once    sync.Once
	busy    atomic.Bool // an update is being written, or written
	mu      sync.Mutex
	slot    string // the running slot, "" when unknown
	entry   string // its entry's file name as it is now on /boot
	why     string // why slot is "": the error
	blessed bool   // the running entry has no counter (or was blessed)
	failed  bool   // a failure is being handled: reboot under way
	rolled  string // "version 3 in slot b failed 3 boots: why", or ""
}

// Slots are the slot names.
var Slots = []string{"a", "b"}

// ReadLine reads a one-line file the image builder writes
// (bundle.VersionFile, bundle.BoardFile); "unknown" without it.
func ReadLine(path string) string {
	b, err := os.ReadFile(path)
	if v := strings.TrimSpace(string(b)); err == nil && v != "" {
		return v
	}
	return "unknown"
}

func (u *Updater) efiVars() string {
	if u.EFIVars != "" {
		return u.EFIVars
	}
	return "/sys/firmware/efi/efivars"
}

func (u *Updater) remount(rw bool) error {
	if u.Remount != nil {
		return u.Remount(u.Boot, rw)
	}
	return storage.RemountBoot(u.Boot, rw)
}

func (u *Updater) entries() string { return filepath.Join(u.Boot, "loader/entries") }

// load finds the running slot, once: from LoaderEntrySelected, and its
// entry as it is named on the boot partition now (systemd-boot renamed
// it when it counted the boot).
func (u *Updater) load() {
	u.once.Do(func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		slot, err := u.runningSlot()
		if err != nil {
			u.why = err.Error()
			return
		}
		es, err := listEntries(u.entries())
		if err != nil {
			u.why = err.Error()
			return
		}
		e, ok := findSlot(es, slot)
		if !ok {
			u.why = fmt.Sprintf("no loader entry for the running slot %s in %s", slot, u.entries())
			return
		}
		u.slot, u.entry, u.blessed = slot, e.file, !e.counting
	})
}

// runningSlot reads the running slot from LoaderEntrySelected.
func (u *Updater) runningSlot() (string, error) {
	sel, err := storage.LoaderEntry(u.efiVars())
	if err != nil {
		return "", fmt.Errorf("reading LoaderEntrySelected in %s: %w", u.efiVars(), err)
	}
	if sel == "" {
		return "", errors.New("no LoaderEntrySelected EFI variable: the router was not started by systemd-boot from the disk image")
	}
	e, ok := parseEntry(filepath.Base(strings.ReplaceAll(sel, `\`, "/")))
	if !ok {
		return "", fmt.Errorf("LoaderEntrySelected is %q, not a tprouter slot's entry (tprouter-a.conf or tprouter-b.conf)", sel)
	}
	return e.slot, nil
}

// Running returns the running slot and its entry's file name; slot is ""
// when it cannot be told, and why says why.
func (u *Updater) Running() (slot, entry, why string) {
	u.load()
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.slot, u.entry, u.why
}

func other(slot string) string {
	if slot == "a" {
		return "b"
	}
	return "a"
}
