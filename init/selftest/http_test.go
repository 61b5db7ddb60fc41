package selftest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tprouter/qemu/labrouter"
)

// TestHandlerMetrics: /selftest before and after a run, as text and JSON,
// POST sharing a run in progress, and the metrics.
func TestHandlerMetrics(t *testing.T) {
	lt := newLab(t, labrouter.Config(proxyPort))
	var trips atomic.Int32
	release := make(chan struct{})
	lt.RoundTrip = func(context.Context) []Result {
		trips.Add(1)
		<-release
		return []Result{{Check: "roundtrip4", OK: true, Detail: "fake"}, {Check: "roundtrip6", Detail: "fake", Fix: "none"}}
	}
	h := lt.Handler()
	serve := func(method, target, accept string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(method, target, nil)
		r.Header.Set("Accept", accept)
		lt.l.Router.Do(func() error { h.ServeHTTP(w, r); return nil })
		return w
	}
	if w := serve("GET", "/selftest", ""); w.Code != http.StatusServiceUnavailable {
		t.Errorf("GET before a run: %d, want 503", w.Code)
	}
	var wg sync.WaitGroup
	posts := make([]*httptest.ResponseRecorder, 2)
	wg.Go(func() { posts[0] = serve("POST", "/selftest?format=json", "") })
	for trips.Load() == 0 {
		runtime.Gosched()
	}
	// The second POST arrives while the first run is in its round trip.
	wg.Go(func() { posts[1] = serve("POST", "/selftest?format=json", "") })
	time.Sleep(200 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := trips.Load(); n != 1 {
		t.Errorf("two POSTs during one run ran the round trip %d times, want 1", n)
	}
	var rep struct {
		OK      bool     `json:"ok"`
		TookMS  *int64   `json:"took_ms"`
		Results []Result `json:"results"`
	}
	if err := json.Unmarshal(posts[1].Body.Bytes(), &rep); err != nil || rep.OK || rep.TookMS == nil || len(rep.Results) != 8 {
		t.Errorf("POST JSON: %v: %s", err, posts[1].Body)
	}
	text := serve("GET", "/selftest", "").Body.String()
	if !strings.HasPrefix(text, "selftest: FAILED: proxy-listen, proxy-cap, roundtrip6\n") || !strings.Contains(text, "fix:") {
		t.Errorf("GET text:\n%s", text)
	}
	if w := serve("GET", "/selftest", "application/json"); !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Errorf("GET with Accept: application/json: Content-Type %q", w.Header().Get("Content-Type"))
	}
	var m strings.Builder
	lt.WriteMetrics(&m)
	for _, s := range []string{"# TYPE tprouter_selftest_ok gauge", `tprouter_selftest_ok{check="kernel"} 1`,
		`tprouter_selftest_ok{check="proxy-cap"} 0`, `tprouter_selftest_ok{check="roundtrip6"} 0`,
		"# TYPE tprouter_selftest_last_run_timestamp_seconds gauge"} {
		if !strings.Contains(m.String(), s) {
			t.Errorf("metrics lack %q:\n%s", s, m.String())
		}
	}
}
