package intercept

import (
	"io"
	"net"
	"os"
	"strings"
	"testing"
)

// TestIdleTunnelsHoldNoPipes: a tunnel waiting for bytes holds no pipe,
// since relaySplice takes one only while bytes move. Go's io.Copy, which
// splices too, held a pipe per direction for the tunnel's whole life: four
// descriptors for every idle HTTPS connection.
func TestIdleTunnelsHoldNoPipes(t *testing.T) {
	// The origin echoes through a buffer: its own io.Copy would splice,
	// holding a pipe of this process's for each connection.
	o := rawOrigin(t, func(c net.Conn) { io.Copy(struct{ io.Writer }{c}, struct{ io.Reader }{c}) })
	h := newProxy(t, o.addr)
	before := pipeFDs(t)
	const n = 200
	buf := make([]byte, 7)
	for range n {
		c := h.dial(t)
		io.WriteString(c, "HELLO\r\n") // not HTTP: a tunnel, echoed
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
	}
	// Every tunnel has moved bytes both ways and waits for more; what
	// pipes there are belong to the pool, which keeps a few dozen.
	got := pipeFDs(t) - before
	t.Logf("%d idle tunnels: %d more pipe descriptors", n, got)
	if got >= n {
		t.Errorf("%d idle tunnels: %d more pipe descriptors, want fewer than %d", n, got, n)
	}
}

// pipeFDs counts this process's descriptors that are pipes.
func pipeFDs(t *testing.T) int {
	t.Helper()
	des, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, de := range des {
		if l, err := os.Readlink("/proc/self/fd/" + de.Name()); err == nil && strings.HasPrefix(l, "pipe:") {
			n++
		}
	}
	return n
}
