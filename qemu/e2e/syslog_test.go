package e2e

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tprouter/init/console"
	"tprouter/qemu"
	"tprouter/qemu/lab"
)

// The remote logs check (tprouter.syslog, README "Remote logs"): rsyslog
// in the lab's server namespace is the router's collector over UDP and
// TCP, and a third collector has an address nobody has.
const (
	syslogHost = "gw.home"
	// syslogGhost is the collector that never answers.
	syslogGhost = "tcp://203.0.113.9:514"
	// syslogCmdline is what checkSyslog needs on the router's command
	// line, besides a LAN at 192.0.2.1 and a WAN on the server's link.
	syslogCmdline = "tprouter.hostname=" + syslogHost +
		" tprouter.syslog=udp://198.51.100.2:514,tcp://198.51.100.2:514," + syslogGhost
)

// syslogCollector starts the collector of syslogCmdline in l's server
// namespace, which must have 198.51.100.2 already. Start it before the
// boot: it is up when the router's first messages go out.
func syslogCollector(t *testing.T, l *lab.Lab) *lab.Rsyslog {
	return lab.NewRsyslog(t, l.Server, lab.ServerV4.String(), 514)
}

// checkSyslog checks a router booted with syslogCmdline whose LAN client
// l.Client can already fetch from the server through the proxy, and r
// from syslogCollector:
//   - every message is RFC 5424 as the README gives it (PRI 30, version
//     1, the host name, nil PROCID, MSGID and STRUCTURED-DATA);
//   - init's console lines so far arrived over TCP, each once;
//   - a request's access line arrives over UDP and TCP as app "access"
//     with the line's own time;
//   - with rsyslog stopped, requests still succeed, and after it is back
//     every access line and init line of the outage arrives over TCP,
//     each once;
//   - the unreachable collector never stops the proxy serving: every
//     request succeeds (their times are logged).
func checkSyslog(t *testing.T, l *lab.Lab, vm *qemu.VM, r *lab.Rsyslog) {
	t.Helper()
	s := &syslogCheck{t: t, l: l, r: r}
	s.requests("up", 3)
	s.waitAccess("imudp", "up", 3)
	s.waitAccess("imtcp", "up", 3)
	rs := s.waitInit(vm)
	for _, want := range []string{"tprouter: ready$", "syslog: sending the console lines and the access log to "} {
		if got := count(rs, "imtcp", "init", want); got != 1 {
			t.Errorf("init's %q arrived %d times over TCP, want once", want, got)
		}
	}
	if count(rs, "imtcp", "proxy", "") == 0 {
		t.Errorf("no line of app proxy (the proxy's own console lines) arrived over TCP")
	}

	// The outage: init says so on the console while the lines wait in
	// the queue; once rsyslog is back they all arrive, init's too.
	const (
		downLine = "init: syslog: tcp://198.51.100.2:514: "
		upLine   = "init: syslog: tcp://198.51.100.2:514 answers again"
	)
	downs, ups := strings.Count(vm.Console(), downLine), strings.Count(vm.Console(), upLine)
	r.Stop(t)
	s.requests("down", 10)
	s.waitConsole(vm, func(con string) bool { return strings.Count(con, downLine) > downs }, downLine)
	r.Start(t)
	s.waitAccess("imtcp", "down", 10)
	s.waitConsole(vm, func(con string) bool { return strings.Count(con, upLine) > ups }, upLine)
	s.requests("after", 2)
	s.waitAccess("imudp", "after", 2)
	s.waitAccess("imtcp", "after", 2)
	rs = s.waitInit(vm)
	s.checkFields(rs)
	if !strings.Contains(vm.Console(), "init: syslog: "+syslogGhost+": ") {
		t.Errorf("the console does not say %s is unreachable", syslogGhost)
	}
	udp := 0
	for i := range 10 {
		if slices.ContainsFunc(rs, func(r lab.SyslogRecord) bool {
			return r.Input == "imudp" && strings.Contains(r.Msg, " GET "+s.url("down", i)+" ")
		}) {
			udp++
		}
	}
	t.Logf("syslog: over UDP, %d of the 10 access lines of the outage arrived (UDP loses those sent before the first ICMP port unreachable)", udp)
	slices.Sort(s.times)
	t.Logf("syslog: %d records (%d over UDP, %d over TCP); %d requests with %s unreachable and rsyslog stopped for 10 of them, all answered: median %v, slowest %v",
		len(rs), count(rs, "imudp", "", ""), count(rs, "imtcp", "", ""), len(s.times), syslogGhost,
		s.times[len(s.times)/2].Round(time.Millisecond), s.times[len(s.times)-1].Round(time.Millisecond))
}

// syslogCheck is the state of one checkSyslog.
type syslogCheck struct {
	t     *testing.T
	l     *lab.Lab
	r     *lab.Rsyslog
	times []time.Duration // of every request
}

// url is the i-th request of phase, which its access line names.
func (s *syslogCheck) url(phase string, i int) string {
	return fmt.Sprintf("http://198.51.100.2/syslog/%s/%d", phase, i)
}

// requests GETs n URLs of phase from the client through the proxy; each
// must succeed at the first try.
func (s *syslogCheck) requests(phase string, n int) {
	s.t.Helper()
	for i := range n {
		t0 := time.Now()
		get(s.t, s.l.Client, s.url(phase, i))
		s.times = append(s.times, time.Since(t0))
	}
}

// waitAccess waits until the access line of each of phase's n requests
// has arrived over input, and checks each arrived once, as app access
// from the router, stamped with the line's own time.
func (s *syslogCheck) waitAccess(input, phase string, n int) []lab.SyslogRecord {
	s.t.Helper()
	find := func(rs []lab.SyslogRecord, i int) []lab.SyslogRecord {
		var got []lab.SyslogRecord
		for _, r := range rs {
			if r.Input == input && strings.Contains(r.Msg, " GET "+s.url(phase, i)+" ") {
				got = append(got, r)
			}
		}
		return got
	}
	rs := s.r.WaitFor(s.t, waitTimeout, fmt.Sprintf("the %d access lines of %q over %s", n, phase, input), func(rs []lab.SyslogRecord) bool {
		for i := range n {
			if len(find(rs, i)) == 0 {
				return false
			}
		}
		return true
	})
	for i := range n {
		got := find(rs, i)
		if len(got) != 1 {
			s.t.Errorf("%s: the access line of %s arrived %d times, want once: %q", input, s.url(phase, i), len(got), got)
			continue
		}
		s.checkAccess(got[0])
	}
	return rs
}

// checkAccess checks one access line's record: app access, MSG a
// TCP_MISS/200 of the proxy, TIMESTAMP the line's own.
func (s *syslogCheck) checkAccess(r lab.SyslogRecord) {
	s.t.Helper()
	f := strings.Fields(r.Msg)
	if r.App != "access" || len(f) < 10 || f[3] != "TCP_MISS/200" || f[5] != "GET" || f[8] != "ORIGINAL_DST/198.51.100.2" {
		s.t.Errorf("access record %q: want app access and a TCP_MISS/200 GET to ORIGINAL_DST/198.51.100.2", r)
		return
	}
	stamp, err := strconv.ParseFloat(f[0], 64)
	at, terr := time.Parse(time.RFC3339Nano, r.Time)
	if err != nil || terr != nil || at.Sub(time.UnixMilli(int64(stamp*1000+0.5))).Abs() > time.Millisecond {
		s.t.Errorf("access record %q: TIMESTAMP %s, want the line's own %s", r, r.Time, f[0])
	}
}

// waitInit waits until every line init has printed on vm's console so
// far has arrived over TCP as app init, as many times as it was printed,
// and returns the records.
func (s *syslogCheck) waitInit(vm *qemu.VM) []lab.SyslogRecord {
	s.t.Helper()
	want := map[string]int{}
	for _, line := range strings.Split(vm.Console(), "\n") {
		stamp, text, ok := strings.Cut(strings.TrimSpace(line), " init: ")
		if _, err := time.Parse(console.TimeFormat, stamp); ok && err == nil {
			want[text]++
		}
	}
	var rs []lab.SyslogRecord
	var wrong []string
	deadline := time.Now().Add(15 * time.Second)
	for {
		rs, wrong = s.r.Records(s.t), nil
		for text, n := range want {
			if got := count(rs, "imtcp", "init", text+"$"); got != n {
				wrong = append(wrong, fmt.Sprintf("%q: %d of %d", text, got, n))
			}
		}
		if len(wrong) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	slices.Sort(wrong)
	if len(want) == 0 || len(wrong) > 0 {
		s.t.Errorf("of init's %d distinct console lines, these did not arrive over TCP as often as printed:\n%s", len(want), strings.Join(wrong, "\n"))
	}
	s.t.Logf("syslog: init's %d distinct console lines arrived over TCP, each as often as printed", len(want))
	return rs
}

// checkFields checks every record's RFC 5424 fields besides MSG.
func (s *syslogCheck) checkFields(rs []lab.SyslogRecord) {
	s.t.Helper()
	apps := map[string]int{}
	for _, r := range rs {
		apps[r.App]++
		_, err := time.Parse(time.RFC3339Nano, r.Time)
		if r.Pri != "30" || r.Version != "1" || r.Host != syslogHost || r.ProcID != "-" || r.MsgID != "-" || r.SD != "-" || err != nil || r.App == "" {
			s.t.Errorf("record %q: want PRI 30, version 1, host %s, an app name, PROCID, MSGID and STRUCTURED-DATA -, an RFC 3339 time", r, syslogHost)
		}
	}
	s.t.Logf("syslog: records per app: %v", apps)
}

// waitConsole waits until ok holds for vm's console, what it waits for.
func (s *syslogCheck) waitConsole(vm *qemu.VM, ok func(string) bool, what string) {
	s.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !ok(vm.Console()) {
		if time.Now().After(deadline) {
			s.t.Fatalf("no %q on the console after %v", what, waitTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// count counts the records of input (any if "") and app (any if "")
// whose MSG starts with prefix, or is prefix without its trailing '$'.
func count(rs []lab.SyslogRecord, input, app, prefix string) int {
	n := 0
	exact, ok := strings.CutSuffix(prefix, "$")
	for _, r := range rs {
		if (input == "" || r.Input == input) && (app == "" || r.App == app) &&
			(ok && r.Msg == exact || !ok && strings.HasPrefix(r.Msg, prefix)) {
			n++
		}
	}
	return n
}
