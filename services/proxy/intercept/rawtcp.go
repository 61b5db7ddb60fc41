package intercept

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// rawTCP is a TCP connection whose Read and Write make raw system calls
// on the non-blocking socket, so that a long write does not hand its P to
// another thread (see "Raw system calls" in docs/proxy.md). One Read and
// one Write may run at once: each has its own fields and callback.
type rawTCP struct {
	*net.TCPConn
	rc syscall.RawConn
	r  rawOp
	w  rawOp
}

type rawOp struct {
	p     []byte
	n     int
	errno syscall.Errno
	f     func(fd uintptr) bool
}

func newRawTCP(t *net.TCPConn) (*rawTCP, error) {
	rc, err := t.SyscallConn()
	if err != nil {
		return nil, err
	}
	c := &rawTCP{TCPConn: t, rc: rc}
	c.r.f = func(fd uintptr) bool {
		for {
			n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&c.r.p[0])), uintptr(len(c.r.p)))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait until readable
			}
			c.r.n, c.r.errno = int(n), e
			return true
		}
	}
	c.w.f = func(fd uintptr) bool {
		for c.w.n < len(c.w.p) {
			rest := c.w.p[c.w.n:]
			n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)))
			switch e {
			case 0:
				c.w.n += int(n)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // wait until writable
			default:
				c.w.errno = e
				return true
			}
		}
		return true
	}
	return c, nil
}

func (c *rawTCP) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.r.p, c.r.n, c.r.errno = p, 0, 0
	err := c.rc.Read(c.r.f)
	c.r.p = nil
	switch {
	case err != nil: // deadline, closed
		return 0, err
	case c.r.errno != 0:
		return 0, c.opError("read", c.r.errno)
	case c.r.n == 0:
		return 0, io.EOF
	}
	return c.r.n, nil
}

func (c *rawTCP) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.w.p, c.w.n, c.w.errno = p, 0, 0
	err := c.rc.Write(c.w.f)
	c.w.p = nil
	if err == nil && c.w.errno != 0 {
		err = c.opError("write", c.w.errno)
	}
	return c.w.n, err
}

func (c *rawTCP) opError(op string, e syscall.Errno) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError(op, e)}
}

// peek looks at the bytes waiting on a socket without taking them or
// waiting for them, by a raw call as the rest of this file: it returns how
// many it copied into b, and EAGAIN when there are none yet.
func peek(fd uintptr, b []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	return int(n), e
}

// peeker looks at a socket's waiting bytes with peek, through RawConn
// callbacks made once per connection: a callback that keeps state is an
// allocation each time one is made.
type peeker struct {
	woken  bool // wait has run once since waitReadable began
	quiet  bool // check's finding: nothing waits, not even EOF
	wait   func(fd uintptr) bool
	check  func(fd uintptr)
	closed func(fd uintptr)
}

// waitReadable waits until bytes or EOF wait on rc, or its read deadline
// passes, without reading them.
func (p *peeker) waitReadable(rc syscall.RawConn) error {
	if p.wait == nil {
		p.wait = func(fd uintptr) bool {
			// Called first to see whether bytes are waiting already (the
			// poller's edge may have passed), then after each wakeup,
			// which means readable: no second system call for that.
			if p.woken {
				return true
			}
			p.woken = true
			var b [1]byte
			_, e := peek(fd, b[:])
			return e != syscall.EAGAIN
		}
	}
	p.woken = false
	return rc.Read(p.wait)
}

// isQuiet reports whether nothing waits on rc: no bytes and no EOF.
func (p *peeker) isQuiet(rc syscall.RawConn) bool {
	if p.check == nil {
		p.check = func(fd uintptr) {
			var b [1]byte
			_, e := peek(fd, b[:])
			p.quiet = e == syscall.EAGAIN
		}
	}
	p.quiet = false
	rc.Control(p.check)
	return p.quiet
}

// hasClosed reports whether the peer of rc has closed or reset its
// connection: EOF or an error waits, and no bytes before them.
func (p *peeker) hasClosed(rc syscall.RawConn) bool {
	if p.closed == nil {
		p.closed = func(fd uintptr) {
			var b [1]byte
			n, e := peek(fd, b[:])
			p.quiet = e == 0 && n == 0 || e != 0 && e != syscall.EAGAIN // reused: EOF or error
		}
	}
	p.quiet = false
	rc.Control(p.closed)
	return p.quiet
}
