package intercept

import (
	"errors"
	"io"
	"time"

	"golang.org/x/sys/unix"

	"tprouter/internal/pipes"
)

const spliceFlags = unix.SPLICE_F_MOVE | unix.SPLICE_F_NONBLOCK

// pump moves bytes from one socket to another inside the kernel, through
// a pipe, by raw splice(2) calls as rawTCP's reads and writes are: fill
// takes up to want bytes from the source into the pipe, drain delivers
// them. Its callbacks are made once per pump. It touches nothing of the
// conn's but the leg's counters, so a tunnel's two directions each run
// one at once.
type pump struct {
	l       leg
	p       pipes.Pipe
	held    bool  // p is taken from the pool
	lend    bool  // give p back while waiting for the source (tunnels)
	want    int64 // asked of the source by fill
	got     int64 // what fill moved into the pipe: 0 at EOF
	queued  int64 // in the pipe, for drain
	done    int64 // delivered to the destination
	errno   unix.Errno
	pipeErr error // pipes.Get's, when fill had none
	fill    func(fd uintptr) bool
	drain   func(fd uintptr) bool
}

func newPump(l leg, lend bool) *pump {
	u := &pump{l: l, lend: lend}
	u.fill = func(fd uintptr) bool {
		if !u.held {
			if u.p, u.pipeErr = pipes.Get(); u.pipeErr != nil {
				return true
			}
			u.held = true
		}
		for {
			r, _, e := unix.RawSyscall6(unix.SYS_SPLICE, fd, 0, uintptr(u.p.W), 0, uintptr(u.want), spliceFlags)
			switch e {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				if u.lend {
					u.release(true) // an idle tunnel holds no pipe
				}
				return false // wait until readable
			}
			u.got, u.errno = int64(r), e
			return true
		}
	}
	u.drain = func(fd uintptr) bool {
		for u.queued > 0 {
			r, _, e := unix.RawSyscall6(unix.SYS_SPLICE, uintptr(u.p.R), 0, fd, 0, uintptr(u.queued), spliceFlags)
			switch e {
			case 0:
				u.queued -= int64(r)
				u.done += int64(r)
				u.l.count(int64(r))
			case unix.EINTR:
			case unix.EAGAIN:
				return false // wait until writable
			default:
				u.errno = e
				return true
			}
		}
		return true
	}
	return u
}

// step moves up to want bytes: it waits for the source, fills the pipe
// and drains it. At the source's EOF it moves nothing and reports copied
// with eof set.
func (u *pump) step(timeout time.Duration) (eof bool, f failure, err error) {
	now := time.Now()
	u.l.src.extendRead(now, timeout)
	u.l.dst.extendWrite(now, timeout)
	u.errno, u.pipeErr = 0, nil
	err = u.l.src.rc.Read(u.fill)
	switch {
	case err == nil && u.pipeErr != nil:
		err = u.pipeErr
	case err == nil && u.errno != 0:
		err = u.errno
	}
	if err != nil {
		return false, readFail, err // a failed fill leaves the pipe empty
	}
	if u.got == 0 {
		return true, copied, nil
	}
	u.queued = u.got
	if err := u.l.dst.rc.Write(u.drain); err != nil || u.errno != 0 {
		if err == nil {
			err = u.errno
		}
		return false, writeFail, err
	}
	return false, copied, nil
}

// release gives the pipe back to the pool, or closes it when it may hold
// bytes.
func (u *pump) release(empty bool) {
	if u.held {
		pipes.Put(u.p, empty)
		u.held = false
	}
}

// splice moves exactly n bytes from src to dst inside the kernel through
// a pipe, a pipe's worth at a time, moving the deadlines with progress;
// without a pipe (descriptors exhausted) they go through the read buffer.
func (c *conn) splice(l leg, n int64) (int64, failure) {
	p, err := pipes.Get()
	if err != nil {
		return c.step(l, n)
	}
	u := newPump(l, false)
	u.p, u.held = p, true
	defer func() { c.s.Stats.Spliced.Add(uint64(u.done)) }()
	for u.done < n {
		u.want = min(n-u.done, pipes.Size)
		eof, f, err := u.step(c.s.ReadTimeout)
		if eof {
			f, err = readFail, io.ErrUnexpectedEOF
		}
		if f != copied {
			c.w.lastErr = err
			u.release(f == readFail)
			return u.done, f
		}
	}
	u.release(true)
	return u.done, copied
}

// errNoPipe is relaySplice's when it stopped, cleanly, for want of a pipe.
var errNoPipe = errors.New("intercept: no pipe for splice")

// relaySplice moves what src sends to dst until src's EOF (copied) or a
// failure, as splice does but taking a pipe only while bytes move: an
// idle tunnel holds none. It reports the bytes delivered, the failure and
// its error, errNoPipe when it could not get a pipe (nothing was read).
func (c *conn) relaySplice(l leg) (int64, failure, error) {
	u := newPump(l, true)
	u.want = pipes.Size
	defer func() { c.s.Stats.Spliced.Add(uint64(u.done)) }()
	for {
		eof, f, err := u.step(c.s.ReadTimeout)
		if u.pipeErr != nil {
			return u.done, copied, errNoPipe
		}
		if eof || f != copied {
			u.release(f != writeFail)
			return u.done, f, err
		}
	}
}

// step moves up to n bytes from src to dst through the read buffer, which
// must be empty: one read, one write.
func (c *conn) step(l leg, n int64) (int64, failure) {
	l.src.extendRead(time.Now(), c.s.ReadTimeout)
	if _, err := l.b.fill(l.src.nc, len(l.b.b)); err != nil {
		c.w.lastErr = err
		return 0, readFail
	}
	k := min(int64(l.b.len()), n)
	m, f := c.write(l, nil, l.b.bytes()[:k])
	if f != copied {
		return m, f
	}
	l.b.consume(int(k))
	return k, copied
}
