package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tprouter/qemu/lab"
	"tprouter/services/proxy/accesslog"
)

// The access log file tests run the real proxy with -access-log on a file
// and read the file, the status page's /access.log and /metrics: rotation
// at the size cap, the ring loaded from the file at the next start, and a
// partition that is full or read-only, with the proxy serving throughout.

// getN makes n requests for /name/0 ... /name/n-1 through the proxy; each
// must succeed.
func (r *rig) getN(t *testing.T, name string, n int) {
	t.Helper()
	c := r.Client.HTTPClient()
	for i := range n {
		resp, err := c.Get(fmt.Sprintf("http://198.51.100.2/%s/%d", name, i))
		if err != nil {
			t.Fatalf("GET /%s/%d: %v", name, i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /%s/%d: %s", name, i, resp.Status)
		}
	}
}

// paths returns the URL paths of a log file's lines; each must parse.
func paths(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return linePaths(t, file, string(data))
}

func linePaths(t *testing.T, where, text string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.SplitAfter(text, "\n") {
		if l == "" {
			continue
		}
		e, err := accesslog.Parse(l)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		out = append(out, strings.TrimPrefix(string(e.URL), "http://198.51.100.2"))
	}
	return out
}

// same reports whether got and want have the same lines: a transaction's
// line is written after the client has its response, so the next request's
// line may come first.
func same(got, want []string) bool {
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	return slices.Equal(got, want)
}

func want(name string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("/%s/%d", name, i))
	}
	return out
}

// TestAccessLogRotatesAndReloads: the file rotates at -access-log-max-size
// into file.1, keeping -access-log-keep old files; a proxy started again on
// the same file shows the previous run's lines on /access.log, up to
// -log-lines, and appends after them.
func TestAccessLogRotatesAndReloads(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "access.log")
	flags := []string{"-access-log", path, "-access-log-max-size", "4096", "-access-log-keep", "1", "-log-lines", "20"}
	r := start(t, flags...)
	r.serveHTTP(t, lab.EchoAddr)
	r.getN(t, "a", 100) // about 12 KB of lines: rotated twice or more
	r.stop(t)
	if _, err := os.Stat(path + ".2"); err == nil {
		t.Errorf("%s.2 exists with -access-log-keep 1", path)
	}
	var all []string
	for _, p := range []string{path + ".1", path} {
		st, err := os.Stat(p)
		if err != nil || st.Size() > 4096 || st.Size() < 1024 {
			t.Fatalf("%s: %v, want 1-4 KiB (the cap is 4096)", p, err)
		}
		all = append(all, paths(t, p)...)
	}
	if w := want("a", 100-len(all), 100); !same(all, w) {
		t.Fatalf("lines in %s.1 and %s: %v, want the last %d requests", path, path, all, len(w))
	}

	r2 := start(t, flags...)
	if !r2.stderr.wait("20 lines from before this start loaded", time.Second) {
		t.Errorf("no line about the loaded lines:\n%s", r2.stderr)
	}
	r2.serveHTTP(t, lab.EchoAddr)
	r2.getN(t, "b", 5)
	recent := linePaths(t, "/access.log", r2.fetch(t, "/access.log"))
	if w := append(want("a", 85, 100), want("b", 0, 5)...); len(recent) != len(w) || !same(recent[:15], w[:15]) || !same(recent[15:], w[15:]) {
		t.Errorf("/access.log after the restart: %v, want %v", recent, w)
	}
	r2.stop(t)
	if got := paths(t, path); len(got) < 5 || !same(got[len(got)-5:], want("b", 0, 5)) {
		t.Errorf("%s after the restart ends with %v", path, got[max(len(got)-5, 0):])
	}
}

// smallFS mounts a tmpfs of size bytes for the test: the proxy, started
// after it, sees it in its own mount namespace.
func smallFS(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		lab.Unavailable(t, "mounting a tmpfs (needs root): "+err.Error())
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// dropped returns tprouter_proxy_access_log_dropped_total.
func (r *rig) dropped(t *testing.T) int {
	t.Helper()
	n, err := strconv.Atoi(r.metric(t, "tprouter_proxy_access_log_dropped_total"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitDropped waits until the dropped count reaches n.
func (r *rig) waitDropped(t *testing.T, n int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := r.dropped(t)
		if got >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitLine waits until the file has a line for path.
func waitLine(t *testing.T, file, path string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := os.ReadFile(file)
		if strings.Contains(string(data), path+" ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line for %s in %s within 5s:\n%s", path, file, data)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAccessLogFullPartition fills the access log's partition: the proxy
// goes on serving, counts and reports the lines it drops, keeps them on
// /access.log, writes only whole lines (those that fit in the file's last
// block), and writes again once there is room.
func TestAccessLogFullPartition(t *testing.T) {
	t.Parallel()
	dir := smallFS(t, 64<<10)
	path := filepath.Join(dir, "access.log")
	r := start(t, "-access-log", path, "-access-log-max-size", "0")
	r.serveHTTP(t, lab.EchoAddr)
	r.getN(t, "before", 3)
	waitLine(t, path, "/before/2")

	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(f, io.LimitReader(zeros{}, 1<<20)) // until ENOSPC
	f.Close()
	const full = 100 // three times the rest of the file's last 4 KiB page
	r.getN(t, "full", full)
	if n := r.waitDropped(t, full/2); n < full/2 {
		t.Fatalf("dropped %d lines, want most of %d", n, full)
	}
	if !r.stderr.wait("no space left on device; dropping lines", time.Second) {
		t.Errorf("no report of the full partition:\n%s", r.stderr)
	}
	if got := linePaths(t, "/access.log", r.fetch(t, "/access.log")); len(got) != 3+full {
		t.Errorf("/access.log has %d lines, want all %d", len(got), 3+full)
	}
	dropped := r.dropped(t)

	os.Remove(filler)
	r.getN(t, "after", 3)
	waitLine(t, path, "/after/2")
	if !r.stderr.wait("written again", 5*time.Second) {
		t.Errorf("no report that writing works again:\n%s", r.stderr)
	}
	r.stop(t)
	// The lines that fit are whole (paths parses each) and are not dropped.
	got := paths(t, path)
	kept := len(got) - 6
	if kept != full-dropped || !same(got[:3], want("before", 0, 3)) || !same(got[len(got)-3:], want("after", 0, 3)) {
		t.Errorf("%s: %v; want 3 before, %d of the %d while full, 3 after", path, got, full-dropped, full)
	}
	for _, p := range got[3 : 3+max(kept, 0)] {
		if !strings.HasPrefix(p, "/full/") {
			t.Errorf("%s: %v; want only /full/ lines between before and after", path, got)
			break
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestAccessLogReadOnlyPartition starts the proxy on a read-only partition
// (as after an ext4 error): it starts, serves, counts the lines it drops
// and says so. (That writing resumes once the partition is writable is
// accesslog's TestReadOnlyPartition: a remount from here does not reach
// the proxy's mount namespace, which ip netns exec copied read-only.)
func TestAccessLogReadOnlyPartition(t *testing.T) {
	t.Parallel()
	dir := smallFS(t, 64<<10)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "access.log")
	r := start(t, "-access-log", path)
	if !r.stderr.wait("read-only file system; lines are dropped", time.Second) {
		t.Errorf("no line about the read-only file at start:\n%s", r.stderr)
	}
	r.serveHTTP(t, lab.EchoAddr)
	r.getN(t, "ro", 5)
	if n := r.waitDropped(t, 5); n != 5 {
		t.Errorf("dropped %d lines, want 5", n)
	}
	if !r.stderr.wait("read-only file system; dropping lines until it can be written again", 5*time.Second) {
		t.Errorf("no report of the dropped lines:\n%s", r.stderr)
	}
	if got := linePaths(t, "/access.log", r.fetch(t, "/access.log")); !same(got, want("ro", 0, 5)) {
		t.Errorf("/access.log: %v", got)
	}
	r.stop(t)
}
