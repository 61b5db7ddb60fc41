package accesslog

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tprouter/qemu/lab"
)

// entry is the i-th of a sequence of entries, told apart by their URLs.
func entry(i int) *Entry {
	return &Entry{
		Time: time.Unix(int64(1764100000+i), 0), Client: netip.MustParseAddr("192.0.2.2"), Code: "TCP_MISS", Status: 200,
		Method: []byte("GET"), URL: fmt.Appendf(nil, "http://198.51.100.2/%d", i), Hier: "ORIGINAL_DST",
		Server: netip.MustParseAddr("198.51.100.2"), MIME: []byte("text/html"),
	}
}

// lines returns the Append form of entries from..to-1.
func lines(from, to int) []byte {
	var b []byte
	for i := from; i < to; i++ {
		b = Append(b, entry(i))
	}
	return b
}

// seqs parses a file's lines and returns their sequence numbers (the
// entry index in the URL); every line must be whole and well formed.
func seqs(t *testing.T, path string) []int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Errorf("%s ends in a partial line: %q", path, data[max(len(data)-40, 0):])
	}
	var out []int
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l == "" {
			continue
		}
		e, err := Parse(l)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var i int
		fmt.Sscanf(string(e.URL), "http://198.51.100.2/%d", &i)
		out = append(out, i)
	}
	return out
}

// TestRotation: files never pass the cap, hold whole lines, and together
// hold the last lines written, in order; Keep old files and no more.
func TestRotation(t *testing.T) {
	for _, keep := range []int{0, 1, 2} {
		t.Run(fmt.Sprint("keep", keep), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "access.log")
			f, err := OpenFile(path, 4096, keep)
			if err != nil {
				t.Fatal(err)
			}
			// Batches of 7 lines, and one of 100 (more than a file holds).
			n := 0
			for _, size := range []int{7, 7, 7, 7, 7, 7, 100, 7, 7, 7} {
				if m, err := f.Write(lines(n, n+size)); err != nil || m != len(lines(n, n+size)) {
					t.Fatalf("Write: %d, %v", m, err)
				}
				n += size
			}
			f.Close()
			var all []int
			for _, p := range f.Paths() {
				st, _ := os.Stat(p)
				if st.Size() > 4096 {
					t.Errorf("%s: %d bytes, over the cap", p, st.Size())
				}
				all = append(all, seqs(t, p)...)
			}
			if len(f.Paths()) != keep+1 && !(keep == 0 && len(f.Paths()) == 1) {
				t.Errorf("files %v, want %d", f.Paths(), keep+1)
			}
			if _, err := os.Stat(path + "." + fmt.Sprint(keep+1)); err == nil {
				t.Errorf("%s.%d exists with Keep %d", path, keep+1, keep)
			}
			for i, s := range all {
				if want := n - len(all) + i; s != want {
					t.Fatalf("lines across the files: %v, want the last %d of 0..%d in order", all, len(all), n-1)
				}
			}
			if len(all) < (keep+1)*4096/len(lines(0, 1))/2 {
				t.Errorf("only %d lines kept in %d files", len(all), keep+1)
			}
		})
	}
}

// tmpfs mounts a tmpfs of size bytes for the test and returns its path.
func tmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		lab.Unavailable(t, "mounting a tmpfs (needs root): "+err.Error())
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

func remount(t *testing.T, dir string, flags uintptr) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|flags, ""); err != nil {
		t.Fatalf("remount %s: %v", dir, err)
	}
}

// TestFullPartition: on a real full file system a write stops at its last
// whole line, and once there is room again, writing goes on with whole
// lines.
func TestFullPartition(t *testing.T) {
	dir := tmpfs(t, 64<<10)
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 40<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "access.log")
	f, err := OpenFile(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	batch := lines(0, 1000)
	n, err := f.Write(batch)
	if !errors.Is(err, syscall.ENOSPC) || n == 0 || n >= len(batch) || batch[n-1] != '\n' {
		t.Fatalf("Write on a full tmpfs: %d of %d bytes, %v; want a part ending in a newline and ENOSPC", n, len(batch), err)
	}
	if st, _ := os.Stat(path); st.Size() != int64(n) {
		t.Errorf("file has %d bytes, Write said %d", st.Size(), n)
	}
	if _, err := f.Write(lines(1000, 1001)); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Write while full: %v, want ENOSPC", err)
	}
	os.Remove(filler)
	if _, err := f.Write(lines(2000, 2010)); err != nil {
		t.Fatalf("Write after making room: %v", err)
	}
	got := seqs(t, path)
	if len(got) < 10 || got[len(got)-10] != 2000 || got[len(got)-1] != 2009 || got[0] != 0 {
		t.Errorf("lines: %v", got)
	}
}

// TestReadOnlyPartition: a File on a read-only partition opens nonetheless,
// fails its writes, and writes once the partition is writable again.
func TestReadOnlyPartition(t *testing.T) {
	dir := tmpfs(t, 64<<10)
	remount(t, dir, syscall.MS_RDONLY)
	path := filepath.Join(dir, "access.log")
	f, err := OpenFile(path, 0, 0)
	if f == nil || !errors.Is(err, syscall.EROFS) {
		t.Fatalf("OpenFile on a read-only file system: %v, %v; want a File and EROFS", f, err)
	}
	defer f.Close()
	if _, err := f.Write(lines(0, 1)); !errors.Is(err, syscall.EROFS) {
		t.Errorf("Write: %v, want EROFS", err)
	}
	remount(t, dir, 0)
	if _, err := f.Write(lines(1, 2)); err != nil {
		t.Fatalf("Write after remounting read-write: %v", err)
	}
	if got := seqs(t, path); len(got) != 1 || got[0] != 1 {
		t.Errorf("lines: %v", got)
	}
}

func TestOpenFileBadPath(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{filepath.Join(dir, "missing", "access.log"), dir} {
		if f, err := OpenFile(p, 0, 0); f != nil || err == nil {
			t.Errorf("OpenFile(%s): %v, %v; want no File and an error", p, f, err)
		}
	}
}

// TestTornTail: after a power cut left part of a line at the end of the
// file, the next line starts on a line of its own.
func TestTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	os.WriteFile(path, append(lines(0, 2), lines(2, 3)[:30]...), 0o640)
	f, err := OpenFile(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(lines(3, 4)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data, _ := os.ReadFile(path)
	ls := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(ls) != 4 || ls[2] != string(lines(2, 3)[:30]) || ls[3]+"\n" != string(lines(3, 4)) {
		t.Errorf("file:\n%s", data)
	}
}
