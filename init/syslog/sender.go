package syslog

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"tprouter/init/config"
)

// Backoff between attempts to reach a collector that does not answer.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// writeTimeout bounds one write: a collector that stops reading is as
// unreachable as one that is gone.
const writeTimeout = 10 * time.Second

// udpMax is the longest datagram sent (RFC 5426 4.3.1: receivers take at
// least 2048 bytes).
const udpMax = 2048

var errClosed = errors.New("the collector closed the connection")

// sender sends one collector's queue.
type sender struct {
	c    config.Collector
	q    *queue
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	logf func(format string, args ...any)
}

// run sends messages until ctx ends. A message that could not be sent is
// sent again first after the next dial.
func (s *sender) run(ctx context.Context) {
	var (
		conn    net.Conn
		pending []byte
		down    bool
		backoff = minBackoff
	)
	for {
		if pending == nil {
			if pending = s.q.pop(ctx); pending == nil {
				if conn != nil {
					conn.Close()
				}
				return
			}
		}
		err := errClosed
		if conn == nil {
			conn, err = s.connect(ctx)
		}
		if conn != nil {
			if err = s.write(conn, pending); err == nil && down && s.c.Network == "udp" {
				err = udpRefused(ctx, conn)
			}
			if err != nil {
				conn.Close()
				conn = nil
			}
		}
		if err != nil {
			if !down {
				s.logf("syslog: %s: %v; queueing up to %d messages until it answers", s.c, err, len(s.q.msgs))
				down = true
			}
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		pending, backoff = nil, minBackoff
		if n := s.q.takeDropped(); n > 0 {
			s.logf("syslog: %d messages dropped while %s was unreachable", n, s.c)
		}
		if down {
			down = false
			s.logf("syslog: %s answers again", s.c)
		}
	}
}

// udpProbe is how long a datagram sent to a collector that was down may
// take to draw its ICMP port unreachable.
const udpProbe = 200 * time.Millisecond

// udpRefused waits udpProbe after a datagram and returns the error its
// ICMP answer left on conn, if any: over UDP a write succeeds whether a
// collector listens or not, so without this a collector that is down
// would seem to answer again at every other write (and the datagram
// between would be lost). The datagram is sent again when that fails.
func udpRefused(ctx context.Context, conn net.Conn) error {
	if !sleep(ctx, udpProbe) {
		return ctx.Err()
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var soErr int
	var getErr error
	if err := rc.Control(func(fd uintptr) {
		soErr, getErr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
	}); err != nil {
		return err
	}
	switch {
	case getErr != nil:
		return getErr
	case soErr != 0:
		return syscall.Errno(soErr)
	}
	return nil
}

// connect dials the collector.
func (s *sender) connect(ctx context.Context) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return s.dial(dctx, s.c.Network, s.c.Addr())
}

// write sends m: one datagram over UDP, an octet-counted frame over TCP.
// Over TCP it first makes sure the collector has not closed the
// connection: what is written after its FIN is lost.
func (s *sender) write(conn net.Conn, m []byte) error {
	if s.c.Network == "udp" {
		m = truncate(m, udpMax)
	} else {
		if err := peerClosed(conn); err != nil {
			return err
		}
		m = append(append(strconv.AppendInt(make([]byte, 0, len(m)+8), int64(len(m)), 10), ' '), m...)
	}
	conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := conn.Write(m)
	return err
}

// peerClosed peeks at conn without blocking: a collector sends nothing,
// so anything readable is its FIN (or an error).
func peerClosed(conn net.Conn) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var closed error
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case err == unix.EAGAIN:
		case err != nil:
			closed = err
		case n == 0:
			closed = errClosed
		}
		return true
	})
	if err != nil {
		return err
	}
	return closed
}

// truncate cuts m to at most n bytes, not inside a UTF-8 sequence.
func truncate(m []byte, n int) []byte {
	if len(m) <= n {
		return m
	}
	for n > 0 && !utf8.RuneStart(m[n]) {
		n--
	}
	return m[:n]
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
