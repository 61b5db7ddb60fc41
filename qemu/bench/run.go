package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"tprouter/qemu/lab"
)

// config is what the flags (or the test) ask for.
type config struct {
	Rounds     int           `json:"rounds"`
	Duration   time.Duration `json:"duration_ns"`
	N          int           `json:"n"` // the proxies' CPUs: GOMAXPROCS, nbthread, workers
	Candidates []string      `json:"candidates"`
	IdleConns  int           `json:"idle_conns"`
	IPv6       bool          `json:"ipv6"`
	Warmup     time.Duration `json:"warmup_ns"`
	Profile    bool          `json:"profile"`
	// Rules is rulesTprouter or rulesNft.
	Rules string `json:"rules"`
	// Workloads limits the run to these workload ids (empty: all).
	Workloads []string `json:"workloads,omitempty"`
	// OutDir receives results.json, table.md and profiles.
	OutDir string `json:"-"`
	// Root is the module's root directory, for building the proxy.
	Root string `json:"-"`
	// Keep leaves the temp dir (configs, logs) in place.
	Keep bool `json:"-"`
	// Base is another build of tprouter's proxy, run as candidate "base"
	// to compare a change with what it changes.
	Base string `json:"base,omitempty"`
	// Log receives progress lines.
	Log io.Writer `json:"-"`
}

// env is the state shared by one benchmark run.
type env struct {
	cfg config
	n   int
	// nofile is the descriptor limit every daemon inherits; idleConns
	// is the idle workload's size, cfg.IdleConns if it fits nofile.
	nofile    uint64
	idleConns int
	lab       *lab.Lab
	dir       string // scratch: configs, logs, access logs
	proxyBin  string // tprouter's proxy, built for this run
	profBin   string // its profiling variant (pprofOverlay)
	// pprof is how the proxy can be profiled (pprofHTTP, pprofFile,
	// pprofOverlay), from its -h.
	pprof string
	// profiling is set during the profile pass; idleHook, when set, runs
	// while the idle workload's connections are open.
	profiling bool
	idleHook  func()
	// tlsOrigin serves the TLS workloads; tlsPool trusts its
	// certificate, which is in the file tlsCAFile.
	tlsOrigin *proc
	tlsPool   *x509.CertPool
	tlsCAFile string
	// rules is the ruleset of the pass under way (pass).
	rules string
	// ctMaxSaved is the machine's conntrack limit before conntrackRoom
	// raised it, 0 if it did not (many.go).
	ctMaxSaved int64
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.cfg.Log, "bench: "+format+"\n", args...)
}

// workload is one load the candidates are put under; metricDefs names
// the table rows its figures go to.
type workload struct {
	id    string
	path  string // the origin's file
	conns int
	close bool // one connection per request
	v6    bool
	idle  bool // the idle-connections memory workload instead of wrk
	tls   bool // a TLS workload (tls.go) instead of wrk
	// many: a new connection per request from many client addresses
	// (many.go), with TLS if tls is set, instead of wrk.
	many bool
	// rules, if set, runs the workload in a pass of its own with the
	// router under this ruleset instead of -rules (run).
	rules string
	// skip lists candidates it does not run for.
	skip []string
}

func (w workload) url() string {
	if w.v6 {
		return fmt.Sprintf("http://[%s]/%s", lab.ServerV6, w.path)
	}
	return fmt.Sprintf("http://%s/%s", lab.ServerV4, w.path)
}

func (w workload) runsFor(c string) bool {
	for _, s := range w.skip {
		if s == c {
			return false
		}
	}
	return true
}

// workloads in the order they run for each candidate. The connection-rate
// workload runs last: it leaves tens of thousands of TIME_WAIT sockets
// behind, which the next candidate's turn should find as old as possible
// and which should not weigh on the same candidate's other workloads.
func workloads(cfg config) []workload {
	// The syslog candidate (syslog.go) runs (a) only, where the access
	// lines per second are most; nopool (tprouter without its pool of
	// upstream connections) the HTTP many-clients workloads only, where
	// it is the "no reuse possible" comparison with HAProxy's
	// http-reuse never.
	ws := []workload{
		{id: "a", path: "1k", conns: 50, skip: []string{"nopool"}},
	}
	if cfg.IPv6 {
		// Squid is left out to keep make bench within its time budget.
		ws = append(ws, workload{id: "a6", path: "1k", conns: 50, v6: true, skip: []string{"squid", "syslog", "nopool"}})
	}
	ws = append(ws,
		workload{id: "b", path: "1m", conns: 10, skip: []string{"syslog", "nopool"}},
		workload{id: "d", idle: true, skip: []string{"direct", "syslog", "nopool"}},
		workload{id: "c", path: "1k", conns: 50, close: true, skip: []string{"syslog", "nopool"}},
		// (c) from 64 client addresses (many.go).
		workload{id: "m", path: "1k", conns: 50, many: true, skip: []string{"syslog"}},
		// TLS, a new connection per request: handshakes (e) and 1 MiB
		// responses (f), and handshakes from 64 client addresses (mt).
		// Squid's package cannot peek and splice (tls.go); a spliced
		// connection is never pooled, so nopool would be tprouter.
		workload{id: "e", path: "1k", conns: 16, tls: true, skip: []string{"squid", "syslog", "nopool"}},
		workload{id: "f", path: "1m", conns: 8, tls: true, skip: []string{"squid", "syslog", "nopool"}},
		workload{id: "mt", path: "1k", conns: 16, many: true, tls: true, skip: []string{"squid", "syslog", "nopool"}},
		// (m) under the seed ruleset, in a pass of its own: the proxies
		// only, whose ratio it is about.
		workload{id: "ms", path: "1k", conns: 50, many: true, rules: rulesNft, skip: []string{"direct", "squid", "syslog"}},
	)
	if len(cfg.Workloads) == 0 {
		return ws
	}
	var sel []workload
	for _, w := range ws {
		for _, id := range cfg.Workloads {
			if w.id == id {
				sel = append(sel, w)
			}
		}
	}
	return sel
}

// runRecord is one measurement: one candidate, one workload, one round.
type runRecord struct {
	Round     int                `json:"round"`
	Candidate string             `json:"candidate"`
	Workload  string             `json:"workload"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	Wrk       *wrkResult         `json:"wrk,omitempty"`
	Idle      *idleResult        `json:"idle,omitempty"`
	TLS       *loadResult        `json:"tls,omitempty"`
	// Load and Conntrack: the many-clients workloads' (many.go).
	Load      *loadResult `json:"load,omitempty"`
	Conntrack *ctStats    `json:"conntrack,omitempty"`
	// SNILogged: whether tprouter's access log named the SNI in (e).
	SNILogged *bool `json:"sni_logged,omitempty"`
	// ProxyCPU is the proxy's CPU seconds during the wrk run; HostBusy
	// the whole machine's busy percentage.
	ProxyCPU float64 `json:"proxy_cpu_seconds,omitempty"`
	HostBusy float64 `json:"host_busy_pct,omitempty"`
	Error    string  `json:"error,omitempty"`
}

// run executes the benchmark and returns its records; the report is made
// from them by the caller.
func run(ctx context.Context, cfg config) (recs []runRecord, err error) {
	nofile, err := raiseNofile(1 << 18)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("mkdir %s: %w", cfg.OutDir, err)
	}
	e := &env{cfg: cfg, n: cfg.N, nofile: nofile}
	e.idleConns = idleConnsFor(cfg.IdleConns, nofile)
	if e.idleConns < cfg.IdleConns {
		e.logf("RLIMIT_NOFILE is capped at %d here (no CAP_SYS_RESOURCE to raise the hard limit): the idle workload holds %d connections, not %d, and target (d) is checked on its linear extrapolation", nofile, e.idleConns, cfg.IdleConns)
	}
	if err := checkTools(cfg.Candidates); err != nil {
		return nil, err
	}
	for _, c := range cfg.Candidates {
		if (c == "tprouter" || c == "nopool") && e.proxyBin == "" {
			if err := e.buildProxy(ctx); err != nil {
				return nil, err
			}
		}
	}
	cleanup, err := e.makeScratch()
	if err != nil {
		return nil, err
	}
	defer cleanup()
	defer e.restoreConntrackMax()
	main, other := splitPasses(workloads(cfg), cfg.Rules)
	if len(main) > 0 {
		if recs, err = e.pass(ctx, cfg.Rules, cfg.Candidates, main, cfg.Profile); err != nil {
			return recs, err
		}
	}
	// The workloads under another ruleset: a short pass with a lab of
	// their own, for the candidates they run for.
	for rules, ws := range other {
		var cands []string
		for _, c := range cfg.Candidates {
			if slices.ContainsFunc(ws, func(w workload) bool { return w.runsFor(c) }) {
				cands = append(cands, c)
			}
		}
		if len(cands) == 0 {
			continue
		}
		e.logf("pass with -rules %s: %s", rules, strings.Join(cands, ", "))
		more, err := e.pass(ctx, rules, cands, ws, false)
		if recs = append(recs, more...); err != nil {
			return recs, err
		}
	}
	return recs, nil
}

// splitPasses separates the workloads of the main pass (under rules,
// -rules) from those that ask for another ruleset, by ruleset.
func splitPasses(ws []workload, rules string) (main []workload, other map[string][]workload) {
	other = map[string][]workload{}
	for _, w := range ws {
		if w.rules == "" || w.rules == rules {
			main = append(main, w)
		} else {
			other[w.rules] = append(other[w.rules], w)
		}
	}
	return main, other
}

// pass builds a lab with the router under rules, starts the origins and
// runs every candidate of cands through ws, round after round, then, if
// profile, the profile pass; the lab is gone when it returns.
func (e *env) pass(ctx context.Context, rules string, cands []string, ws []workload, profile bool) ([]runRecord, error) {
	l, err := newLab(rules)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	e.lab, e.rules = l, rules
	if err := e.tuneLab(); err != nil {
		return nil, err
	}
	if hasMany(ws) {
		if err := addManyClients(l.Client); err != nil {
			return nil, err
		}
	}
	origin, err := startOrigin(l.Server, e.dir, e.n, e.nofile)
	if err != nil {
		return nil, err
	}
	defer origin.stop(5 * time.Second)
	e.tlsOrigin = nil
	if hasTLS(ws) {
		if err := e.startTLSOrigin(); err != nil {
			return nil, err
		}
		defer e.tlsOrigin.stop(5 * time.Second)
	}
	recs, err := e.rounds(ctx, origin, cands, ws)
	if err != nil {
		return recs, err
	}
	if profile {
		// The table stands without profiles: report, do not fail.
		if err := e.profilePass(ctx, ws); err != nil {
			e.logf("%v", err)
		}
	}
	return recs, nil
}

// makeScratch makes e.dir, the scratch directory for the candidates'
// configs and logs; the returned func removes it, unless -keep.
func (e *env) makeScratch() (func(), error) {
	var err error
	if e.dir, err = os.MkdirTemp("", "tprouter-bench-"); err != nil {
		return nil, fmt.Errorf("os.MkdirTemp: %w", err)
	}
	// Squid's and nginx's unprivileged users must reach their subdirs.
	if err := os.Chmod(e.dir, 0o755); err != nil {
		os.RemoveAll(e.dir)
		return nil, fmt.Errorf("chmod %s: %w", e.dir, err)
	}
	if e.cfg.Keep {
		e.logf("scratch files (configs, logs) kept in %s", e.dir)
		return func() {}, nil
	}
	return func() { os.RemoveAll(e.dir) }, nil
}

// rounds runs every candidate of cands through ws once per round,
// stopping early when ctx ends or an origin has died.
func (e *env) rounds(ctx context.Context, origin *proc, cands []string, ws []workload) ([]runRecord, error) {
	var recs []runRecord
	for round := range e.cfg.Rounds {
		// Rotate the order each round so that no candidate always
		// follows the same one (TIME_WAIT, cache and thermal effects).
		for _, name := range rotate(cands, round) {
			if err := ctx.Err(); err != nil {
				return recs, err
			}
			if err := originsFailed(origin, e.tlsOrigin); err != nil {
				return recs, err
			}
			e.logf("round %d/%d: %s", round+1, e.cfg.Rounds, name)
			recs = append(recs, e.runCandidate(ctx, round, name, ws)...)
		}
	}
	return recs, nil
}

// runCandidate sets the rules for c, starts it, runs every workload and
// stops it. A failure is recorded in the returned records, so one broken
// candidate does not lose the others' figures.
func (e *env) runCandidate(ctx context.Context, round int, name string, ws []workload) []runRecord {
	var recs []runRecord
	fail := func(w string, err error) []runRecord {
		e.logf("  %s %s: %v", name, w, err)
		return append(recs, runRecord{Round: round, Candidate: name, Workload: w, Error: err.Error()})
	}
	c, _ := candidateByName(name)
	dir := filepath.Join(e.dir, fmt.Sprintf("%s-%d", name, round+1))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail("start", fmt.Errorf("mkdir %s: %w", dir, err))
	}
	if err := setRules(e.lab, e.rules, c.start != nil); err != nil {
		return fail("start", err)
	}
	if err := clearTimeWait(e.lab.Router); err != nil {
		return fail("start", err)
	}
	var p *proc
	if c.start != nil {
		var err error
		if p, err = c.start(e, dir); err != nil {
			return fail("start", err)
		}
		// p changes when the TLS workloads need a restart.
		defer func() { p.stop(10 * time.Second) }()
	}
	// Check the path both families take before trusting any figure.
	for _, addr := range e.checkAddrs(ws, name) {
		err := waitFor(10*time.Second, p, func() error {
			return checkPath(ctx, e.lab, addr, c.start != nil)
		})
		if err != nil {
			return fail("start", err)
		}
	}
	if e.cfg.Warmup > 0 {
		// Workload (a)'s traffic: heaps, caches and pools grown
		// before anything is measured. Its figures are not kept.
		w := workload{path: "1k"}
		runWrk(ctx, e.lab.Client, e.dir, wrkRun{url: w.url(), conns: 50, threads: 2, dur: e.cfg.Warmup})
	}
	tlsReady, manyReady := false, false
	for _, w := range ws {
		if !w.runsFor(name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fail(w.id, err)
		}
		if w.tls && !tlsReady {
			var err error
			tlsReady = true
			if p, err = e.startTLS(ctx, c, dir, p); err != nil {
				return fail("tls", err)
			}
		}
		if w.many && !w.tls && !manyReady {
			var err error
			manyReady = true
			if p, err = e.freshForMany(ctx, c, dir, p); err != nil {
				return fail(w.id, err)
			}
		}
		rec, err := e.runWorkload(ctx, w, p)
		rec.Round, rec.Candidate, rec.Workload = round, name, w.id
		if err != nil {
			e.logf("  %s %s: %v", name, w.id, err)
			rec.Error = err.Error()
		} else {
			e.logf("  %s %s: %s", name, w.id, formatMetrics(rec.Metrics))
		}
		recs = append(recs, rec)
		if p != nil && p.exited() {
			return fail("exit", p.failure())
		}
	}
	return recs
}

// clearTimeWait destroys the TIME_WAIT sockets a previous candidate left
// in the router. A proxy that closed its client connections first leaves
// thousands, with the server's address and a client port, and a
// forwarded SYN from such a port is lost (TCP's early demultiplexing
// attaches the TIME_WAIT socket to it, and a packet with a socket is not
// forwarded). Left alone, they cut "direct" after HAProxy from about
// 8,000 to 10 connections per second in workload (c).
func clearTimeWait(r *lab.NS) error {
	if out, err := r.Command("ss", "-K", "-t", "state", "time-wait").CombinedOutput(); err != nil {
		return fmt.Errorf("in %s: ss -K -t state time-wait: %v\n%s", r.Name, err, out)
	}
	return nil
}

// checkAddrs lists the origin addresses whose path is checked before a
// candidate runs: IPv4 always, IPv6 when a workload uses it.
func (e *env) checkAddrs(ws []workload, name string) []string {
	addrs := []string{net.JoinHostPort(lab.ServerV4.String(), "80")}
	for _, w := range ws {
		if w.v6 && w.runsFor(name) {
			addrs = append(addrs, net.JoinHostPort(lab.ServerV6.String(), "80"))
			break
		}
	}
	return addrs
}

// runWorkload measures one workload and converts wrk's totals to the
// table's metrics.
func (e *env) runWorkload(ctx context.Context, w workload, p *proc) (runRecord, error) {
	if w.many {
		return e.runManyWorkload(ctx, w, p)
	}
	if w.tls {
		return e.runTLSWorkload(ctx, w, p)
	}
	if w.idle {
		return e.runIdleWorkload(ctx, p)
	}
	var rec runRecord
	var cpu0 float64
	if p != nil {
		cpu0 = p.cpuSeconds()
	}
	busy0, total0 := hostCPU()
	r, err := runWrk(ctx, e.lab.Client, e.dir, wrkRun{url: w.url(), conns: w.conns, threads: 2, dur: e.cfg.Duration, close: w.close})
	if err != nil {
		return rec, err
	}
	busy1, total1 := hostCPU()
	rec.Wrk = &r
	m := map[string]float64{}
	if total1 > total0 {
		// How busy the whole machine was: near 100% means every
		// figure of this run is also a measure of the other load.
		rec.HostBusy = 100 * float64(busy1-busy0) / float64(total1-total0)
	}
	if p != nil {
		// The proxy's CPU time per unit of work: less sensitive to
		// what else runs on the machine than the rates are.
		cpu := p.cpuSeconds() - cpu0
		rec.ProxyCPU = cpu
		switch w.id {
		case "a", "c":
			m[w.id+"_cpu_us"] = cpu / r.Requests * 1e6
		case "b":
			m["b_cpu_ms"] = cpu / (r.Bytes / (1 << 20)) * 1e3
		}
	}
	switch w.id {
	case "a", "a6":
		m[w.id+"_rps"] = r.perSecond(r.Requests)
		m[w.id+"_p50_ms"] = r.P50US / 1000
		m[w.id+"_p99_ms"] = r.P99US / 1000
	case "b":
		m["b_mibps"] = r.perSecond(r.Bytes) / (1 << 20)
	case "c":
		m["c_cps"] = r.perSecond(r.Requests)
	}
	rec.Metrics = m
	if n := r.errors(w.close); n > 0 {
		// The figure stays, flagged: a proxy that answers errors fast
		// must not look fast.
		return rec, fmt.Errorf("wrk reported %.0f errors (connect %.0f, read %.0f, write %.0f, non-2xx %.0f, timeout %.0f) in %.0f requests",
			n, r.Connect, r.Read, r.Write, r.Status, r.Timeout, r.Requests)
	}
	return rec, nil
}

// runIdleWorkload measures (d): the proxy's resident memory with
// e.idleConns idle connections open.
func (e *env) runIdleWorkload(ctx context.Context, p *proc) (runRecord, error) {
	var rec runRecord
	settle := 3 * time.Second
	if e.cfg.Duration < 5*time.Second {
		settle = time.Second
	}
	addr := net.JoinHostPort(lab.ServerV4.String(), "80")
	res, err := idleConns(ctx, e.lab, p, addr, e.idleConns, settle, e.idleHook)
	rec.Idle = &res
	if res.RSS == 0 {
		return rec, err
	}
	rec.Metrics = map[string]float64{"d_rss_mib": float64(res.RSS) / (1 << 20)}
	if res.Conns != targetIdleConns && res.Conns >= targetIdleConns*9/10 {
		// What the target's count would take at the measured
		// cost per connection; only from nearby counts, as the
		// heap grows in steps.
		per := float64(res.RSS-res.RSSBefore) / float64(res.Conns)
		rec.Metrics["d_rss_scaled_mib"] = (float64(res.RSSBefore) + per*targetIdleConns) / (1 << 20)
	}
	if err != nil {
		return rec, err
	}
	// Let the proxy see the closes before the next workload.
	time.Sleep(time.Second)
	return rec, nil
}

// tuneLab prepares the client and the router for the connection-rate
// workload, which opens ~10^5 connections whose
// ports then linger in TIME_WAIT for a minute: a wide ephemeral port range,
// and reuse of TIME_WAIT ports for new outgoing connections (safe with TCP
// timestamps), so one candidate's leftovers do not slow the next one's
// connects. Every candidate gets the same settings.
func (e *env) tuneLab() error {
	for _, ns := range []*lab.NS{e.lab.Client, e.lab.Router} {
		if err := ns.SysctlErr("net/ipv4/ip_local_port_range", "1024 65535"); err != nil {
			return err
		}
		if err := ns.SysctlErr("net/ipv4/tcp_tw_reuse", "1"); err != nil {
			return err
		}
	}
	return nil
}

// buildProxy builds ./services/proxy into the output directory.
func (e *env) buildProxy(ctx context.Context) error {
	bin := filepath.Join(e.cfg.OutDir, "tprouter-proxy")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./services/proxy")
	cmd.Dir = e.cfg.Root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build -o %s ./services/proxy (in %s): %v\n%s", bin, e.cfg.Root, err, out)
	}
	e.proxyBin = bin
	help, _ := exec.CommandContext(ctx, bin, "-h").CombinedOutput()
	e.pprof = pprofStyle(string(help))
	return nil
}

// checkTools fails early, naming the package, when a program is missing.
func checkTools(cands []string) error {
	need := map[string]string{"wrk": "wrk", "nginx": "nginx-light", "ip": "iproute2", "nft": "nftables", "ss": "iproute2"}
	for _, c := range cands {
		switch c {
		case "haproxy":
			need["haproxy"] = "haproxy"
		case "squid":
			need["squid"] = "squid"
		}
	}
	for bin, pkg := range need {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not found: install Debian package %s (make -f qemu/bench/bench.mk bench-deps): %w", bin, pkg, err)
		}
	}
	return nil
}

// raiseNofile lifts RLIMIT_NOFILE for this process and, by inheritance,
// for every daemon it starts: the idle workload needs 10,000 sockets in
// the client and twice that in a proxy. Without CAP_SYS_RESOURCE (as in
// some containers) only the soft limit can rise, to the hard one; the
// limit reached is returned. Setting it explicitly also stops os/exec from
// restoring, in children, the soft limit Go found at startup.
func raiseNofile(want uint64) (uint64, error) {
	lim := syscall.Rlimit{Cur: want, Max: want}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		return want, nil
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit(RLIMIT_NOFILE): %w", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("setrlimit(RLIMIT_NOFILE, %d): %w", lim.Max, err)
	}
	return lim.Max, nil
}

// targetIdleConns is the idle workload of target (d): at most 64 MiB
// resident for 10,000 idle connections.
const targetIdleConns = 10000

// fdReserve is what a proxy needs besides two descriptors per proxied
// connection: listeners, logs, epoll, Squid's reserved descriptors.
const fdReserve = 400

// idleConnsFor is how many idle connections fit a proxy holding two
// descriptors each under the descriptor limit nofile, at most want,
// rounded down to a hundred.
func idleConnsFor(want int, nofile uint64) int {
	fit := (int(min(nofile, 1<<24)) - fdReserve) / 2 / 100 * 100
	return max(1, min(want, fit))
}

// rotate returns s rotated left by k.
func rotate(s []string, k int) []string {
	k %= len(s)
	return append(append([]string{}, s[k:]...), s[:k]...)
}

// hostInfo describes the machine for results.json.
func hostInfo() map[string]string {
	info := map[string]string{"cpus": fmt.Sprint(runtime.NumCPU()), "go": runtime.Version()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		info["kernel"] = strings.TrimSpace(string(b))
	}
	for _, v := range [][]string{{"haproxy", "-v"}, {"squid", "-v"}, {"nginx", "-v"}, {"wrk", "-v"}} {
		out, _ := exec.Command(v[0], v[1:]...).CombinedOutput()
		line, _, _ := strings.Cut(string(out), "\n")
		info[v[0]] = strings.TrimSpace(line)
	}
	return info
}
