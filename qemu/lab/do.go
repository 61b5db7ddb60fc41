package lab

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/vishvananda/netns"
)

// Do runs fn on an OS thread that has entered ns. Sockets that fn creates
// belong to ns for their whole life, so fn may return a listener or a
// connection that other goroutines then use. Goroutines that fn starts do
// not run in ns.
func (ns *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: it ends with this goroutine
		// instead of going back to the scheduler in the wrong namespace.
		runtime.LockOSThread()
		h, err := netns.GetFromName(ns.Name)
		if err != nil {
			errc <- fmt.Errorf("netns.GetFromName(%q): %w", ns.Name, err)
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- fmt.Errorf("netns.Set(%q): %w", ns.Name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// ListenErr opens a listener inside ns.
func (ns *NS) ListenErr(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := ns.Do(func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("in %s: listen %s %s: %w", ns.Name, network, addr, err)
	}
	return ln, nil
}

// DialContext connects from inside ns.
func (ns *NS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := ns.Do(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// HTTPClient returns a client whose connections start inside ns. It keeps
// no idle connections, so each test request is visible on its own.
func (ns *NS) HTTPClient() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext:       ns.DialContext,
			DisableKeepAlives: true,
			Proxy:             nil,
		},
	}
}

// ServeHTTPErr serves h on addr inside ns until the returned server is
// closed, and returns the listener's address.
func (ns *NS) ServeHTTPErr(addr string, h http.Handler) (*http.Server, net.Addr, error) {
	ln, err := ns.ListenErr("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return srv, ln.Addr(), nil
}

// EchoAddr is a handler that answers with the client's address as the
// server sees it ("ip:port"), so tests can check spoofing and NAT.
var EchoAddr = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprint(w, r.RemoteAddr)
})
