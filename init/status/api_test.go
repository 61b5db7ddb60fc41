package status

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"tprouter/init/console"
	"tprouter/init/supervise"
)

// apiGet GETs path from h over real HTTP, checks the JSON headers and
// decodes the body into v (when the status is 200).
func apiGet(t *testing.T, base, path string, v any) (int, string) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct, cc := resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"); ct != "application/json" || cc != "no-store" {
		t.Errorf("GET %s: Content-Type %q, Cache-Control %q", path, ct, cc)
	}
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatalf("GET %s: %d, not JSON: %v", path, resp.StatusCode, err)
	}
	if resp.StatusCode == 200 && v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, raw)
		}
	}
	return resp.StatusCode, string(raw)
}

func apiServe(t *testing.T, s *Server) string {
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// topProxy serves /top as the proxy does, with body.
func topProxy(t *testing.T, body string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/top" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestAPIIndex(t *testing.T) {
	var got struct{ Panels []string }
	apiGet(t, apiServe(t, &Server{}), "/api/", &got)
	if want := []string{"history", "top", "leases", "wan", "interfaces", "services", "config", "selftest"}; !reflect.DeepEqual(got.Panels, want) {
		t.Errorf("/api/ panels %q, want %q", got.Panels, want)
	}
}

// TestAPIEmpty: without sources every panel is empty, with [] not null,
// and the self-test says it has not run.
func TestAPIEmpty(t *testing.T) {
	url := apiServe(t, &Server{})
	for path, want := range map[string]string{
		"/api/history":    `{"step_ms":0,"last":0,"names":["requests","connections","bytes_to_clients","bytes_to_servers","http","tls","tunnel","denied","ipv4","ipv6"],"points":[]}`,
		"/api/leases":     `[]`,
		"/api/wan":        `{"link":"","addrs":[],"dhcp":null}`,
		"/api/interfaces": `[]`,
		"/api/services":   `[]`,
		"/api/config":     `[]`,
	} {
		if code, body := apiGet(t, url, path, nil); code != 200 || body != want {
			t.Errorf("GET %s: %d %s\nwant %s", path, code, body, want)
		}
	}
	if code, body := apiGet(t, url, "/api/selftest", nil); code != 200 || body != `{"ran":false,"ok":false,"results":[]}` {
		t.Errorf("GET /api/selftest before the first run: %d %s", code, body)
	}
}

func TestAPIHistory(t *testing.T) {
	var asked []uint64
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := &Server{Panels: Panels{History: func(after uint64) History {
		asked = append(asked, after)
		return History{Step: 2 * time.Second, Last: 8, Names: SeriesNames,
			Points: []Point{{Seq: 8, Time: t0, Values: make([]float64, len(SeriesNames))}}}
	}}}
	url := apiServe(t, s)
	var h History
	apiGet(t, url, "/api/history", &h)
	apiGet(t, url, "/api/history?after=7", &h)
	if h.StepMS != 2000 || h.Last != 8 || len(h.Points) != 1 || h.Points[0].Seq != 8 || !h.Points[0].Time.Equal(t0) {
		t.Errorf("/api/history = %+v", h)
	}
	if !reflect.DeepEqual(asked, []uint64{0, 7}) {
		t.Errorf("History asked with after %v, want [0 7]", asked)
	}
	if code, body := apiGet(t, url, "/api/history?after=x", nil); code != 400 || !strings.Contains(body, `after=\"x\"`) {
		t.Errorf("?after=x: %d %s", code, body)
	}
}

func TestAPITop(t *testing.T) {
	const top = `{"window_seconds":300,"hosts":[{"name":"example.com","count":3,"bytes":1534}],"clients":[{"name":"192.0.2.2","count":3,"bytes":1534}]}`
	var got Top
	apiGet(t, apiServe(t, &Server{ProxyStatus: topProxy(t, top)}), "/api/top", &got)
	want := Top{WindowSeconds: 300, Hosts: []TopEntry{{"example.com", 3, 1534}}, Clients: []TopEntry{{"192.0.2.2", 3, 1534}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("/api/top = %+v, want %+v", got, want)
	}
	if _, body := apiGet(t, apiServe(t, &Server{ProxyStatus: topProxy(t, `{"window_seconds":300}`)}), "/api/top", nil); body != `{"window_seconds":300,"hosts":[],"clients":[]}` {
		t.Errorf("/api/top with no rows: %s", body)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	// fakeProxy serves /metrics, not /top: an older proxy.
	for what, proxy := range map[string]string{"down": down, "not JSON": topProxy(t, "<html>"), "no /top": fakeProxy(t)} {
		code, body := apiGet(t, apiServe(t, &Server{ProxyStatus: proxy}), "/api/top", nil)
		var e struct{ Error string }
		json.Unmarshal([]byte(body), &e)
		if code != 502 || e.Error == "" || strings.Contains(e.Error, "\n") {
			t.Errorf("/api/top, proxy %s: %d %s, want 502 with a one-line reason", what, code, body)
		}
	}
}

func TestAPILeasesWANInterfaces(t *testing.T) {
	exp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lease := Lease{MAC: "02:00:00:00:00:02", Addr: netip.MustParseAddr("192.0.2.100"), Hostname: "laptop", Expiry: exp}
	wan := WAN{Link: "wan0", Addrs: []netip.Prefix{netip.MustParsePrefix("198.51.100.1/24")},
		DHCP: &WANLease{Address: netip.MustParseAddr("198.51.100.1"), Prefix: netip.MustParsePrefix("198.51.100.0/24"), Start: exp, Expiry: exp}}
	ifs := []Interface{{Name: "lan0", Role: "lan", Up: true, MTU: 1500, RxBytes: 42}}
	s := &Server{Panels: Panels{
		Leases:     func() ([]Lease, error) { return []Lease{lease}, nil },
		WAN:        func() (WAN, error) { return wan, nil },
		Interfaces: func() ([]Interface, error) { return ifs, nil },
	}}
	url := apiServe(t, s)
	var gl []Lease
	apiGet(t, url, "/api/leases", &gl)
	if len(gl) != 1 || gl[0] != lease {
		t.Errorf("/api/leases = %+v", gl)
	}
	var gw WAN
	if _, body := apiGet(t, url, "/api/wan", &gw); gw.Link != "wan0" || gw.DHCP == nil || gw.DHCP.Address != wan.DHCP.Address || !strings.Contains(body, `"dns":[]`) {
		t.Errorf("/api/wan = %s", body)
	}
	var gi []Interface
	if _, body := apiGet(t, url, "/api/interfaces", &gi); len(gi) != 1 || gi[0].Name != "lan0" || gi[0].RxBytes != 42 || !strings.Contains(body, `"addrs":[]`) {
		t.Errorf("/api/interfaces = %s", body)
	}

	bad := errors.Join(errors.New("open /perm/dhcp4d/leases.json: permission denied"), errors.New("second"))
	s = &Server{Panels: Panels{
		Leases:     func() ([]Lease, error) { return nil, bad },
		WAN:        func() (WAN, error) { return WAN{}, bad },
		Interfaces: func() ([]Interface, error) { return nil, bad },
	}}
	url = apiServe(t, s)
	for _, path := range []string{"/api/leases", "/api/wan", "/api/interfaces"} {
		if code, body := apiGet(t, url, path, nil); code != 500 || body != `{"error":"open /perm/dhcp4d/leases.json: permission denied; second"}` {
			t.Errorf("GET %s failing: %d %s", path, code, body)
		}
	}
}

func TestAPIServices(t *testing.T) {
	s := newServer("127.0.0.1:1")
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sv := s.Services
	s.Services = func() []supervise.Status {
		st := sv()
		st[0].Since = since
		return append(st, supervise.Status{Name: "extra", PID: 99})
	}
	for i := range 25 {
		s.Logs()[1].Printf("line %d", i)
	}
	var got []ServiceState
	apiGet(t, apiServe(t, s), "/api/services", &got)
	type row struct{ name, state, detail string }
	want := []row{
		{"proxy", "running", "running (pid 12 since 2026-01-02T03:04:05.000Z, 3 restarts)"},
		{"dhcp4c", "off", "off: runs when tprouter.wan.addr=dhcp"},
		{"dhcp4d", "restarting", "restarting (exit status 1, 0 restarts)"},
		{"radvd", "stopped", "stopped: exit status 125, a usage error; not restarted (its last line is in /logs?service=radvd)"},
		{"dnsfwd", "waiting", "not started: waiting for its link"},
		{"extra", "running", "running (pid 99 since 0001-01-01T00:00:00.000Z, 0 restarts)"},
	}
	if len(got) != len(want) {
		t.Fatalf("/api/services: %d rows, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if g := got[i]; g.Name != w.name || g.State != w.state || g.Detail != w.detail {
			t.Errorf("row %d: %s %s %q, want %+v", i, g.Name, g.State, g.Detail, w)
		}
	}
	p := got[0]
	if p.PID != 12 || p.Restarts != 3 || !p.Since.Equal(since) || p.RunsAs != "uid 3129, CAP_NET_ADMIN" || p.When != "always" {
		t.Errorf("proxy row: %+v", p)
	}
	// The ring keeps 10; a service's row has at most 20, the newest last.
	if n := len(p.Log); n != 10 || p.Log[n-1].Text != "line 24" {
		t.Errorf("proxy's lines: %+v", p.Log)
	}
	if got[1].Log == nil || len(got[1].Log) != 0 {
		t.Errorf("dhcp4c, without a log: %+v, want []", got[1].Log)
	}
}

// TestServiceLogLines: a row has the last 20 lines of a longer ring.
func TestServiceLogLines(t *testing.T) {
	s := newServer("127.0.0.1:1")
	con := console.New(io.Discard)
	proxy := con.Log("proxy", 50)
	for i := range 50 {
		proxy.Printf("line %d", i)
	}
	s.Logs = con.Logs
	rows := s.ServiceStates()
	if l := rows[0].Log; len(l) != serviceLogLines || l[0].Text != "line 30" || l[19].Text != "line 49" {
		t.Errorf("proxy's lines: %d, %+v", len(l), l)
	}
}

func TestAPIConfig(t *testing.T) {
	cfg := []Setting{{"tprouter.hostname", "gw", "cmdline.txt:3"}, {"tprouter.wan", "eth0", "default"}}
	var got []Setting
	apiGet(t, apiServe(t, &Server{Panels: Panels{Config: cfg}}), "/api/config", &got)
	if !reflect.DeepEqual(got, cfg) {
		t.Errorf("/api/config = %+v, want %+v", got, cfg)
	}
}

func TestAPISelfTest(t *testing.T) {
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var last *SelfTest
	s := &Server{Panels: Panels{SelfTest: func() (SelfTest, bool) {
		if last == nil {
			return SelfTest{}, false
		}
		return *last, true
	}}}
	url := apiServe(t, s)
	if code, body := apiGet(t, url, "/api/selftest", nil); code != 200 || !strings.Contains(body, `"ran":false`) {
		t.Errorf("before the first run: %d %s, want 200 with ran false", code, body)
	}
	last = &SelfTest{Ran: true, Time: when, OK: false, Results: []Check{{Check: "roundtrip4", Detail: "no answer", Fix: "check the WAN"}}}
	var got SelfTest
	if code, body := apiGet(t, url, "/api/selftest", &got); code != 200 || !reflect.DeepEqual(got, *last) || !strings.Contains(body, `"fix":"check the WAN"`) {
		t.Errorf("after a run: %d %s", code, body)
	}
}
