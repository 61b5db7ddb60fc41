package status

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"tprouter/init/console"
	"tprouter/init/supervise"
	"tprouter/qemu/lab"
)

// fakeProxy stands for the proxy's -status endpoint on loopback.
func fakeProxy(t *testing.T) string {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# TYPE tprouter_proxy_requests_total counter\ntprouter_proxy_requests_total{class=\"2xx\"} 42") // no final newline
	})
	mux.HandleFunc("/access.log", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "1764100000.123     12 192.0.2.2 TCP_MISS/200 1534 GET http://198.51.100.2/ - ORIGINAL_DST/198.51.100.2 text/html\n")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// serve starts the endpoint on 127.0.0.1 and returns its base URL.
func serve(t *testing.T, s *Server) string {
	ls, err := Listen([]netip.Addr{netip.MustParseAddr("127.0.0.1")}, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ls[0].Close() })
	Serve(ls, s.Handler(), t.Logf)
	return "http://" + ls[0].Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func newServer(proxy string) *Server {
	con := console.New(io.Discard)
	initLog := con.Log("init", 10)
	proxyLog := con.Log("proxy", 10)
	initLog.Print("tprouter: ready")
	proxyLog.Print("listening on :3129")
	return &Server{
		ProxyStatus: proxy,
		Logs:        con.Logs,
		Services: func() []supervise.Status {
			return []supervise.Status{{Name: "proxy", PID: 12, Restarts: 3}, {Name: "dhcp4d", CrashLoop: true, LastExit: "exit status 1"},
				{Name: "radvd", Stopped: true, LastExit: "exit status 125"}}
		},
		Table: []Service{
			{Name: "proxy", RunsAs: "uid 3129, CAP_NET_ADMIN", When: "always", Enabled: true},
			{Name: "dhcp4c", RunsAs: "uid 3068", When: "tprouter.wan.addr=dhcp"},
			{Name: "dhcp4d", RunsAs: "uid 3067", When: "tprouter.dhcpd=on", Enabled: true},
			{Name: "radvd", RunsAs: "uid 3134", When: "tprouter.ra=on", Enabled: true},
			{Name: "dnsfwd", RunsAs: "uid 3053", When: "a LAN address", Enabled: true},
		},
		Orphans: func() uint64 { return 7 },
		Start:   time.Now().Add(-time.Minute),
	}
}

func TestMetrics(t *testing.T) {
	url := serve(t, newServer(fakeProxy(t)))
	code, body := get(t, url+"/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	for _, want := range []string{
		"tprouter_proxy_requests_total{class=\"2xx\"} 42\n# HELP", // the proxy's, newline added
		"tprouter_proxy_scrape_ok 1\n",
		"# TYPE tprouter_init_uptime_seconds gauge\ntprouter_init_uptime_seconds 6",
		"tprouter_init_orphans_reaped_total 7\n",
		"tprouter_service_restarts_total{service=\"proxy\"} 3\n",
		"tprouter_service_restarts_total{service=\"dhcp4d\"} 0\n",
		"tprouter_service_up{service=\"proxy\"} 1\n",
		"tprouter_service_up{service=\"dhcp4d\"} 0\n",
		"tprouter_service_crash_looping{service=\"dhcp4d\"} 1\n",
		"tprouter_service_up{service=\"dnsfwd\"} 0\n", // in the table, waiting for its link
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "dhcp4c") {
		t.Errorf("/metrics has dhcp4c, which the configuration does not ask for:\n%s", body)
	}
}

// TestServices lists the table with each service's state.
// TestQUICMetric: the firewall's QUIC counter is a metric; without the
// table it is left out, with a comment saying why, and the rest stays.
func TestQUICMetric(t *testing.T) {
	s := newServer(fakeProxy(t))
	s.QUICBlocked = func() (uint64, error) { return 7, nil }
	_, body := get(t, serve(t, s)+"/metrics")
	if !strings.Contains(body, "# TYPE tprouter_quic_blocked_packets_total counter\ntprouter_quic_blocked_packets_total 7\n") {
		t.Errorf("/metrics lacks the QUIC counter:\n%s", body)
	}
	s = newServer(fakeProxy(t))
	s.QUICBlocked = func() (uint64, error) { return 0, errors.New("no table inet tprouter:\nnot applied yet") }
	_, body = get(t, serve(t, s)+"/metrics")
	if strings.Contains(body, "\ntprouter_quic_blocked_packets_total ") ||
		!strings.Contains(body, "# tprouter_quic_blocked_packets_total unavailable: no table inet tprouter: not applied yet\n") ||
		!strings.Contains(body, "tprouter_init_uptime_seconds ") {
		t.Errorf("/metrics without the table:\n%s", body)
	}
}

func TestServices(t *testing.T) {
	url := serve(t, newServer(fakeProxy(t)))
	code, body := get(t, url+"/services")
	want := []string{
		"proxy: running (pid 12 since 0001-01-01T00:00:00.000Z, 3 restarts)\n\truns as uid 3129, CAP_NET_ADMIN; runs when always\n",
		"dhcp4c: off\n",
		"dhcp4d: restarting (exit status 1, 0 restarts)\n",
		"radvd: stopped: exit status 125, a usage error; not restarted (its last line is in /logs?service=radvd)\n",
		"dnsfwd: not started: waiting for its link\n",
	}
	for i, w := range want {
		if !strings.Contains(body, w) || i > 0 && strings.Index(body, w) < strings.Index(body, want[i-1]) {
			t.Errorf("/services (%d) lacks %q in order:\n%s", code, w, body)
		}
	}
}

func TestLogs(t *testing.T) {
	url := serve(t, newServer(fakeProxy(t)))
	_, body := get(t, url+"/logs")
	for _, want := range []string{"== init ==\n", "Z tprouter: ready\n", "\n== proxy ==\n", "Z listening on :3129\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("/logs lacks %q:\n%s", want, body)
		}
	}
	if _, body := get(t, url+"/logs?service=proxy"); strings.Contains(body, "init") || !strings.Contains(body, "listening") {
		t.Errorf("/logs?service=proxy:\n%s", body)
	}
	if code, _ := get(t, url+"/logs?service=nosuch"); code != 404 {
		t.Errorf("/logs?service=nosuch: %d, want 404", code)
	}
}

func TestAccessLog(t *testing.T) {
	url := serve(t, newServer(fakeProxy(t)))
	code, body := get(t, url+"/access.log")
	if code != 200 || !strings.Contains(body, "TCP_MISS/200 1534 GET http://198.51.100.2/") {
		t.Errorf("/access.log: %d\n%s", code, body)
	}
}

// TestProxyDown: without the proxy, /metrics still has init's metrics and
// says the scrape failed; /access.log says why it has nothing.
func TestProxyDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	url := serve(t, newServer(addr))
	code, body := get(t, url+"/metrics")
	if code != 200 || !strings.Contains(body, "# proxy metrics unavailable: ") || !strings.Contains(body, "tprouter_proxy_scrape_ok 0\n") ||
		!strings.Contains(body, "tprouter_service_up{service=\"proxy\"} 1") {
		t.Errorf("/metrics without proxy: %d\n%s", code, body)
	}
	if code, body := get(t, url+"/access.log"); code != 502 || !strings.Contains(body, "connection refused") {
		t.Errorf("/access.log without proxy: %d %s", code, body)
	}
}

// TestListenFreebind binds addresses this machine does not have, as the
// endpoint does before the LAN is configured.
func TestListenFreebind(t *testing.T) {
	ls, err := Listen([]netip.Addr{netip.MustParseAddr("192.0.2.77"), netip.MustParseAddr("2001:db8:ffff::77")}, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		l.Close()
	}
}

// TestLANOnly serves the endpoint on the router's LAN address in the lab:
// the LAN client reaches it, the WAN server does not, although the router
// routes between them and Linux would accept a packet for the LAN address
// on the WAN link.
func TestLANOnly(t *testing.T) {
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	var ls []net.Listener
	err := l.Router.Do(func() error {
		var err error
		ls, err = Listen([]netip.Addr{lab.RouterLANv4.Addr(), lab.RouterLANv6.Addr()}, 9090, lab.RouterLAN)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, l := range ls {
			l.Close()
		}
	})
	Serve(ls, newServer("127.0.0.1:1").Handler(), t.Logf)

	for _, a := range []netip.Addr{lab.RouterLANv4.Addr(), lab.RouterLANv6.Addr()} {
		url := "http://" + netip.AddrPortFrom(a, 9090).String() + "/logs"
		resp, err := l.Client.HTTPClient().Get(url)
		if err != nil {
			t.Errorf("from the LAN: %v", err)
		} else {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("from the LAN: GET %s: %s", url, resp.Status)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := l.Server.DialContext(ctx, "tcp", netip.AddrPortFrom(a, 9090).String())
		cancel()
		if err == nil {
			c.Close()
			t.Errorf("from the WAN: connected to %s", c.RemoteAddr())
		} else if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Logf("from the WAN: %v (refused expected, but any failure keeps it LAN-only)", err)
		}
	}
}

func TestVersionSeam(t *testing.T) {
	s := &Server{Version: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "version 2\n") })}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/version", nil))
	if rec.Code != 200 || rec.Body.String() != "version 2\n" {
		t.Errorf("GET /version: %d %q", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	(&Server{}).Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/version", nil))
	if rec.Code != 404 {
		t.Errorf("GET /version without the seam: %d", rec.Code)
	}
}
