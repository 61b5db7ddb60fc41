package console

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tprouter/internal/syncbuf"
)

// texts returns a log's lines' texts.
func texts(l *Log) []string {
	var out []string
	for _, line := range l.Lines() {
		out = append(out, line.Text)
	}
	return out
}

func join(s []string) string { return strings.Join(s, "|") }

// boot is one boot's console: a Console writing to a buffer, its clock at
// t, and init's log made before Persist, as init/main.go does.
func boot(t *testing.T, dir string, at time.Time) (*Console, *Log, *syncbuf.Buffer) {
	t.Helper()
	var out syncbuf.Buffer
	c := New(&out)
	c.now = func() time.Time { return at }
	init := c.Log("init", 5)
	init.Print("starting")
	if err := c.Persist(dir); err != nil {
		t.Fatal(err)
	}
	return c, init, &out
}

// TestPersistAcrossBoots: what one boot saves, the next shows before its
// own lines, after the PreviousBoot line, with the old times; the log made
// before Persist (init's) and one made after (a service's) alike; a ring
// never holds, or saves, more than its size.
func TestPersistAcrossBoots(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs") // Persist makes it
	t1 := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	c, init, _ := boot(t, dir, t1)
	proxy := c.Log("proxy", 3)
	for _, s := range []string{"p1", "p2", "p3", "p4"} {
		proxy.Print(s)
	}
	init.Print("stopping")
	if err := c.StopPersist(time.Second); err != nil {
		t.Fatal(err)
	}
	init.Print("after StopPersist: not saved")
	data, _ := os.ReadFile(filepath.Join(dir, "proxy.log"))
	if want := "2026-11-25T21:00:00.000Z p2\n2026-11-25T21:00:00.000Z p3\n2026-11-25T21:00:00.000Z p4\n"; string(data) != want {
		t.Errorf("proxy.log:\n%s\nwant:\n%s", data, want)
	}

	t2 := t1.Add(time.Hour)
	c2, init2, _ := boot(t, dir, t2)
	if got, want := join(texts(init2)), "starting|stopping|"+PreviousBoot+"|starting"; got != want {
		t.Errorf("init after reboot: %s, want %s", got, want)
	}
	proxy2 := c2.Log("proxy", 3)
	proxy2.Print("q1")
	if got, want := join(texts(proxy2)), "p4|"+PreviousBoot+"|q1"; got != want {
		t.Errorf("proxy after reboot: %s, want %s", got, want)
	}
	if lines := proxy2.Lines(); !lines[0].Time.Equal(t1) || !lines[1].Time.Equal(t2) {
		t.Errorf("times: %v, want the saved one, then this boot's", lines)
	}
	if other := c2.Log("dhcp4d", 3); len(other.Lines()) != 0 {
		t.Errorf("a log with nothing saved starts with %q", texts(other))
	}
	c2.StopPersist(time.Second)

	// A third boot sees both boundaries, in a ring of 5.
	_, init3, _ := boot(t, dir, t2.Add(time.Hour))
	if got, want := join(texts(init3)), "stopping|"+PreviousBoot+"|starting|"+PreviousBoot+"|starting"; got != want {
		t.Errorf("init after the second reboot: %s, want %s", got, want)
	}
}

// TestPreviousBootTime: the PreviousBoot line of a log that has lines of
// this boot already (init's, from before Persist) has the time of the
// first of them, not a later one.
func TestPreviousBootTime(t *testing.T) {
	dir := t.TempDir()
	t1 := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	c, _, _ := boot(t, dir, t1)
	c.StopPersist(time.Second)

	t2 := t1.Add(time.Hour)
	c2 := New(&syncbuf.Buffer{})
	c2.now = func() time.Time { return t2 }
	init := c2.Log("init", 5)
	init.Print("starting")
	c2.now = func() time.Time { return t2.Add(time.Second) } // mounting /perm took a while
	if err := c2.Persist(dir); err != nil {
		t.Fatal(err)
	}
	lines := init.Lines()
	if len(lines) != 3 || lines[1].Text != PreviousBoot || !lines[1].Time.Equal(t2) {
		t.Errorf("after reboot: %v, want the saved line, then %q at %v, then this boot's", lines, PreviousBoot, t2)
	}
}

// TestPersistSavesPeriodically: a ring that changed is saved within the
// interval, one that did not is not written again.
func TestPersistSavesPeriodically(t *testing.T) {
	dir := t.TempDir()
	c := New(&syncbuf.Buffer{})
	c.saveInterval = 20 * time.Millisecond
	if err := c.Persist(dir); err != nil {
		t.Fatal(err)
	}
	defer c.StopPersist(time.Second)
	l := c.Log("dnsfwd", 10)
	l.Print("one")
	file := filepath.Join(dir, "dnsfwd.log")
	if !eventually(func() bool { data, _ := os.ReadFile(file); return strings.HasSuffix(string(data), " one\n") }) {
		t.Fatal("dnsfwd.log not written within a second")
	}
	os.Remove(file)
	time.Sleep(100 * time.Millisecond) // five intervals
	if _, err := os.Stat(file); err == nil {
		t.Error("an unchanged ring was written again")
	}
	l.Print("two")
	if !eventually(func() bool { data, _ := os.ReadFile(file); return strings.HasSuffix(string(data), " two\n") }) {
		t.Error("dnsfwd.log not written again after a new line")
	}
}

func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// TestPersistAtomic: a temporary file left by a power cut mid-save is
// ignored, and the next save replaces it; no temporary file stays after a
// save; files that are not ours are left alone.
func TestPersistAtomic(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "proxy.log"), []byte("2026-11-25T21:00:00.000Z kept\n"), 0o600)
	os.WriteFile(filepath.Join(dir, ".proxy.log.tmp"), []byte("2026-11-25T21:00:00.000Z half-writ"), 0o600)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600)
	c, _, out := boot(t, dir, time.Now())
	proxy := c.Log("proxy", 10)
	if got, want := join(texts(proxy)), "kept|"+PreviousBoot; got != want {
		t.Errorf("restored %s, want %s", got, want)
	}
	proxy.Print("new")
	if err := c.StopPersist(time.Second); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if got := join(names); got != "init.log|notes.txt|proxy.log" {
		t.Errorf("files after a save: %s", got)
	}
	c.Flush(time.Second)
	if strings.Contains(out.String(), "console:") {
		t.Errorf("console:\n%s", out.String())
	}
}

// TestPersistBadFiles: lines that do not parse and files that cannot be
// read are named in one console line each; the rest is restored.
func TestPersistBadFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "proxy.log"), []byte("2026-11-25T21:00:00.000Z good\ngarbage\n\x00\x00\x00\n"), 0o600)
	os.Mkdir(filepath.Join(dir, "dir.log"), 0o700)                                              // not a regular file: ignored
	os.WriteFile(filepath.Join(dir, "big.log"), []byte(strings.Repeat("x", maxFile+10)), 0o600) // one line longer than maxFile
	c, _, out := boot(t, dir, time.Now())
	if got := join(texts(c.Log("proxy", 10))); got != "good|"+PreviousBoot {
		t.Errorf("proxy restored %s", got)
	}
	c.Flush(time.Second)
	con := out.String()
	if !strings.Contains(con, "console: restoring logs: "+filepath.Join(dir, "proxy.log")+": skipped 2 lines") ||
		!strings.Contains(con, "big.log") || strings.Contains(con, "dir.log") || strings.Count(con, " console: ") != 2 {
		t.Errorf("console:\n%s", con)
	}
}

// TestPersistMissingDir: a directory that cannot be made is one error, and
// the console works on in memory.
func TestPersistMissingDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	c := New(&syncbuf.Buffer{})
	l := c.Log("init", 5)
	err := c.Persist(filepath.Join(file, "logs"))
	if err == nil || !strings.Contains(err.Error(), "not a directory") || !strings.Contains(err.Error(), file) {
		t.Errorf("Persist under a file: %v", err)
	}
	l.Print("still here")
	if got := join(texts(l)); got != "still here" {
		t.Errorf("lines: %s", got)
	}
	if err := c.StopPersist(time.Second); err != nil {
		t.Errorf("StopPersist without Persist: %v", err)
	}
}

// TestPersistSaveFails: when the directory goes away, saving fails with
// one console line, and says so when it works again.
func TestPersistSaveFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	var out syncbuf.Buffer
	c := New(&out)
	c.saveInterval = 20 * time.Millisecond
	if err := c.Persist(dir); err != nil {
		t.Fatal(err)
	}
	defer c.StopPersist(time.Second)
	l := c.Log("proxy", 10)
	os.RemoveAll(dir)
	for range 5 {
		l.Print("x")
		time.Sleep(25 * time.Millisecond)
	}
	os.Mkdir(dir, 0o700)
	l.Print("y")
	if !eventually(func() bool { return strings.Contains(out.String(), "works again") }) {
		t.Fatalf("no line saying saving works again:\n%s", out.String())
	}
	if n := strings.Count(out.String(), "saving logs: "); n != 1 {
		t.Errorf("%d failure lines, want 1:\n%s", n, out.String())
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "proxy.log")); !strings.HasSuffix(string(data), " y\n") {
		t.Errorf("proxy.log: %q", data)
	}
}
