package update

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// AfterSelfTest takes the self-test's verdict (summary: what failed) for
// a running entry that is still counting its boots: a pass blesses it; a
// failure is written to /perm/update/failure.txt and reboots, which
// spends one of its tries. A blessed entry is left alone.
func (u *Updater) AfterSelfTest(ok bool, summary string) {
	u.load()
	u.mu.Lock()
	if u.slot == "" || u.blessed || u.failed {
		u.mu.Unlock()
		return
	}
	if !ok {
		u.failed = true
		u.mu.Unlock()
		u.fail(summary)
		return
	}
	defer u.mu.Unlock()
	if err := u.bless(); err != nil {
		u.Log("update: blessing version %s in slot %s: %v; it stays on trial and boots at most %d more times", u.Version, u.slot, err, u.left())
		return
	}
	u.Log("update: version %s in slot %s blessed", u.Version, u.slot)
}

// StartDeadline makes a running entry that is still counting fail when
// no self-test has passed within d of now (a hang, or a self-test that
// never ends).
func (u *Updater) StartDeadline(d time.Duration) {
	u.load()
	u.mu.Lock()
	pending := u.slot != "" && !u.blessed
	u.mu.Unlock()
	if !pending {
		return
	}
	why := "no self-test pass within " + strings.TrimSuffix(d.String(), "0s")
	time.AfterFunc(d, func() { u.AfterSelfTest(false, why) })
}

// bless renames the running entry to its name without a counter. The
// caller holds mu.
func (u *Updater) bless() (err error) {
	if err := u.remount(true); err != nil {
		return err
	}
	defer func() {
		if e := u.remount(false); e != nil && err == nil {
			err = e
		}
	}()
	name := entryName(u.slot, -1)
	if err := os.Rename(filepath.Join(u.entries(), u.entry), filepath.Join(u.entries(), name)); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", u.entry, name, err)
	}
	u.entry, u.blessed = name, true
	return syncDir(u.entries())
}

// left is how many more boots systemd-boot gives the running entry.
func (u *Updater) left() int {
	e, _ := parseEntry(u.entry)
	return e.left
}

// fail records why the running slot failed, for the slot that boots
// after it, and reboots.
func (u *Updater) fail(why string) {
	u.mu.Lock()
	slot, left := u.slot, u.left()
	u.mu.Unlock()
	if err := u.writeFailure(why, time.Now()); err != nil {
		u.Log("update: %v", err)
	}
	tries := fmt.Sprintf("%d tries left", left)
	if left == 0 {
		tries = "no tries left: slot " + other(slot) + " boots next"
	}
	u.Log("update: version %s failed its self-test: %s; rebooting (%s)", u.Version, why, tries)
	u.Reboot(fmt.Sprintf("update: version %s in slot %s failed", u.Version, slot))
}

// failureFile is where a failing slot says why, under Perm.
const failureFile = "update/failure.txt"

// writeFailure writes /perm/update/failure.txt: the version, the time
// and why, one "key value" line each.
func (u *Updater) writeFailure(why string, t time.Time) error {
	if u.Perm == "" {
		return fmt.Errorf("no /perm: the reason for this failure (%s) is not kept for the slot that boots next", why)
	}
	dir := filepath.Join(u.Perm, filepath.Dir(failureFile))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", failureFile, err)
	}
	text := fmt.Sprintf("version %s\ntime %s\nwhy %s\n", u.Version, t.UTC().Format(time.RFC3339), strings.ReplaceAll(why, "\n", "; "))
	return u.writeSynced(dir, ".failure.tmp", filepath.Base(failureFile), []byte(text))
}
