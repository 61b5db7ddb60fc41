package syslog

import (
	"bytes"
	"context"
	"io"
	"os"
	"time"
)

// FollowInterval is how often init reads the access log file for new
// lines.
const FollowInterval = 250 * time.Millisecond

// Follow calls line with each line appended to the file at path until ctx
// ends, as tail -F does: the lines there when it starts are skipped (they
// were sent when they were written), a file that appears later is read
// from its start, a rotation (path renamed, a new file made) is followed
// after the old file's last line, and a truncation starts over at 0. It
// polls every interval.
func Follow(ctx context.Context, path string, interval time.Duration, line func(string)) {
	f := &follower{path: path, line: line}
	if f.open() {
		f.off, _ = f.f.Seek(0, io.SeekEnd)
	}
	defer func() {
		if f.f != nil {
			f.f.Close()
		}
	}()
	for sleep(ctx, interval) {
		if f.f == nil && !f.open() {
			continue
		}
		f.read()
		f.checkRotation()
	}
}

type follower struct {
	path    string
	line    func(string)
	f       *os.File
	off     int64
	partial []byte
	buf     [32 << 10]byte
}

func (f *follower) open() bool {
	var err error
	if f.f, err = os.Open(f.path); err != nil {
		f.f = nil
		return false
	}
	f.off, f.partial = 0, nil
	return true
}

// read hands on every complete line up to the end of the file.
func (f *follower) read() {
	for {
		n, err := f.f.ReadAt(f.buf[:], f.off)
		f.off += int64(n)
		b := append(f.partial, f.buf[:n]...)
		for {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				break
			}
			f.line(string(b[:i]))
			b = b[i+1:]
		}
		f.partial = append([]byte(nil), b...)
		if err != nil || n == 0 {
			return
		}
	}
}

// checkRotation closes a file that is no longer at path (the next poll
// opens the new one) and starts a truncated one over.
func (f *follower) checkRotation() {
	st, err := os.Stat(f.path)
	cur, _ := f.f.Stat()
	switch {
	case err != nil || cur == nil || !os.SameFile(st, cur):
		f.read() // what the writer added before it rotated
		f.f.Close()
		f.f = nil
	case st.Size() < f.off:
		f.off, f.partial = 0, nil
	}
}
