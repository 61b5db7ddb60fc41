package console

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"tprouter/internal/syncbuf"
)

func TestLineFormat(t *testing.T) {
	var buf syncbuf.Buffer
	c := New(&buf)
	c.now = func() time.Time { return time.Date(2026, 11, 25, 22, 0, 0, 123e6, time.FixedZone("CET", 3600)) }
	l := c.Log("init", 10)
	l.Printf("hello %s", "world")
	l.Print("bell\a and escape \x1b[2J\r")
	if !c.Flush(time.Second) {
		t.Fatal("Flush timed out")
	}
	want := "2026-11-25T21:00:00.123Z init: hello world\n" +
		"2026-11-25T21:00:00.123Z init: bell? and escape ?[2J\n"
	if got := buf.String(); got != want {
		t.Errorf("console:\n%s\nwant:\n%s", got, want)
	}
	if got := l.Lines(); len(got) != 2 || got[0].Text != "hello world" {
		t.Errorf("Lines() = %q", got)
	}
}

func TestRing(t *testing.T) {
	r := NewRing(3)
	for i := range 5 {
		r.Add(time.Time{}, fmt.Sprint(i))
	}
	var got []string
	for _, l := range r.Lines() {
		got = append(got, l.Text)
	}
	if strings.Join(got, ",") != "2,3,4" {
		t.Errorf("Lines() = %v, want [2 3 4]", got)
	}
}

// blockedWriter stands for a console stopped with ^S.
type blockedWriter struct{ release chan struct{} }

func (b blockedWriter) Write(p []byte) (int, error) { <-b.release; return len(p), nil }

func TestNeverBlocks(t *testing.T) {
	w := blockedWriter{make(chan struct{})}
	c := New(w)
	l := c.Log("proxy", 5)
	done := make(chan struct{})
	go func() {
		for range 3 * queueLen {
			l.Print("x")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Print blocked on a stuck console")
	}
	if c.dropped.Load() == 0 {
		t.Error("no lines counted as dropped")
	}
	if n := len(l.Lines()); n != 5 {
		t.Errorf("ring has %d lines, want 5", n)
	}
	close(w.release)
}

func TestRecover(t *testing.T) {
	var buf syncbuf.Buffer
	c := New(&buf)
	l := c.Log("init", 100)
	func() {
		defer l.Recover()
		panic("boom")
	}()
	c.Flush(time.Second)
	if !strings.Contains(buf.String(), "init: panic: boom") {
		t.Errorf("console:\n%s\nwant a panic line", buf.String())
	}
}

// TestTee: every line a Log prints reaches the tee with its source, its
// time and its cleaned text; Tee(nil) stops it.
func TestTee(t *testing.T) {
	c := New(io.Discard)
	var got []string
	c.Tee(func(src string, tm time.Time, line string) { got = append(got, src+"|"+line) })
	a, b := c.Log("init", 10), c.Log("proxy", 10)
	a.Print("one")
	b.Print("two\x1b")
	c.Tee(nil)
	a.Print("three")
	if want := []string{"init|one", "proxy|two?"}; !slices.Equal(got, want) {
		t.Errorf("tee got %q, want %q", got, want)
	}
}
