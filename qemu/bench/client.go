package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"tprouter/qemu/lab"
)

// getOnce fetches url from ns on a fresh connection and checks the status
// and the body's length.
func getOnce(ns *lab.NS, url string, wantLen int) error {
	resp, err := ns.HTTPClient().Get(url)
	if err != nil {
		return fmt.Errorf("in %s: GET %s: %w", ns.Name, url, err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return fmt.Errorf("in %s: GET %s: reading body: %w", ns.Name, url, err)
	}
	if resp.StatusCode != http.StatusOK || n != int64(wantLen) {
		return fmt.Errorf("in %s: GET %s: %s with %d bytes, want 200 OK with %d", ns.Name, url, resp.Status, n, wantLen)
	}
	return nil
}

// request is what the idle workload and the checks send: the 1 KiB file,
// keep-alive.
func request(host string) string {
	return "GET /1k HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: tprouter-bench\r\n\r\n"
}

// exchange sends one request on c and reads the whole response within
// timeout.
func exchange(c net.Conn, host string, timeout time.Duration) error {
	c.SetDeadline(time.Now().Add(timeout))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, request(host)); err != nil {
		return fmt.Errorf("write request to %s: %w", c.RemoteAddr(), err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return fmt.Errorf("read response from %s: %w", c.RemoteAddr(), err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("read body from %s: %w", c.RemoteAddr(), err)
	}
	if resp.StatusCode != http.StatusOK || resp.Close {
		return fmt.Errorf("response from %s: %s (close=%v), want 200 keep-alive", c.RemoteAddr(), resp.Status, resp.Close)
	}
	return nil
}

// routerSockets counts established TCP sockets in the router namespace.
// Forwarding creates none, so this tells an intercepted connection from a
// forwarded one: the tproxy rule silently falls back to forwarding when no
// proxy listens, and a benchmark of a dead proxy would measure direct.
func routerSockets(r *lab.NS) (int, error) {
	out, err := r.Command("ss", "-Htn", "state", "established").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("in %s: ss -Htn state established: %v: %s", r.Name, err, out)
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(line) != "" {
			n++
		}
	}
	return n, nil
}

// checkPath opens a keep-alive connection to the origin's address through
// the router and checks that it is intercepted exactly when want says so.
func checkPath(ctx context.Context, l *lab.Lab, addr string, want bool) error {
	c, err := l.Client.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("in %s: dial %s: %w", l.Client.Name, addr, err)
	}
	defer c.Close()
	host, _, _ := net.SplitHostPort(addr)
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if err := exchange(c, host, 10*time.Second); err != nil {
		return err
	}
	n, err := routerSockets(l.Router)
	if err != nil {
		return err
	}
	if got := n > 0; got != want {
		return fmt.Errorf("connection to %s: intercepted=%v (%d sockets in the router), want %v", addr, got, n, want)
	}
	return nil
}

// idleResult is the outcome of the idle-connections workload.
type idleResult struct {
	// Tried is how many connections the workload opens; Conns how many
	// were open while RSS was read; Failed how many did not get their
	// answer.
	Tried  int `json:"tried"`
	Conns  int `json:"conns"`
	Failed int `json:"failed,omitempty"`
	// RSSBefore is the proxy's resident memory before the connections
	// open, RSS with them open and idle.
	RSSBefore int64 `json:"rss_before_bytes"`
	RSS       int64 `json:"rss_bytes"`
	// RouterSockets counts established sockets in the router while the
	// connections idle: two per connection for a proxy.
	RouterSockets int     `json:"router_sockets"`
	OpenSeconds   float64 `json:"open_seconds"`
	FirstError    string  `json:"first_error,omitempty"`
}

// idleWorkers is how many OS threads open the idle connections; each must
// enter the client namespace, so they are few and long-lived.
const idleWorkers = 8

// idleTimeout bounds one connection's dial and exchange: room for two
// SYN retransmissions, short enough that a few lost connections do not
// stall the workload.
const idleExchangeTimeout = 5 * time.Second

// errIdle is returned, with the figures, when some connections failed but
// few enough (under 1%) for the memory figure to stand, flagged.
var errIdle = errors.New("idle workload")

// idleConns opens n connections from the client namespace to addr, sends
// one request on each and reads the answer, then lets them idle for
// settle and reads the proxy's resident memory; then it calls hook, if
// any (the profile pass takes a heap profile). All connections are closed
// before it returns. Up to 1% of the connections may fail (the figure is
// then returned with an error wrapping errIdle); more end the workload.
func idleConns(ctx context.Context, l *lab.Lab, p *proc, addr string, n int, settle time.Duration, hook func()) (idleResult, error) {
	res := idleResult{Tried: n}
	var err error
	if res.RSSBefore, err = p.rssBytes(); err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	o := &idleOpener{addr: addr, maxFailed: n / 100, cancel: cancel}
	defer o.closeAll()
	start := time.Now()
	o.openAll(ctx, l.Client, n)
	res.OpenSeconds = time.Since(start).Seconds()
	res.Conns, res.Failed = len(o.conns), o.failed
	if o.first != nil {
		res.FirstError = o.first.Error()
	}
	if o.failed > o.maxFailed || (ctx.Err() != nil && len(o.conns)+o.failed < n) {
		return res, fmt.Errorf("%w: %d of %d connections opened, %d failed, first: %v; %s ends with:\n%s",
			errIdle, len(o.conns), n, o.failed, o.first, p.log, tail(p.log, 10))
	}
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	if p.exited() {
		return res, p.failure()
	}
	if res.RSS, err = p.rssBytes(); err != nil {
		return res, err
	}
	if res.RouterSockets, err = routerSockets(l.Router); err != nil {
		return res, err
	}
	if hook != nil {
		hook()
	}
	if o.failed > 0 {
		return res, fmt.Errorf("%w: %d of %d connections failed (figure kept, from %d), first: %v", errIdle, o.failed, n, len(o.conns), o.first)
	}
	return res, nil
}

// idleOpener opens the idle workload's connections and counts those that
// fail; past maxFailed it cancels the workload.
type idleOpener struct {
	addr      string
	maxFailed int
	cancel    context.CancelFunc

	mu     sync.Mutex
	conns  []net.Conn
	failed int
	first  error
}

// openAll opens n connections from idleWorkers threads in ns and returns
// when all are open or failed, or ctx ends.
func (o *idleOpener) openAll(ctx context.Context, ns *lab.NS, n int) {
	var wg sync.WaitGroup
	for w := range idleWorkers {
		count := n / idleWorkers
		if w < n%idleWorkers {
			count++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Do pins this goroutine to a thread in the namespace;
			// sockets made there stay in it.
			ns.Do(func() error { o.open(ctx, count); return nil })
		}()
	}
	wg.Wait()
}

// open opens count connections one after the other, each with one
// exchange, until ctx ends or too many failed.
func (o *idleOpener) open(ctx context.Context, count int) {
	host, _, _ := net.SplitHostPort(o.addr)
	d := net.Dialer{Timeout: idleExchangeTimeout}
	for range count {
		c, err := d.DialContext(ctx, "tcp", o.addr)
		if err != nil {
			if ctx.Err() != nil || !o.fail(fmt.Errorf("dial %s: %w", o.addr, err)) {
				return
			}
			continue
		}
		if err := exchange(c, host, idleExchangeTimeout); err != nil {
			c.Close()
			if !o.fail(err) {
				return
			}
			continue
		}
		o.mu.Lock()
		o.conns = append(o.conns, c)
		o.mu.Unlock()
	}
}

// fail records a failed connection and says whether to go on.
func (o *idleOpener) fail(err error) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failed++
	if o.first == nil {
		o.first = err
	}
	if o.failed > o.maxFailed {
		o.cancel()
		return false
	}
	return true
}

func (o *idleOpener) closeAll() {
	for _, c := range o.conns {
		c.Close()
	}
}
