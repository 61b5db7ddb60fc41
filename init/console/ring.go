package console

import (
	"sync"
	"time"
)

// Line is one recorded line.
type Line struct {
	Time time.Time
	Text string
}

// Ring keeps the last lines added to it.
type Ring struct {
	mu    sync.Mutex
	lines []Line // circular once full
	next  int    // where the next line goes once full
}

// NewRing returns a ring that keeps n lines (at least 1).
func NewRing(n int) *Ring {
	return &Ring{lines: make([]Line, 0, max(n, 1))}
}

// Add records a line, replacing the oldest when the ring is full.
func (r *Ring) Add(t time.Time, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lines) < cap(r.lines) {
		r.lines = append(r.lines, Line{t, text})
		return
	}
	r.lines[r.next] = Line{t, text}
	r.next = (r.next + 1) % len(r.lines)
}

// Lines returns a copy of the recorded lines, oldest first.
func (r *Ring) Lines() []Line {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Line, 0, len(r.lines))
	out = append(out, r.lines[r.next:]...)
	return append(out, r.lines[:r.next]...)
}
