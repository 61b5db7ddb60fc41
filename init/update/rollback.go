package update

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"tprouter/internal/bundle"
)

// CheckRollback says, at boot, which slot and version run, and whether
// they run because an update was rolled back: the other slot's entry has
// spent its tries and holds a newer version. The rollback is kept for
// /version and the metrics.
func (u *Updater) CheckRollback() {
	slot, entry, why := u.Running()
	if slot == "" {
		u.Log("update: updates are off: cannot tell the running slot: %s", why)
		return
	}
	u.Log("update: running version %s in slot %s (entry %s)", u.Version, slot, entry)
	if e, _ := parseEntry(entry); e.counting {
		u.Log("update: version %s in slot %s is on trial (%d tries left after this one): a passing self-test blesses it", u.Version, slot, e.left)
	}
	es, err := listEntries(u.entries())
	if err != nil {
		u.Log("update: %v", err)
		return
	}
	o, ok := findSlot(es, other(slot))
	if !ok || !o.exhausted() {
		return
	}
	v, err := entryVersion(filepath.Join(u.entries(), o.file))
	if err != nil || bundle.Compare(v, u.Version) <= 0 {
		return
	}
	rolled := fmt.Sprintf("version %s in slot %s failed %d boots: %s", v, o.slot, o.done, u.failure(v))
	u.mu.Lock()
	u.rolled = rolled
	u.mu.Unlock()
	u.Log("update: rolled back: %s; running version %s in slot %s", rolled, u.Version, slot)
}

// failure reads why version failed from /perm/update/failure.txt.
func (u *Updater) failure(version string) string {
	const none = "no record: it crashed or hung before its self-test"
	if u.Perm == "" {
		return none + " (or there is no /perm to keep one)"
	}
	f, err := os.Open(filepath.Join(u.Perm, failureFile))
	if err != nil {
		return none
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok {
			kv[k] = v
		}
	}
	if kv["version"] != version || kv["why"] == "" {
		return none
	}
	return kv["why"]
}

// RolledBack returns the rollback CheckRollback found, "" when none.
func (u *Updater) RolledBack() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.rolled
}
