// Package browser runs a real browser for tests: headless Chromium (Debian's
// chromium package, /usr/bin/chromium) inside a lab namespace, driven with
// chromedp over the DevTools protocol.
//
// Chromium runs in the namespace, so the pages it opens are fetched from
// there, as a LAN client's browser would; the test process stays in the
// host's namespace and reaches the DevTools endpoint through a relay (see
// relay.go). Start records every console error, uncaught exception and
// browser log error of the page (Browser.Errors) from the moment the tab
// exists.
//
// Start fails the test (under CI=true) or skips it (elsewhere) when
// chromium is missing, as lab.Unavailable does; everything it starts (the
// process group, the relay, the profile directory) goes when the test ends.
package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"

	"tprouter/qemu/lab"
)

// Chromium is the browser the package runs.
const Chromium = "/usr/bin/chromium"

// Window size of the headless browser, and so of screenshots.
const (
	Width  = 1280
	Height = 1024
)

// startTimeout bounds chromium's start (until DevTools listens and the tab
// is attached) on a busy 2-core machine that also runs QEMU.
const startTimeout = time.Minute

// Browser is one headless Chromium with one tab.
type Browser struct {
	// Started is how long chromium took from exec to an attached tab.
	Started time.Duration

	proc   *process
	relay  *relay
	tab    context.Context // the chromedp context of the tab
	cancel func()          // closes the tab and the connection

	mu   sync.Mutex
	errs []string
}

// Start starts chromium inside ns, connects to it and opens a tab. It fails
// t on error, and stops everything when t ends.
func Start(t testing.TB, ns *lab.NS) *Browser {
	t.Helper()
	lab.Require(t)
	if _, err := os.Stat(Chromium); err != nil {
		lab.Unavailable(t, Chromium+" not found: install Debian's chromium package (make deps)")
	}
	b, err := start(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.close(); err != nil {
			t.Error(err)
		}
	})
	t.Logf("browser: chromium in %s started in %.1f s", ns.Name, b.Started.Seconds())
	return b
}

// start is Start's core; on error it has stopped what it started.
func start(ns *lab.NS) (b *Browser, err error) {
	begin := time.Now()
	b = &Browser{}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if b.proc, err = startProcess(ctx, ns); err != nil {
		return b, err
	}
	if b.relay, err = newRelay(ns, b.proc.devtools.Host); err != nil {
		return b, err
	}
	ws := *b.proc.devtools
	ws.Host = b.relay.addr()
	actx, acancel := remote.NewAllocator(context.Background(), ws.String(), remote.NoModifyURL)
	tab, tcancel := chromedp.NewContext(actx, chromedp.WithListener(b.event))
	b.tab, b.cancel = tab, func() { tcancel(); acancel() }
	// The first action attaches the tab; it must not carry a timeout (that
	// would end the tab), so the start's deadline cancels it from outside.
	stop := context.AfterFunc(ctx, b.cancel)
	err = chromedp.Do(tab)
	if !stop() || err != nil {
		return b, fmt.Errorf("attaching to chromium's tab at %s (through %s): %v\nchromium's output:\n%s",
			b.proc.devtools, ws.Host, errOr(err, ctx.Err()), b.proc.output())
	}
	b.Started = time.Since(begin)
	return b, nil
}

func errOr(err, other error) error {
	if err != nil {
		return err
	}
	return other
}

// Run runs actions in the tab, in order, until ctx ends; the tab stays
// open for the next call.
func (b *Browser) Run(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) error {
	_, err := Value(ctx, b, chromedp.Steps(actions...))
	return err
}

// Value runs one action in b's tab until ctx ends and returns its value,
// as chromedp.Run does.
func Value[T any](ctx context.Context, b *Browser, a chromedp.Action[T]) (T, error) {
	rctx, cancel := context.WithCancel(b.tab)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	v, err := chromedp.Run(rctx, a)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	return v, err
}

// Screenshot saves a PNG of the whole page to path, making its directory.
func (b *Browser) Screenshot(path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	png, err := Value(ctx, b, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("screenshot for %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// close closes the tab and the connection, stops chromium and removes its
// profile. It may run on a half-started Browser.
func (b *Browser) close() error {
	if b.cancel != nil {
		b.cancel()
	}
	if b.relay != nil {
		b.relay.close()
	}
	if b.proc != nil {
		return b.proc.stop()
	}
	return nil
}
