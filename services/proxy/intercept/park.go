package intercept

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// parkAfter is how long an idle client connection keeps its goroutine.
// Busy keep-alive connections (a load generator's, a browser loading a
// page) never wait that long between requests; those that do are parked.
const parkAfter = 200 * time.Millisecond

// parker holds idle client connections without a goroutine each: one
// goroutine waits in epoll_wait(2) for all of them and starts a goroutine
// again for each that becomes readable (see "Idle connections and the
// parker" in docs/proxy.md).
type parker struct {
	s      *Server
	epfd   int
	mu     sync.Mutex
	idle   map[int32]*conn
	closed bool
}

func newParker(s *Server) (*parker, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	p := &parker{s: s, epfd: fd, idle: map[int32]*conn{}}
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
	if err := unix.EpollCtl(p.epfd, op, int(c.fd), &ev); err != nil {
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
// idle timeout passed, checking timeouts twice a second.
func (p *parker) run() {
	defer unix.Close(p.epfd)
	events := make([]unix.EpollEvent, 256)
	var ready, expired []*conn
	sweep := time.Now()
	for {
		n, err := unix.EpollWait(p.epfd, events, 500)
		if err != nil && err != unix.EINTR {
			p.s.fail(errAccept, "epoll_wait: %v", err)
			time.Sleep(100 * time.Millisecond)
		}
		now := time.Now()
		ready, expired = ready[:0], expired[:0]
		p.mu.Lock()
		for _, ev := range events[:max(n, 0)] {
			if c := p.idle[ev.Fd]; c != nil {
				delete(p.idle, ev.Fd)
				ready = append(ready, c)
			}
		}
		if now.Sub(sweep) >= 500*time.Millisecond {
			sweep = now
			for fd, c := range p.idle {
				if !now.Before(c.idleDeadline) {
					delete(p.idle, fd)
					expired = append(expired, c)
				}
			}
		}
		closed := p.closed
		p.mu.Unlock()
		for _, c := range ready {
			p.s.start(c)
		}
		for _, c := range expired {
			c.finish()
		}
		clear(ready)
		clear(expired)
		if closed {
			return
		}
	}
}

// closeAll closes every parked connection and makes park refuse more.
func (p *parker) closeAll() {
	p.mu.Lock()
	p.closed = true
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
