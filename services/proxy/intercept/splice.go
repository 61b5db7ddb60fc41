package intercept

import (
	"io"
	"time"

	"golang.org/x/sys/unix"

	"tprouter/internal/pipes"
)

const spliceFlags = unix.SPLICE_F_MOVE | unix.SPLICE_F_NONBLOCK

// splice moves exactly n bytes from src to dst inside the kernel through
// a pipe, a pipe's worth at a time, moving the deadlines with progress;
// without a pipe (descriptors exhausted) they go through the read buffer.
// The calls are raw, as rawTCP's are.
func (c *conn) splice(l leg, n int64) (int64, failure) {
	p, err := pipes.Get()
	if err != nil {
		return c.step(l, n)
	}
	var (
		done, queued, want int64 // delivered to dst; in the pipe; asked from src
		got                int64
		errno              unix.Errno
	)
	defer func() { c.s.Stats.Spliced.Add(uint64(done)) }()
	fill := func(fd uintptr) bool {
		for {
			r, _, e := unix.RawSyscall6(unix.SYS_SPLICE, fd, 0, uintptr(p.W), 0, uintptr(want), spliceFlags)
			switch e {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // wait until readable
			}
			got, errno = int64(r), e
			return true
		}
	}
	drain := func(fd uintptr) bool {
		for queued > 0 {
			r, _, e := unix.RawSyscall6(unix.SYS_SPLICE, uintptr(p.R), 0, fd, 0, uintptr(queued), spliceFlags)
			switch e {
			case 0:
				queued -= int64(r)
				done += int64(r)
				l.count(int64(r))
			case unix.EINTR:
			case unix.EAGAIN:
				return false // wait until writable
			default:
				errno = e
				return true
			}
		}
		return true
	}
	for done < n {
		now := time.Now()
		l.src.extendRead(now, c.s.ReadTimeout)
		l.dst.extendWrite(now, c.s.ReadTimeout)
		want = min(n-done, pipes.Size)
		err := l.src.rc.Read(fill)
		switch {
		case err == nil && errno != 0:
			err = errno
		case err == nil && got == 0:
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			c.w.lastErr = err
			pipes.Put(p, true) // a failed fill leaves the pipe as it was: empty
			return done, readFail
		}
		queued = got
		if err := l.dst.rc.Write(drain); err != nil || errno != 0 {
			if err == nil {
				err = errno
			}
			c.w.lastErr = err
			pipes.Put(p, false)
			return done, writeFail
		}
	}
	pipes.Put(p, true)
	return done, copied
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
