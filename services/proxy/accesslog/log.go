package accesslog

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// FlushInterval bounds how long a line may sit in the buffer: tail -f and
// log shippers see it within this time even when traffic is light.
const FlushInterval = time.Second

// Log writes lines through a buffer, so a busy proxy makes one write(2) per
// buffer-full instead of one per request, and keeps the most recent lines
// in memory for the status page. Its methods are safe for concurrent use.
type Log struct {
	mu     sync.Mutex
	w      *bufio.Writer // nil: no file, ring only
	dirty  bool
	err    error // first write error, reported once by Err
	ring   [][]byte
	next   int // ring slot the next line goes to
	filled bool
	line   []byte
	stop   chan struct{}
	done   chan struct{}
}

// New returns a Log writing to w (nil for none) that remembers the last
// keep lines. It flushes every FlushInterval until Close.
func New(w io.Writer, keep int) *Log {
	l := &Log{
		ring: make([][]byte, max(keep, 0)),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	if w != nil {
		l.w = bufio.NewWriterSize(w, 64<<10)
	}
	go l.flusher()
	return l
}

// Write logs e. After the ring has filled once it does not allocate.
func (l *Log) Write(e *Entry) {
	l.mu.Lock()
	l.line = Append(l.line[:0], e)
	if l.w != nil {
		if _, err := l.w.Write(l.line); err != nil && l.err == nil {
			l.err = err
		}
		l.dirty = true
	}
	if len(l.ring) > 0 {
		l.ring[l.next] = append(l.ring[l.next][:0], l.line...)
		if l.next++; l.next == len(l.ring) {
			l.next, l.filled = 0, true
		}
	}
	l.mu.Unlock()
}

// WriteRecent writes the remembered lines to w, oldest first.
func (l *Log) WriteRecent(w io.Writer) error {
	l.mu.Lock()
	var buf []byte
	if l.filled {
		for _, s := range l.ring[l.next:] {
			buf = append(buf, s...)
		}
	}
	for _, s := range l.ring[:l.next] {
		buf = append(buf, s...)
	}
	l.mu.Unlock()
	_, err := w.Write(buf)
	return err
}

// Flush writes buffered lines out.
func (l *Log) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flushLocked()
}

func (l *Log) flushLocked() error {
	if l.w == nil || !l.dirty {
		return l.err
	}
	l.dirty = false
	if err := l.w.Flush(); err != nil && l.err == nil {
		l.err = err
	}
	return l.err
}

// Err returns the first write error, so the caller can report a full disk
// once instead of on every line.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Close stops the flusher and flushes. It does not close the underlying
// writer, which the caller opened.
func (l *Log) Close() error {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
	return l.Flush()
}

func (l *Log) flusher() {
	defer close(l.done)
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.Flush()
		case <-l.stop:
			return
		}
	}
}

// SetOutput flushes the lines buffered for the old writer and sends later
// ones to w, for log rotation: the caller reopens the file on SIGHUP and
// closes the old one after SetOutput returns.
func (l *Log) SetOutput(w io.Writer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.flushLocked()
	l.w, l.err = nil, nil
	if w != nil {
		l.w = bufio.NewWriterSize(w, 64<<10)
	}
	return err
}
