// Package intercept is the HTTP/1 interception proxy: it serves connections
// that TPROXY diverted to it, forwarding each request to the connection's
// original destination and relaying the response, as Squid does on an
// "http_port ... tproxy" port.
//
// One goroutine serves each client connection, one request at a time, so
// pipelined requests are answered in order without any queue. The upstream
// connection is dialled lazily, after the first request head parses (a
// rejected request never reaches the server), belongs to that client
// connection alone and is kept while both sides keep alive. While a client
// connection is idle it holds no buffer and, after parkAfter, no
// goroutine: an idle keep-alive connection costs its sockets and a few
// hundred bytes.
//
// docs/proxy.md has the design: the types and files, the steps of a
// transaction, idle connections, the upstream pool, closing, moving bytes.
package intercept

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"tprouter/services/proxy/accesslog"
	"tprouter/services/proxy/domains"
	"tprouter/services/proxy/h1"
	"tprouter/services/proxy/top"
)

// Server proxies intercepted connections. Set the fields, then call Serve
// for each listener; the fields must not change after that.
type Server struct {
	// Name is this proxy's name in Via ("1.1 Name (tprouter)"). A request
	// whose Via already has it is a forwarding loop and gets 403.
	Name string
	// Dial connects to dst for a client at src: the spoofing dialer in
	// production. ctx carries the connect timeout.
	Dial func(ctx context.Context, src, dst netip.AddrPort) (net.Conn, error)
	// Log receives one line per transaction; nil logs nothing.
	Log *accesslog.Log
	// Stats are updated as connections come and go; nil allocates some.
	Stats *Stats
	// Top counts the logged transactions by host and client, for the
	// status address's /top; nil counts nothing.
	Top *top.Counter
	// Logf reports operational problems (not transactions); nil discards.
	Logf func(format string, args ...any)

	MaxConns          int           // client connections at once; 0: no limit
	MaxConnsPerClient int           // per client IP address; 0: no limit
	HeaderTimeout     time.Duration // first byte of a request head to its end
	IdleTimeout       time.Duration // keep-alive wait for the next request
	ConnectTimeout    time.Duration // upstream connect
	ReadTimeout       time.Duration // silence of either side mid-transaction
	MaxHeaderSize     int           // request and response heads; 400/431 and 502 beyond

	// Unknown is what becomes of a connection whose first bytes are
	// neither HTTP nor TLS.
	Unknown Unknown

	// SelfTestNet lists the router's self-test clients: their transactions
	// are counted in Stats.SelfTest instead of written to Log.
	SelfTestNet []netip.Prefix

	// MaxIdleUpstream is how many upstream connections are kept, idle,
	// after their client connection ended, for the same client's next
	// connection to the same destination (see pool); 0 keeps none.
	MaxIdleUpstream int
	// UpstreamIdleTimeout is how long such a connection is kept.
	UpstreamIdleTimeout time.Duration

	// dst returns the original destination of an accepted connection. It
	// is its local address (TPROXY); tests replace it to run on loopback.
	dst func(net.Conn) netip.AddrPort

	initOnce    sync.Once
	ctx         context.Context // ends dials in progress when Shutdown gives up
	cancel      context.CancelFunc
	via         []h1.Field
	works       sync.Pool     // *work
	parker      *parker       // nil: idle connections keep their goroutines
	next        chan *conn    // to a waiting worker (workers.go)
	idleWorkers atomic.Int32  // workers waiting on next
	stopWorkers chan struct{} // closed by Shutdown
	stopOnce    sync.Once
	pool        *pool // nil: no upstream connection outlives its client's
	shutdown    atomic.Bool
	mu          sync.Mutex
	listeners   map[net.Listener]struct{}
	ports       map[uint16]bool // listening ports, for loop detection
	conns       map[*conn]struct{}
	perClient   map[netip.Addr]int
	wg          sync.WaitGroup
	warned      [numKinds]atomic.Int64 // unix seconds of the last Logf per kind
	policy      atomic.Pointer[domains.Policy]
}

// Unknown is the policy for connections that are neither HTTP nor TLS,
// as Squid's on_unsupported_protocol.
type Unknown int

const (
	UnknownTunnel Unknown = iota // relay untouched to the original destination, logged TCP_TUNNEL
	UnknownReject                // close at once, logged
)

// SetPolicy puts p, the deny and allow lists, in force for the requests
// and TLS connections that start from now on; nil denies nothing. It may
// be called at any time (SIGHUP).
func (s *Server) SetPolicy(p *domains.Policy) { s.policy.Store(p) }

// denied reports whether the policy in force denies host.
func (s *Server) denied(host string) bool { return s.policy.Load().Denied(host) }

// Defaults used for zero fields.
const (
	DefaultHeaderTimeout  = 30 * time.Second
	DefaultIdleTimeout    = 2 * time.Minute // Squid's client_idle_pconn_timeout
	DefaultConnectTimeout = 10 * time.Second
	DefaultReadTimeout    = 15 * time.Minute // Squid's read_timeout
	// DefaultUpstreamIdleTimeout is Squid's server_idle_pconn_timeout.
	DefaultUpstreamIdleTimeout = time.Minute
)

func (s *Server) init() {
	s.initOnce.Do(func() {
		if s.Stats == nil {
			s.Stats = NewStats()
		}
		if s.Logf == nil {
			s.Logf = func(string, ...any) {}
		}
		if s.MaxHeaderSize <= 0 {
			s.MaxHeaderSize = h1.DefaultMaxHead
		}
		def := func(d *time.Duration, v time.Duration) {
			if *d <= 0 {
				*d = v
			}
		}
		def(&s.HeaderTimeout, DefaultHeaderTimeout)
		def(&s.IdleTimeout, DefaultIdleTimeout)
		def(&s.ConnectTimeout, DefaultConnectTimeout)
		def(&s.ReadTimeout, DefaultReadTimeout)
		def(&s.UpstreamIdleTimeout, DefaultUpstreamIdleTimeout)
		if s.Name == "" {
			s.Name = "tprouter"
		}
		s.via = []h1.Field{{Name: []byte("Via"), Value: []byte("1.1 " + s.Name + " (tprouter)")}}
		if s.dst == nil {
			s.dst = func(c net.Conn) netip.AddrPort { return addrPort(c.LocalAddr()) }
		}
		s.listeners = map[net.Listener]struct{}{}
		s.ports = map[uint16]bool{}
		s.conns = map[*conn]struct{}{}
		s.perClient = map[netip.Addr]int{}
		s.works.New = func() any { return newWork() }
		s.next, s.stopWorkers = make(chan *conn), make(chan struct{})
		s.ctx, s.cancel = context.WithCancel(context.Background())
		if s.MaxIdleUpstream > 0 {
			s.pool = newPool(s.MaxIdleUpstream, s.UpstreamIdleTimeout, &s.Stats.UpstreamIdle)
		}
		if p, err := newParker(s); err != nil {
			s.Logf("epoll_create1: %v; idle connections keep their goroutines", err)
		} else {
			s.parker = p
		}
	})
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("intercept: server closed")

// Serve accepts connections on ln until Shutdown. An accept error never
// stops it (a listener that gave up on EMFILE would leave the proxy deaf):
// it is counted, reported at most every few seconds, and retried after a
// pause that grows to a second.
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	s.mu.Lock()
	if s.shutdown.Load() {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.ports[addrPort(ln.Addr()).Port()] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()

	var pause time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shutdown.Load() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			s.fail(errAccept, "accept on %v: %v; retrying in %v", ln.Addr(), err, pause)
			time.Sleep(pause)
			continue
		}
		pause = 0
		s.admit(nc)
	}
}

// admit applies the connection limits and the loop check, then starts the
// connection's goroutine. Refused connections are closed at once: without
// a response, so a flood costs nothing more than the accept.
func (s *Server) admit(nc net.Conn) {
	s.Stats.ConnsTotal.Inc()
	client := addrPort(nc.RemoteAddr()) // unmapped
	if client.Addr().Is6() {
		s.Stats.Families[1].Inc()
	} else {
		s.Stats.Families[0].Inc()
	}
	dst := s.dst(nc)
	if s.isSelf(dst) {
		s.fail(errDstLoop, "refused %v -> %v: the destination is this proxy (forwarding loop)", client, dst)
		nc.Close()
		return
	}
	c := &conn{s: s, client: newEnd(nc), src: client, dst: dst, fd: -1, idleDeadline: time.Now().Add(s.IdleTimeout)}
	s.mu.Lock()
	switch {
	case s.shutdown.Load():
		s.mu.Unlock()
		nc.Close()
		return
	case s.MaxConns > 0 && len(s.conns) >= s.MaxConns:
		s.mu.Unlock()
		s.fail(errConnLimit, "refused %v: %d connections open (-max-conns)", client, s.MaxConns)
		nc.Close()
		return
	case s.MaxConnsPerClient > 0 && s.perClient[client.Addr()] >= s.MaxConnsPerClient:
		s.mu.Unlock()
		s.fail(errClientLimit, "refused %v: %d connections open from it (-max-conns-per-client)", client, s.MaxConnsPerClient)
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.perClient[client.Addr()]++
	s.wg.Add(1)
	s.mu.Unlock()
	s.Stats.ConnsActive.Inc()
	s.start(c)
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	a := c.src.Addr()
	if s.perClient[a]--; s.perClient[a] <= 0 {
		delete(s.perClient, a)
	}
	s.mu.Unlock()
	s.Stats.ConnsActive.Dec()
	s.wg.Done()
}

// isSelf reports whether dst is one of this proxy's listening sockets: a
// connection made to it directly would otherwise be forwarded to itself,
// again and again.
func (s *Server) isSelf(dst netip.AddrPort) bool {
	s.mu.Lock()
	listening := s.ports[dst.Port()]
	s.mu.Unlock()
	return listening && isLocal(dst.Addr())
}

// isLocal reports whether a is an address of this host, by binding a UDP
// socket to it without IP_FREEBIND: only local addresses can be bound. It
// runs only for connections to the listening port, which are rare.
func isLocal(a netip.Addr) bool {
	if a.IsLoopback() || a.IsUnspecified() {
		return true
	}
	af, sa := unix.AF_INET, unix.Sockaddr(&unix.SockaddrInet4{Addr: a.As4()})
	if a.Is6() {
		af, sa = unix.AF_INET6, &unix.SockaddrInet6{Addr: a.As16()}
	}
	fd, err := unix.Socket(af, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.Bind(fd, sa) == nil
}

// fail counts an error of kind k and reports it.
func (s *Server) fail(k kind, format string, args ...any) {
	s.Stats.Errors[k].Inc()
	s.report(k, format, args...)
}

// report passes a problem of kind k to Logf, at most once every 5 seconds
// per kind so that a flood cannot flood the log too.
func (s *Server) report(k kind, format string, args ...any) {
	now := time.Now().Unix()
	last := s.warned[k].Load()
	if now-last < 5 || !s.warned[k].CompareAndSwap(last, now) {
		return
	}
	s.Logf(format, args...)
}

// Shutdown stops accepting, closes idle connections at once and lets
// transactions in flight finish, each connection closing after its current
// response. When ctx ends first, the remaining connections are closed and
// ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.shutdown.Store(true)
	s.stopOnce.Do(func() { close(s.stopWorkers) })
	if s.parker != nil {
		s.parker.closeAll()
	}
	if s.pool != nil {
		s.pool.closeAll()
	}
	s.mu.Lock()
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.closeIfIdle()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.cancel()
	s.mu.Lock()
	n := len(s.conns)
	for c := range s.conns {
		c.abort()
	}
	s.mu.Unlock()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	return fmt.Errorf("%w: closed %d connections still busy", ctx.Err(), n)
}

// Active returns the number of client connections open now.
func (s *Server) Active() int {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
