package intercept

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// parkAfter is how long an idle client connection keeps its goroutine.
// Busy keep-alive connections (a load generator's, a browser loading a
// page) never wait that long between requests; those that do are parked.
const parkAfter = 200 * time.Millisecond

// sweepEvery is how often the parker closes connections whose idle
// timeout has passed.
const sweepEvery = 500 * time.Millisecond

// parker holds idle client connections without a goroutine each: one
// goroutine waits for all of them on an epoll descriptor of its own and
// starts a goroutine again for each that becomes readable (see "Idle
// connections and the parker" in docs/proxy.md).
//
// That descriptor is itself registered with Go's poller (os.NewFile of a
// non-blocking epoll descriptor), and the parker collects its events with
// epoll_wait(2) of timeout 0 when the poller says it is readable. A
// blocking epoll_wait would keep the goroutine's P in the system call
// until sysmon takes it back, up to 10 ms in which no other connection
// runs with GOMAXPROCS=1.
type parker struct {
	s      *Server
	ep     *os.File        // the epoll descriptor; closed by closeAll
	rc     syscall.RawConn // ep's, for epoll_ctl and epoll_wait
	mu     sync.Mutex
	idle   map[int32]*conn
	closed bool

	// wait's, the run goroutine's alone; collect is made once, since a
	// RawConn callback that keeps state is an allocation each time.
	events   []unix.EpollEvent
	n        int
	errno    error
	collect  func(fd uintptr) bool
	deadline time.Time // last set on ep
}

func newParker(s *Server) (*parker, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	ep := os.NewFile(uintptr(fd), "parker-epoll")
	rc, err := ep.SyscallConn()
	if err != nil {
		ep.Close()
		return nil, err
	}
	p := &parker{s: s, ep: ep, rc: rc, idle: map[int32]*conn{}, events: make([]unix.EpollEvent, 256)}
	p.collect = func(fd uintptr) bool {
		for {
			p.n, p.errno = unix.EpollWait(int(fd), p.events, 0)
			if p.errno != unix.EINTR {
				return p.n > 0 || p.errno != nil
			}
		}
	}
	go p.run()
	return p, nil
}

// park hands c to the parker. It reports false, leaving c to its
// goroutine, after close or when epoll refuses the descriptor.
func (p *parker) park(c *conn) bool {
	op := unix.EPOLL_CTL_MOD
	if !c.inEpoll {
		op = unix.EPOLL_CTL_ADD
	}
	c.inEpoll = true
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	p.idle[c.fd] = c
	p.mu.Unlock()
	// From here on c belongs to the parker: it may be resumed at once.
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: c.fd}
	var err error
	if cerr := p.rc.Control(func(fd uintptr) { err = unix.EpollCtl(int(fd), op, int(c.fd), &ev) }); cerr != nil {
		err = cerr // closed by closeAll
	}
	if err != nil {
		p.mu.Lock()
		_, mine := p.idle[c.fd]
		delete(p.idle, c.fd)
		p.mu.Unlock()
		if mine {
			c.inEpoll = op == unix.EPOLL_CTL_MOD
			return false
		}
		// Taken by closeAll meanwhile: it is closing c.
	}
	return true
}

// run resumes connections that became readable and closes those whose
// idle timeout passed, checking timeouts every sweepEvery. It ends when
// closeAll closes the epoll descriptor.
func (p *parker) run() {
	var ready, expired []*conn
	sweep := time.Now()
	for {
		n, err := p.wait(sweep.Add(sweepEvery))
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			p.mu.Lock()
			closed := p.closed
			p.mu.Unlock()
			if closed {
				return
			}
			p.s.fail(errAccept, "epoll_wait: %v", err)
			time.Sleep(100 * time.Millisecond)
		}
		now := time.Now()
		ready, expired = ready[:0], expired[:0]
		p.mu.Lock()
		for _, ev := range p.events[:n] {
			if c := p.idle[ev.Fd]; c != nil {
				delete(p.idle, ev.Fd)
				ready = append(ready, c)
			}
		}
		if now.Sub(sweep) >= sweepEvery {
			sweep = now
			for fd, c := range p.idle {
				if !now.Before(c.idleDeadline) {
					delete(p.idle, fd)
					expired = append(expired, c)
				}
			}
		}
		p.mu.Unlock()
		for _, c := range ready {
			p.s.start(c)
		}
		for _, c := range expired {
			c.finish()
		}
		clear(ready)
		clear(expired)
	}
}

// wait collects the events waiting on the parker's epoll descriptor into
// p.events, waiting in Go's poller until there are some or until the
// deadline (then os.ErrDeadlineExceeded).
func (p *parker) wait(deadline time.Time) (int, error) {
	if !deadline.Equal(p.deadline) {
		if err := p.ep.SetReadDeadline(deadline); err != nil {
			return 0, err
		}
		p.deadline = deadline
	}
	p.n, p.errno = 0, nil
	err := p.rc.Read(p.collect)
	if err == nil {
		err = p.errno
	}
	return max(p.n, 0), err
}

// closeAll closes every parked connection and makes park refuse more.
func (p *parker) closeAll() {
	p.mu.Lock()
	p.closed = true
	p.ep.Close() // ends run; park's epoll_ctl fails from here on
	cs := make([]*conn, 0, len(p.idle))
	for fd, c := range p.idle {
		delete(p.idle, fd)
		cs = append(cs, c)
	}
	p.mu.Unlock()
	for _, c := range cs {
		c.finish()
	}
}
