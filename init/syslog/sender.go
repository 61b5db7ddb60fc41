package syslog

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"
	"unicode/utf8"

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
		dead    chan struct{}
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
			conn, dead, err = s.connect(ctx)
		}
		if conn != nil {
			if err = s.write(conn, dead, pending); err != nil {
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

// connect dials the collector. For TCP, dead is closed once the
// collector closes the connection (it never sends anything).
func (s *sender) connect(ctx context.Context) (net.Conn, chan struct{}, error) {
	dctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	conn, err := s.dial(dctx, s.c.Network, s.c.Addr())
	if err != nil {
		return nil, nil, err
	}
	dead := make(chan struct{})
	if s.c.Network == "tcp" {
		go func() {
			var b [512]byte
			for {
				if _, err := conn.Read(b[:]); err != nil {
					close(dead)
					return
				}
			}
		}()
	}
	return conn, dead, nil
}

// write sends m: one datagram over UDP, an octet-counted frame over TCP.
func (s *sender) write(conn net.Conn, dead chan struct{}, m []byte) error {
	select {
	case <-dead:
		return errClosed
	default:
	}
	if s.c.Network == "udp" {
		m = truncate(m, udpMax)
	} else {
		m = append(append(strconv.AppendInt(make([]byte, 0, len(m)+8), int64(len(m)), 10), ' '), m...)
	}
	conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := conn.Write(m)
	return err
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
