package accesslog

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// recorder is a writer that keeps each Write's bytes, fails with err when
// set, and blocks while gate is held.
type recorder struct {
	gate   sync.Mutex
	mu     sync.Mutex
	writes [][]byte
	err    error
}

func (r *recorder) Write(p []byte) (int, error) {
	r.gate.Lock()
	defer r.gate.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0, r.err
	}
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

func (r *recorder) setErr(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

// stats returns the number of Write calls and of lines written.
func (r *recorder) stats() (calls, lines int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.writes {
		lines += bytes.Count(w, []byte{'\n'})
	}
	return len(r.writes), lines
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// TestBatched: many lines make one write, on the writer's goroutine, within
// the flush interval; a buffer's worth wakes the writer before it.
func TestBatched(t *testing.T) {
	var r recorder
	l := New(&r, 10)
	defer l.Close()
	r.gate.Lock() // a write now would block the test if it ran on Write's goroutine
	for i := range 100 {
		l.Write(entry(i))
	}
	r.gate.Unlock()
	if !waitFor(3*FlushInterval, func() bool { _, n := r.stats(); return n == 100 }) {
		_, n := r.stats()
		t.Fatalf("%d of 100 lines written after %v", n, 3*FlushInterval)
	}
	if calls, _ := r.stats(); calls != 1 {
		t.Errorf("100 lines took %d writes, want 1", calls)
	}

	// A burst larger than flushAt goes out in a few large writes, without
	// waiting for the tick.
	big := flushAt * 3 / len(Append(nil, entry(0)))
	for i := range big {
		l.Write(entry(i))
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	calls, n := r.stats()
	if n != 100+big || calls < 3 || calls > 6 {
		t.Errorf("%d lines in %d writes, want %d lines in 3-6 writes", n, calls, 100+big)
	}
}

// TestStuckWriterNeverBlocks: with the writer stuck (a hung disk), Write
// goes on at memory speed, the ring gets every line, lines beyond the
// buffer are dropped and counted, and writing resumes once the writer
// does.
func TestStuckWriterNeverBlocks(t *testing.T) {
	var r recorder
	l := New(&r, 10)
	defer l.Close()
	r.gate.Lock()
	n := 4 * bufSize / len(Append(nil, entry(0)))
	done := make(chan struct{})
	go func() {
		for i := range n {
			l.Write(entry(i))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Write blocked on a stuck writer")
	}
	if l.Dropped() == 0 {
		t.Error("no lines counted as dropped")
	}
	var recent bytes.Buffer
	l.WriteRecent(&recent)
	if !strings.Contains(recent.String(), fmt.Sprintf("/%d ", n-1)) {
		t.Errorf("the ring lacks the last line:\n%s", recent.String())
	}
	r.gate.Unlock()
	if err := l.Flush(); err != nil { // the stuck batch, then the buffered one
		t.Fatal(err)
	}
	dropped := l.Dropped()
	l.Write(entry(n))
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	last := r.writes[len(r.writes)-1]
	r.mu.Unlock()
	if !bytes.Contains(last, fmt.Appendf(nil, "/%d ", n)) || l.Dropped() != dropped {
		t.Errorf("after the writer came back: last write %.80q..., dropped %d -> %d", last, dropped, l.Dropped())
	}
}

// TestFailingWriter: the lines of a failed batch are dropped and counted,
// the failure is reported once, and writing resumes.
func TestFailingWriter(t *testing.T) {
	var r recorder
	var reports syncLines
	l := New(&r, 10)
	defer l.Close()
	l.SetLogf(reports.printf)
	r.setErr(&writeError{syscall.ENOSPC})
	for i := range 10 {
		l.Write(entry(i))
	}
	if !waitFor(3*FlushInterval, func() bool { return l.Dropped() == 10 }) {
		t.Fatalf("dropped %d, want 10", l.Dropped())
	}
	r.setErr(nil)
	l.Write(entry(10))
	if !waitFor(3*FlushInterval, func() bool { _, n := r.stats(); return n == 1 }) {
		t.Fatal("not written after the writer recovered")
	}
	waitFor(time.Second, func() bool { return len(reports.get()) == 2 })
	got := reports.get()
	if len(got) != 2 || !strings.Contains(got[0], "no space left on device; dropping lines") ||
		!strings.Contains(got[1], "written again; 10 lines were dropped") {
		t.Errorf("reports:\n%s", strings.Join(got, "\n"))
	}
	var m bytes.Buffer
	l.WritePrometheus(&m)
	if !strings.Contains(m.String(), "\ntprouter_proxy_access_log_dropped_total 10\n") {
		t.Errorf("metrics:\n%s", m.String())
	}
}

type writeError struct{ errno syscall.Errno }

func (e *writeError) Error() string { return "write access.log: " + e.errno.Error() }
func (e *writeError) Unwrap() error { return e.errno }

type syncLines struct {
	mu    sync.Mutex
	lines []string
}

func (s *syncLines) printf(format string, args ...any) {
	s.mu.Lock()
	s.lines = append(s.lines, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

func (s *syncLines) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// TestReportRate: a failure goes on for a minute with a batch a second;
// the reports come at most every ReportInterval.
func TestReportRate(t *testing.T) {
	var got syncLines
	var r reporter
	logf := got.printf
	r.logf.Store(&logf)
	t0 := time.Unix(1764100000, 0)
	err := errors.New("write access.log: no space left on device")
	dropped := uint64(0)
	for i := range 60 {
		dropped += 7
		r.after(err, dropped, t0.Add(time.Duration(i)*time.Second))
	}
	r.after(nil, dropped, t0.Add(time.Minute))
	r.after(nil, dropped, t0.Add(time.Minute+time.Second))
	lines := got.get()
	if want := 1 + 59/int(ReportInterval/time.Second) + 1; len(lines) != want {
		t.Errorf("%d reports, want %d:\n%s", len(lines), want, strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[1], "35 lines dropped since") || !strings.Contains(lines[len(lines)-1], "written again; 420 lines") {
		t.Errorf("reports:\n%s", strings.Join(lines, "\n"))
	}
}

func TestWriteToFileDoesNotAllocate(t *testing.T) {
	var r recorder
	l := New(&r, 4)
	defer l.Close()
	e := entry(1)
	for range 8 {
		l.Write(e)
	}
	if n := testing.AllocsPerRun(100, func() { l.Write(e) }); n != 0 {
		t.Errorf("Write allocates %v times", n)
	}
}
