package e2e

import (
	"os"
	"slices"
	"strings"
	"testing"

	"tprouter/image/disk"
)

// What the tests do to a disk image while no VM runs it: edit cmdline.txt
// as a user does on the stick, damage or remove the persistent partition
// as a failing or repartitioned stick would.

// editCmdline replaces whole lines of img's cmdline.txt, each key of
// repl by its value, and returns the number of each replaced line. Every
// key must be a line of the file.
func editCmdline(t *testing.T, img string, repl map[string]string) map[string]int {
	t.Helper()
	text, err := disk.ReadFile(img, disk.CmdlineFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(text), "\n")
	at := map[string]int{}
	for i, line := range lines {
		if r, ok := repl[line]; ok {
			lines[i], at[line] = r, i+1
		}
	}
	for k := range repl {
		if at[k] == 0 {
			t.Fatalf("%s has no line %q:\n%s", disk.CmdlineFile, k, text)
		}
	}
	if err := disk.WriteFile(img, disk.CmdlineFile, []byte(strings.Join(lines, "\n"))); err != nil {
		t.Fatal(err)
	}
	return at
}

// partitions returns img's partition table.
func partitions(t *testing.T, img string) *disk.Table {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	tab, err := disk.ReadTable(f, fi.Size())
	if err != nil {
		t.Fatalf("%s: %v", img, err)
	}
	return tab
}

// partition returns img's partition called name.
func partition(t *testing.T, img, name string) disk.Partition {
	t.Helper()
	p, err := partitions(t, img).Find(name)
	if err != nil {
		t.Fatalf("%s: %v", img, err)
	}
	return p
}

// removePartition rewrites img's partition tables without the entry of
// the partition called name; its data stays where it was.
func removePartition(t *testing.T, img, name string) {
	t.Helper()
	tab := partitions(t, img)
	n := len(tab.Partitions)
	tab.Partitions = slices.DeleteFunc(tab.Partitions, func(p disk.Partition) bool { return p.Name == name })
	if len(tab.Partitions) != n-1 {
		t.Fatalf("%s: %d partitions named %s, want 1", img, n-len(tab.Partitions), name)
	}
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = tab.Write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("%s: %v", img, err)
	}
	if _, err := partitions(t, img).Find(name); err == nil {
		t.Fatalf("%s: still has a partition named %s", img, name)
	}
}

// writeAt writes b at off in the file name.
func writeAt(t *testing.T, name string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt(b, off)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

// readAt reads n bytes at off in the file name.
func readAt(t *testing.T, name string, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}
