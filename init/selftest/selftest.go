// Package selftest is init's self-test: after `tprouter: ready`, and on
// request, it checks each item of the TPROXY troubleshooting list on the
// running box and says, for each failure, what to change.
//
// The checks, by the names the console, /selftest and the metric label
// use:
//
//   - kernel: nftables takes a tproxy rule and a socket transparent rule
//     (a throwaway table, deleted in the same batch);
//   - ruleset: table inet tprouter, read back from the kernel, diverts
//     what the configuration says: the socket transparent (DIVERT) rule
//     first in the divert chain, a tproxy rule to ProxyPort per LAN link,
//     the intercepted ports, the fail mode;
//   - routing: the fwmark rule and the local default route in Table, for
//     IPv4 and IPv6;
//   - forwarding: forwarding on in both families, rp_filter as netconf
//     sets it;
//   - proxy-listen: the proxy process listens on ProxyPort in both
//     families with IP_TRANSPARENT (its sockets, duplicated with
//     pidfd_getfd);
//   - proxy-cap: the proxy holds CAP_NET_ADMIN;
//   - roundtrip4, roundtrip6: whatever Tester.RoundTrip returns
//     (init/selftest/trip, wired by main).
//
// Checks run one after the other on the calling goroutine, in the network
// namespace of its OS thread (tests run them inside a lab router with
// lab.NS.Do), and never change the running system.
package selftest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"tprouter/init/config"
)

// Result is the outcome of one check.
type Result struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`        // what was seen
	Fix    string `json:"fix,omitempty"` // what to change, when not OK
}

// Report is one run of every check.
type Report struct {
	Time    time.Time     `json:"time"`
	Took    time.Duration `json:"-"`
	OK      bool          `json:"ok"`
	Results []Result      `json:"results"`
}

// MarshalJSON writes Took as "took_ms", whole milliseconds.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return json.Marshal(struct {
		plain
		TookMS int64 `json:"took_ms"`
	}{plain(r), r.Took.Milliseconds()})
}

// Failed returns the names of the failed checks, in order.
func (r Report) Failed() []string {
	var f []string
	for _, res := range r.Results {
		if !res.OK {
			f = append(f, res.Check)
		}
	}
	return f
}

// Summary is the report's one line: "selftest: passed (8 checks in
// 1.2s)" or "selftest: FAILED: roundtrip4, proxy-cap".
func (r Report) Summary() string {
	if r.OK {
		return fmt.Sprintf("selftest: passed (%d checks in %v)", len(r.Results), r.Took.Round(100*time.Millisecond))
	}
	return "selftest: FAILED: " + strings.Join(r.Failed(), ", ")
}

// Line is res as the console shows it.
func (res Result) Line() string {
	if res.OK {
		return fmt.Sprintf("selftest: %s: ok (%s)", res.Check, res.Detail)
	}
	return fmt.Sprintf("selftest: %s: FAILED: %s; fix: %s", res.Check, res.Detail, res.Fix)
}

// Tester runs the self-test of a router configured with Net, whose WAN
// and LAN links the kernel calls WAN and LAN (netconf.Resolve), or Links
// finds them at the start of each run (links are renamed and appear late).
// Set the fields before the first Run and do not change them after.
type Tester struct {
	Net   config.Network
	WAN   string
	LAN   []string
	Links func() (wan string, lan []string)
	// Log prints a console line (console.Log.Printf); nil: silent.
	Log func(string, ...any)
	// ProxyPID returns the pid of the running proxy, 0 when it does not
	// run (the supervisor's Status of service "proxy").
	ProxyPID func() int
	// RoundTrip runs the end-to-end checks (trip.Run); nil: none.
	RoundTrip func(ctx context.Context) []Result

	// Proc and Sys are where procfs and sysfs are mounted ("/proc",
	// "/sys" when empty).
	Proc, Sys string

	// probe is the kernel check's nftables probe (firewall.ProbeInterception).
	probe func() error

	mu      sync.Mutex
	last    *Report
	running chan struct{} // closed when the run in progress ends
}

func (t *Tester) proc() string { return orDefault(t.Proc, "/proc") }
func (t *Tester) sys() string  { return orDefault(t.Sys, "/sys") }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (t *Tester) logf(format string, args ...any) {
	if t.Log != nil {
		t.Log(format, args...)
	}
}
