package intercept

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestParkerWaitsInPoller checks that the parker waits in Go's poller: a
// goroutine blocked in epoll_wait(2) keeps its P until sysmon takes it
// back, and with GOMAXPROCS=1 that stalled every connection for up to
// 10 ms (the p99 of bench workload (a): 10-12 ms against HAProxy's 3).
func TestParkerWaitsInPoller(t *testing.T) {
	t.Parallel()
	o := httpOrigin(t, nil)
	h := newProxy(t, o.addr)
	if h.s.parker == nil {
		t.Fatal("no parker")
	}
	// It passes through "syscall" for a moment at each wake-up (its
	// epoll_wait of timeout 0); a blocking wait stays there.
	seen := map[string]int{}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		st := parkerState()
		if st == "IO wait" {
			return
		}
		seen[st]++
	}
	t.Fatalf("the parker never waited as %q in 5 s; states seen: %v (a blocking system call holds the P)", "IO wait", seen)
}

// parkerState returns the scheduler state of the parker's goroutine as
// runtime.Stack prints it ("IO wait", "syscall", ...), "" if not found.
func parkerState() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, "intercept.(*parker).run") {
			continue
		}
		head, _, _ := strings.Cut(g, "\n")
		_, st, _ := strings.Cut(head, "[")
		st, _, _ = strings.Cut(st, "]")
		st, _, _ = strings.Cut(st, ",") // "IO wait, 2 minutes"
		return st
	}
	return ""
}
