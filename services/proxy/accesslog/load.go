package accesslog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// tailBytes bounds what Load reads of each file per line it wants: enough
// for lines with long URLs, little enough that a file that grew without
// rotation costs no more than the ring holds.
const tailBytes = 1 << 10

// Load fills the ring from the ends of files, oldest first (File.Paths),
// so that /access.log shows the requests from before a restart or a
// reboot. It reads only the last lines the ring can hold and skips lines
// that are not in the log's format (the torn end of a file after a power
// cut). It returns how many lines it loaded; a file that is missing is not
// an error. Call it before the first Write.
func (l *Log) Load(files ...string) (int, error) {
	want := len(l.ring)
	var chunks [][][]byte // per file, newest file first
	var errs []error
	for i := len(files) - 1; i >= 0 && want > 0; i-- {
		lines, err := tail(files[i], want)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		chunks = append(chunks, lines)
		want -= len(lines)
	}
	n := 0
	l.mu.Lock()
	for i := len(chunks) - 1; i >= 0; i-- {
		for _, line := range chunks[i] {
			l.ring[l.next] = append(l.ring[l.next][:0], line...)
			if l.next++; l.next == len(l.ring) {
				l.next, l.filled = 0, true
			}
			n++
		}
	}
	l.mu.Unlock()
	return n, errors.Join(errs...)
}

// tail returns up to n of the last well-formed lines of the file, oldest
// first, each with its newline.
func tail(path string, n int) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(st.Size()-int64(n)*tailBytes, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if off > 0 { // the first line is cut: skip it
		buf = buf[bytes.IndexByte(buf, '\n')+1:]
	}
	var lines [][]byte
	for len(buf) > 0 {
		line := buf
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			line = buf[:i+1]
		}
		buf = buf[len(line):]
		if _, err := Parse(string(line)); err == nil && line[len(line)-1] == '\n' {
			lines = append(lines, line)
		}
	}
	return lines[max(len(lines)-n, 0):], nil
}
