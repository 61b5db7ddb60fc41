package console

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"tprouter/init/internal/oneline"
)

// SaveInterval is how often Persist writes the rings that changed: a USB
// stick wears out under a write per line, and a power cut loses at most
// this much of the logs.
const SaveInterval = 10 * time.Second

// PreviousBoot is the line a restored ring has between the lines an
// earlier boot saved and this boot's.
const PreviousBoot = "--- previous boot above, this boot below ---"

// maxFile bounds what a restore reads of one file: a ring of 500 lines of
// 4 KiB (the supervisor splits longer output) with their times fits.
const maxFile = 4 << 20

// store is where Persist keeps the rings.
type store struct {
	dir      string
	restored map[string][]Line // saved lines of logs not made yet, by name; Console.mu guards it
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	mu      sync.Mutex      // held while saving
	saved   map[*Log]uint64 // each ring's count of lines at its last save
	failing bool            // the last save failed (said once on the console)
	final   bool            // StopPersist has saved: no more writes
}

// Persist keeps the rings in dir, one file per log (<name>.log), so that
// they survive a reboot. It restores what an earlier boot saved there:
// into the logs that exist now and, as Log makes them, into the others,
// each followed by the line PreviousBoot. From then on it saves the rings
// that changed every SaveInterval, and once more on StopPersist. A file is
// written whole to a temporary file, synced and renamed over the old one,
// so a power cut loses at most the last interval's lines, never the file.
//
// Persist makes dir if it is missing. When it cannot, or cannot read it,
// it returns the error and the rings stay in memory only. A file it
// cannot read is named on the console and skipped. Call it once.
func (c *Console) Persist(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("console: keeping logs in %s: %w", dir, err)
	}
	saved, problems, err := readSaved(dir)
	if err != nil {
		return fmt.Errorf("console: keeping logs in %s: %w", dir, err)
	}
	for _, p := range problems {
		c.Print("console", p.Error())
	}
	st := &store{dir: dir, restored: saved, saved: map[*Log]uint64{},
		stop: make(chan struct{}), done: make(chan struct{})}
	c.mu.Lock()
	if c.st != nil {
		c.mu.Unlock()
		return errors.New("console: Persist called twice")
	}
	c.st = st
	for _, l := range c.logs {
		st.restore(l, c.now())
	}
	c.mu.Unlock()
	go c.saveEvery(st)
	return nil
}

// restore puts the lines saved for l's name, if any, before its own. The
// PreviousBoot line has the time of l's first line of this boot (init's
// lines come before Persist), else now, so that the times below it run on
// from it.
func (st *store) restore(l *Log, now time.Time) {
	lines, ok := st.restored[l.src]
	if !ok {
		return
	}
	delete(st.restored, l.src)
	if own := l.ring.Lines(); len(own) > 0 {
		now = own[0].Time
	}
	l.ring.prepend(append(lines, Line{now, PreviousBoot}))
}

func (c *Console) saveEvery(st *store) {
	defer close(st.done)
	t := time.NewTicker(c.saveInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.save(st, false)
		case <-st.stop:
			return
		}
	}
}

// StopPersist saves the rings that changed since the last save and stops
// saving: the shutdown calls it once the services have stopped, before it
// unmounts the directory's file system. Lines printed later stay in
// memory. It waits at most timeout for the disk. Without Persist it does
// nothing.
func (c *Console) StopPersist(timeout time.Duration) error {
	c.mu.Lock()
	st := c.st
	c.mu.Unlock()
	if st == nil {
		return nil
	}
	st.stopOnce.Do(func() { close(st.stop) })
	res := make(chan error, 1)
	go func() {
		<-st.done
		res <- c.save(st, true)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-res:
		return err
	case <-t.C:
		return fmt.Errorf("console: saving logs to %s: not done after %v", st.dir, timeout)
	}
}

// save writes the file of each ring that changed since its last save. It
// says on the console when saving starts failing and when it works again.
func (c *Console) save(st *store, final bool) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.final {
		return nil
	}
	st.final = final
	var errs []error
	wrote := false
	seen := map[string]bool{}
	for _, l := range c.Logs() {
		if seen[l.src] || !fileName(l.src) {
			continue // the first log of a name has the file
		}
		seen[l.src] = true
		lines, adds := l.ring.snapshot()
		if adds == st.saved[l] {
			continue
		}
		if err := writeLines(st.dir, l.src, lines); err != nil {
			errs = append(errs, err)
			continue
		}
		st.saved[l], wrote = adds, true
	}
	if wrote {
		if err := syncDir(st.dir); err != nil {
			errs = append(errs, err)
		}
	}
	err := oneline.Join(errs...)
	switch {
	case err != nil && !st.failing:
		c.Print("console", fmt.Sprintf("saving logs: %v; trying again every %v", err, c.saveInterval))
	case err == nil && st.failing && wrote:
		c.Print("console", "saving logs to "+st.dir+" works again")
	}
	st.failing = err != nil
	return err
}

// fileName reports whether a log's name can be a file name in the
// directory as it is: letters, digits, '.', '_' and '-', not starting
// with '.' (the temporary files do). Other logs stay in memory.
func fileName(name string) bool {
	if name == "" || name[0] == '.' {
		return false
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// writeLines replaces dir/name.log with lines, atomically: a temporary
// file, synced, renamed over it.
func writeLines(dir, name string, lines []Line) error {
	tmp := filepath.Join(dir, "."+name+".log.tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	var b []byte
	for _, l := range lines {
		b = l.Time.UTC().AppendFormat(b[:0], TimeFormat)
		b = append(append(append(b, ' '), l.Text...), '\n')
		w.Write(b)
	}
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name+".log"))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// readSaved reads the files an earlier boot saved in dir, by log name.
// Problems with single files come back as problems, not as the error.
func readSaved(dir string) (map[string][]Line, []error, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	saved := map[string][]Line{}
	var problems []error
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok || !fileName(name) || !e.Type().IsRegular() {
			continue // a temporary file left by a power cut, or not ours
		}
		lines, err := readLines(filepath.Join(dir, e.Name()))
		if err != nil {
			problems = append(problems, err)
		}
		if len(lines) > 0 {
			saved[name] = lines
		}
	}
	return saved, problems, nil
}

// readLines reads a saved ring: "<time> <text>" lines, of which it keeps
// those that parse, from the last maxFile bytes.
func readLines(path string) ([]Line, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("restoring logs: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if st, err := f.Stat(); err == nil && st.Size() > maxFile {
		r = io.NewSectionReader(f, st.Size()-maxFile, maxFile)
	}
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), maxFile)
	var lines []Line
	bad := 0
	for s.Scan() {
		ts, text, _ := strings.Cut(s.Text(), " ")
		t, err := time.Parse(TimeFormat, ts)
		if err != nil {
			bad++
			continue
		}
		lines = append(lines, Line{t, text})
	}
	if err := s.Err(); err != nil {
		return lines, fmt.Errorf("restoring logs: reading %s: %w", path, err)
	}
	if bad > 0 {
		return lines, fmt.Errorf("restoring logs: %s: skipped %d lines that are not \"<time> <text>\"", path, bad)
	}
	return lines, nil
}
