package console

import (
	"slices"
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
	adds  uint64 // lines added so far: a saved copy is current while this is
}

// NewRing returns a ring that keeps n lines (at least 1).
func NewRing(n int) *Ring {
	return &Ring{lines: make([]Line, 0, max(n, 1))}
}

// Add records a line, replacing the oldest when the ring is full.
func (r *Ring) Add(t time.Time, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.adds++
	if len(r.lines) < cap(r.lines) {
		r.lines = append(r.lines, Line{t, text})
		return
	}
	r.lines[r.next] = Line{t, text}
	r.next = (r.next + 1) % len(r.lines)
}

// Lines returns a copy of the recorded lines, oldest first.
func (r *Ring) Lines() []Line {
	lines, _ := r.snapshot()
	return lines
}

// snapshot returns a copy of the lines, oldest first, and the count of
// lines added so far.
func (r *Ring) snapshot() ([]Line, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Line, 0, len(r.lines))
	out = append(out, r.lines[r.next:]...)
	return append(out, r.lines[:r.next]...), r.adds
}

// prepend puts older lines before the recorded ones, keeping the newest
// that fit. It does not count as adding: the ring holds nothing that was
// not saved already.
func (r *Ring) prepend(older []Line) {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := append(slices.Clip(older), r.lines[r.next:]...)
	all = append(all, r.lines[:r.next]...)
	all = all[max(len(all)-cap(r.lines), 0):]
	r.lines = append(r.lines[:0], all...)
	r.next = 0
}
