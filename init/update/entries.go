package update

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// entry is a slot's loader entry, parsed from its file name:
// tprouter-<slot>[+LEFT[-DONE]].conf.
type entry struct {
	file       string
	slot       string
	counting   bool // it has a counter: not blessed
	left, done int
}

// exhausted: systemd-boot has spent its tries; it sorts last.
func (e entry) exhausted() bool { return e.counting && e.left == 0 }

// parseEntry parses a loader entry's file name; systemd-boot may report
// it in lower case, which tprouter's names are.
func parseEntry(name string) (entry, bool) {
	base, ok := strings.CutSuffix(name, ".conf")
	if !ok {
		return entry{}, false
	}
	base, ok = strings.CutPrefix(base, "tprouter-")
	if !ok {
		return entry{}, false
	}
	slot, counter, counting := strings.Cut(base, "+")
	if !slices.Contains(Slots, slot) {
		return entry{}, false
	}
	e := entry{file: name, slot: slot, counting: counting}
	if !counting {
		return e, true
	}
	l, d, hasDone := strings.Cut(counter, "-")
	var err error
	if e.left, err = count(l); err != nil {
		return entry{}, false
	}
	if hasDone {
		if e.done, err = count(d); err != nil {
			return entry{}, false
		}
	}
	return e, true
}

func count(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("bad counter %q", s)
	}
	return n, nil
}

// entryName is the file name of slot's entry: counting with tries left,
// or blessed (tries < 0).
func entryName(slot string, tries int) string {
	if tries < 0 {
		return "tprouter-" + slot + ".conf"
	}
	return fmt.Sprintf("tprouter-%s+%d.conf", slot, tries)
}

// listEntries lists the tprouter entries in dir (loader/entries).
func listEntries(dir string) ([]entry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the loader entries: %w", err)
	}
	var es []entry
	for _, de := range des {
		if e, ok := parseEntry(de.Name()); ok && !de.IsDir() {
			es = append(es, e)
		}
	}
	return es, nil
}

// findSlot returns slot's entry among es; with more than one (which only
// a hand edit makes), the blessed one.
func findSlot(es []entry, slot string) (entry, bool) {
	var found entry
	ok := false
	for _, e := range es {
		if e.slot == slot && (!ok || found.counting) {
			found, ok = e, true
		}
	}
	return found, ok
}

// entryVersion reads the "version" line of the entry file at path.
func entryVersion(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), " "); ok && k == "version" {
			return strings.TrimSpace(v), nil
		}
	}
	return "", errors.New(filepath.Base(path) + ": no version line")
}
