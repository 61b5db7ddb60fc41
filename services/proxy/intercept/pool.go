package intercept

import (
	"bytes"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"tprouter/internal/ascii"
	"tprouter/services/proxy/h1"
	pm "tprouter/services/proxy/metrics"
)

// pool keeps upstream connections that outlived their client connection
// for the next client connection from the same address to the same
// destination, and only for requests that may be sent twice (see
// "Upstream connections and the pool" in docs/proxy.md).
type pool struct {
	mu      sync.Mutex
	idle    map[poolKey][]upstream // per key, oldest first
	n       int
	max     int
	timeout time.Duration
	closed  bool
	timer   *time.Timer // sweeps expired connections while any are idle
	gauge   *pm.Gauge   // follows n
}

type poolKey struct {
	client netip.Addr
	dst    netip.AddrPort
}

func newPool(max int, timeout time.Duration, g *pm.Gauge) *pool {
	return &pool{idle: map[poolKey][]upstream{}, max: max, timeout: timeout, gauge: g}
}

// get returns the most recently used idle connection for k, the
// likeliest to be still open, unless it has expired; then so have the
// others for k, and they are closed.
func (p *pool) get(k poolKey, now time.Time) (upstream, bool) {
	p.mu.Lock()
	l := p.idle[k]
	if len(l) == 0 {
		p.mu.Unlock()
		return upstream{}, false
	}
	e := l[len(l)-1]
	if now.Sub(e.last) >= p.timeout {
		delete(p.idle, k)
		p.n -= len(l)
		p.gauge.Add(int64(-len(l)))
		p.mu.Unlock()
		for _, e := range l {
			retire(e.nc)
		}
		return upstream{}, false
	}
	l[len(l)-1] = upstream{}
	p.store(k, l[:len(l)-1])
	p.n--
	p.gauge.Dec()
	p.mu.Unlock()
	return e, true
}

func (p *pool) store(k poolKey, l []upstream) {
	if len(l) == 0 {
		delete(p.idle, k)
	} else {
		p.idle[k] = l
	}
}

// perKey bounds the idle connections kept for one client and destination,
// so that one client's burst cannot fill the pool for everyone.
const perKey = 64

// put keeps e for k. It reports false, leaving e to the caller to close,
// when the pool is closed. A full pool (max, or perKey for k) makes room
// by retiring an older idle connection: k's oldest, or when the pool as a
// whole is full, the oldest of another key (the first the map yields), so
// that the newest connections, the likeliest to be asked for, are kept.
func (p *pool) put(k poolKey, e upstream) bool {
	p.mu.Lock()
	if p.closed || p.max <= 0 {
		p.mu.Unlock()
		return false
	}
	var evicted net.Conn
	switch {
	case len(p.idle[k]) >= min(perKey, p.max):
		evicted = p.dropOldest(k)
	case p.n >= p.max:
		for other := range p.idle {
			evicted = p.dropOldest(other)
			break
		}
	}
	p.idle[k] = append(p.idle[k], e)
	p.n++
	p.gauge.Inc()
	if p.timer == nil {
		p.timer = time.AfterFunc(p.timeout/2, p.sweep)
	}
	p.mu.Unlock()
	if evicted != nil {
		retire(evicted)
	}
	return true
}

// dropOldest removes k's oldest idle connection and returns it, to be
// retired outside the lock.
func (p *pool) dropOldest(k poolKey) net.Conn {
	l := p.idle[k]
	if len(l) == 0 {
		return nil
	}
	nc := l[0].nc
	l[0] = upstream{}
	p.store(k, l[1:])
	p.n--
	p.gauge.Dec()
	return nc
}

// sweep closes the connections idle for longer than the timeout, checking
// every half timeout while any are left.
func (p *pool) sweep() {
	now := time.Now()
	var expired []net.Conn
	p.mu.Lock()
	for k, l := range p.idle {
		i := 0
		for i < len(l) && now.Sub(l[i].last) >= p.timeout {
			expired = append(expired, l[i].nc)
			i++
		}
		if i > 0 {
			p.n -= i
			p.gauge.Add(int64(-i))
			p.store(k, slices.Delete(l, 0, i))
		}
	}
	if p.n > 0 && !p.closed {
		p.timer.Reset(p.timeout / 2)
	} else {
		p.timer = nil
	}
	p.mu.Unlock()
	for _, nc := range expired {
		retire(nc)
	}
}

// closeAll closes the idle connections and refuses new ones.
func (p *pool) closeAll() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle, p.n = map[poolKey][]upstream{}, 0
	p.gauge.Set(0)
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.mu.Unlock()
	for _, l := range idle {
		for _, e := range l {
			retire(e.nc)
		}
	}
}

// retire closes an idle upstream connection with a reset rather than a
// FIN (SO_LINGER 0), so the router keeps no TIME_WAIT socket with the
// client's address (see "Closing" in docs/proxy.md).
func retire(nc net.Conn) {
	if t, ok := nc.(interface{ SetLinger(int) error }); ok {
		t.SetLinger(0)
	}
	nc.Close()
}

// reusable reports whether a request may go on a pooled connection: one
// that can be sent again should the connection turn out to be closed.
func reusable(r *h1.Request) bool {
	return r.Body() == h1.BodyNone && idempotent(r.Method)
}

// pins reports whether fs (a request's or a response's fields) carry
// connection-oriented authentication, which authenticates the TCP
// connection rather than the request: such a connection must never
// serve another client connection.
func pins(fs []h1.Field) bool {
	for _, f := range fs {
		if !ascii.EqualFold(f.Name, "Authorization") && !ascii.EqualFold(f.Name, "WWW-Authenticate") {
			continue
		}
		for v := f.Value; len(v) > 0; {
			var elem []byte
			elem, v = cutComma(v)
			if scheme, _, _ := cutSpace(bytes.Trim(elem, " \t")); ascii.EqualFold(scheme, "NTLM") || ascii.EqualFold(scheme, "Negotiate") {
				return true
			}
		}
	}
	return false
}

func cutSpace(b []byte) (before, after []byte, found bool) {
	for i, c := range b {
		if c == ' ' || c == '\t' {
			return b[:i], b[i+1:], true
		}
	}
	return b, nil, false
}
