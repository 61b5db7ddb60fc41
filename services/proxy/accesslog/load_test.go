package accesslog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestLoad: the ring gets the last lines of the files, oldest first,
// across a rotation, without torn or foreign lines, also from a file much
// larger than what it reads.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	os.WriteFile(path+".1", append(lines(0, 5000), "not a log line\n"...), 0o644)
	cur := append(lines(5000, 5003), lines(5003, 5004)[:40]...) // torn by a power cut
	os.WriteFile(path, cur, 0o644)
	for _, tc := range []struct {
		keep int
		want []int
	}{
		{2, []int{5001, 5002}},
		{5, []int{4998, 4999, 5000, 5001, 5002}},
	} {
		l := New(nil, tc.keep)
		n, err := l.Load(path+".2", path+".1", path)
		l.Close()
		var recent bytes.Buffer
		l.WriteRecent(&recent)
		os.WriteFile(filepath.Join(dir, "recent"), recent.Bytes(), 0o644)
		got := seqs(t, filepath.Join(dir, "recent"))
		if err != nil || n != len(tc.want) || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("keep %d: Load = %d, %v; ring %v, want %v", tc.keep, n, err, got, tc.want)
		}
	}
	l := New(nil, 10)
	defer l.Close()
	if n, err := l.Load(filepath.Join(dir, "none")); n != 0 || err != nil {
		t.Errorf("Load of a missing file: %d, %v", n, err)
	}
}
