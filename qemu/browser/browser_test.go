package browser

import (
	"context"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"tprouter/qemu/lab"
)

// pages of the tests' server: a clean one that shows who fetched it and
// updates itself from script, and pages that report errors three ways.
// Each has head in front: without an icon of its own, a browser asks for
// /favicon.ico, and the 404 is a logged error like any other.
const head = `<!doctype html><link rel="icon" href="data:,">`

var pages = map[string]string{
	"/": `<title>ok</title><p id="who">%s</p><p id="n" data-n="0"></p>
<script>let n = 0; setInterval(() => document.getElementById("n").dataset.n = ++n, 100);</script>`,
	"/console": `<title>console</title>%s<script>console.error("deliberate", 42)</script>`,
	"/throw":   `<title>throw</title>%s<script>null.x</script>`,
	"/missing": `<title>missing</title>%s<img src="/nothing.png">`,
}

// open starts a browser on the client of a lab whose server serves pages,
// and returns it with a context for the test's actions.
func open(t *testing.T) (*Browser, context.Context) {
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	serve(t, l.Server)
	b := Start(t, l.Client)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return b, ctx
}

func serve(t *testing.T, ns *lab.NS) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, head+page, r.RemoteAddr)
	})
	ns.ServeHTTP(t, ":80", h)
}

// TestPage opens a page that the lab's server serves, from the client's
// namespace through the router: the server sees the client's address, the
// page's script runs, a clean page reports no errors, and the screenshot
// is a PNG of the window's size.
func TestPage(t *testing.T) {
	b, ctx := open(t)
	start := time.Now()
	if err := b.Run(ctx, chromedp.Navigate("http://198.51.100.2/")); err != nil {
		t.Fatal(err)
	}
	t.Logf("page load: %.0f ms", time.Since(start).Seconds()*1000)
	who, err := Value(ctx, b, chromedp.Text(chromedp.ID("who")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(who, lab.ClientV4.String()+":") {
		t.Errorf("the server saw %q, want the client's %s", who, lab.ClientV4)
	}
	err = b.Run(ctx, chromedp.WaitReady(chromedp.CSS(`#n[data-n="5"]`)))
	if err != nil {
		t.Errorf("the page's script did not count to 5: %v", err)
	}
	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("a clean page reported errors:\n%s", strings.Join(errs, "\n"))
	}

	path := filepath.Join(t.TempDir(), "sub", "page.png")
	if err := b.Screenshot(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width != Width {
		t.Errorf("screenshot: %+v, %v; want a PNG %d wide", cfg, err, Width)
	}
}

// TestErrors checks that each way a page reports an error reaches Errors,
// with the text that names it.
func TestErrors(t *testing.T) {
	b, ctx := open(t)
	for _, tc := range []struct{ path, want string }{
		{"/console", "console.error: deliberate 42 (http://198.51.100.2/console:"},
		{"/throw", "exception: Uncaught TypeError: Cannot read properties of null"},
		{"/missing", "log network: Failed to load resource: the server responded with a status of 404"},
	} {
		before := len(b.Errors())
		if err := b.Run(ctx, chromedp.Navigate("http://198.51.100.2"+tc.path)); err != nil {
			t.Fatal(err)
		}
		var got []string
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			if got = b.Errors()[before:]; len(got) > 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(got) != 1 || !strings.Contains(got[0], tc.want) {
			t.Errorf("%s: errors %q, want one with %q", tc.path, got, tc.want)
		}
	}
}

// TestClose checks that closing leaves nothing behind: no process of
// chromium's group (but zombies, for init to reap), no profile directory.
func TestClose(t *testing.T) {
	l := lab.New(t, lab.Options{})
	lab.Require(t)
	if _, err := os.Stat(Chromium); err != nil {
		lab.Unavailable(t, Chromium+" not found")
	}
	b, err := start(l.Client)
	if err != nil {
		t.Fatal(err)
	}
	pgid, dir := b.proc.cmd.Process.Pid, b.proc.dir
	if err := b.close(); err != nil {
		t.Fatal(err)
	}
	if pids := alive(pgid); len(pids) > 0 {
		t.Errorf("chromium's process group %d after close: %v still run", pgid, pids)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("profile %s after close: %v, want it gone", dir, err)
	}
}
