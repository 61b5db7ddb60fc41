package main

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tprouter/qemu/lab"
)

// TestMain lets the test binary serve as the relay candidate, the TLS
// origin and the connection load generator, as the bench program itself
// does.
func TestMain(m *testing.M) {
	childMain()
	os.Exit(m.Run())
}

// TestBenchQuick runs the harness for real in quick mode with two
// candidates, direct and tprouter's proxy (or the built-in relay while the
// proxy does not build), and checks the shape of what it produces: the
// table's rows and columns, figures that parse and are positive, the
// target lines and results.json. It never checks a timing: the figures of
// a loaded machine say nothing, and `make test` must not depend on them.
func TestBenchQuick(t *testing.T) {
	lab.Require(t)
	for _, bin := range []string{"wrk", "nginx"} {
		if _, err := exec.LookPath(bin); err != nil {
			lab.Unavailable(t, bin+" not found: install the Debian packages in BENCH_DEBS (make -f qemu/bench/bench.mk bench-deps)")
		}
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	subject := "tprouter"
	build := exec.Command("go", "build", "-o", os.DevNull, "./services/proxy")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Logf("./services/proxy does not build, measuring the built-in relay instead: %v\n%s", err, out)
		subject = "relay"
	}
	cfg, err := parseFlags([]string{
		"-quick", "-n", "1", "-candidates", "direct," + subject,
		// Enough to exercise the workload, few enough to be quick.
		"-idle-conns", "500", "-ipv6=false",
		"-out", t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Log = testWriter{t}
	r, err := benchmark(t.Context(), cfg, "TestBenchQuick")
	if err != nil {
		t.Fatalf("benchmark: %v", err)
	}
	t.Logf("\n%s", r.text())
	checkTable(t, r, subject)
	checkResults(t, cfg, r, subject)
}

// checkTable checks the table of a quick run of direct and subject: a
// header, a separator and one row per metric, each figure a positive
// number or, where direct has no proxy to measure, "-".
func checkTable(t *testing.T, r *results, subject string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(r.Table), "\n")
	wantCols := []string{"workload", "direct", subject, subject + "/direct"}
	if got := cells(lines[0]); strings.Join(got, ",") != strings.Join(wantCols, ",") {
		t.Errorf("header %q, want columns %q", lines[0], wantCols)
	}
	rows := lines[2:]
	wantRows := []string{"(a) 1 KiB", "(a) p50", "(a) p99", "(a) proxy CPU", "(b) 1 MiB", "(b) proxy CPU", "(c) new connection", "(c) proxy CPU",
		"(c) many clients: conn/s", "(c) many clients: p99", "(c) many clients: proxy CPU", "(c) many clients: origin connections",
		"(c) many clients, seed ruleset: conn/s", "(c) many clients, seed ruleset: p99",
		"(e) TLS, new connection", "(e) proxy CPU", "(f) TLS 1 MiB", "(f) proxy CPU",
		"TLS many clients: conn/s", "TLS many clients: proxy CPU", "(d) 500 idle"}
	if len(rows) != len(wantRows) {
		t.Fatalf("table has %d rows, want %d:\n%s", len(rows), len(wantRows), r.Table)
	}
	for i, row := range rows {
		c := cells(row)
		if len(c) != len(wantCols) || !strings.HasPrefix(c[0], wantRows[i]) {
			t.Errorf("row %d = %q, want %d cells starting with %q", i, row, len(wantCols), wantRows[i])
			continue
		}
		for j, v := range c[1:] {
			// Direct has no proxy whose memory or CPU could be measured,
			// and no run in the seed ruleset's pass.
			noProxy := strings.HasPrefix(c[0], "(d)") || strings.Contains(c[0], "proxy CPU") || strings.Contains(c[0], "seed ruleset")
			if noProxy && (wantCols[j+1] == "direct" || strings.HasSuffix(wantCols[j+1], "/direct")) {
				if v != "-" {
					t.Errorf("row %q, column %s = %q, want -", c[0], wantCols[j+1], v)
				}
				continue
			}
			// "1234", "1234!" (errors), "1234 ±3%" (spread).
			fig, _, _ := strings.Cut(v, " ")
			f, err := strconv.ParseFloat(strings.TrimSuffix(fig, "!"), 64)
			if err != nil || !(f > 0) {
				t.Errorf("row %q, column %s = %q, want a positive number", c[0], wantCols[j+1], v)
			}
		}
	}
}

// checkResults checks that there is one verdict per target and that
// results.json and table.md are written and agree with the table.
func checkResults(t *testing.T, cfg config, r *results, subject string) {
	t.Helper()
	if len(r.Targets) != len(targets) {
		t.Errorf("%d target lines, want %d", len(r.Targets), len(targets))
	}
	b, err := os.ReadFile(filepath.Join(cfg.OutDir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var js results
	if err := json.Unmarshal(b, &js); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if js.Table != r.Table || js.Medians[subject]["a_rps"] <= 0 || len(js.Runs) == 0 {
		t.Errorf("results.json does not hold the table, the medians and the runs")
	}
	checkMany(t, js, subject)
	md, err := os.ReadFile(filepath.Join(cfg.OutDir, "table.md"))
	if err != nil || !strings.Contains(string(md), r.Table) {
		t.Errorf("table.md lacks the table (err %v)", err)
	}
}

// checkMany checks the many-clients runs in results.json: every one from
// manyClients addresses, with the router's conntrack figures, and the
// seed ruleset's pass for the subject only.
func checkMany(t *testing.T, js results, subject string) {
	t.Helper()
	seen := map[string]bool{}
	for _, rec := range js.Runs {
		if !strings.HasPrefix(rec.Workload, "m") {
			continue
		}
		seen[rec.Candidate+" "+rec.Workload] = true
		if rec.Load == nil || rec.Load.Sources != manyClients || rec.Load.Conns <= 0 {
			t.Errorf("%s %s: load %+v, want connections from %d sources", rec.Candidate, rec.Workload, rec.Load, manyClients)
		}
		if rec.Conntrack == nil || rec.Conntrack.Max <= 0 {
			t.Errorf("%s %s: conntrack %+v, want the router's figures", rec.Candidate, rec.Workload, rec.Conntrack)
		}
	}
	for _, want := range []string{"direct m", "direct mt", subject + " m", subject + " mt", subject + " ms"} {
		if !seen[want] {
			t.Errorf("no run of %s in results.json", want)
		}
	}
	if seen["direct ms"] {
		t.Errorf("direct ran in the seed ruleset's pass, which is for the proxies")
	}
	if !strings.Contains(js.Table, "many clients") {
		t.Errorf("the table lacks the many-clients rows")
	}
}

// cells splits a markdown table row into its trimmed cells.
func cells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(strings.TrimSuffix(row, "|"), "|")
	var c []string
	for _, s := range strings.Split(row, "|") {
		c = append(c, strings.TrimSpace(s))
	}
	return c
}

// testWriter sends the harness's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestParseWrk checks the parser on a line of wrkScript's format.
func TestParseWrk(t *testing.T) {
	out := "Running 1s test @ http://x/\nBENCH requests=100 bytes=2048 duration_us=1000000 p50_us=150 p99_us=900 connect=0 read=1 write=0 status=2 timeout=0\n"
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 100 || r.Bytes != 2048 || r.P99US != 900 || r.Status != 2 || r.perSecond(r.Requests) != 100 {
		t.Errorf("parseWrk = %+v", r)
	}
	if _, err := parseWrk("BENCH requests=1\n"); err == nil {
		t.Errorf("parseWrk accepted a line with missing fields")
	}
}

// TestIdleConnsFor checks the descriptor arithmetic of the idle workload.
func TestIdleConnsFor(t *testing.T) {
	for _, tc := range []struct {
		want   int
		nofile uint64
		got    int
	}{
		{10000, 1 << 18, 10000},
		{10000, 20000, 9800},
		{500, 20000, 500},
	} {
		if got := idleConnsFor(tc.want, tc.nofile); got != tc.got {
			t.Errorf("idleConnsFor(%d, %d) = %d, want %d", tc.want, tc.nofile, got, tc.got)
		}
	}
}

// TestSpread checks the table's "±": half the range over the median, and
// nothing for a single round.
func TestSpread(t *testing.T) {
	if sp, ok := spread([]float64{90, 100, 110}); !ok || sp != 10 {
		t.Errorf("spread(90, 100, 110) = %v, %v, want 10, true", sp, ok)
	}
	if _, ok := spread([]float64{100}); ok {
		t.Errorf("spread of one round reported")
	}
}

// TestTLSLoad runs the connection load generator with TLS against a TLS origin on
// loopback: it must stop at its connection bound, count every body byte,
// and count as errors the responses that are not what was asked for.
func TestTLSLoad(t *testing.T) {
	o, err := lab.NewOriginErr(tlsName)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", o.Config)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, originFiles["1k"]))
	})}
	srv.SetKeepAlivesEnabled(false)
	go srv.Serve(ln)
	defer srv.Close()
	s := loadSpec{Addr: ln.Addr().String(), Host: tlsName, Path: "/1k", Size: originFiles["1k"], Conns: 4, Duration: 10 * time.Second, Max: 40}
	cfg := tlsClientConfig(o.Pool)
	r, err := connLoad(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Conns != 40 || r.Errors != 0 || r.Bytes != 40*float64(s.Size) || r.P99US < r.P50US || r.P50US <= 0 {
		t.Errorf("connLoad(%+v) = %+v, want 40 connections of %d bytes, no errors", s, r, s.Size)
	}
	s.Size, s.Max = 1, 8
	if r, _ := connLoad(s, cfg); r.Conns != 0 || r.Errors != 8 || !strings.Contains(r.FirstError, "want 200 OK with 1") {
		t.Errorf("connLoad with a wrong size = %+v, want 8 errors", r)
	}
}

// TestSNILogged checks the reading of tprouter's access log: a spliced
// line with the SNI, a raw tunnel's with the address, no log at all.
func TestSNILogged(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		line string
		want bool
	}{
		{"1.0 5 192.0.2.2 TCP_TUNNEL/200 1052 CONNECT " + tlsName + ":443 - ORIGINAL_DST/198.51.100.2 -\n", true},
		{"1.0 5 192.0.2.2 TCP_TUNNEL/200 1052 CONNECT 198.51.100.2:443 - ORIGINAL_DST/198.51.100.2 -\n", false},
	} {
		path := filepath.Join(dir, "access.log")
		if err := os.WriteFile(path, []byte(tc.line), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := sniLogged(path); got == nil || *got != tc.want {
			t.Errorf("sniLogged(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
	if got := sniLogged(filepath.Join(dir, "none.log")); got != nil {
		t.Errorf("sniLogged of a missing log = %v, want nil", *got)
	}
}

// TestConnLoadSources runs the connection load generator over plain HTTP
// against a server on loopback from four source addresses: each must
// open its share of the bounded count of connections, one request each,
// and a short body must count as an error.
func TestConnLoadSources(t *testing.T) {
	var mu sync.Mutex
	from := map[string]int{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		from[host]++
		mu.Unlock()
		w.Write(make([]byte, originFiles["1k"]))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	srcs := []string{"127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"}
	s := loadSpec{Addr: ln.Addr().String(), Host: "bench.example", Path: "/1k", Size: originFiles["1k"],
		Conns: 3, Duration: 10 * time.Second, Max: 40, Sources: srcs}
	r, err := connLoad(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Conns != 40 || r.Errors != 0 || r.Sources != 4 || r.Bytes != 40*float64(s.Size) {
		t.Errorf("connLoad(%+v) = %+v, want 40 connections from 4 sources, no errors", s, r)
	}
	mu.Lock()
	for _, src := range srcs {
		if from[src] != 10 {
			t.Errorf("the server saw %d requests from %s, want 10 (all: %v)", from[src], src, from)
		}
	}
	mu.Unlock()
	s.Size, s.Max = 1, 4
	if r, _ := connLoad(s, nil); r.Conns != 0 || r.Errors != 4 {
		t.Errorf("connLoad with a wrong size = %+v, want 4 errors", r)
	}
}

// TestParseWorkloads checks that -workloads many stands for the
// many-clients workloads and that an unknown id is refused.
func TestParseWorkloads(t *testing.T) {
	cfg, err := parseFlags([]string{"-workloads", "a,many"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Workloads, ","); got != "a,m,mt,ms" {
		t.Errorf("-workloads a,many = %s, want a,m,mt,ms", got)
	}
	var ids []string
	for _, w := range workloads(cfg) {
		ids = append(ids, w.id)
	}
	if got := strings.Join(ids, ","); got != "a,m,mt,ms" {
		t.Errorf("workloads of -workloads a,many = %s, want a,m,mt,ms", got)
	}
	if _, err := parseFlags([]string{"-workloads", "x"}); err == nil {
		t.Errorf("-workloads x accepted")
	}
}
