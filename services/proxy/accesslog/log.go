package accesslog

import (
	"bufio"
	"bytes"
	"io"
	"sync"
	"time"

	pm "tprouter/services/proxy/metrics"
)

// The batching policy.
const (
	// FlushInterval bounds how long a line may sit in the buffer: tail -f
	// and log shippers see it within this time even when traffic is light,
	// and a power cut loses at most this much.
	FlushInterval = time.Second
	// ReportInterval is the least time between two reports of lines
	// dropped for a failing or slow file.
	ReportInterval = 5 * time.Second

	flushAt = 64 << 10  // a batch this large goes to the writer before the tick
	bufSize = 512 << 10 // each of the two batch buffers: lines beyond it are dropped
)

// Log keeps the most recent lines in memory for the status page and, when
// it has a writer, hands them to it in batches: a busy proxy makes one
// write(2) per 64 KiB, a quiet one one per second, never one per request.
//
// Write, on the request's goroutine, formats the line and appends it to the
// ring and to a batch buffer, under a lock held for that long. A goroutine
// of its own writes the batches out: a full one is handed to it over a
// channel, so that it never waits for the request path's lock except once
// a tick. There are two buffers of fixed size, so Write never allocates
// for the file: when the writer fails (a full or read-only partition, an
// I/O error) or falls behind by a buffer, lines are dropped and counted,
// the proxy serves on at its own speed, and the drops are reported at most
// every ReportInterval until writing works again. The ring always gets
// every line. Its methods are safe for concurrent use.
type Log struct {
	mu      sync.Mutex // the request path's: ring and pending
	ring    [][]byte
	next    int // ring slot the next line goes to
	filled  bool
	line    []byte
	format  Format
	pending []byte // the batch being filled

	// With a writer only:
	w       io.Writer
	dropped pm.Counter  // lines that did not reach the writer
	free    chan []byte // the other buffer, when the writer is done with it
	full    chan []byte // a batch for the writer
	flush   chan chan error
	stop    chan struct{}
	done    chan struct{} // the writer's goroutine has ended
	lastErr error         // of the final flush, for Close
	rep     reporter
}

// New returns a Log writing to w (nil for none) that remembers the last
// keep lines. With a writer it writes at least every FlushInterval until
// Close.
func New(w io.Writer, keep int) *Log {
	l := &Log{ring: make([][]byte, max(keep, 0)), w: w}
	if w == nil {
		return l
	}
	l.pending = make([]byte, 0, bufSize)
	l.free = make(chan []byte, 1)
	l.free <- make([]byte, 0, bufSize)
	l.full = make(chan []byte, 1)
	l.flush = make(chan chan error)
	l.stop = make(chan struct{})
	l.done = make(chan struct{})
	go l.writer()
	return l
}

// Write logs e. After the ring has filled once it does not allocate.
func (l *Log) Write(e *Entry) {
	l.mu.Lock()
	l.line = AppendFormat(l.line[:0], e, l.format)
	if l.w != nil {
		l.buffer(l.line)
	}
	if len(l.ring) > 0 {
		l.ring[l.next] = append(l.ring[l.next][:0], l.line...)
		if l.next++; l.next == len(l.ring) {
			l.next, l.filled = 0, true
		}
	}
	l.mu.Unlock()
}

// buffer appends line to the batch, or drops it when the batch is full
// and the writer still has the other buffer. A line larger than a buffer
// gets an empty one to itself.
func (l *Log) buffer(line []byte) {
	if n := len(l.pending); n > 0 && n+len(line) > cap(l.pending) && !l.handOff() {
		l.dropped.Inc()
		return
	}
	l.pending = append(l.pending, line...)
	if len(l.pending) >= flushAt {
		l.handOff()
	}
}

// handOff gives the batch to the writer if it has given the other buffer
// back.
func (l *Log) handOff() bool {
	select {
	case b := <-l.free:
		l.full <- l.pending // never blocks: the writer holds no buffer
		l.pending = b
		return true
	default:
		return false
	}
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

// SetFormat makes the lines from now on FormatSquid (the default) or
// FormatTLS.
func (l *Log) SetFormat(f Format) {
	l.mu.Lock()
	l.format = f
	l.mu.Unlock()
}

// Dropped returns how many lines did not reach the writer.
func (l *Log) Dropped() uint64 { return l.dropped.Value() }

// WritePrometheus writes the log's metrics in the Prometheus text format.
func (l *Log) WritePrometheus(w io.Writer) error {
	mw := pm.Writer{W: bufio.NewWriter(w)}
	mw.Counter("tprouter_proxy_access_log_dropped_total",
		"Access log lines not written to the file because it failed (full, read-only, I/O error) or fell behind; /access.log still has them.", &l.dropped)
	return mw.W.Flush()
}

// SetLogf makes the log report its writer's failures and the lines
// dropped through logf (the proxy's standard error), at most every
// ReportInterval, and say when writing works again.
func (l *Log) SetLogf(logf func(format string, args ...any)) {
	l.rep.logf.Store(&logf)
}

// Flush writes the buffered lines out now and returns the writer's error.
func (l *Log) Flush() error {
	if l.w == nil {
		return nil
	}
	res := make(chan error, 1)
	select {
	case l.flush <- res:
		return <-res
	case <-l.done:
		return nil
	}
}

// Close writes the buffered lines out and stops the writer's goroutine. It
// does not close the writer, which the caller opened.
func (l *Log) Close() error {
	if l.w == nil {
		return nil
	}
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
	return l.lastErr
}

// writer is the goroutine that writes: full batches as they come, the
// partial one every FlushInterval and on Flush and Close.
func (l *Log) writer() {
	defer close(l.done)
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case b := <-l.full:
			l.write(b)
		case <-t.C:
			l.writePending()
		case res := <-l.flush:
			res <- l.writePending()
		case <-l.stop:
			l.lastErr = l.writePending()
			return
		}
	}
}

// writePending writes a full batch that is waiting, if any, and then the
// one being filled; it returns the last write's error.
func (l *Log) writePending() error {
	var err error
	for {
		select {
		case b := <-l.full:
			err = l.write(b)
			continue
		default:
		}
		l.mu.Lock()
		if len(l.pending) == 0 {
			l.mu.Unlock()
			return err
		}
		select {
		case b := <-l.free:
			batch := l.pending
			l.pending = b
			l.mu.Unlock()
			return l.write(batch)
		default: // Write has just handed the other buffer over: write that first
			l.mu.Unlock()
		}
	}
}

// write writes a batch, counts the lines lost when that fails, reports,
// and gives the buffer back.
func (l *Log) write(b []byte) error {
	n, err := l.w.Write(b)
	if err != nil {
		l.dropped.Add(uint64(bytes.Count(b[min(max(n, 0), len(b)):], []byte{'\n'})))
	}
	l.rep.after(err, l.dropped.Value(), time.Now())
	l.free <- b[:0]
	return err
}
