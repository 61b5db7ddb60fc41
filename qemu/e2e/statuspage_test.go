package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"tprouter/qemu"
	"tprouter/qemu/browser"
	"tprouter/qemu/lab"
)

const (
	// statusTimeout bounds the page's load and the wait for its graphs
	// to move twice (the script polls every 2 s).
	statusTimeout = 30 * time.Second
	// screenshot is where checkStatusPage saves the page, from the
	// module's root (the tests run in qemu/e2e).
	screenshot = "../../build/status-page.png"
)

// checkStatusPage opens the status page in a real browser on the client
// of a router booted with tprouter.lan.addr=192.0.2.1/24, after the client
// took a DHCP lease and fetched http://198.51.100.2/ through the proxy:
// the page's script moves the graphs, the panels show the client's lease,
// the running proxy, the request's host and where the LAN address came
// from, the console stays clean, and build/status-page.png shows it.
func checkStatusPage(t *testing.T, l *lab.Lab, _ *qemu.VM) {
	t.Helper()
	mac, addr := clientLink(t, l.Client)
	b := browser.Start(t, l.Client)
	ctx, cancel := context.WithTimeout(t.Context(), statusTimeout)
	defer cancel()
	start := time.Now()
	if err := b.Run(ctx, chromedp.Navigate(statusURL+"/")); err != nil {
		t.Fatalf("opening %s/ in chromium: %v", statusURL, err)
	}
	t.Logf("status page: loaded in %.0f ms", time.Since(start).Seconds()*1000)
	defer saveScreenshot(t, b)
	defer func() {
		if t.Failed() {
			logAPI(t, l.Client)
		}
	}()
	stop := traffic(l.Client, "http://198.51.100.2/")
	waitGraphs(ctx, t, b)
	stop()
	// The panels are checked also when the graphs did not move, with a
	// context of their own: the tables are there without the script.
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	p, err := browser.Value(ctx, b, chromedp.Evaluate[panels](panelsJS))
	if err != nil {
		t.Fatalf("reading the panels: %v", err)
	}
	p.check(t, mac, addr)
	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("the status page reported errors:\n%s", strings.Join(errs, "\n"))
	}
}

// traffic GETs url from ns every 50 ms, at most 400 times, until stop
// is called, so that the graphs have something to draw (and the
// screenshot shows it); stop waits for the last request.
func traffic(ns *lab.NS, url string) (stop func()) {
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for range 400 {
			select {
			case <-quit:
				return
			case <-tick.C:
				tryGet(ns, url)
			}
		}
	}()
	return func() { close(quit); <-done }
}

// logAPI logs the router's answers for the panels checkStatusPage reads,
// to tell a page that renders them wrong from an API that serves them
// wrong. (qemu.Boot logs the router's console when a test fails.)
func logAPI(t *testing.T, ns *lab.NS) {
	t.Helper()
	for _, p := range []string{"history", "leases", "services", "top", "config"} {
		body, err := tryGet(ns, statusURL+"/api/"+p)
		if len(body) > 2000 {
			body = body[:2000] + "..."
		}
		t.Logf("GET /api/%s: %v %s", p, err, body)
	}
}

// clientLink returns the MAC of the client's link and its IPv4 address
// (from the router's DHCP server).
func clientLink(t *testing.T, ns *lab.NS) (mac string, addr netip.Addr) {
	t.Helper()
	err := ns.Do(func() error {
		ifc, err := net.InterfaceByName(lab.ClientIf)
		if err != nil {
			return err
		}
		mac = ifc.HardwareAddr.String()
		as, err := ifc.Addrs()
		for _, a := range as {
			if p, err := netip.ParsePrefix(a.String()); err == nil && lab.LANv4.Contains(p.Addr()) {
				addr = p.Addr()
			}
		}
		return err
	})
	if err != nil || !addr.IsValid() {
		t.Fatalf("the client's %s: MAC %q, no address in %s: %v", lab.ClientIf, mac, lab.LANv4, err)
	}
	return mac, addr
}

// graphsJS is the data-last of every svg.graph, or null without one.
const graphsJS = `(() => {
	const gs = [...document.querySelectorAll("svg.graph")];
	return gs.length ? gs.map(g => g.id + "=" + g.getAttribute("data-last")).join(" ") : null;
})()`

// waitGraphs waits until the graphs' data-last attributes have changed at
// least twice: the page's script polled /api/history and drew new points.
func waitGraphs(ctx context.Context, t *testing.T, b *browser.Browser) {
	t.Helper()
	start := time.Now()
	var seen []string
	for len(seen) < 3 {
		last, err := browser.Value(ctx, b, chromedp.Evaluate[*string](graphsJS))
		if err != nil {
			t.Errorf("graphs moved %d times in %v (data-last: %q), want 2: %v", max(len(seen)-1, 0), time.Since(start).Round(time.Second), seen, err)
			return
		}
		if last == nil {
			text, _ := browser.Value(ctx, b, chromedp.Evaluate[string](`document.body.innerText.slice(0, 500)`))
			t.Fatalf(`%s/ has no <svg class="graph"> (the page contract's graphs); the page starts:%s`, statusURL, "\n"+text)
		}
		if len(seen) == 0 || seen[len(seen)-1] != *last {
			seen = append(seen, *last)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("status page: graphs moved twice in %.1f s (data-last: %q)", time.Since(start).Seconds(), seen)
}

// panels is what checkStatusPage reads of the page's tables.
type panels struct {
	Leases     [][]string `json:"leases"` // cells of #leases tr[data-mac], the MAC first
	ProxyState *string    `json:"proxyState"`
	Hosts      []string   `json:"hosts"`
	LANAddr    []string   `json:"lanAddr"` // cells of the tprouter.lan.addr row
	Updated    string     `json:"updated"`
}

const panelsJS = `(() => {
	const cells = tr => [...tr.querySelectorAll("td")].map(td => td.textContent.trim());
	const all = sel => [...document.querySelectorAll(sel)];
	const state = document.querySelector('#services tr[data-service="proxy"] .state');
	const lan = document.querySelector('#config tr[data-key="tprouter.lan.addr"]');
	return {
		leases: all("#leases tr[data-mac]").map(tr => [tr.dataset.mac, ...cells(tr)]),
		proxyState: state ? state.textContent.trim() : null,
		hosts: all("#top-hosts tr[data-name]").map(tr => tr.dataset.name),
		lanAddr: lan ? cells(lan) : [],
		updated: document.body.dataset.updated || "",
	};
})()`

// check compares the panels with what the test did.
func (p panels) check(t *testing.T, mac string, addr netip.Addr) {
	t.Helper()
	if !slices.ContainsFunc(p.Leases, func(row []string) bool {
		return row[0] == mac && slices.Contains(row[1:], addr.String())
	}) {
		t.Errorf("#leases has no row data-mac=%q with the client's %s: %q", mac, addr, p.Leases)
	}
	if p.ProxyState == nil || *p.ProxyState != "running" {
		t.Errorf(`#services tr[data-service="proxy"] .state = %s, want "running"`, quoted(p.ProxyState))
	}
	host := lab.ServerV4.String()
	if !slices.ContainsFunc(p.Hosts, func(n string) bool { return n == host || strings.HasPrefix(n, host+":") }) {
		t.Errorf("#top-hosts has no row for the request's host %s: %q", host, p.Hosts)
	}
	if want := []string{"tprouter.lan.addr", "192.0.2.1/24", "kernel command line"}; !slices.Equal(p.LANAddr, want) {
		t.Errorf(`#config tr[data-key="tprouter.lan.addr"] cells %q, want %q`, p.LANAddr, want)
	}
	if p.Updated == "" || p.Updated == "0" {
		t.Errorf("body data-updated = %q: the script applied no poll", p.Updated)
	}
}

func quoted(s *string) string {
	if s == nil {
		return "no such element"
	}
	return fmt.Sprintf("%q", *s)
}

// saveScreenshot saves the page to build/status-page.png, also when the
// checks failed (that is when it helps most).
func saveScreenshot(t *testing.T, b *browser.Browser) {
	path, err := filepath.Abs(screenshot)
	if err == nil {
		err = b.Screenshot(path)
	}
	if err != nil {
		t.Errorf("saving the status page's screenshot: %v", err)
		return
	}
	t.Logf("status page: screenshot in %s", path)
}
