package status

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tprouter/init/console"
	"tprouter/init/supervise"
)

// The page's fixture: a Server whose Panels are fakes, with a history
// that grows one point each 2 s of wall time, and sources that each add
// a row after their first call (the page's render), so that a browser
// test sees rows the script drew and not only the template's.

// hostileName is a lease's hostname that must stay text.
const hostileName = `<script>alert("lease")</script>`

// fakeStep is the fake history's step, as the sampler's.
const fakeStep = 2 * time.Second

// fakeHistory is a sampler's history: points since base, one each step.
type fakeHistory struct{ base time.Time }

func (h fakeHistory) History(after uint64) History {
	n := uint64(time.Since(h.base) / fakeStep)
	out := History{Step: fakeStep, Names: SeriesNames, Last: n}
	for seq := max(after+1, n-min(n, 1799)); seq <= n && seq > 0; seq++ {
		x := float64(seq)
		req := 40 + 25*math.Sin(x/60) + 10*math.Sin(x/7)
		v := []float64{req, req / 3, req * 9e3, req * 800,
			req * .3, req * .6, req * .08, req * .02, req * .7, req * .3}
		out.Points = append(out.Points, Point{Seq: seq, Time: h.base.Add(time.Duration(seq) * fakeStep), Values: v})
	}
	return out
}

// later returns whether this is not the first call of the counter.
func later(n *atomic.Int32) bool { return n.Add(1) > 1 }

// fakeTopProxy serves the proxy's /top; a host appears after the first
// call.
func fakeTopProxy(t testing.TB) string {
	var calls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/top", func(w http.ResponseWriter, r *http.Request) {
		top := Top{WindowSeconds: 300,
			Hosts:   []TopEntry{{"example.org", 412, 9_800_000}, {"deb.debian.org", 120, 310_000_000}, {"192.0.2.80", 12, 4_000}},
			Clients: []TopEntry{{"192.168.7.23", 390, 300_000_000}, {"2001:db8:7::23", 150, 19_000_000}}}
		if later(&calls) {
			top.Hosts = append(top.Hosts, TopEntry{"late.example", 3, 1_200})
		}
		json.NewEncoder(w).Encode(top)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// fakePageServer returns a Server with every panel filled.
func fakePageServer(t testing.TB) *Server {
	con := console.New(io.Discard)
	for _, name := range []string{"init", "proxy", "dhcp4d", "dnsfwd"} {
		l := con.Log(name, 30)
		for i := range 25 {
			l.Printf("%s line %d <b>not bold</b>", name, i)
		}
	}
	now := time.Now()
	var leaseCalls, svcCalls atomic.Int32
	return &Server{
		ProxyStatus: fakeTopProxy(t),
		Logs:        con.Logs,
		Start:       now.Add(-(26*time.Hour + 7*time.Minute)),
		Services: func() []supervise.Status {
			st := []supervise.Status{{Name: "proxy", PID: 120, Since: now.Add(-2*time.Hour - 3*time.Minute), Restarts: 1},
				{Name: "dhcp4d", PID: 121, Since: now.Add(-5 * time.Minute)},
				{Name: "radvd", Stopped: true, LastExit: "exit status 125"}}
			if later(&svcCalls) {
				st = append(st, supervise.Status{Name: "dnsfwd", PID: 130, Since: now})
			}
			return st
		},
		Table: []Service{
			{Name: "proxy", RunsAs: "uid 3129, CAP_NET_ADMIN", When: "always", Enabled: true},
			{Name: "dhcp4c", RunsAs: "uid 3068", When: "tprouter.wan.addr=dhcp"},
			{Name: "dhcp4d", RunsAs: "uid 3067", When: "tprouter.dhcpd=on", Enabled: true},
			{Name: "radvd", RunsAs: "uid 3134", When: "tprouter.ra=on", Enabled: true},
			{Name: "dnsfwd", RunsAs: "uid 3053", When: "a LAN address", Enabled: true},
		},
		Panels: Panels{
			History: fakeHistory{base: now.Add(-40 * time.Minute)}.History,
			Leases: func() ([]Lease, error) {
				l := []Lease{
					{MAC: "02:00:00:00:00:01", Addr: netip.MustParseAddr("192.168.7.23"), Hostname: "laptop", Expiry: now.Add(11*time.Hour + 40*time.Minute)},
					{MAC: "02:00:00:00:00:02", Addr: netip.MustParseAddr("192.168.7.24"), Hostname: hostileName, Expiry: now.Add(3 * time.Minute)},
				}
				if later(&leaseCalls) {
					l = append(l, Lease{MAC: "02:00:00:00:00:99", Addr: netip.MustParseAddr("192.168.7.99"), Expiry: now.Add(time.Hour)})
				}
				return l, nil
			},
			WAN: func() (WAN, error) {
				return WAN{Link: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("198.51.100.7/24"), netip.MustParsePrefix("2001:db8:100::7/64")},
					DHCP: &WANLease{Address: netip.MustParseAddr("198.51.100.7"), Prefix: netip.MustParsePrefix("198.51.100.0/24"),
						Router: netip.MustParseAddr("198.51.100.1"), DNS: []netip.Addr{netip.MustParseAddr("198.51.100.53")},
						Server: netip.MustParseAddr("198.51.100.1"), Start: now.Add(-time.Hour), Expiry: now.Add(23 * time.Hour)}}, nil
			},
			Interfaces: func() ([]Interface, error) {
				grow := uint64(time.Since(now) / time.Millisecond * 1500)
				return []Interface{
					{Name: "eth0", Role: "wan", Up: true, MAC: "52:54:00:12:34:56", MTU: 1500, Addrs: []netip.Prefix{netip.MustParsePrefix("198.51.100.7/24")},
						RxBytes: 8_123_456_789 + grow, TxBytes: 912_345_678 + grow/9, RxPackets: 6e6, TxPackets: 2e6},
					{Name: "eth1", Role: "lan", Up: true, MAC: "52:54:00:12:34:57", MTU: 1500, Addrs: []netip.Prefix{netip.MustParsePrefix("192.168.7.1/24"), netip.MustParsePrefix("fe80::1/64")},
						RxBytes: 912_345_678 + grow/9, TxBytes: 8_023_456_789 + grow, RxDropped: 3},
					{Name: "lo", Role: "loopback", Up: true, MTU: 65536, Addrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}, RxBytes: 1e6, TxBytes: 1e6},
				}, nil
			},
			Config: []Setting{
				{"tprouter.hostname", "gw-lab", "cmdline.txt:1"},
				{"tprouter.wan", "eth0", "default"},
				{"tprouter.lan", "eth1", "default"},
				{"tprouter.wan.addr", "dhcp", "kernel command line"},
				{"tprouter.lan.addr", "192.168.7.1/24", "cmdline.txt:3"},
				{"tprouter.dhcpd", "on", "default"},
				{"tprouter.syslog", `udp://"><img src=x onerror=alert(1)>`, "cmdline.txt:9"},
			},
			SelfTest: func() (SelfTest, bool) {
				return SelfTest{Time: now.Add(-3 * time.Minute), OK: false, Results: []Check{
					{Check: "roundtrip4", OK: true, Detail: "GET http://198.18.0.2/ through the proxy: 200 in 3 ms"},
					{Check: "roundtrip6", OK: true, Detail: "GET http://[2001:db8:5e1f::2]/: 200 in 4 ms"},
					{Check: "quic", OK: false, Detail: "UDP 443 was not refused", Fix: "check tprouter.quic=block"},
				}}, true
			},
		},
	}
}

// withFakeAPI serves s's Handler and, when it has no /api/ yet (helper
// panels' branch adds it), /api/ from the page's own sources.
//
// TODO(panels): once s.api is in Handler, serve s.Handler() alone.
func withFakeAPI(s *Server) http.Handler {
	h := s.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/", nil))
	if rec.Code != http.StatusNotFound {
		return h
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	js := func(path string, f func(r *http.Request) (any, error)) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			v, err := f(r)
			w.Header().Set("Content-Type", "application/json")
			if err != nil {
				w.WriteHeader(http.StatusBadGateway)
				v = map[string]string{"error": err.Error()}
			}
			json.NewEncoder(w).Encode(v)
		})
	}
	js("/api/history", func(r *http.Request) (any, error) {
		after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
		h := s.Panels.History(after)
		h.StepMS = h.Step.Milliseconds()
		return h, nil
	})
	js("/api/top", func(r *http.Request) (any, error) { return s.pageTop(r.Context()) })
	js("/api/leases", func(*http.Request) (any, error) { return s.pageLeases() })
	js("/api/wan", func(*http.Request) (any, error) { return s.pageWAN() })
	js("/api/interfaces", func(*http.Request) (any, error) { return s.pageInterfaces() })
	js("/api/services", func(*http.Request) (any, error) { return s.pageServices(), nil })
	js("/api/config", func(*http.Request) (any, error) { return s.Panels.Config, nil })
	js("/api/selftest", func(*http.Request) (any, error) {
		st, ok := s.Panels.SelfTest()
		if !ok {
			return nil, fmt.Errorf("not run yet")
		}
		return st, nil
	})
	return mux
}
