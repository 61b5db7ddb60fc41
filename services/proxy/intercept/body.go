package intercept

import (
	"io"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tprouter/services/proxy/h1"
)

// failure says which end of a copy failed.
type failure int

const (
	okay        failure = iota
	readFail            // the source closed early, reset, or went silent
	writeFail           // the destination closed, reset, or stopped reading
	framingFail         // the source's chunked framing is malformed
)

// leg is one direction of a transaction: where bytes come from, where
// they go, the buffer holding what was read ahead, and the deadline
// records of the two sockets involved.
type leg struct {
	dst, src       net.Conn
	dstTCP, srcTCP *net.TCPConn
	dstRC, srcRC   syscall.RawConn // for splice; nil unless TCP
	b              *buffer
	rd, wd         *time.Time // src read and dst write deadlines
	lr             *io.LimitedReader
}

func (c *conn) toServer() leg {
	return leg{dst: c.up, src: c.c, dstTCP: c.upTCP, srcTCP: c.tcp, dstRC: c.upRC, srcRC: c.rc, b: &c.w.in, rd: &c.crd, wd: &c.uwd, lr: &c.lr}
}

func (c *conn) toClient() leg {
	return leg{dst: c.c, src: c.up, dstTCP: c.tcp, srcTCP: c.upTCP, dstRC: c.rc, srcRC: c.upRC, b: &c.w.up, rd: &c.urd, wd: &c.cwd, lr: &c.lr}
}

// sendBody forwards the request body after head (nil when already sent).
// With watch, a final response that the server sends before it has read
// the body that is still to come cuts the sending short (see watchEarly).
func (c *conn) sendBody(bk h1.BodyKind, cl int64, head []byte, watch bool) (int64, failure) {
	l := c.toServer()
	if watch && c.upRC != nil && (bk == h1.BodyChunked || bk == h1.BodyLength && cl > int64(l.b.len())) {
		defer c.watchEarly()()
	}
	switch bk {
	case h1.BodyLength:
		return c.copyLength(l, cl, head)
	case h1.BodyChunked:
		return c.copyChunked(l, &c.w.reqCh, head)
	}
	return c.write(l, head, nil)
}

// copyResponse forwards the response head and body to the client.
func (c *conn) copyResponse(rk h1.BodyKind, cl int64, head []byte) (int64, failure) {
	l := c.toClient()
	switch rk {
	case h1.BodyLength:
		return c.copyLength(l, cl, head)
	case h1.BodyChunked:
		return c.copyChunked(l, &c.w.respCh, head)
	case h1.BodyUntilClose:
		n, f := c.write(l, head, l.b.bytes())
		l.b.consume(l.b.len())
		if f != okay {
			return n, f
		}
		m, err := c.relay(l)
		if err != nil {
			c.w.lastErr = err
			return n + m, blame(l, err)
		}
		return n + m, okay
	}
	return c.write(l, head, nil)
}

// write writes a then b in one system call: copied together when small,
// else with writev.
func (c *conn) write(l leg, a, b []byte) (int64, failure) {
	if len(a) == 0 && len(b) == 0 {
		return 0, okay
	}
	extend(l.dst, l.wd, false, time.Now(), c.s.ReadTimeout)
	var n int64
	var err error
	w := c.w
	switch {
	case len(b) == 0:
		var k int
		k, err = l.dst.Write(a)
		n = int64(k)
	case len(a) == 0:
		var k int
		k, err = l.dst.Write(b)
		n = int64(k)
	case len(b) <= 4<<10 && cap(a)-len(a) >= len(b):
		var k int
		k, err = l.dst.Write(append(a, b...))
		n = int64(k)
	default:
		w.bufs = [2][]byte{a, b}
		w.nb = w.bufs[:]
		n, err = w.nb.WriteTo(l.dst)
		w.bufs = [2][]byte{}
	}
	if err != nil {
		w.lastErr = err
		return n, writeFail
	}
	return n, okay
}

// copyLength forwards head and then exactly n body bytes: those already
// buffered, then straight from the socket, by splice when there are many.
func (c *conn) copyLength(l leg, n int64, head []byte) (int64, failure) {
	k := min(int64(l.b.len()), n)
	written, f := c.write(l, head, l.b.bytes()[:k])
	if f != okay {
		return written, f
	}
	l.b.consume(int(k))
	n -= k
	for n > 0 {
		var m int64
		if n >= spliceMin && l.dstRC != nil && l.srcRC != nil {
			m, f = c.splice(l, n)
		} else {
			m, f = c.step(l, n)
		}
		written += m
		if f != okay {
			return written, f
		}
		n -= m
	}
	return written, okay
}

// copyChunked forwards head and then a chunked body byte for byte as ch
// validates it, trailers included. Long runs of chunk data go by splice.
// A framing error before anything was written leaves head unsent, so the
// caller can still answer with an error instead.
func (c *conn) copyChunked(l leg, ch *h1.Chunked, head []byte) (int64, failure) {
	ch.Reset()
	var written int64
	for {
		p := l.b.bytes()
		n, done, err := ch.Scan(p)
		if err != nil {
			c.w.lastErr = err
			return written, framingFail
		}
		if n > 0 || head != nil {
			m, f := c.write(l, head, p[:n])
			written += m
			head = nil
			if f != okay {
				return written, f
			}
			l.b.consume(n)
		}
		if done {
			return written, okay
		}
		if dl := ch.DataLeft(); dl >= spliceMin && l.dstRC != nil && l.srcRC != nil {
			m, f := c.splice(l, min(dl, spliceChunk))
			ch.Skip(m)
			written += m
			if f != okay {
				return written, f
			}
			continue
		}
		extend(l.src, l.rd, true, time.Now(), c.s.ReadTimeout)
		if _, err := l.b.fill(l.src, len(l.b.b)); err != nil {
			c.w.lastErr = err
			return written, readFail
		}
	}
}

// relay copies src to dst until src's EOF (nil error) or an error, in
// steps like splice (or through io.Copy's buffer when a side is not TCP).
// It touches nothing shared, so the two directions of a tunnel can run it
// at once.
func (c *conn) relay(l leg) (int64, error) {
	// Go splices between its own *net.TCPConn values only, not between
	// the rawTCP wrappers around them.
	src, dst := l.src, l.dst
	spliced := l.srcTCP != nil && l.dstTCP != nil
	if spliced {
		src, dst = l.srcTCP, l.dstTCP
	}
	var done int64
	if spliced {
		defer func() { c.s.Stats.Spliced.Add(uint64(done)) }()
	}
	for {
		now := time.Now()
		extend(l.src, l.rd, true, now, c.s.ReadTimeout)
		extend(l.dst, l.wd, false, now, c.s.ReadTimeout)
		*l.lr = io.LimitedReader{R: src, N: spliceChunk}
		m, err := io.Copy(dst, l.lr)
		l.lr.R = nil
		done += m
		if err != nil {
			return done, err
		}
		if m < spliceChunk {
			return done, nil
		}
	}
}

// blame decides which side of a failed copy broke, since splice(2)
// reports one error for both: a timeout is the side whose deadline
// passed; otherwise a source that is closed, reset or half-closed (POLLHUP,
// POLLERR, POLLRDHUP) failed the read, else the destination the write.
func blame(l leg, err error) failure {
	if isTimeout(err) {
		if !l.wd.IsZero() && !time.Now().Before(*l.wd) {
			return writeFail
		}
		return readFail
	}
	if hungUp(l.srcTCP) {
		return readFail
	}
	return writeFail
}

// hungUp reports whether t's peer closed or reset it, without blocking.
func hungUp(t *net.TCPConn) bool {
	if t == nil {
		return false
	}
	rc, err := t.SyscallConn()
	if err != nil {
		return true
	}
	gone := false
	err = rc.Control(func(fd uintptr) {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLRDHUP}}
		if n, _ := unix.Poll(p, 0); n > 0 && p[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0 {
			gone = true
		}
	})
	return gone || err != nil
}
