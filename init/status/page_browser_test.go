package status

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"tprouter/qemu/lab"
)

// TestPageBrowser loads the page in headless Chromium against the real
// Handler with the fake panels: the script must draw the graphs, follow
// the history as it grows, draw rows that only /api/ has, mark the page
// stale while the router does not answer and recover, all without a
// console error; it saves screenshots to build/status-page-local.png
// (light), build/status-page-local-dark.png and, 400 px wide,
// build/status-page-local-narrow.png.
func TestPageBrowser(t *testing.T) {
	s := fakePageServer(t)
	var down atomic.Bool
	var mu sync.Mutex
	var queries []string // of /api/history
	h := s.Handler()
	ctx, c, url := openPage(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			panic(http.ErrAbortHandler) // the connection drops, as with a router that reboots
		}
		if r.URL.Path == "/api/history" {
			mu.Lock()
			queries = append(queries, r.URL.RawQuery)
			mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	must(t, "navigate", chromedp.Do(ctx, chromedp.Navigate(url)))
	waitFor(t, ctx, `Number(document.body.dataset.updated) >= 1`)
	first := eval[string](t, ctx, `document.getElementById("graph-requests").dataset.last`)
	points := eval[string](t, ctx, `document.getElementById("graph-requests").dataset.points`)
	if first == "0" || points == "0" {
		t.Fatalf("after the first poll the graph has data-last=%s data-points=%s", first, points)
	}
	waitFor(t, ctx, fmt.Sprintf(`document.getElementById("graph-requests").dataset.last !== %q`, first))
	for _, q := range []string{
		`#leases tbody tr[data-mac="02:00:00:00:00:99"]`,     // only /api/ has it
		`#top-hosts tbody tr[data-name="late.example"]`,      // the same
		`#services tbody tr[data-service="dnsfwd"] td.state`, // running only in /api/
		`#services tbody tr[data-service="proxy"] details pre`,
		`#interfaces tbody tr[data-name="eth0"]`, `#config tbody tr[data-key="tprouter.hostname"]`,
		`#selftest tbody tr[data-check="roundtrip4"]`, `#wan tbody tr[data-key="router"]`,
	} {
		waitFor(t, ctx, fmt.Sprintf(`document.querySelector(%q) !== null`, q))
	}
	if st := eval[string](t, ctx, `document.querySelector('#services tr[data-service="dnsfwd"] td.state').textContent`); st != "running" {
		t.Errorf("dnsfwd's state %q after a poll, want running", st)
	}
	if n := eval[string](t, ctx, `document.querySelector('#leases tr[data-mac="02:00:00:00:00:02"]').cells[2].textContent`); n != hostileName {
		t.Errorf("the hostile hostname reads %q, want %q", n, hostileName)
	}
	if n := eval[int](t, ctx, `document.scripts.length + document.querySelectorAll("img").length`); n != 1 {
		t.Errorf("%d scripts and images, want the page's one script", n)
	}
	waitFor(t, ctx, `document.querySelector('#interfaces tr[data-name="eth0"]').cells[8].textContent.endsWith("b/s")`)
	if n := eval[int](t, ctx, `document.querySelectorAll("svg.graph path").length`); n != 10 {
		t.Errorf("%d lines in the graphs, want one a series (10)", n)
	}
	hover := `(() => { const g = document.getElementById("graph-requests"), r = g.getBoundingClientRect();
		g.dispatchEvent(new MouseEvent("mousemove", {clientX: r.left + r.width / 2, clientY: r.top + 20}));
		return document.getElementById("now-requests").textContent; })()`
	if v := eval[string](t, ctx, hover); !strings.Contains(v, ":") || eval[int](t, ctx, `document.querySelectorAll("#graph-requests line.cur").length`) != 1 {
		t.Errorf("hovering the graph: heading %q and no cursor line", v)
	}
	must(t, "mouseleave", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("graph-requests").dispatchEvent(new MouseEvent("mouseleave"))`)))
	shoot(t, ctx, "light", "status-page-local.png")
	shoot(t, ctx, "dark", "status-page-local-dark.png")
	must(t, "narrow viewport", chromedp.Do(ctx, chromedp.EmulateViewport(400, 800)))
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("at 400 px wide the page scrolls sideways by %d px", w)
	}
	shoot(t, ctx, "light", "status-page-local-narrow.png")
	must(t, "wide viewport", chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)))
	c.check(t, "while the router answered", true)

	down.Store(true)
	waitFor(t, ctx, `!document.getElementById("stale").hidden && document.body.classList.contains("stale")`)
	down.Store(false)
	waitFor(t, ctx, `document.getElementById("stale").hidden`)
	c.check(t, "while the router did not answer", false)
	mu.Lock()
	defer mu.Unlock()
	if len(queries) < 3 || queries[0] != "" || !strings.HasPrefix(queries[1], "after=") {
		t.Errorf("/api/history queries %q, want all first, then after=LAST", queries)
	}
}

// TestPageBrowserDegraded loads the page with no proxy, no self-test yet
// and a leases file that does not read: each panel says so, and the
// script throws nothing.
func TestPageBrowserDegraded(t *testing.T) {
	s := fakePageServer(t)
	s.ProxyStatus = "127.0.0.1:1"
	s.Panels.SelfTest = func() (SelfTest, bool) { return SelfTest{}, false }
	s.Panels.Leases = func() ([]Lease, error) { return nil, errors.New("open /perm/dhcp4d/leases.json: permission denied") }
	ctx, c, url := openPage(t, s.Handler())
	must(t, "navigate", chromedp.Do(ctx, chromedp.Navigate(url)))
	waitFor(t, ctx, `Number(document.body.dataset.updated) >= 2`)
	for _, q := range []string{
		`!document.getElementById("top-err").hidden && document.getElementById("top-err").textContent.includes("proxy status unavailable")`,
		`!document.getElementById("leases-err").hidden && document.getElementById("leases-err").textContent.includes("permission denied")`,
		`document.getElementById("selftest-summary").textContent === "not run yet"`,
		`document.getElementById("stale").hidden`,
		`document.querySelector('#services tr[data-service="proxy"] td.state').textContent === "running"`,
	} {
		waitFor(t, ctx, q)
	}
	c.check(t, "with panels that fail", false) // 502 and 500 are in the browser's log
}

// openPage starts h on a test server and a headless Chromium that
// watches its console; it returns the browser's context and the page's
// URL.
func openPage(t *testing.T, h http.Handler) (context.Context, *consoleWatch, string) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		lab.Unavailable(t, "no chromium for the page's browser test (apt-get install chromium)")
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.Flag("headless", "new"), chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel)
	return ctx, watchConsole(t, ctx), srv.URL + "/"
}

// consoleWatch collects the page's console errors and exceptions.
type consoleWatch struct {
	mu   sync.Mutex
	msgs []string
	net  []string
}

// watchConsole listens for the console API's errors, uncaught exceptions
// and the browser log's errors (a 404, a refused connection).
func watchConsole(t *testing.T, ctx context.Context) *consoleWatch {
	c := &consoleWatch{}
	err := chromedp.Listen(ctx, func(ev any) {
		c.mu.Lock()
		defer c.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				c.msgs = append(c.msgs, "console.error: "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			c.msgs = append(c.msgs, fmt.Sprintf("exception at %s:%d:%d: %s", d.URL, d.LineNumber, d.ColumnNumber, msg))
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				c.net = append(c.net, fmt.Sprintf("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		}
	})
	must(t, "chromedp.Listen", err)
	return c
}

// check fails on what was collected since the last check; the browser
// log's errors only when the router was meant to answer (a dropped
// connection is logged by the browser, not by the page).
func (c *consoleWatch) check(t *testing.T, when string, browserLog bool) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs {
		t.Errorf("%s: %s", when, m)
	}
	for _, m := range c.net {
		if browserLog {
			t.Errorf("%s: %s", when, m)
		} else {
			t.Logf("%s (expected): %s", when, m)
		}
	}
	c.msgs, c.net = nil, nil
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func waitFor(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second)))
	must(t, "waiting for "+expr, err)
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	must(t, "evaluating "+expr, err)
	return v
}

// shoot saves a screenshot of the whole page in scheme to build/name, in
// the repository's root.
func shoot(t *testing.T, ctx context.Context, scheme, name string) {
	t.Helper()
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
	must(t, "Emulation.setEmulatedMedia", err)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(t, "screenshot", err)
	dir := filepath.Join(repoRoot(t), "build")
	must(t, "mkdir", os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, name)
	must(t, "writing the screenshot", os.WriteFile(path, png, 0o644))
	t.Logf("screenshot (%s): %s, %d bytes", scheme, path, len(png))
}

func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	must(t, "getwd", err)
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	return dir
}
