package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"tprouter/qemu/lab"
)

// The many-clients workloads (m, mt, ms): a new connection per request,
// as in (c), but from manyClients addresses on the client's link, taken
// in turn, so that the router sees many clients, each with its own
// connections, instead of workload (c)'s one address whose 50 connections
// share everything keyed by the client. The connection load generator
// (connload.go) makes them: 1 KiB over HTTP (m), or over TLS with a full
// handshake and the SNI (mt, through the same interception as (e)). (ms)
// is (m) with the router under the seed ruleset (-rules nft: the Squid
// wiki's socket and TPROXY rules), measured in a second, short pass of
// its own with a lab built for it (run.go).
//
// Before each run the TIME_WAIT sockets of the three namespaces are
// destroyed and the router's conntrack table emptied, so no run inherits
// the one before's, and the machine's conntrack limit is raised if the
// run could fill the table. Per run results.json has the router's
// conntrack counters (insert_failed, drop, early_drop) and how many
// connections the origin accepted per client connection: 1 for direct
// and HAProxy (http-reuse never), less for a proxy that keeps upstream
// connections for the client's next one (tprouter, per client address:
// 64 addresses do not defeat its pool, as each comes back within
// milliseconds; candidate nopool shows the cost without it). Each proxy
// is restarted before (m), see freshForMany.

// manyWorkloads are the ids -workloads many stands for.
var manyWorkloads = []string{"m", "mt", "ms"}

// manyClients is how many client addresses the workloads use.
const manyClients = 64

// manyFirst is the first of them: 192.0.2.64 to 192.0.2.127, in the lab's
// LAN prefix (so the router reaches them on its LAN link) and clear of the
// addresses the lab and the tests use (.1, .2).
var manyFirst = netip.MustParseAddr("192.0.2.64")

// manyAddrs lists the client addresses.
func manyAddrs() []string {
	var s []string
	for a, i := manyFirst, 0; i < manyClients; a, i = a.Next(), i+1 {
		s = append(s, a.String())
	}
	return s
}

// hasMany reports whether ws has a many-clients workload.
func hasMany(ws []workload) bool {
	for _, w := range ws {
		if w.many {
			return true
		}
	}
	return false
}

// addManyClients puts the addresses on the client's link, as secondary
// addresses of its /24: the client's own address stays the one its
// other connections leave from.
func addManyClients(c *lab.NS) error {
	for _, a := range manyAddrs() {
		if _, err := c.IPErr("addr", "add", a+"/24", "dev", lab.ClientIf); err != nil {
			return err
		}
	}
	return nil
}

// freshForMany restarts candidate c's process p (nil: direct, nothing to
// restart) before its first many-clients workload over HTTP and checks
// the path again. The workloads before leave state keyed by the client
// that would decide the figure: the idle workload's 9,800 connections
// from the one client address leave tprouter's pool of upstream
// connections full (-max-idle-upstream, 1,024) for a minute, and a full
// pool keeps none of the many clients' connections, so (m) measured a
// new upstream connection per client connection after (d) and (c), and
// almost none from a fresh process. On failure the stopped p is
// returned, for the caller's deferred stop.
func (e *env) freshForMany(ctx context.Context, c candidate, dir string, p *proc) (*proc, error) {
	if p == nil || c.start == nil {
		return p, nil
	}
	p.stop(10 * time.Second)
	np, err := c.start(e, dir)
	if err != nil {
		return p, fmt.Errorf("restart for the many-clients workloads: %w", err)
	}
	addr := net.JoinHostPort(lab.ServerV4.String(), "80")
	return np, waitFor(10*time.Second, np, func() error { return checkPath(ctx, e.lab, addr, true) })
}

// resetForMany clears what the last run left: TIME_WAIT sockets in the
// three namespaces and the router's conntrack entries.
func (e *env) resetForMany() error {
	for _, ns := range []*lab.NS{e.lab.Client, e.lab.Router, e.lab.Server} {
		if err := clearTimeWait(ns); err != nil {
			return err
		}
	}
	return e.lab.Router.ConntrackFlushErr()
}

// runManyWorkload measures many-clients workload w against p (nil for
// direct) and converts the load generator's totals to the table's metrics.
func (e *env) runManyWorkload(ctx context.Context, w workload, p *proc) (runRecord, error) {
	var rec runRecord
	if err := e.resetForMany(); err != nil {
		return rec, err
	}
	s := loadSpec{
		Addr: net.JoinHostPort(lab.ServerV4.String(), "80"), Host: lab.ServerV4.String(),
		Path: "/" + w.path, Size: originFiles[w.path], Conns: w.conns, Duration: e.cfg.Duration,
		Max: tlsMaxConns, Sources: manyAddrs(),
	}
	if w.tls {
		s.Addr, s.Host, s.CAFile, s.Duration = net.JoinHostPort(lab.ServerV4.String(), "443"), tlsName, e.tlsCAFile, tlsDuration(e.cfg.Duration)
	}
	if err := e.conntrackRoom(s); err != nil {
		return rec, err
	}
	ct0, err := e.lab.Router.ConntrackStatsErr()
	if err != nil {
		return rec, err
	}
	acc0, err := tcpCounter(e.lab.Server, "PassiveOpens")
	if err != nil {
		return rec, err
	}
	var cpu0 float64
	if p != nil {
		cpu0 = p.cpuSeconds()
	}
	busy0, total0 := hostCPU()
	r, err := runConnLoad(ctx, e.lab.Client, s)
	if err != nil {
		return rec, err
	}
	busy1, total1 := hostCPU()
	rec.Load = &r
	if total1 > total0 {
		rec.HostBusy = 100 * float64(busy1-busy0) / float64(total1-total0)
	}
	m := map[string]float64{
		w.id + "_cps":           r.perSecond(r.Conns),
		w.id + "_p50_ms":        r.P50US / 1000,
		w.id + "_p99_ms":        r.P99US / 1000,
		w.id + "_client_cpu_us": r.CPUSeconds / r.Conns * 1e6,
	}
	if p != nil {
		rec.ProxyCPU = p.cpuSeconds() - cpu0
		m[w.id+"_cpu_us"] = rec.ProxyCPU / r.Conns * 1e6
	}
	if acc1, err := tcpCounter(e.lab.Server, "PassiveOpens"); err == nil {
		m[w.id+"_origin_conns"] = float64(acc1-acc0) / (r.Conns + r.Errors)
	}
	if ct1, err := e.lab.Router.ConntrackStatsErr(); err == nil {
		rec.Conntrack = &ctStats{
			InsertFailed: ct1["insert_failed"] - ct0["insert_failed"],
			Drop:         ct1["drop"] - ct0["drop"], EarlyDrop: ct1["early_drop"] - ct0["early_drop"],
			Entries: ct1["entries"], Max: conntrackMax(),
		}
	}
	rec.Metrics = m
	if r.Errors > 0 {
		// As with wrk: the figure stays, flagged.
		return rec, fmt.Errorf("load generator: %.0f failed connections in %.0f, first: %s", r.Errors, r.Conns+r.Errors, r.FirstError)
	}
	return rec, nil
}

// tcpCounter reads one counter of the Tcp group of /proc/net/snmp in ns
// (PassiveOpens: connections accepted).
func tcpCounter(ns *lab.NS, name string) (int64, error) {
	out, err := ns.RunErr("cat", "/proc/net/snmp")
	if err != nil {
		return 0, err
	}
	ls := strings.Split(out, "\n")
	for i := 0; i+1 < len(ls); i++ {
		h, v := strings.Fields(ls[i]), strings.Fields(ls[i+1])
		if len(h) == 0 || h[0] != "Tcp:" || len(v) != len(h) || v[0] != "Tcp:" {
			continue
		}
		for j := range h {
			if h[j] == name {
				return strconv.ParseInt(v[j], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("in %s: no Tcp %s in /proc/net/snmp", ns.Name, name)
}

// manyNote says under the table what the many-clients rows measure.
func (r *results) manyNote() string {
	for _, rec := range r.Runs {
		if rec.Load != nil {
			return fmt.Sprintf("Many clients (m, mt, ms): the Go load generator opens a new connection per request from %d client addresses in turn (%s and on), %d connections at a time for HTTP, 16 for TLS, reads the whole response and closes; TLS as in (e). \"Seed ruleset\": the router under the Squid wiki's two rules (-rules nft), a pass of its own for the proxies. \"Origin connections per client connection\": connections the origin accepted over the client's; below 1 where the proxy kept upstream connections for the same client's next one.",
				manyClients, manyFirst, 50)
		}
	}
	return ""
}
