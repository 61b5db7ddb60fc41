package intercept

import (
	"sync/atomic"
	"syscall"
	"time"
)

// watchEarly watches the upstream connection while a request body goes
// out and makes the body's writes fail at once when a final response
// starts to arrive (see "Early responses" in docs/proxy.md). stop ends
// the watch; call it before reading from the upstream connection again.
func (c *conn) watchEarly() (stop func()) {
	up, rc := c.up.nc, c.up.rc
	var spoke atomic.Bool
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var b [len("HTTP/1.1 100")]byte
		var n int
		var e syscall.Errno
		err := rc.Read(func(fd uintptr) bool {
			n, e = peek(fd, b[:])
			return e != syscall.EAGAIN
		})
		if err != nil { // stopped
			return
		}
		if e == 0 && n == len(b) && b[len(b)-3] == '1' {
			return // "HTTP/1.1 1xx": interim
		}
		spoke.Store(true)
		// Again and again: the sender moves its deadline forward now and
		// then (see extend), and must not undo this one.
		for {
			up.SetWriteDeadline(time.Unix(1, 0))
			select {
			case <-quit:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() {
		close(quit)
		up.SetReadDeadline(time.Unix(1, 0)) // wakes the watcher if it waits
		<-done
		up.SetReadDeadline(c.up.rd)
		if spoke.Load() {
			c.up.wd = time.Unix(1, 0)
		}
	}
}
