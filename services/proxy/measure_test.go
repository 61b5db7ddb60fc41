package main

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"tprouter/qemu/lab"
)

// TestMeasureNewConns is a measurement, not a check: with PROXY_MEASURE=N
// it makes N Connection: close requests (50 at a time) through the proxy
// under the seed's ruleset, from one client address and then from 64, and
// logs the rate, the slowest connection, the router's kernel counters and
// the most CLOSE-WAIT sockets seen. Without it, it is skipped.
func TestMeasureNewConns(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PROXY_MEASURE"))
	if n <= 0 {
		t.Skip("set PROXY_MEASURE=<connections> to measure")
	}
	r := startSeed(t, "-max-idle-upstream", "0", "-access-log", "")
	r.serve1K(t)
	many := clientAddrs(t, r.Client, 64)
	dst := netip.AddrPortFrom(lab.ServerV4, 80)
	for _, run := range []struct {
		name string
		srcs []netip.Addr
	}{{"one client", []netip.Addr{lab.ClientV4}}, {"64 clients", many}} {
		if os.Getenv("PROXY_PERF") != "" {
			go r.Router.Run(t, "perf", "record", "-F", "2000", "-g", "-o", os.Getenv("PROXY_PERF")+"-"+strconv.Itoa(len(run.srcs))+".data", "-p", strconv.Itoa(r.cmd.Process.Pid), "--", "sleep", "4")
		}
		before := readCounters(t, r.Router)
		stop, peak := samplePeak(t, r.Router, "CLOSE-WAIT")
		if os.Getenv("TPROUTER_BENCH_PPROF") != "" {
			go func() {
				time.Sleep(2 * time.Second)
				os.WriteFile(fmt.Sprintf("/tmp/pc-goroutines-%d.txt", len(run.srcs)), []byte(r.fetchFrom(t, "127.0.0.1:6060", "/debug/pprof/goroutine?debug=1")), 0o644)
			}()
		}
		res := runLoad(t, r.Client, run.srcs, dst, 50, n)
		stop()
		t.Logf("%s: %v; %v; peak CLOSE-WAIT %d; router sockets after: %v; errors %q",
			run.name, res, readCounters(t, r.Router).sub(before), *peak, tcpStates(t, r.Router), res.firstErrors)
		time.Sleep(time.Second)
	}
}

// samplePeak samples ns's sockets in state st every 50 ms until stop and
// keeps the most seen.
func samplePeak(t *testing.T, ns *lab.NS, st string) (stop func(), peak *int) {
	peak = new(int)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
			*peak = max(*peak, tcpStates(t, ns)[st])
		}
	}()
	return func() { close(done); wg.Wait() }, peak
}

// fetchFrom GETs path from addr inside the router.
func (r *rig) fetchFrom(t *testing.T, addr, path string) string {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: r.Router.DialContext}}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
