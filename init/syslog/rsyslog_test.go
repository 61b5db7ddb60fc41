package syslog

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tprouter/init/config"
	"tprouter/init/console"
	"tprouter/qemu/lab"
)

const port = 5514

// collectorAt is the lab server's collector over network.
func collectorAt(network string, p int) config.Collector {
	return config.Collector{Network: network, Host: lab.ServerV4.String(), Port: uint16(p)}
}

// hubIn starts a Hub whose senders dial from the lab's router and a
// console teed to it; both stop when t ends.
func hubIn(t *testing.T, l *lab.Lab, cs []config.Collector, o Options) (*Hub, *console.Console) {
	o.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return l.Router.DialContext(ctx, network, addr)
	}
	h := Start("gw.lab", cs, o)
	t.Cleanup(h.Close)
	con := console.New(io.Discard)
	con.Tee(h.Offer)
	t.Cleanup(func() { con.Tee(nil) })
	return h, con
}

// count counts the records of input whose message starts with prefix,
// or is prefix without its trailing '$'.
func count(rs []lab.SyslogRecord, input, prefix string) int {
	n := 0
	exact, ok := strings.CutSuffix(prefix, "$")
	for _, r := range rs {
		if r.Input == input && (ok && r.Msg == exact || !ok && strings.HasPrefix(r.Msg, prefix)) {
			n++
		}
	}
	return n
}

// TestRsyslog: console lines reach rsyslog over UDP and over TCP, each
// once, with the host name, the source as app name ("access" for the
// proxy's access log lines), nil PROCID and MSGID, and the line intact.
func TestRsyslog(t *testing.T) {
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	r := lab.NewRsyslog(t, l.Server, lab.ServerV4.String(), port)
	_, con := hubIn(t, l, []config.Collector{collectorAt("udp", port), collectorAt("tcp", port)}, Options{})
	const accessStamp = "2025-11-25T19:46:40.123000Z" // the access line's own
	access := "1764100000.123     12 192.0.2.2 TCP_MISS/200 1534 GET http://198.51.100.2/ - ORIGINAL_DST/198.51.100.2 text/html"
	want := []lab.SyslogRecord{
		{Pri: "30", Version: "1", Host: "gw.lab", App: "init", ProcID: "-", MsgID: "-", SD: "-", Msg: "config: host gw.lab; naïve | pipes"},
		{Pri: "30", Version: "1", Host: "gw.lab", App: "proxy", ProcID: "-", MsgID: "-", SD: "-", Msg: "listening on :3129"},
		{Pri: "30", Version: "1", Host: "gw.lab", App: "access", ProcID: "-", MsgID: "-", SD: "-", Msg: access},
		{Pri: "30", Version: "1", Host: "gw.lab", App: "dhcp4c", ProcID: "-", MsgID: "-", SD: "-", Msg: "lease 198.51.100.7/24"},
	}
	logs := map[string]*console.Log{}
	for _, w := range want {
		src := w.App
		if src == "access" {
			src = "proxy"
		}
		if logs[src] == nil {
			logs[src] = con.Log(src, 10)
		}
		logs[src].Print(w.Msg)
	}
	rs := r.WaitFor(t, 10*time.Second, "the 4 lines over both protocols", func(rs []lab.SyslogRecord) bool { return len(rs) >= 2*len(want) })
	time.Sleep(200 * time.Millisecond) // a duplicate would show by now
	rs = r.Records(t)
	for _, in := range []string{"imudp", "imtcp"} {
		var got []lab.SyslogRecord
		for _, r := range rs {
			if r.Input == in {
				if r.App == "access" && r.Time != accessStamp {
					t.Errorf("%s: the access line's TIMESTAMP is %s, want its own %s", in, r.Time, accessStamp)
				}
				r.Input, r.Time = "", "" // the other times: TestFormat
				got = append(got, r)
			}
		}
		// rsyslog's main queue hands batches to worker threads, which may
		// write them out of the order received (seen in CI over UDP).
		byMsg := func(a, b lab.SyslogRecord) int { return strings.Compare(a.Msg, b.Msg) }
		slices.SortFunc(got, byMsg)
		sorted := slices.SortedFunc(slices.Values(want), byMsg)
		if fmt.Sprint(got) != fmt.Sprint(sorted) {
			t.Errorf("%s records:\n%q\nwant, in any order\n%q", in, got, sorted)
		}
	}
}

// TestRsyslogRestart: with rsyslog stopped, messages queue and arrive
// after it is back, none lost while the queue held them; beyond the
// queue the oldest are dropped, and the count is reported.
func TestRsyslogRestart(t *testing.T) {
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	r := lab.NewRsyslog(t, l.Server, lab.ServerV4.String(), port)
	var mu sync.Mutex
	var reports []string
	logf := func(f string, a ...any) { mu.Lock(); reports = append(reports, fmt.Sprintf(f, a...)); mu.Unlock() }
	const queue = 100
	_, con := hubIn(t, l, []config.Collector{collectorAt("tcp", port)}, Options{Logf: logf, Queue: queue})
	log := con.Log("init", 10)
	send := func(phase string, n int) {
		for i := range n {
			log.Printf("%s %d", phase, i)
		}
	}

	send("before", 10)
	r.WaitFor(t, 10*time.Second, "10 lines before the stop", func(rs []lab.SyslogRecord) bool { return count(rs, "imtcp", "before ") == 10 })
	r.Stop(t)
	send("down", queue/2)
	time.Sleep(time.Second)
	r.Start(t)
	rs := r.WaitFor(t, 15*time.Second, "the lines queued while it was down", func(rs []lab.SyslogRecord) bool { return count(rs, "imtcp", "down ") == queue/2 })
	for i := range queue / 2 {
		if n := count(rs, "imtcp", fmt.Sprintf("down %d$", i)); n != 1 {
			t.Errorf("down %d: received %d times, want once", i, n)
		}
	}

	// Overflow: 3 queues' worth while down.
	r.Stop(t)
	send("over", 3*queue)
	time.Sleep(time.Second)
	r.Start(t)
	r.WaitFor(t, 15*time.Second, "the last overflow line", func(rs []lab.SyslogRecord) bool { return count(rs, "imtcp", fmt.Sprintf("over %d$", 3*queue-1)) == 1 })
	rs = r.Records(t)
	got := count(rs, "imtcp", "over ")
	var dropped int
	deadline := time.Now().Add(5 * time.Second)
	for dropped == 0 && time.Now().Before(deadline) {
		mu.Lock()
		for _, s := range reports {
			fmt.Sscanf(s, "syslog: %d messages dropped while", &dropped)
		}
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	if got < queue || got+dropped != 3*queue {
		t.Errorf("overflow: %d received + %d reported dropped, want at least %d received and %d in all; reports %q", got, dropped, queue, 3*queue, reports)
	}
	want := fmt.Sprintf("syslog: %d messages dropped while tcp://198.51.100.2:%d was unreachable", dropped, port)
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(reports, "\n"), want) {
		t.Errorf("reports %q, want %q", reports, want)
	}
	t.Logf("overflow: %d of %d received, %d dropped and reported; reports %q", got, 3*queue, dropped, reports)
}

// TestRsyslogUDPDown: over UDP, with rsyslog stopped, the collector
// stays down (a datagram that draws no ICMP error before the next is not
// an answer), so it is reported down once and back once, and the lines
// logged meanwhile arrive after the restart, but for those sent before
// the first ICMP port unreachable came back.
func TestRsyslogUDPDown(t *testing.T) {
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	r := lab.NewRsyslog(t, l.Server, lab.ServerV4.String(), port)
	var mu sync.Mutex
	var reports []string
	logf := func(f string, a ...any) { mu.Lock(); reports = append(reports, fmt.Sprintf(f, a...)); mu.Unlock() }
	_, con := hubIn(t, l, []config.Collector{collectorAt("udp", port)}, Options{Logf: logf})
	log := con.Log("init", 10)
	log.Print("before")
	r.WaitFor(t, 10*time.Second, "the line before the stop", func(rs []lab.SyslogRecord) bool { return count(rs, "imudp", "before$") == 1 })
	r.Stop(t)
	const n = 60
	for i := range n {
		log.Printf("down %d", i)
		time.Sleep(25 * time.Millisecond)
	}
	r.Start(t)
	log.Print("after")
	rs := r.WaitFor(t, 15*time.Second, "the line after the restart", func(rs []lab.SyslogRecord) bool { return count(rs, "imudp", "after$") == 1 })
	got := 0
	for i := range n {
		switch c := count(rs, "imudp", fmt.Sprintf("down %d$", i)); {
		case c > 1:
			t.Errorf("down %d: received %d times, want once", i, c)
		case c == 1:
			got++
		}
	}
	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(reports, "\n")
	if strings.Count(all, "queueing") != 1 || strings.Count(all, "answers again") != 1 {
		t.Errorf("reports %q, want one outage and one recovery", reports)
	}
	if got < n-2 {
		t.Errorf("%d of the %d lines logged while rsyslog was down arrived, want all but the one or two sent before the first ICMP error", got, n)
	}
	t.Logf("%d of %d lines logged while down arrived; reports %q", got, n, reports)
}

// TestUnreachable: with no collector listening (UDP and TCP refused) and
// none there at all (an address nobody has: dial and ARP time out),
// logging calls return at once.
func TestUnreachable(t *testing.T) {
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	ghost := config.Collector{Network: "tcp", Host: "198.51.100.99", Port: port}
	_, con := hubIn(t, l, []config.Collector{collectorAt("udp", port), collectorAt("tcp", port), ghost}, Options{})
	log := con.Log("proxy", 10)
	const n = 3 * Queue
	var worst time.Duration
	start := time.Now()
	for i := range n {
		t0 := time.Now()
		log.Printf("line %d of a proxy that must not wait", i)
		worst = max(worst, time.Since(t0))
	}
	total := time.Since(start)
	t.Logf("%d lines with 3 unreachable collectors: %v in all, %v each, worst %v", n, total, total/n, worst)
	if total > 2*time.Second || worst > 100*time.Millisecond {
		t.Errorf("logging with the collectors unreachable took %v (worst call %v), want it at once", total, worst)
	}
}
