package browser

import (
	"context"
	"io"
	"net"
	"sync"
	"time"

	"tprouter/qemu/lab"
)

// relay listens on the host's loopback and connects each connection to
// target (host:port) on the loopback of a namespace, so that chromedp in
// the host's namespace reaches DevTools inside it.
type relay struct {
	ln     net.Listener
	ns     *lab.NS
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]bool
}

func newRelay(ns *lab.NS, target string) (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &relay{ln: ln, ns: ns, target: target, conns: map[net.Conn]bool{}}
	r.wg.Go(r.accept)
	return r, nil
}

// addr is the relay's host:port.
func (r *relay) addr() string { return r.ln.Addr().String() }

func (r *relay) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.wg.Go(func() { r.serve(c) })
	}
}

// serve copies between c and a new connection to the target until either
// side ends.
func (r *relay) serve(c net.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	in, err := r.ns.DialContext(ctx, "tcp", r.target)
	cancel()
	if err != nil {
		c.Close()
		return
	}
	if !r.track(c, in) {
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(in, c); done <- struct{}{} }()
	go func() { io.Copy(c, in); done <- struct{}{} }()
	<-done
	c.Close()
	in.Close()
	<-done
	r.mu.Lock()
	delete(r.conns, c)
	delete(r.conns, in)
	r.mu.Unlock()
}

// track records the connections for close, or closes them when the relay
// is closed already.
func (r *relay) track(cs ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns == nil {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		r.conns[c] = true
	}
	return true
}

// close stops listening, ends the open connections and waits for their
// goroutines.
func (r *relay) close() {
	r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.conns = nil
	r.mu.Unlock()
	r.wg.Wait()
}
