package router

import (
	"context"
	"path/filepath"
	"sync"

	"tprouter/init/cmdline"
	"tprouter/init/status"
	"tprouter/init/status/history"
	"tprouter/init/status/sources"
)

// seenLinks are the links the last round of Configure found, for the
// status page, which reads them while the bring-up goes on.
type seenLinks struct {
	mu sync.Mutex
	l  links
}

func (s *seenLinks) set(l links) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.l = l
}

func (s *seenLinks) get() links {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.l
}

// roles names each link's role for the interfaces panel.
func (l links) roles() map[string]string {
	roles := map[string]string{}
	for _, n := range l.LAN {
		if n != "" {
			roles[n] = "lan"
		}
	}
	if l.WAN != "" {
		roles[l.WAN] = "wan"
	}
	return roles
}

// stateFile is the path of name in service's state directory on this
// boot, or "" when it has none (the service is off).
func (r *Router) stateFile(service, name string) string {
	f := r.dirs.file(service, name)
	if f == "" {
		return ""
	}
	return filepath.Join(r.root, f)
}

// panels fills the status page's sources that main has not: the leases
// and the WAN lease from the services' state files, the links from the
// links found so far, every key in force, and the graphs' sampler of the
// proxy's metrics, which it starts.
func (r *Router) panels() {
	p := &r.Status.Panels
	if p.Leases == nil {
		leases := r.stateFile("dhcp4d", leasesFile)
		p.Leases = func() ([]status.Lease, error) {
			if leases == "" {
				return nil, nil // no DHCP server
			}
			return sources.Leases(leases)
		}
	}
	if p.WAN == nil {
		lease := r.stateFile("dhcp4c", leaseFile)
		p.WAN = func() (status.WAN, error) { return sources.WAN(r.seen.get().WAN, lease) }
	}
	if p.Interfaces == nil {
		p.Interfaces = func() ([]status.Interface, error) { return sources.Interfaces(r.seen.get().roles()) }
	}
	if p.Config == nil {
		for _, s := range cmdline.Settings(r.Config) {
			p.Config = append(p.Config, status.Setting{Key: s.Key, Value: s.Value, Source: s.Source})
		}
	}
	if p.History == nil {
		h := history.New(func(ctx context.Context) ([]byte, error) { return r.Status.FetchProxy(ctx, "/metrics") })
		go func() {
			defer r.Log.Recover()
			h.Run(context.Background())
		}()
		p.History = h.History
	}
}
