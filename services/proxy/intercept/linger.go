package intercept

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lingerStep is how often a lingering close looks whether the client has
// acknowledged everything it was sent.
const lingerStep = 20 * time.Millisecond

// lingerClose waits, after a response that ended the connection, for the
// client's own close (see "Closing" in docs/proxy.md), discarding what
// the client still sends, but only while the client may still close by
// itself: once it has acknowledged every byte and let two round trips
// (at least lingerStep) pass without closing, it is waiting for our
// close, as a client that reads to the end of the stream does, and it
// gets it then rather than after lingerTime.
func (c *conn) lingerClose() {
	tcp := c.client.tcp
	if c.finFirst {
		tcp.CloseWrite()
	}
	deadline := time.Now().Add(lingerTime)
	var quietUntil time.Time // the client has it all; its close is due by then
	var buf [1024]byte
	for reads := 0; reads < 64; {
		now := time.Now()
		wait := deadline
		if !quietUntil.IsZero() {
			wait = quietUntil
		}
		if !now.Before(wait) {
			return
		}
		if step := now.Add(lingerStep); step.Before(wait) {
			wait = step
		}
		tcp.SetReadDeadline(wait)
		_, err := tcp.Read(buf[:])
		switch {
		case err == nil:
			reads++
			continue
		case !errors.Is(err, os.ErrDeadlineExceeded):
			return // the client closed (EOF) or reset
		}
		rtt, all := c.clientAcked()
		switch {
		case !all:
			quietUntil = time.Time{}
		case quietUntil.IsZero():
			quietUntil = time.Now().Add(max(2*rtt, lingerStep))
		}
	}
}

// clientAcked reports whether the client has acknowledged every byte
// sent to it, and the connection's smoothed round-trip time. Without
// TCP_INFO it reports false: linger the whole lingerTime, as before.
func (c *conn) clientAcked() (time.Duration, bool) {
	if c.client.rc == nil {
		return 0, false
	}
	var info *unix.TCPInfo
	var err error
	c.client.rc.Control(func(fd uintptr) {
		info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	if err != nil || info == nil {
		return 0, false
	}
	return time.Duration(info.Rtt) * time.Microsecond, info.Unacked == 0 && info.Notsent_bytes == 0
}
