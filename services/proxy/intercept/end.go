package intercept

import (
	"io"
	"net"
	"syscall"
	"time"
)

// end is one end of a TCP connection as the proxy holds it, the client's
// or the upstream one: the socket, its TCP and raw forms, and the
// deadlines last set on it, so that inactivity timeouts cost a timer
// update only now and then (see extendRead).
type end struct {
	nc     net.Conn         // a rawTCP when TCP
	tcp    *net.TCPConn     // nil unless TCP: for Go's splice, half-close, linger
	rc     syscall.RawConn  // nil unless TCP: for splice(2) and peeks
	rd, wd time.Time        // read and write deadlines last set on nc
	lr     io.LimitedReader // relay's reader when this end is its source
}

// newEnd wraps nc, making its reads and writes raw system calls when it
// is TCP (see rawTCP).
func newEnd(nc net.Conn) end {
	e := end{nc: nc}
	if e.tcp, _ = nc.(*net.TCPConn); e.tcp != nil {
		if r, err := newRawTCP(e.tcp); err == nil {
			e.nc, e.rc = r, r.rc
		}
	}
	return e
}

func (e *end) setReadDeadline(t time.Time) {
	e.rd = t
	e.nc.SetReadDeadline(t)
}

// extendRead and extendWrite keep a deadline at least 3/4 of t ahead of
// now, moving it to now+t only when it has come closer than that: an
// inactivity timeout of t, give or take a quarter, for a timer update
// every t/4 at most.
func (e *end) extendRead(now time.Time, t time.Duration) {
	if e.rd.Sub(now) < t-t/4 {
		e.rd = now.Add(t)
		e.nc.SetReadDeadline(e.rd)
	}
}

func (e *end) extendWrite(now time.Time, t time.Duration) {
	if e.wd.Sub(now) < t-t/4 {
		e.wd = now.Add(t)
		e.nc.SetWriteDeadline(e.wd)
	}
}
