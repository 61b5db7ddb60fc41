package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tprouter/qemu/lab"
)

// The seed's ruleset: the Squid wiki's two nftables rules (socket DIVERT,
// then TPROXY for port 80) and the policy route for their mark, in one
// conntrack zone, with nothing else: no input filter, no zones, no
// masquerade. Issue 16 measured tprouter under it beside the firmware's.
// The last table only counts invalid forwarded packets: a ct expression
// is what turns conntrack on in a namespace, as the masquerade or stateful
// filter of any real router beside these rules does.
const seedRules = `
table inet seedct {
	chain forward {
		type filter hook forward priority filter; policy accept;
		ct state invalid counter
	}
}
table ip seed {
	chain divert {
		type filter hook prerouting priority mangle; policy accept;
		meta l4proto tcp socket transparent 1 meta mark set 1 accept
		tcp dport 80 tproxy to :3129 meta mark set 1 accept
	}
}
table ip6 seed {
	chain divert {
		type filter hook prerouting priority mangle; policy accept;
		meta l4proto tcp socket transparent 1 meta mark set 1 accept
		tcp dport 80 tproxy to :3129 meta mark set 1 accept
	}
}
`

// startSeed starts the proxy in a lab router that has only the seed's
// ruleset.
func startSeed(t *testing.T, flags ...string) *rig {
	t.Helper()
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	installSeed(t, l.Router)
	return launch(t, l, flags...)
}

// installSeed loads seedRules and the fwmark policy route into ns.
func installSeed(t *testing.T, ns *lab.NS) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "seed-*.nft")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(seedRules)
	f.Close()
	ns.Run(t, "nft", "-f", f.Name())
	for _, fam := range []string{"-4", "-6"} {
		ns.IP(t, fam, "rule", "add", "fwmark", "1", "lookup", "100")
		def := "0.0.0.0/0"
		if fam == "-6" {
			def = "::/0"
		}
		ns.IP(t, fam, "route", "add", "local", def, "dev", "lo", "table", "100")
	}
}

// kcounters are the router's kernel counters a load run reads before and
// after.
type kcounters struct {
	insertFailed, clash, synRetrans int64
}

func (a kcounters) sub(b kcounters) kcounters {
	return kcounters{a.insertFailed - b.insertFailed, a.clash - b.clash, a.synRetrans - b.synRetrans}
}

func (k kcounters) String() string {
	return fmt.Sprintf("conntrack insert_failed %d, clash_resolve %d; TcpExtTCPSynRetrans %d", k.insertFailed, k.clash, k.synRetrans)
}

// readCounters reads conntrack's insert_failed and clash_resolve (summed
// over CPUs) and TcpExt's TCPSynRetrans in ns.
func readCounters(t *testing.T, ns *lab.NS) kcounters {
	t.Helper()
	var k kcounters
	k.insertFailed = insertFailed(t, ns)
	k.clash = conntrackStat(t, ns, "clash_resolve")
	k.synRetrans = netstat(t, ns, "TcpExt", "TCPSynRetrans")
	return k
}

// conntrackStat sums one column of /proc/net/stat/nf_conntrack in ns; -1
// when the kernel has no such column.
func conntrackStat(t *testing.T, ns *lab.NS, name string) int64 {
	t.Helper()
	ls := strings.Split(strings.TrimSpace(ns.Run(t, "cat", "/proc/net/stat/nf_conntrack")), "\n")
	col := slices.Index(strings.Fields(ls[0]), name)
	if col < 0 {
		return -1
	}
	var sum int64
	for _, l := range ls[1:] {
		if f := strings.Fields(l); col < len(f) {
			v, _ := strconv.ParseInt(f[col], 16, 64)
			sum += v
		}
	}
	return sum
}

// netstat reads one counter of /proc/net/netstat (or snmp) in ns.
func netstat(t *testing.T, ns *lab.NS, group, name string) int64 {
	t.Helper()
	ls := strings.Split(ns.Run(t, "cat", "/proc/net/netstat", "/proc/net/snmp"), "\n")
	for i := 0; i+1 < len(ls); i++ {
		h, v := strings.Fields(ls[i]), strings.Fields(ls[i+1])
		if len(h) == 0 || h[0] != group+":" || len(v) != len(h) || v[0] != h[0] {
			continue
		}
		if j := slices.Index(h, name); j > 0 {
			n, _ := strconv.ParseInt(v[j], 10, 64)
			return n
		}
	}
	t.Fatalf("no %s %s in /proc/net/netstat", group, name)
	return 0
}

// tcpStates counts ns's TCP sockets by state (ss's names).
func tcpStates(t *testing.T, ns *lab.NS) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, l := range strings.Split(ns.Run(t, "ss", "-Htan"), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			m[f[0]]++
		}
	}
	return m
}

// loadResult is what a load run saw.
type loadResult struct {
	ok, failed  int64
	slowest     time.Duration
	elapsed     time.Duration
	firstErrors []string
}

func (r loadResult) String() string {
	rate := float64(r.ok) / r.elapsed.Seconds()
	return fmt.Sprintf("%d ok, %d failed in %v (%.0f conn/s), slowest %v",
		r.ok, r.failed, r.elapsed.Round(time.Millisecond), rate, r.slowest.Round(time.Millisecond))
}

// runLoad makes total connections to dst from the client namespace, conc
// at a time, each from the next of srcs (port chosen by the client's
// kernel): one GET with Connection: close each, the whole answer read.
// Every connection is bounded by a few seconds.
func runLoad(t *testing.T, ns *lab.NS, srcs []netip.Addr, dst netip.AddrPort, conc, total int) loadResult {
	t.Helper()
	var (
		next, ok, failed atomic.Int64
		mu               sync.Mutex
		res              loadResult
		wg               sync.WaitGroup
	)
	t0 := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				c0 := time.Now()
				err := oneRequest(ns, srcs[int(i)%len(srcs)], dst)
				d := time.Since(c0)
				mu.Lock()
				res.slowest = max(res.slowest, d)
				if err != nil && len(res.firstErrors) < 5 {
					res.firstErrors = append(res.firstErrors, err.Error())
				}
				mu.Unlock()
				if err != nil {
					failed.Add(1)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	res.elapsed, res.ok, res.failed = time.Since(t0), ok.Load(), failed.Load()
	return res
}

// oneRequest is one connection of runLoad.
func oneRequest(ns *lab.NS, src netip.Addr, dst netip.AddrPort) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
	var c net.Conn
	if err := ns.Do(func() (err error) {
		c, err = d.DialContext(ctx, "tcp", dst.String())
		return err
	}); err != nil {
		return fmt.Errorf("dial from %v: %v", src, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET /1k HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"); err != nil {
		return fmt.Errorf("%v: write: %v", c.LocalAddr(), err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "GET"})
	if err != nil {
		return fmt.Errorf("%v: %v", c.LocalAddr(), err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != 200 || n != 1024 {
		return fmt.Errorf("%v: status %d, %d bytes, %v", c.LocalAddr(), resp.StatusCode, n, err)
	}
	return nil
}

// serve1K serves 1 KiB bodies on the server's port 80.
func (r *rig) serve1K(t *testing.T) {
	t.Helper()
	body := strings.Repeat("x", 1024)
	r.serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, body)
	}))
}

// clientAddrs gives the client n more IPv4 addresses on its link (the
// router's LAN prefix) and returns them.
func clientAddrs(t *testing.T, ns *lab.NS, n int) []netip.Addr {
	t.Helper()
	var as []netip.Addr
	a := lab.ClientV4
	for range n {
		a = a.Next()
		ns.IP(t, "addr", "add", a.String()+"/24", "dev", lab.ClientIf)
		as = append(as, a)
	}
	return as
}

// closeWait counts the router's sockets in CLOSE-WAIT with port 80 on
// either side: client connections the client has closed and the proxy not.
func closeWait(t *testing.T, ns *lab.NS) int {
	t.Helper()
	return tcpStates(t, ns)["CLOSE-WAIT"]
}

// waitNoCloseWait waits up to d for the router to have no CLOSE-WAIT
// socket left and returns how many remain.
func waitNoCloseWait(t *testing.T, ns *lab.NS, d time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		n := closeWait(t, ns)
		if n == 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
}
