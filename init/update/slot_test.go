package update

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseEntry(t *testing.T) {
	for _, c := range []struct {
		name       string
		ok         bool
		slot       string
		counting   bool
		left, done int
	}{
		{"tprouter-a.conf", true, "a", false, 0, 0},
		{"tprouter-b+3.conf", true, "b", true, 3, 0},
		{"tprouter-b+2-1.conf", true, "b", true, 2, 1},
		{"tprouter-a+0-3.conf", true, "a", true, 0, 3},
		{"tprouter-c.conf", false, "", false, 0, 0},
		{"tprouter-a+x.conf", false, "", false, 0, 0},
		{"tprouter-a+-1.conf", false, "", false, 0, 0},
		{".tprouter-b.tmp", false, "", false, 0, 0},
		{"other.conf", false, "", false, 0, 0},
	} {
		e, ok := parseEntry(c.name)
		if ok != c.ok || e.slot != c.slot || e.counting != c.counting || e.left != c.left || e.done != c.done {
			t.Errorf("parseEntry(%q) = %+v, %v; want %+v", c.name, e, ok, c)
		}
	}
}

func TestRunning(t *testing.T) {
	r := newRig(t, "tprouter-b+3.conf", map[string]string{"tprouter-a.conf": "1", "tprouter-b+2-1.conf": "2"})
	// systemd-boot names the entry it picked; it renamed the file since.
	slot, entry, why := r.Running()
	if slot != "b" || entry != "tprouter-b+2-1.conf" {
		t.Fatalf("Running() = %q, %q, %q; want b, tprouter-b+2-1.conf", slot, entry, why)
	}
	r = newRig(t, "", map[string]string{"tprouter-a.conf": "2"})
	if slot, _, why := r.Running(); slot != "" || !strings.Contains(why, "no LoaderEntrySelected") {
		t.Fatalf("without the variable: Running() = %q, why %q", slot, why)
	}
}

func TestWriteSlot(t *testing.T) {
	r := newRig(t, "tprouter-a.conf", map[string]string{"tprouter-a.conf": "2", "tprouter-b.conf": "1"})
	before := tree(t, r.Boot)
	if err := r.writeSlot("b", "a", r.read(t)); err != nil {
		t.Fatal(err)
	}
	after := tree(t, r.Boot)
	if !maps.Equal(slotFiles(before, "a"), slotFiles(after, "a")) {
		t.Errorf("slot a changed:\n%v\n%v", slotFiles(before, "a"), slotFiles(after, "a"))
	}
	want := map[string]string{
		"tprouter/b/vmlinuz":               "kernel 3",
		"tprouter/b/initramfs.img":         "initramfs 3",
		"loader/entries/tprouter-b+3.conf": "",
	}
	got := slotFiles(after, "b")
	if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
		t.Fatalf("slot b's files: %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	for k, v := range want {
		if v != "" && got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	e := got["loader/entries/tprouter-b+3.conf"]
	for _, line := range []string{"sort-key tprouter", "version 3", "linux   /tprouter/b/vmlinuz", "initrd  /tprouter/b/initramfs.img", "options console=ttyS0 panic=10"} {
		if !strings.Contains(e, line+"\n") {
			t.Errorf("entry lacks %q:\n%s", line, e)
		}
	}
	if !slices.Equal(r.remounts, []bool{true, false}) {
		t.Errorf("remounts %v, want rw then ro", r.remounts)
	}
}

func TestWriteSlotRefusesRunning(t *testing.T) {
	r := newRig(t, "tprouter-a.conf", map[string]string{"tprouter-a.conf": "2"})
	before := tree(t, r.Boot)
	if err := r.writeSlot("a", "a", r.read(t)); err == nil {
		t.Fatal("writeSlot wrote the running slot")
	}
	if !maps.Equal(before, tree(t, r.Boot)) || len(r.remounts) != 0 {
		t.Error("refusing still touched the boot partition")
	}
}

// TestWriteSlotInterrupted cuts the power at every step of the write:
// slot a and its entry stay as they were, slot b has no entry, and /boot
// is read-only again.
func TestWriteSlotInterrupted(t *testing.T) {
	var steps []string
	r := newRig(t, "tprouter-a.conf", map[string]string{"tprouter-a.conf": "2"})
	r.interrupt = func(s string) error { steps = append(steps, s); return nil }
	if err := r.writeSlot("b", "a", r.read(t)); err != nil {
		t.Fatal(err)
	}
	if len(steps) < 6 {
		t.Fatalf("steps %v: want at least 6", steps)
	}
	for _, step := range steps[:len(steps)-1] {
		t.Run(strings.ReplaceAll(step, " ", "_"), func(t *testing.T) {
			r := newRig(t, "tprouter-a.conf", map[string]string{"tprouter-a.conf": "2", "tprouter-b+0-3.conf": "1"})
			before := tree(t, r.Boot)
			cut := errors.New("power cut")
			r.interrupt = func(s string) error {
				if s == step {
					return cut
				}
				return nil
			}
			if err := r.writeSlot("b", "a", r.read(t)); !errors.Is(err, cut) {
				t.Fatalf("writeSlot: %v, want the cut", err)
			}
			after := tree(t, r.Boot)
			if !maps.Equal(slotFiles(before, "a"), slotFiles(after, "a")) {
				t.Errorf("slot a changed")
			}
			for k := range after {
				if strings.HasPrefix(k, "loader/entries/tprouter-b") {
					t.Errorf("an entry for the half-written slot: %s", k)
				}
			}
			if len(r.remounts) != 2 || r.remounts[1] {
				t.Errorf("remounts %v: want read-only again", r.remounts)
			}
		})
	}
}

func TestWriteSlotBadReadBack(t *testing.T) {
	r := newRig(t, "tprouter-a.conf", map[string]string{"tprouter-a.conf": "2"})
	b := r.read(t)
	b.Manifest.Files[0].SHA256 = strings.Repeat("0", 64)
	err := r.writeSlot("b", "a", b)
	if err == nil || !strings.Contains(err.Error(), "reading back") {
		t.Fatalf("writeSlot with a wrong hash: %v", err)
	}
	if _, err := os.Stat(filepath.Join(r.entries(), "tprouter-b+3.conf")); err == nil {
		t.Error("an entry for a slot that did not verify")
	}
}
