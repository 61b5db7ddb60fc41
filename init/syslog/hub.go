package syslog

import (
	"context"
	"net"
	"time"

	"tprouter/init/config"
)

// Options are the seams of Start; the zero value is what init uses.
type Options struct {
	// Dial connects to a collector; nil: net.Dialer's DialContext.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logf reports outages, recoveries and drops; nil: nothing.
	Logf func(format string, args ...any)
	// Queue is each collector's queue length; 0: Queue.
	Queue int
}

// Hub fans lines out to the collectors' queues.
type Hub struct {
	host    string
	senders []*sender
	cancel  context.CancelFunc
	done    chan struct{}
}

// Start starts a sender for each collector, as host.
func Start(host string, cs []config.Collector, o Options) *Hub {
	if o.Dial == nil {
		o.Dial = (&net.Dialer{}).DialContext
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Queue <= 0 {
		o.Queue = Queue
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{host: host, cancel: cancel, done: make(chan struct{})}
	n := len(cs)
	fin := make(chan struct{}, n)
	for _, c := range cs {
		s := &sender{c: c, q: newQueue(o.Queue), dial: o.Dial, logf: o.Logf}
		h.senders = append(h.senders, s)
		go func() { s.run(ctx); fin <- struct{}{} }()
	}
	go func() {
		for range n {
			<-fin
		}
		close(h.done)
	}()
	return h
}

// Offer queues a line from src, printed at t, for every collector. An
// access log line (AppName) goes with its own time, as in OfferAccess:
// the proxy's output reaches the console in batches. It never blocks;
// its signature is console.Tee's.
func (h *Hub) Offer(src string, t time.Time, line string) {
	app := AppName(src, line)
	if app == "access" {
		t = accessTime(line)
	}
	m := Format(h.host, app, t, line)
	for _, s := range h.senders {
		s.q.push(m)
	}
}

// OfferAccess queues an access log line read from the proxy's file, as
// app "access", with the line's own time.
func (h *Hub) OfferAccess(line string) {
	m := Format(h.host, "access", accessTime(line), line)
	for _, s := range h.senders {
		s.q.push(m)
	}
}

// Close stops the senders, dropping what is still queued, and waits for
// them.
func (h *Hub) Close() {
	h.cancel()
	<-h.done
}
