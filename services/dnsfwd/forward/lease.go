package forward

import (
	"context"
	"errors"
	"io/fs"
	"log"
	"net/netip"
	"os"
	"syscall"
	"time"

	"tprouter/services/internal/statefile"
)

// lease is the part of a DHCP client's state file that the forwarder
// reads: dhcp4c's (services/dhcp4c/client.Lease) and dhcp6c's
// (services/dhcp6c/client.State) both have the servers in "dns".
// Decoding only it keeps the forwarder free of the clients' dependencies.
type lease struct {
	DNS []netip.Addr `json:"dns"`
}

// leaseFile is what the forwarder knows of one lease file: which version
// of it was read last, the servers it listed, and the problem last logged.
type leaseFile struct {
	path    string
	read    bool
	id      fileID
	dns     []netip.Addr
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

// Watch looks at the lease files every LeasePoll until ctx ends, and
// takes the DNS servers of each new version. A stat every few seconds costs
// nothing, needs no inotify, and cannot miss a rename the way a watch on
// a replaced file can.
func (f *Forwarder) Watch(ctx context.Context) {
	if len(f.leases) == 0 {
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
		f.checkLeasesLocked()
		f.mu.Unlock()
	}
}

// checkLeasesLocked reads the lease files that changed since the last
// look and, if any did, takes their servers, in the order of the files.
func (f *Forwarder) checkLeasesLocked() {
	changed := false
	for _, l := range f.leases {
		if l.check(f.log) {
			changed = true
		}
	}
	if !changed {
		return
	}
	var dns []netip.Addr
	for _, l := range f.leases {
		dns = append(dns, l.dns...)
	}
	f.setLeasedLocked(dns)
}

// check reads the file if it changed since the last look and reports
// whether its servers may have changed. A missing file is a lease without
// servers (no lease yet); a file that cannot be read or parsed leaves the
// servers as they were.
func (l *leaseFile) check(lg *log.Logger) bool {
	st, err := os.Stat(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		was := l.read
		if was {
			lg.Printf("%s is gone: no upstream DNS servers from it", l.path)
		}
		*l = leaseFile{path: l.path}
		return was
	}
	if err != nil {
		l.report(lg, err)
		return false
	}
	id := fileID{size: st.Size(), mtime: st.ModTime()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		id.ino = sys.Ino
	}
	if l.read && l.id == id {
		return false
	}
	// Taken as read even if it does not parse: the writer replaces the
	// file whole, so only a new version can be better.
	l.read, l.id = true, id
	var got lease
	if err := statefile.Read(l.path, &got); err != nil {
		l.report(lg, err)
		return false
	}
	l.problem, l.dns = "", got.DNS
	return true
}

// report logs err unless it was the last problem logged.
func (l *leaseFile) report(lg *log.Logger, err error) {
	if s := err.Error(); s != l.problem {
		l.problem = s
		lg.Printf("lease: %v; keeping the upstream servers as they are", err)
	}
}
