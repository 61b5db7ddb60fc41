// Package top keeps what the proxy saw most in the last Window: the
// destinations (HTTP Host, TLS SNI, or the destination address) and the
// clients, each with how many transactions and how many bytes (both
// ways). The proxy's status address serves it as JSON on /top.
//
// Counts go into per-minute buckets, Window/time.Minute of them, reused
// in turn. Memory is bounded: a bucket holds at most MaxKeys names of
// each kind, and the transactions of further names are counted under
// Other. Add is one mutex-protected map update per list; it allocates
// only for a name new in its minute.
package top

import (
	"cmp"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Limits of what Counter keeps and reports.
const (
	Window  = 5 * time.Minute // how far back Snapshot looks
	Rows    = 10              // rows per list in a Snapshot
	MaxKeys = 512             // distinct names per list per bucket
	MaxName = 255             // longer names are cut (a DNS name has at most 253)
	// Other names the row that counts the names beyond MaxKeys.
	Other = "(other)"

	buckets = int(Window / time.Minute)
)

// Top is a Snapshot: the same JSON as init/status.Top.
type Top struct {
	WindowSeconds int     `json:"window_seconds"`
	Hosts         []Entry `json:"hosts"`
	Clients       []Entry `json:"clients"`
}

// Entry is a row of Top: a host or client address, its transactions and
// their bytes both ways.
type Entry struct {
	Name  string `json:"name"`
	Count uint64 `json:"count"`
	Bytes uint64 `json:"bytes"`
}

// stat is one name's figures in one bucket.
type stat struct{ count, bytes uint64 }

// bucket is one minute's counts.
type bucket struct {
	minute  int64 // unix minute it holds; a stale one is emptied on use
	hosts   map[string]*stat
	clients map[netip.Addr]*stat
	other   [2]stat // names beyond MaxKeys: hosts, clients
}

// Counter counts transactions by host and client. Its zero value is not
// ready: use New. Its methods are safe for concurrent use.
type Counter struct {
	mu  sync.Mutex
	now func() time.Time // time.Now; tests move it
	b   [buckets]bucket
}

// New returns an empty Counter.
func New() *Counter {
	c := &Counter{now: time.Now}
	for i := range c.b {
		c.b[i] = bucket{minute: -1, hosts: map[string]*stat{}, clients: map[netip.Addr]*stat{}}
	}
	return c
}

// Add counts one transaction to host (lower case, without port) from
// client that moved bytes both ways. host is only read: Add copies it
// when it keeps it.
func (c *Counter) Add(host []byte, client netip.Addr, bytes uint64) {
	if len(host) > MaxName {
		host = host[:MaxName]
	}
	client = client.Unmap()
	c.mu.Lock()
	b := c.bucket(c.now().Unix() / 60)
	s, ok := b.hosts[string(host)] // no copy for a lookup
	switch {
	case ok:
	case len(b.hosts) < MaxKeys:
		s = &stat{}
		b.hosts[string(host)] = s
	default:
		s = &b.other[0]
	}
	s.count++
	s.bytes += bytes
	s, ok = b.clients[client]
	switch {
	case ok:
	case len(b.clients) < MaxKeys:
		s = &stat{}
		b.clients[client] = s
	default:
		s = &b.other[1]
	}
	s.count++
	s.bytes += bytes
	c.mu.Unlock()
}

// bucket returns minute's bucket, emptied if it held an older minute.
func (c *Counter) bucket(minute int64) *bucket {
	b := &c.b[minute%int64(buckets)]
	if b.minute != minute {
		clear(b.hosts)
		clear(b.clients)
		b.other = [2]stat{}
		b.minute = minute
	}
	return b
}

// Snapshot returns the top Rows hosts and clients of the last Window, by
// transactions and then bytes, most first.
func (c *Counter) Snapshot() Top {
	hosts, clients := map[string]stat{}, map[string]stat{}
	add := func(m map[string]stat, name string, s stat) {
		t := m[name]
		t.count += s.count
		t.bytes += s.bytes
		m[name] = t
	}
	c.mu.Lock()
	now := c.now().Unix() / 60
	for i := range c.b {
		b := &c.b[i]
		if b.minute < 0 || b.minute <= now-int64(buckets) || b.minute > now {
			continue
		}
		for h, s := range b.hosts {
			add(hosts, h, *s)
		}
		for a, s := range b.clients {
			add(clients, a.String(), *s)
		}
		if b.other[0].count > 0 {
			add(hosts, Other, b.other[0])
		}
		if b.other[1].count > 0 {
			add(clients, Other, b.other[1])
		}
	}
	c.mu.Unlock()
	return Top{WindowSeconds: int(Window / time.Second), Hosts: rank(hosts), Clients: rank(clients)}
}

// rank returns m's first Rows entries by count, then bytes, then name.
func rank(m map[string]stat) []Entry {
	es := make([]Entry, 0, len(m))
	for n, s := range m {
		es = append(es, Entry{Name: n, Count: s.count, Bytes: s.bytes})
	}
	slices.SortFunc(es, func(a, b Entry) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Bytes, a.Bytes); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return es[:min(len(es), Rows)]
}
