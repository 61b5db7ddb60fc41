package forward

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"syscall"
	"time"

	"tprouter/services/internal/statefile"
)

// lease is the part of dhcp4c's state file (services/dhcp4c/client.Lease)
// that the forwarder reads; decoding only it keeps the forwarder free of
// the DHCP client's dependencies.
type lease struct {
	DNS []netip.Addr `json:"dns"`
}

// leaseFile is what the forwarder knows of the lease file: which version
// of it was read last, and the problem last logged.
type leaseFile struct {
	read    bool
	id      fileID
	problem string
}

// fileID tells versions of a file apart. dhcp4c replaces the file by
// rename (statefile.Write), so a new version has a new inode even when
// its size and modification time happen to be the old ones.
type fileID struct {
	ino   uint64
	size  int64
	mtime time.Time
}

// Watch looks at the lease file every LeasePoll until ctx ends, and takes
// the DNS servers of each new version. A stat every few seconds costs
// nothing, needs no inotify, and cannot miss a rename the way a watch on
// a replaced file can.
func (f *Forwarder) Watch(ctx context.Context) {
	if f.cfg.Lease == "" {
		return
	}
	t := time.NewTicker(f.cfg.LeasePoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.mu.Lock()
		f.checkLeaseLocked()
		f.mu.Unlock()
	}
}

// checkLeaseLocked reads the lease file if it changed since the last
// look. A missing file is a lease without servers (no lease yet); a file
// that cannot be read or parsed leaves the servers as they were.
func (f *Forwarder) checkLeaseLocked() {
	path := f.cfg.Lease
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if f.lease.read {
			f.log.Printf("%s is gone: no upstream DNS servers from a lease", path)
		}
		f.lease = leaseFile{}
		f.setLeasedLocked(nil)
		return
	}
	if err != nil {
		f.leaseProblemLocked(err)
		return
	}
	id := fileID{size: st.Size(), mtime: st.ModTime()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		id.ino = sys.Ino
	}
	if f.lease.read && f.lease.id == id {
		return
	}
	// Taken as read even if it does not parse: the writer replaces the
	// file whole, so only a new version can be better.
	f.lease.read, f.lease.id = true, id
	var l lease
	if err := statefile.Read(path, &l); err != nil {
		f.leaseProblemLocked(err)
		return
	}
	f.lease.problem = ""
	f.setLeasedLocked(l.DNS)
}

// leaseProblemLocked logs err unless it was the last problem logged.
func (f *Forwarder) leaseProblemLocked(err error) {
	if s := err.Error(); s != f.lease.problem {
		f.lease.problem = s
		f.log.Printf("lease: %v; keeping the upstream servers as they are", err)
	}
}
