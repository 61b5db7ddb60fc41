package intercept

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestWorkers: after a burst of connections, maxIdleWorkers of their
// goroutines wait for the next connections and the rest end; the next
// connection goes to a waiting one; Shutdown ends those waiting.
func TestWorkers(t *testing.T) {
	o := httpOrigin(t, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	h := newProxy(t, o.addr)
	const burst = maxIdleWorkers + 72
	cs := make([]net.Conn, burst)
	for i := range cs {
		cs[i] = h.dial(t)
	}
	waitFor(t, "every connection admitted", func() bool { return h.s.Active() == burst })
	for _, c := range cs {
		c.Close()
	}
	idle := func() int32 { return h.s.idleWorkers.Load() }
	waitFor(t, "the burst's workers idle", func() bool { return h.s.Active() == 0 && idle() == maxIdleWorkers })

	c := h.dial(t)
	waitFor(t, "a waiting worker serving the next connection", func() bool { return idle() == maxIdleWorkers-1 })
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := get(t, bufio.NewReader(c), "GET"); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("%s %q", resp.Status, body)
	}
	c.Close()
	waitFor(t, "the worker idle again", func() bool { return idle() == maxIdleWorkers })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "no worker left after Shutdown", func() bool { return idle() == 0 })
}
