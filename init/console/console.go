// Package console writes the router's log lines to the system console,
// each with a timestamp and its source:
//
//	2026-11-25T21:00:00.123Z init: loaded 18 kernel modules in 490ms
//	2026-11-25T21:00:01.020Z proxy: listening on :3129
//
// and keeps each source's most recent lines in a ring for the status
// endpoint. Persist keeps the rings on disk, so that the lines before a
// reboot are still there after it (persist.go).
//
// Writing never blocks the caller. A serial console at 115200 baud takes
// about 11 KB/s, and a terminal stopped with ^S takes nothing at all; PID 1
// and the services whose output it copies must not wait for it. Lines are
// queued, and when the queue is full they are dropped and counted, and the
// count is printed once the console catches up. The rings always get every
// line.
package console

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// TimeFormat is the timestamp of console lines: RFC 3339 in UTC with
// milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// queueLen is how many lines wait for a slow console before lines drop.
const queueLen = 2048

// Console serializes lines from many sources onto one writer.
type Console struct {
	q            chan entry
	dropped      atomic.Uint64
	now          func() time.Time // test seam
	saveInterval time.Duration    // test seam: SaveInterval

	tee atomic.Pointer[func(src string, t time.Time, line string)] // Tee

	mu   sync.Mutex
	logs []*Log
	st   *store // where Persist keeps the rings; nil: in memory only
}

// entry is a formatted line, or a flush request when done is set.
type entry struct {
	line string
	done chan struct{}
}

// New starts copying lines to w, which is normally /dev/console.
func New(w io.Writer) *Console {
	c := &Console{q: make(chan entry, queueLen), now: time.Now, saveInterval: SaveInterval}
	go c.write(w)
	return c
}

func (c *Console) write(w io.Writer) {
	for {
		func() {
			defer func() { recover() }() // a broken writer must not stop the console
			for e := range c.q {
				if e.done != nil {
					close(e.done)
					continue
				}
				io.WriteString(w, e.line)
				if n := c.dropped.Swap(0); n > 0 {
					io.WriteString(w, c.format("console", fmt.Sprintf("dropped %d lines: the console is slower than the logs (all are in /logs)", n)))
				}
			}
		}()
	}
}

func (c *Console) format(src, text string) string {
	return c.now().UTC().Format(TimeFormat) + " " + src + ": " + text + "\n"
}

// Print queues text, one line, from src. It never blocks.
func (c *Console) Print(src, text string) {
	select {
	case c.q <- entry{line: c.format(src, text)}:
	default:
		c.dropped.Add(1)
	}
}

// Flush waits until the lines queued so far are written, or for at most
// timeout. It reports whether they were. Shutdown flushes before it
// reboots, so the last words reach the console.
func (c *Console) Flush(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	done := make(chan struct{})
	select {
	case c.q <- entry{done: done}:
	case <-t.C:
		return false
	}
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// Log returns a new log for src that keeps its last ringLen lines; after
// Persist, it starts with the lines an earlier boot saved for src.
func (c *Console) Log(src string, ringLen int) *Log {
	l := &Log{c: c, src: src, ring: NewRing(ringLen)}
	c.mu.Lock()
	c.logs = append(c.logs, l)
	if c.st != nil {
		c.st.restore(l, c.now())
	}
	c.mu.Unlock()
	return l
}

// Logs returns every log made by Log, in the order they were made.
func (c *Console) Logs() []*Log {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Log(nil), c.logs...)
}

// Log is one source of lines: init itself or a service.
type Log struct {
	c    *Console
	src  string
	ring *Ring
}

// Name returns the source name that prefixes the log's lines.
func (l *Log) Name() string { return l.src }

// Lines returns the log's most recent lines, oldest first.
func (l *Log) Lines() []Line { return l.ring.Lines() }

// Print records one line in the ring and queues it for the console.
// Control characters are replaced, so a service cannot move the cursor or
// clear the operator's screen.
func (l *Log) Print(text string) {
	text = clean(text)
	t := l.c.now()
	l.ring.Add(t, text)
	l.c.Print(l.src, text)
	if fn := l.c.tee.Load(); fn != nil {
		(*fn)(l.src, t, text)
	}
}

// Tee has fn called with every line a Log prints from now on: its source,
// its time and its cleaned text, in the printing goroutine. fn must not
// block (remote syslog queues the line and returns). Tee(nil) stops it.
func (c *Console) Tee(fn func(src string, t time.Time, line string)) {
	if fn == nil {
		c.tee.Store(nil)
		return
	}
	c.tee.Store(&fn)
}

// Printf formats a line and prints it.
func (l *Log) Printf(format string, args ...any) {
	l.Print(fmt.Sprintf(format, args...))
}

// Write prints p line by line, so that a Log can be the output of the
// standard library's log package (u-root's packages log through it).
func (l *Log) Write(p []byte) (int, error) {
	for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
		l.Print(line)
	}
	return len(p), nil
}

// Recover, deferred at the top of a goroutine, turns a panic into a log
// line with the stack. PID 1 must not exit: a panic that reaches the top of
// any goroutine would end the process and panic the kernel.
func (l *Log) Recover() {
	if r := recover(); r != nil {
		l.Printf("panic: %v", r)
		for line := range strings.SplitSeq(strings.TrimSpace(string(debug.Stack())), "\n") {
			l.Print("  " + line)
		}
	}
}

// clean replaces control characters other than tab with '?' and drops a
// trailing carriage return.
func clean(s string) string {
	s = strings.TrimSuffix(s, "\r")
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return '?'
		}
		return r
	}, s)
}

func isControl(r rune) bool {
	return (r < 0x20 && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0)
}
