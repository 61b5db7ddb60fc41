package statefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	type state struct {
		A string
		B []int
	}
	path := filepath.Join(t.TempDir(), "sub", "s.json")
	if err := Read(path, new(state)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read(missing) = %v, want ErrNotExist", err)
	}
	for _, want := range []state{{"one", []int{1}}, {"two", []int{2, 3}}} {
		if err := Write(path, want); err != nil {
			t.Fatal(err)
		}
		var got state
		if err := Read(path, &got); err != nil {
			t.Fatal(err)
		}
		if got.A != want.A || len(got.B) != len(want.B) {
			t.Errorf("Read after Write(%v) = %v", want, got)
		}
	}
	ents, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only s.json (temp files left behind?)", len(ents))
	}
}
