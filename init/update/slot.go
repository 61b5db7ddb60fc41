package update

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"tprouter/internal/bundle"
)

// writeSlot writes b to slot, which must not be the running one, in the
// order the package documentation gives: old entries out, files in and
// verified, the new entry last. /boot is read-write only meanwhile.
func (u *Updater) writeSlot(slot, running string, b *bundle.Bundle) (err error) {
	if slot == running {
		return fmt.Errorf("refusing to write slot %s: it is the running one", slot)
	}
	if err := u.remount(true); err != nil {
		return err
	}
	defer func() {
		if e := u.remount(false); e != nil && err == nil {
			err = e
		}
	}()
	if err := u.removeEntries(slot); err != nil {
		return err
	}
	if err := u.writeFiles(slot, b); err != nil {
		return err
	}
	m := b.Manifest
	text := bundle.Entry(m.Board, slot, m.Version, m.Options)
	return u.writeSynced(u.entries(), ".tprouter-"+slot+".tmp", entryName(slot, 3), []byte(text))
}

// step is a point where a power cut may come; tests make it one.
func (u *Updater) step(what string) error {
	if u.interrupt != nil {
		return u.interrupt(what)
	}
	return nil
}

// removeEntries removes slot's entries and leftover temporary entry.
func (u *Updater) removeEntries(slot string) error {
	dir := u.entries()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("making %s: %w", dir, err)
	}
	es, err := listEntries(dir)
	if err != nil {
		return err
	}
	names := []string{".tprouter-" + slot + ".tmp"}
	for _, e := range es {
		if e.slot == slot {
			names = append(names, e.file)
		}
	}
	for _, n := range names {
		if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing the old entry: %w", err)
		}
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	return u.step("old entries removed")
}

// writeFiles writes the bundle's files into /tprouter/<slot>, each
// verified against the manifest before it takes its name.
func (u *Updater) writeFiles(slot string, b *bundle.Bundle) error {
	dir := filepath.Join(u.Boot, "tprouter", slot)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("making %s: %w", dir, err)
	}
	for _, f := range b.Manifest.Files {
		if f.Name == "" || strings.ContainsAny(f.Name, `/\`) || strings.HasPrefix(f.Name, ".") {
			return fmt.Errorf("bundle file name %q: not a plain file name", f.Name)
		}
		data, ok := b.Files[f.Name]
		if !ok {
			return fmt.Errorf("bundle: the manifest names %s, the bundle has no such file", f.Name)
		}
		if err := u.writeVerified(dir, f, data); err != nil {
			return err
		}
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	return u.step("files written")
}

// writeVerified writes data to dir/f.Name through a temporary name, and
// renames it only once what is on the disk has f's size and hash.
func (u *Updater) writeVerified(dir string, f bundle.File, data []byte) error {
	tmp := filepath.Join(dir, f.Name+".tmp")
	if err := writeFile(tmp, data); err != nil {
		return err
	}
	if err := u.step(f.Name + " written"); err != nil {
		return err
	}
	if err := verify(tmp, f); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, f.Name)); err != nil {
		return fmt.Errorf("renaming %s into place: %w", tmp, err)
	}
	return u.step(f.Name + " renamed")
}

// writeSynced writes data to dir/name through dir/tmp, fsyncing the file
// and then the directory.
func (u *Updater) writeSynced(dir, tmp, name string, data []byte) error {
	if err := writeFile(filepath.Join(dir, tmp), data); err != nil {
		return err
	}
	if err := u.step(name + " written"); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(dir, tmp), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("renaming %s into place: %w", name, err)
	}
	return syncDir(dir)
}

// writeFile creates path with data, fsynced.
func writeFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if e := f.Close(); err == nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w (is the boot partition full or failing?)", path, err)
	}
	return nil
}

// verify reads path back, from the disk rather than the page cache, and
// checks its size and SHA-256 against f.
func verify(path string, f bundle.File) error {
	fd, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading back %s: %w", path, err)
	}
	defer fd.Close()
	// The pages are clean after the fsync: dropping them makes the read
	// below come from the disk. Not every file system honours it.
	unix.Fadvise(int(fd.Fd()), 0, 0, unix.FADV_DONTNEED)
	h := sha256.New()
	n, err := io.Copy(h, fd)
	if err != nil {
		return fmt.Errorf("reading back %s: %w", path, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if n != f.Size || sum != strings.ToLower(f.SHA256) {
		return fmt.Errorf("reading back %s: %d bytes with SHA-256 %s, the manifest says %d bytes, %s: the boot disk does not keep what is written to it; replace it", path, n, sum, f.Size, f.SHA256)
	}
	return nil
}

// syncDir fsyncs the directory dir, so that renames in it are on the disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
