package accesslog

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// File is an access log file that rotates itself: when a write would take
// it past MaxSize, path is renamed to path.1 (path.1 to path.2, and so on
// up to Keep old files) and a new path is started, so the log never takes
// more than about (Keep+1)·MaxSize of its partition. Lines are never split
// across files, and a write the file system refused in part (ENOSPC) is cut
// back to its last whole line, so every file holds whole lines only.
//
// A File that cannot be written (the partition full, read-only, an I/O
// error) returns the error and tries again, reopening the file when it has
// to, on the next Write: the Log above it drops and counts the lines
// meanwhile. Its methods are safe for concurrent use.
type File struct {
	path    string
	maxSize int64 // 0: never rotate (rotation left to an outside tool and Reopen)
	keep    int

	mu      sync.Mutex
	f       *os.File // nil after a failed open: reopened by the next Write
	size    int64
	midLine bool // the file ends in part of a line that could not be cut off
}

// OpenFile opens (creating) the access log file path for appending. It
// fails only when path cannot name a file at all (a missing directory, a
// directory): any other error (the partition full or read-only, no
// permission) comes back with a usable File, which keeps trying.
func OpenFile(path string, maxSize int64, keep int) (*File, error) {
	f := &File{path: path, maxSize: maxSize, keep: keep}
	err := f.open()
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) {
		return nil, err
	}
	return f, err
}

// Path returns the file's name.
func (f *File) Path() string { return f.path }

// Paths returns the names of the files that hold the log, oldest first: the
// rotated ones that exist and the current one.
func (f *File) Paths() []string {
	var ps []string
	for i := max(f.keep, 1); i >= 1; i-- { // .1 also for Keep 0: an outside rotation's
		if p := f.rotated(i); exists(p) {
			ps = append(ps, p)
		}
	}
	return append(ps, f.path)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (f *File) rotated(i int) string { return f.path + "." + strconv.Itoa(i) }

// open opens path anew; the old file, if any, is closed. A file that does
// not end in a newline (torn by a power cut) gets its next line on a line
// of its own.
func (f *File) open() error {
	nf, err := os.OpenFile(f.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	st, err := nf.Stat()
	last := []byte{'\n'}
	if err == nil && st.Size() > 0 {
		_, err = nf.ReadAt(last, st.Size()-1)
	}
	if err != nil {
		nf.Close()
		return err
	}
	if f.f != nil {
		f.f.Close()
	}
	f.f, f.size, f.midLine = nf, st.Size(), last[0] != '\n'
	return nil
}

// Reopen opens path anew, for a rotation done outside (SIGHUP): later lines
// go to the file now at path. On failure the old file is kept.
func (f *File) Reopen() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open()
}

// Write appends p, which holds whole lines, rotating first when they would
// not fit. It returns how many bytes of p are in the files: on an error,
// p[n:] is lost, and p[:n] ends with a whole line.
func (f *File) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f == nil {
		if err := f.open(); err != nil {
			return 0, err
		}
	}
	n := 0
	for n < len(p) {
		chunk, err := f.fit(p[n:])
		if err != nil {
			return n, err
		}
		m, err := f.write(chunk)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// fit returns the leading lines of p that belong in the current file,
// rotating first when not even one fits. A line longer than MaxSize gets a
// file to itself.
func (f *File) fit(p []byte) ([]byte, error) {
	if f.maxSize <= 0 || f.size+int64(len(p)) <= f.maxSize {
		return p, nil
	}
	room := max(f.maxSize-f.size, 0)
	if i := bytes.LastIndexByte(p[:min(room, int64(len(p)))], '\n'); i >= 0 {
		return p[:i+1], nil
	}
	if f.size > 0 {
		if err := f.rotate(); err != nil {
			return nil, err
		}
		return f.fit(p)
	}
	if i := bytes.IndexByte(p, '\n'); i >= 0 {
		return p[:i+1], nil
	}
	return p, nil
}

// write writes whole lines, cutting a partial write back to its last whole
// line. When the cut fails, the next write starts on a new line, so that
// only the one broken line is lost.
func (f *File) write(p []byte) (int, error) {
	if f.midLine {
		if _, err := f.f.Write([]byte{'\n'}); err != nil {
			return 0, err
		}
		f.size++
		f.midLine = false
	}
	n, err := f.f.Write(p)
	if err == nil {
		f.size += int64(n)
		return n, nil
	}
	keep := bytes.LastIndexByte(p[:n], '\n') + 1
	if keep < n {
		if terr := f.f.Truncate(f.size + int64(keep)); terr != nil {
			f.size += int64(n)
			f.midLine = true
			return keep, err
		}
	}
	f.size += int64(keep)
	return keep, err
}

// rotate shifts path.i to path.i+1, dropping the oldest, and starts a new
// file at path. With Keep 0 the old lines are simply dropped.
func (f *File) rotate() error {
	if f.keep == 0 {
		if err := f.f.Truncate(0); err != nil {
			return fmt.Errorf("rotating %s: %w", f.path, err)
		}
		f.size, f.midLine = 0, false
		return nil
	}
	for i := f.keep - 1; i >= 1; i-- {
		if err := os.Rename(f.rotated(i), f.rotated(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotating %s: %w", f.path, err)
		}
	}
	if err := os.Rename(f.path, f.rotated(1)); err != nil {
		return fmt.Errorf("rotating %s: %w (the proxy needs write access to the directory)", f.path, err)
	}
	if err := f.open(); err != nil {
		f.f.Close()
		f.f = nil
		return err
	}
	return nil
}

// Close syncs and closes the file.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f == nil {
		return nil
	}
	err := f.f.Sync()
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	f.f = nil
	return err
}
