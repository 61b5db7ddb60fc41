package main

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tprouter/qemu/lab"
	"tprouter/qemu/labproc"
)

// TestCacheLoad measures answers per second over real sockets: clients in
// the LAN namespace ask dnsfwd on the router the same question over UDP,
// first with the cache (every answer but the first from memory), then
// without (every answer from the upstream in the server namespace). Each
// run is bounded by loadQueries and loadTime.
func TestCacheLoad(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	bin := labproc.Build(t, pkg)["dnsfwd"]
	up := startUpstream(t, l.Server)
	for _, tc := range []struct {
		name   string
		cache  string
		listen string
	}{
		{"cached", "4194304", "192.0.2.1:53"},
		{"uncached", "0", "192.0.2.1:5353"},
	} {
		p := labproc.Start(t, l.Router, bin, "-iface", lab.RouterLAN, "-listen", tc.listen,
			"-upstream", lab.ServerV4.String(), "-cache-size", tc.cache)
		p.WaitLog(t, "listening on "+tc.listen, 5*time.Second)
		before := up.count()
		n, took := load(t, l.Client, tc.listen)
		asked := up.count().minus(before)
		t.Logf("%s: %d answers in %v: %.0f answers/s (upstream asked %d times)",
			tc.name, n, took.Round(time.Millisecond), float64(n)/took.Seconds(), asked.udp)
		// The clients' first queries arrive together, before the first
		// answer is cached: each may go upstream (there is no
		// coalescing of identical queries in flight).
		if tc.cache != "0" && (asked.udp < 1 || asked.udp > loadClients) {
			t.Errorf("%s: upstream asked %d times, want 1 to %d", tc.name, asked.udp, loadClients)
		}
		p.Stop(t)
	}
}

const (
	loadQueries = 200_000
	loadTime    = 3 * time.Second
	loadClients = 16
)

// load asks server the same question from loadClients sockets in ns, one
// query at a time each, and returns how many answers came and in what
// time.
func load(t *testing.T, ns *lab.NS, server string) (int, time.Duration) {
	t.Helper()
	q := query(t, 0, "example.test.")
	var n, lost atomic.Int64
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(t.Context(), loadTime)
	defer cancel()
	start := time.Now()
	for c := range loadClients {
		conn, err := ns.DialContext(ctx, "udp", server)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			ask(ctx, conn, q, uint16(c)<<12, &n, &lost)
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if lost.Load() > int64(n.Load())/100 {
		t.Errorf("%d queries of %d unanswered within 1 s", lost.Load(), n.Load()+lost.Load())
	}
	return int(n.Load()), took
}

func ask(ctx context.Context, conn net.Conn, q []byte, id uint16, n, lost *atomic.Int64) {
	q = append([]byte(nil), q...)
	buf := make([]byte, 512)
	for ctx.Err() == nil && n.Load() < loadQueries {
		id++
		binary.BigEndian.PutUint16(q, id)
		conn.SetDeadline(time.Now().Add(time.Second))
		if _, err := conn.Write(q); err != nil {
			lost.Add(1)
			continue
		}
		for {
			m, err := conn.Read(buf)
			if err != nil {
				lost.Add(1)
				break
			}
			if m >= 2 && binary.BigEndian.Uint16(buf) == id {
				n.Add(1)
				break
			}
		}
	}
}
