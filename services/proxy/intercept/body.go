package intercept

import (
	"io"
	"net"
	"time"

	"golang.org/x/sys/unix"

	"tprouter/services/proxy/h1"
	pm "tprouter/services/proxy/metrics"
)

// Bodies larger than spliceMin that are not buffered yet go by splice(2),
// a pipe's worth per step (see splice); tunnels and bodies that end at the
// close go in steps of spliceChunk (see relay). Each step must finish
// within 3/4 of ReadTimeout: 1.5 KB/s with the default.
const (
	spliceMin   = 64 << 10
	spliceChunk = 1 << 20
)

// failure says which end of a copy failed, if one did.
type failure int

const (
	copied      failure = iota // no end failed: all of it went
	readFail                   // the source closed early, reset, or went silent
	writeFail                  // the destination closed, reset, or stopped reading
	framingFail                // the source's chunked framing is malformed
)

// leg is one direction of a transaction: the end bytes come from, the
// end they go to, the buffer holding what was read ahead from src, and
// the counters of the bytes written to dst: the transaction's own and
// Stats.Bytes.
type leg struct {
	src, dst *end
	b        *buffer
	n        *int64
	sent     *pm.Counter
}

func (c *conn) toServer() leg {
	return leg{src: &c.client, dst: &c.up.end, b: &c.w.in, n: &c.w.sent[1], sent: &c.s.Stats.Bytes[1]}
}

func (c *conn) toClient() leg {
	return leg{src: &c.up.end, dst: &c.client, b: &c.w.up, n: &c.w.sent[0], sent: &c.s.Stats.Bytes[0]}
}

// count counts n bytes written to l.dst. The two directions of a tunnel
// count at once, each its own: they touch different words.
func (l leg) count(n int64) {
	if n > 0 {
		*l.n += n
		l.sent.Add(uint64(n))
	}
}

// copyRequest forwards the request body after head (nil when already
// sent). With watch, a final response that the server sends before it has
// read the body that is still to come cuts the sending short (see
// watchEarly).
func (c *conn) copyRequest(bk h1.BodyKind, cl int64, head []byte, watch bool) (int64, failure) {
	l := c.toServer()
	if watch && c.up.rc != nil && (bk == h1.BodyChunked || bk == h1.BodyLength && cl > int64(l.b.len())) {
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
		if f != copied {
			return n, f
		}
		m, f, err := c.relay(l)
		if f != copied {
			c.w.lastErr = err
		}
		return n + m, f
	}
	return c.write(l, head, nil)
}

// write writes a then b in one system call: copied together when small,
// else with writev.
func (c *conn) write(l leg, a, b []byte) (int64, failure) {
	if len(a) == 0 && len(b) == 0 {
		return 0, copied
	}
	l.dst.extendWrite(time.Now(), c.s.ReadTimeout)
	dst := l.dst.nc
	var n int64
	var err error
	w := c.w
	switch {
	case len(b) == 0:
		var k int
		k, err = dst.Write(a)
		n = int64(k)
	case len(a) == 0:
		var k int
		k, err = dst.Write(b)
		n = int64(k)
	case len(b) <= 4<<10 && cap(a)-len(a) >= len(b):
		var k int
		k, err = dst.Write(append(a, b...))
		n = int64(k)
	default:
		w.bufs = [2][]byte{a, b}
		w.nb = w.bufs[:]
		n, err = w.nb.WriteTo(dst)
		w.bufs = [2][]byte{}
	}
	l.count(n)
	if err != nil {
		w.lastErr = err
		return n, writeFail
	}
	return n, copied
}

// copyLength forwards head and then exactly n body bytes: those already
// buffered, then straight from the socket, by splice when there are many.
func (c *conn) copyLength(l leg, n int64, head []byte) (int64, failure) {
	k := min(int64(l.b.len()), n)
	written, f := c.write(l, head, l.b.bytes()[:k])
	if f != copied {
		return written, f
	}
	l.b.consume(int(k))
	n -= k
	for n > 0 {
		var m int64
		if n >= spliceMin && l.dst.rc != nil && l.src.rc != nil {
			m, f = c.splice(l, n)
		} else {
			m, f = c.step(l, n)
		}
		written += m
		if f != copied {
			return written, f
		}
		n -= m
	}
	return written, copied
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
			if f != copied {
				return written, f
			}
			l.b.consume(n)
		}
		if done {
			return written, copied
		}
		if dl := ch.DataLeft(); dl >= spliceMin && l.dst.rc != nil && l.src.rc != nil {
			m, f := c.splice(l, min(dl, spliceChunk))
			ch.Skip(m)
			written += m
			if f != copied {
				return written, f
			}
			continue
		}
		l.src.extendRead(time.Now(), c.s.ReadTimeout)
		if _, err := l.b.fill(l.src.nc, len(l.b.b)); err != nil {
			c.w.lastErr = err
			return written, readFail
		}
	}
}

// relay copies src to dst until src's EOF (copied) or a failure, by
// relaySplice, or through io.Copy's buffer when a side is not TCP or no
// pipe can be had. It touches nothing shared, so the two directions of a
// tunnel can run it at once.
func (c *conn) relay(l leg) (int64, failure, error) {
	var done int64
	if l.src.rc != nil && l.dst.rc != nil {
		n, f, err := c.relaySplice(l)
		if err != errNoPipe {
			return n, f, err
		}
		done = n
	}
	for {
		now := time.Now()
		l.src.extendRead(now, c.s.ReadTimeout)
		l.dst.extendWrite(now, c.s.ReadTimeout)
		lr := &l.src.lr
		*lr = io.LimitedReader{R: l.src.nc, N: spliceChunk}
		m, err := io.Copy(l.dst.nc, lr)
		lr.R = nil
		done += m
		l.count(m)
		if err != nil {
			return done, blame(l, err), err
		}
		if m < spliceChunk {
			return done, copied, nil
		}
	}
}

// blame decides which side of relay's failed io.Copy broke, since io.Copy
// (and Go's splice under it) reports one error for both: a timeout is the side whose deadline
// passed; otherwise a source that is closed, reset or half-closed (POLLHUP,
// POLLERR, POLLRDHUP) failed the read, else the destination the write.
func blame(l leg, err error) failure {
	if isTimeout(err) {
		if wd := l.dst.wd; !wd.IsZero() && !time.Now().Before(wd) {
			return writeFail
		}
		return readFail
	}
	if hungUp(l.src.tcp) {
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
