package router

import (
	"os"
	"path/filepath"
)

// RunState holds the services' state directories without the persistent
// partition: in memory, kept across a service's restarts, not reboots.
// The services' flags default to the files here (client.DefaultState,
// server.DefaultLeases), so that one run by hand uses the router's own.
const RunState = "/run/tprouter"

// The state files init names on the services' command lines.
const (
	leaseFile  = "lease.json"  // dhcp4c's lease, which dnsfwd reads too
	leasesFile = "leases.json" // dhcp4d's leases
	accessLog  = "access.log"  // the proxy's, on /perm only
)

// AccessLog is where the proxy writes its access log when perm, the
// persistent partition, is mounted and its state directory could be made
// there; else the lines are on its standard output.
func AccessLog(perm string) string { return filepath.Join(perm, "proxy", accessLog) }

// dirs are the services' state directories on this boot, by service
// name; a service without one is not in it.
type dirs map[string]string

// file is the path of name in service's state directory, or "" when it
// has none.
func (d dirs) file(service, name string) string {
	if d[service] == "" {
		return ""
	}
	return filepath.Join(d[service], name)
}

// stateDirs makes the state directories of the enabled services, owned
// by their users, and records them in r.dirs: each under r.Perm when the
// persistent partition is mounted, else under RunState. One that cannot
// be made on /perm (a file system that went read-only) falls back to
// RunState for this boot, or to none with PermOnly, so that the service
// still runs.
func (r *Router) stateDirs() {
	r.dirs = dirs{}
	for _, s := range services {
		if s.State == "" || !s.Enabled(r.Config) {
			continue
		}
		var try []string
		if r.Perm != "" {
			try = append(try, filepath.Join(r.Perm, s.State))
		}
		if !s.PermOnly {
			try = append(try, filepath.Join(RunState, s.State))
		}
		for i, dir := range try {
			err := r.makeDir(dir, s.UID)
			if err == nil {
				r.dirs[s.Name] = dir
				break
			}
			instead := "it keeps no state"
			if i+1 < len(try) {
				instead = "using " + try[i+1] + " instead"
			}
			r.Log.Printf("%s's state directory: %v; %s", s.Name, err, instead)
		}
	}
}

// makeDir makes dir (under r.root) and gives it to uid.
func (r *Router) makeDir(dir string, uid uint32) error {
	path := filepath.Join(r.root, dir)
	if err := os.MkdirAll(path, 0o755); err != nil {
		return err
	}
	return os.Chown(path, int(uid), int(uid))
}
