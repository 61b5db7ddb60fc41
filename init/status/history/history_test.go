package history

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"tprouter/init/status"
	"tprouter/services/proxy/intercept"
)

// proxy is a stand-in for the proxy's status address: a real HTTP server
// whose /metrics is the proxy's own writer over Stats the test changes,
// or a 500 while failing is set.
type proxy struct {
	mu      sync.Mutex
	st      *intercept.Stats
	failing bool
	srv     *httptest.Server
}

func newProxy(t *testing.T) *proxy {
	p := &proxy{st: intercept.NewStats()}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.failing || r.URL.Path != "/metrics" {
			http.Error(w, "no", 500)
			return
		}
		p.st.WritePrometheus(w)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// change runs f on the proxy's Stats; restart gives it new ones.
func (p *proxy) change(f func(st *intercept.Stats)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p.st)
}

// fetch is what init gives New: a GET of the proxy's /metrics.
func (p *proxy) fetch(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", p.srv.URL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// fakeClock moves Step per scrape.
func fakeClock(s *Sampler) {
	t := time.Unix(1764100000, 0)
	s.now = func() time.Time { t = t.Add(Step); return t }
}

func values(h status.History) [][]float64 {
	var out [][]float64
	for _, p := range h.Points {
		out = append(out, p.Values)
	}
	return out
}

// TestSeriesNames: a selector for every series, in order.
func TestSeriesNames(t *testing.T) {
	if len(status.SeriesNames) != numSeries {
		t.Fatalf("%d series names, %d selectors", len(status.SeriesNames), numSeries)
	}
	got := New(nil).History(0)
	if !slices.Equal(got.Names, status.SeriesNames) || got.StepMS != 2000 || got.Last != 0 || got.Points == nil {
		t.Errorf("empty history: %+v", got)
	}
	js, _ := json.Marshal(got)
	if !bytes.Contains(js, []byte(`"step_ms":2000,"last":0,"names":["requests",`)) || !bytes.HasSuffix(js, []byte(`"points":[]}`)) {
		t.Errorf("JSON %s", js)
	}
}

// TestRates scrapes a real server serving the proxy's real metrics text:
// rates per second of each series, summed over labels where the series
// says, 0 for the first point (no baseline yet).
func TestRates(t *testing.T) {
	p := newProxy(t)
	s := New(p.fetch)
	fakeClock(s)
	ctx := context.Background()
	s.scrape(ctx)
	p.change(func(st *intercept.Stats) {
		st.Requests[2].Add(10) // 2xx
		st.Requests[5].Add(4)  // 5xx
		st.ConnsTotal.Add(6)
		st.Bytes[0].Add(2000)
		st.Bytes[1].Add(200)
		st.TLSConns.Add(2)
		st.Tunnels.Add(8)
		st.Denied[0].Add(1)
		st.Denied[1].Add(3)
		st.Families[0].Add(4)
		st.Families[1].Add(2)
	})
	s.scrape(ctx)
	s.scrape(ctx) // nothing new
	h := s.History(0)
	want := [][]float64{
		make([]float64, 10),
		{7, 3, 1000, 100, 7, 1, 4, 2, 2, 1},
		make([]float64, 10),
	}
	if fmt.Sprint(values(h)) != fmt.Sprint(want) {
		t.Errorf("values %v\nwant %v", values(h), want)
	}
	if h.Last != 3 || h.Points[0].Seq != 1 || h.Points[2].Seq != 3 || !h.Points[1].Time.Equal(h.Points[0].Time.Add(Step)) {
		t.Errorf("last %d, points %+v", h.Last, h.Points)
	}
}

// TestRestartAndFailure: a counter going down (the proxy restarted)
// gives 0, not a negative rate; a failed scrape gives a point of 0 and
// the next good one is a new baseline, so no spike either way.
func TestRestartAndFailure(t *testing.T) {
	p := newProxy(t)
	s := New(p.fetch)
	fakeClock(s)
	ctx := context.Background()
	add := func(n uint64) { p.change(func(st *intercept.Stats) { st.ConnsTotal.Add(n) }) }
	add(1000)
	s.scrape(ctx) // 1: baseline
	add(20)
	s.scrape(ctx) // 2: 10/s
	p.change(func(st *intercept.Stats) { *st = *intercept.NewStats() })
	add(4)
	s.scrape(ctx) // 3: went down: 0
	add(8)
	s.scrape(ctx) // 4: 4/s from the new baseline
	p.change(func(*intercept.Stats) { p.failing = true })
	add(100)
	s.scrape(ctx) // 5: failed: 0
	p.change(func(*intercept.Stats) { p.failing = false })
	add(100)
	s.scrape(ctx) // 6: new baseline: 0, not the 200 since 4
	add(6)
	s.scrape(ctx) // 7: 3/s
	var got []float64
	for _, v := range values(s.History(0)) {
		got = append(got, v[1])
	}
	if want := []float64{0, 10, 0, 4, 0, 0, 3}; !slices.Equal(got, want) {
		t.Errorf("connections/s %v, want %v", got, want)
	}
	// A text that does not parse is a failed scrape too.
	bad := New(func(context.Context) ([]byte, error) { return []byte("tprouter_proxy_connections_total{x=} 1\n"), nil })
	fakeClock(bad)
	bad.scrape(ctx)
	bad.scrape(ctx)
	if bad.based || bad.History(0).Last != 2 {
		t.Errorf("unparsable text: based %v, %+v", bad.based, bad.History(0))
	}
}

// TestWrapAndAfter: the rings keep the newest Points; after= returns
// what is newer, all for 0 or for an after beyond the newest.
func TestWrapAndAfter(t *testing.T) {
	s := New(nil)
	t0 := time.Unix(1764100000, 0)
	const total = Points + 250
	for i := range total {
		var c counters
		c.v[0], c.ok[0] = float64(i*i), true // rate 2i-1 at point i+1
		s.record(t0.Add(time.Duration(i)*Step), c, true)
	}
	h := s.History(0)
	if h.Last != total || len(h.Points) != Points || h.Points[0].Seq != total-Points+1 || h.Points[Points-1].Seq != total {
		t.Fatalf("after wrap: last %d, %d points from %d", h.Last, len(h.Points), h.Points[0].Seq)
	}
	for _, p := range h.Points {
		i := int(p.Seq - 1)
		if want := float64(2*i-1) / Step.Seconds(); p.Values[0] != want || !p.Time.Equal(t0.Add(time.Duration(i)*Step)) {
			t.Fatalf("point %d: %v at %v, want %v", p.Seq, p.Values[0], p.Time, want)
		}
	}
	for _, tc := range []struct {
		after      uint64
		n          int
		first      uint64
		allowEmpty bool
	}{
		{total - 1, 1, total, false},
		{total - 10, 10, total - 9, false},
		{total, 0, 0, true},
		{total + 5, Points, total - Points + 1, false}, // a page from before a reboot
		{5, Points, total - Points + 1, false},         // older than the rings: all they hold
	} {
		h := s.History(tc.after)
		if len(h.Points) != tc.n || tc.n > 0 && h.Points[0].Seq != tc.first || h.Points == nil {
			t.Errorf("after=%d: %d points, want %d from %d", tc.after, len(h.Points), tc.n, tc.first)
		}
	}
}

// TestRun: Run samples at once and every step against the real server,
// records 0 while it fails, and returns when ctx ends.
func TestRun(t *testing.T) {
	p := newProxy(t)
	s := New(p.fetch)
	s.step = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	wait := func(n uint64) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); s.History(0).Last < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no point %d in 5 s", n)
			}
		}
	}
	wait(1)
	for range 20 {
		p.change(func(st *intercept.Stats) { st.Requests[2].Add(100) })
		wait(s.History(0).Last + 1)
	}
	h := s.History(0)
	var sum float64
	for _, p := range h.Points {
		sum += p.Values[0]
	}
	if sum <= 0 {
		t.Errorf("no requests/s in %v", values(h))
	}
	p.change(func(*intercept.Stats) { p.failing = true })
	n := s.History(0).Last
	wait(n + 3)
	if last := s.History(n + 1); last.Points[len(last.Points)-1].Values[0] != 0 || s.based {
		t.Errorf("failing: %v", values(last))
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
