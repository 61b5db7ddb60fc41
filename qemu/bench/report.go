package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// metricDef is one row of the table.
type metricDef struct {
	key    string
	label  string
	format string
	lower  bool // lower is better (latency, memory)
}

func (r *results) metricDefs() []metricDef {
	return []metricDef{
		{"a_rps", "(a) 1 KiB, 50 keep-alive conns: req/s", "%.0f", false},
		{"a_p50_ms", "(a) p50 latency, ms", "%.3f", true},
		{"a_p99_ms", "(a) p99 latency, ms", "%.3f", true},
		{"a_cpu_us", "(a) proxy CPU per request, µs", "%.1f", true},
		{"a6_rps", "(a) over IPv6: req/s", "%.0f", false},
		{"b_mibps", "(b) 1 MiB, 10 keep-alive conns: MiB/s", "%.0f", false},
		{"b_cpu_ms", "(b) proxy CPU per MiB, ms", "%.2f", true},
		{"c_cps", "(c) new connection per request, 50 conns: conn/s", "%.0f", false},
		{"c_cpu_us", "(c) proxy CPU per connection, µs", "%.0f", true},
		{"m_cps", "(c) many clients: conn/s", "%.0f", false},
		{"m_p99_ms", "(c) many clients: p99 latency, ms", "%.3f", true},
		{"m_cpu_us", "(c) many clients: proxy CPU per connection, µs", "%.0f", true},
		{"m_origin_conns", "(c) many clients: origin connections per client connection", "%.3g", true},
		{"ms_cps", "(c) many clients, seed ruleset: conn/s", "%.0f", false},
		{"ms_p99_ms", "(c) many clients, seed ruleset: p99 latency, ms", "%.3f", true},
		{"e_hps", "(e) TLS, new connection per request, 16 conns: handshakes/s", "%.0f", false},
		{"e_cpu_us", "(e) proxy CPU per TLS connection, µs", "%.0f", true},
		{"f_mibps", "(f) TLS 1 MiB, new connection per request, 8 conns: MiB/s", "%.0f", false},
		{"f_cpu_ms", "(f) proxy CPU per TLS MiB, ms", "%.2f", true},
		{"mt_cps", "TLS many clients: conn/s", "%.0f", false},
		{"mt_cpu_us", "TLS many clients: proxy CPU per connection, µs", "%.0f", true},
		{"d_rss_mib", fmt.Sprintf("(d) %d idle conns: resident MiB", r.IdleMeasured), "%.1f", true},
		{"d_rss_scaled_mib", fmt.Sprintf("(d) extrapolated to %d idle conns: resident MiB", targetIdleConns), "%.1f", true},
	}
}

// target is a figure tprouter's proxy aims at: the subject's figure
// divided by the reference's (or, with no reference, the figure itself)
// must be at least min or at most max.
type target struct {
	ID     string  `json:"id"`
	Desc   string  `json:"desc"`
	Metric string  `json:"metric"`
	Vs     string  `json:"vs,omitempty"`
	Min    float64 `json:"min,omitempty"`
	Max    float64 `json:"max,omitempty"`
}

var targets = []target{
	{ID: "a-haproxy", Desc: "(a) req/s ≥ 1.0 × HAProxy", Metric: "a_rps", Vs: "haproxy", Min: 1.0},
	{ID: "a-squid", Desc: "(a) req/s ≥ 4 × Squid", Metric: "a_rps", Vs: "squid", Min: 4},
	{ID: "a-direct", Desc: "(a) req/s ≥ 0.6 × direct", Metric: "a_rps", Vs: "direct", Min: 0.6},
	{ID: "b-direct", Desc: "(b) MiB/s ≥ 0.6 × direct", Metric: "b_mibps", Vs: "direct", Min: 0.6},
	{ID: "c-haproxy", Desc: "(c) conn/s ≥ 1.5 × HAProxy", Metric: "c_cps", Vs: "haproxy", Min: 1.5},
	{ID: "d-rss", Desc: "(d) ≤ 64 MiB resident for 10,000 idle conns", Metric: "d_rss_mib", Max: 64},
}

// targetResult is a target checked against the medians.
type targetResult struct {
	target
	Value *float64 `json:"value"` // the ratio, or the figure; nil if not measured
	Met   bool     `json:"met"`
	Line  string   `json:"line"`
}

// results is results.json.
type results struct {
	Command    string            `json:"command"`
	Date       string            `json:"date"`
	Host       map[string]string `json:"host"`
	Config     config            `json:"config"`
	Subject    string            `json:"subject"`
	Candidates []string          `json:"candidates"`
	Runs       []runRecord       `json:"runs"`
	// IdleMeasured is how many connections the idle workload opened: the
	// configured count unless the descriptor limit was lower.
	IdleMeasured int                           `json:"idle_conns_measured"`
	Medians      map[string]map[string]float64 `json:"medians"`
	// Spread is, per candidate and metric measured in more than one
	// round, half the range of the rounds' figures as a percentage of
	// their median: the table's "±".
	Spread map[string]map[string]float64 `json:"spread_pct,omitempty"`
	// Flagged counts, per candidate and metric, runs whose wrk reported
	// errors; their figures are in the medians, marked in the table.
	Flagged map[string]map[string]int            `json:"flagged,omitempty"`
	Ratios  map[string]map[string]float64        `json:"ratios"`
	Targets []targetResult                       `json:"targets"`
	Errors  map[string]map[string]map[int]string `json:"errors,omitempty"`
	Table   string                               `json:"table_markdown"`
}

// subjectOf is the candidate the ratios are about: tprouter, or in its
// absence (the test's fallback) the first proxy.
func subjectOf(cands []string) string {
	for _, c := range cands {
		if c == "tprouter" {
			return c
		}
	}
	for _, c := range cands {
		if c != "direct" {
			return c
		}
	}
	return ""
}

// summarize computes medians, ratios and targets from the records.
func summarize(cfg config, recs []runRecord) *results {
	r := &results{
		Date:       time.Now().UTC().Format(time.RFC3339),
		Config:     cfg,
		Candidates: cfg.Candidates,
		Subject:    subjectOf(cfg.Candidates),
		Runs:       recs,
		Medians:    map[string]map[string]float64{},
		Spread:     map[string]map[string]float64{},
		Flagged:    map[string]map[string]int{},
		Ratios:     map[string]map[string]float64{},
		Errors:     map[string]map[string]map[int]string{},
	}
	values := map[string]map[string][]float64{}
	r.IdleMeasured = cfg.IdleConns
	for _, rec := range recs {
		if rec.Idle != nil {
			r.IdleMeasured = rec.Idle.Tried
		}
		if rec.Error != "" {
			if r.Errors[rec.Candidate] == nil {
				r.Errors[rec.Candidate] = map[string]map[int]string{}
			}
			if r.Errors[rec.Candidate][rec.Workload] == nil {
				r.Errors[rec.Candidate][rec.Workload] = map[int]string{}
			}
			r.Errors[rec.Candidate][rec.Workload][rec.Round+1] = rec.Error
		}
		for k, v := range rec.Metrics {
			if values[rec.Candidate] == nil {
				values[rec.Candidate] = map[string][]float64{}
				r.Flagged[rec.Candidate] = map[string]int{}
			}
			values[rec.Candidate][k] = append(values[rec.Candidate][k], v)
			if rec.Error != "" {
				r.Flagged[rec.Candidate][k]++
			}
		}
	}
	for c, m := range values {
		r.Medians[c] = map[string]float64{}
		for k, vs := range m {
			r.Medians[c][k] = median(vs)
			if sp, ok := spread(vs); ok {
				if r.Spread[c] == nil {
					r.Spread[c] = map[string]float64{}
				}
				r.Spread[c][k] = sp
			}
		}
	}
	s := r.Subject
	for _, c := range cfg.Candidates {
		if c == s {
			continue
		}
		key := s + "/" + c
		for k, v := range r.Medians[s] {
			if o, ok := r.Medians[c][k]; ok && o > 0 {
				if r.Ratios[key] == nil {
					r.Ratios[key] = map[string]float64{}
				}
				r.Ratios[key][k] = v / o
			}
		}
	}
	for _, t := range targets {
		r.Targets = append(r.Targets, r.check(t))
	}
	r.Table = r.markdown()
	return r
}

func (r *results) check(t target) targetResult {
	tr := targetResult{target: t}
	var v float64
	var ok bool
	note := ""
	switch {
	case t.Vs != "":
		v, ok = r.Ratios[r.Subject+"/"+t.Vs][t.Metric]
	case t.Metric == "d_rss_mib" && r.IdleMeasured != targetIdleConns:
		// The target is for 10,000 connections: judge the linear
		// extrapolation when the run held another number.
		v, ok = r.Medians[r.Subject]["d_rss_scaled_mib"]
		why := "-idle-conns"
		if r.IdleMeasured < r.Config.IdleConns {
			why = "the descriptor limit allows no more"
		}
		note = fmt.Sprintf(" (extrapolated from %d connections: %s)", r.IdleMeasured, why)
	default:
		v, ok = r.Medians[r.Subject][t.Metric]
	}
	switch {
	case !ok && note != "":
		tr.Line = fmt.Sprintf("%s: not measured (the run opened %d connections)", t.Desc, r.IdleMeasured)
		return tr
	case !ok:
		tr.Line = fmt.Sprintf("%s: not measured", t.Desc)
		return tr
	case t.Max > 0:
		tr.Met = v <= t.Max
	default:
		tr.Met = v >= t.Min
	}
	tr.Value = &v
	verdict := "met"
	if !tr.Met {
		verdict = "NOT met"
	}
	fig := fmt.Sprintf("%.2f ×", v)
	if t.Vs == "" {
		fig = fmt.Sprintf("%.1f MiB", v)
	}
	tr.Line = fmt.Sprintf("%s: %s %s%s: %s", t.Desc, r.Subject, fig, note, verdict)
	return tr
}

// title of a candidate's column.
func title(c string) string {
	if cand, ok := candidateByName(c); ok {
		return cand.title
	}
	return c
}

// ratioOrder puts the ratio columns in the order of the targets: the
// other proxies first, then the references.
var ratioOrder = []string{"haproxy", "squid", "relay", "direct"}

// markdown renders the table: one row per metric that was measured, a
// column per candidate, then the subject's ratios. A figure whose runs
// reported errors (wrk's, failed idle connections) is marked with "!".
func (r *results) markdown() string {
	var cols, refs []string
	cols = append(cols, r.Candidates...)
	for _, c := range ratioOrder {
		for _, have := range r.Candidates {
			if have == c && c != r.Subject {
				refs = append(refs, c)
			}
		}
	}
	var b strings.Builder
	b.WriteString("| workload |")
	for _, c := range cols {
		fmt.Fprintf(&b, " %s |", title(c))
	}
	for _, c := range refs {
		fmt.Fprintf(&b, " %s/%s |", title(r.Subject), title(c))
	}
	b.WriteString("\n|---|")
	b.WriteString(strings.Repeat("---:|", len(cols)+len(refs)))
	b.WriteString("\n")
	for _, m := range r.metricDefs() {
		measured := false
		for _, c := range cols {
			if _, ok := r.Medians[c][m.key]; ok {
				measured = true
			}
		}
		if !measured {
			continue
		}
		fmt.Fprintf(&b, "| %s |", m.label)
		for _, c := range cols {
			v, ok := r.Medians[c][m.key]
			switch {
			case ok:
				mark := ""
				if r.Flagged[c][m.key] > 0 {
					mark = "!"
				}
				if sp, ok := r.Spread[c][m.key]; ok {
					mark += fmt.Sprintf(" ±%.0f%%", sp)
				}
				fmt.Fprintf(&b, " "+m.format+"%s |", v, mark)
			case r.Errors[c][workloadOf(m.key)] != nil || r.Errors[c]["start"] != nil:
				b.WriteString(" err |")
			default:
				b.WriteString(" - |")
			}
		}
		for _, c := range refs {
			if v, ok := r.Ratios[r.Subject+"/"+c][m.key]; ok {
				fmt.Fprintf(&b, " %s |", fmtRatio(v))
			} else {
				b.WriteString(" - |")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// workloadOf maps a metric key to its workload id ("a6_rps" → "a6").
func workloadOf(key string) string {
	w, _, _ := strings.Cut(key, "_")
	return w
}

// setupLine says what the table was measured with.
func (r *results) setupLine() string {
	c := r.Config
	rules := "the firmware's own bring-up (router.Configure: init/firewall, init/netconf)"
	if c.Rules == rulesNft {
		rules = "a minimal nft equivalent (-rules nft)"
	}
	return fmt.Sprintf("N = %d (tprouter GOMAXPROCS, HAProxy nbthread, Squid workers, nginx workers) on %s CPUs; %d round(s) of %v per workload, candidates alternating, medians; wrk -t2; router rules: %s; tprouter logs every request, HAProxy and Squid log nothing. \"Proxy CPU\" is the proxy's user+system time during the run divided by its requests, bytes or connections. TLS (e, f): runs of %v from a Go load generator on one client address, each connection a full TLS 1.3 handshake (X25519MLKEM768 key share, ECDSA P-256 certificate, no resumption) to a Go crypto/tls origin, one GET, close; tprouter splices after the ClientHello, HAProxy runs in mode tcp with req.ssl_sni inspection and capture, Squid is left out (Debian's squid has no SslBump).",
		c.N, r.Host["cpus"], c.Rounds, c.Duration, rules, tlsDuration(c.Duration))
}

// text is what is printed and written to table.md: the command, the
// setup, the table, the target lines and the error notes.
func (r *results) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "`%s` (%s)\n\n%s\n\n", r.Command, r.Date, r.setupLine())
	b.WriteString(r.Table)
	b.WriteString("\nRatios are " + r.Subject + "'s figure divided by the other's; for latency and memory lower is better. \"±\" is the spread across rounds: half the range of the rounds' figures, as a percentage of their median. \"!\" marks a figure some of whose runs reported errors (listed below and in results.json).\n\nTargets:\n\n")
	for _, t := range r.Targets {
		fmt.Fprintf(&b, "- %s\n", t.Line)
	}
	for _, note := range []string{r.manyNote(), r.conntrackNote(), r.sniNote(), r.syslogNote()} {
		if note != "" {
			fmt.Fprintf(&b, "\n%s\n", note)
		}
	}
	if busy := r.hostBusy(); busy != "" {
		fmt.Fprintf(&b, "\nMachine CPU busy during the wrk runs (all processes, not only the benchmark's): %s.\n", busy)
	}
	if len(r.Errors) > 0 {
		b.WriteString("\nErrors:\n\n")
		var keys []string
		for c, ws := range r.Errors {
			for w, rounds := range ws {
				for round, msg := range rounds {
					first, _, _ := strings.Cut(msg, "\n")
					keys = append(keys, fmt.Sprintf("- %s %s round %d: %s", c, w, round, first))
				}
			}
		}
		sort.Strings(keys)
		b.WriteString(strings.Join(keys, "\n") + "\n")
	}
	return b.String()
}

// hostBusy summarizes the machine's load over the runs: median, min, max.
func (r *results) hostBusy() string {
	var vs []float64
	for _, rec := range r.Runs {
		if rec.HostBusy > 0 {
			vs = append(vs, rec.HostBusy)
		}
	}
	if len(vs) == 0 {
		return ""
	}
	sort.Float64s(vs)
	return fmt.Sprintf("median %.0f%%, min %.0f%%, max %.0f%%", median(vs), vs[0], vs[len(vs)-1])
}

// write stores results.json and table.md in dir.
func (r *results) write(dir string) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("json.MarshalIndent(results): %w", err)
	}
	for name, data := range map[string][]byte{"results.json": js, "table.md": []byte(r.text())} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

// fmtRatio prints two decimals, or two significant digits for a ratio
// too small for that, so no measured ratio reads as zero.
func fmtRatio(v float64) string {
	if v >= 0.1 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

// spread is half the range of vs as a percentage of its median, for
// more than one value.
func spread(vs []float64) (float64, bool) {
	if len(vs) < 2 {
		return 0, false
	}
	m := median(vs)
	if m == 0 {
		return 0, false
	}
	return 100 * (slices.Max(vs) - slices.Min(vs)) / 2 / m, true
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// formatMetrics renders one run's metrics for the progress log.
func formatMetrics(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%.3g", k, m[k]))
	}
	return strings.Join(parts, " ")
}
