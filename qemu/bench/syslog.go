package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	initconfig "tprouter/init/config"
	"tprouter/init/syslog"
	"tprouter/qemu/lab"
)

// The syslog candidate is tprouter's proxy with tprouter.syslog set and
// every collector down: the proxy runs as startTprouter runs it, and this
// process plays init's part of the path (init/remotelog.go with /perm):
// syslog.Follow reads the proxy's access log file and hands each line to
// a syslog.Hub, which formats it and queues it for each collector. The
// collectors are dialed from the router namespace, and none answers:
// nothing listens on the server's UDP and TCP port 514 (ICMP port
// unreachable, RST), and 198.51.100.99 is on the server's link but
// nobody has it (ARP fails, the dial times out). Their queues fill and
// then drop the oldest, the path's worst case. The row compares its
// request rate with tprouter's, which runs with no collector (init then
// follows nothing), round by round (syslogNote).

// syslogDown are the collectors that do not answer.
var syslogDown = []initconfig.Collector{
	{Network: "udp", Host: lab.ServerV4.String(), Port: 514},
	{Network: "tcp", Host: lab.ServerV4.String(), Port: 514},
	{Network: "tcp", Host: "198.51.100.99", Port: 514},
}

// startSyslogDown runs tprouter's proxy and the syslog path beside it;
// stopping the proxy stops the path and logs how many lines it queued
// and the CPU time this process spent meanwhile, the path's cost.
func startSyslogDown(e *env, dir string) (*proc, error) {
	p, err := startTprouter(e, dir)
	if err != nil {
		return nil, err
	}
	hub := syslog.Start("gw.bench", syslogDown, syslog.Options{
		Dial: e.lab.Router.DialContext,
		Logf: func(f string, a ...any) { e.logf("  "+f, a...) },
	})
	var lines atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	cpu0 := selfCPU()
	go func() {
		defer close(done)
		syslog.Follow(ctx, filepath.Join(dir, "access.log"), syslog.FollowInterval, func(line string) {
			lines.Add(1)
			hub.OfferAccess(line)
		})
	}()
	p.cleanup = func() {
		cancel()
		<-done
		hub.Close()
		n := lines.Load()
		cpu := selfCPU() - cpu0
		e.logf("  syslog: %d access lines queued for %d collectors that are down; this process's CPU meanwhile %.2f s (%.1f µs per line)",
			n, len(syslogDown), cpu.Seconds(), float64(cpu.Microseconds())/float64(max(n, 1)))
	}
	return p, nil
}

// selfCPU is this process's user and system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// syslogNote compares, under the table, the syslog candidate's rate in
// workload (a) with tprouter's in the same round: the median of the
// per-round ratios and their spread (half the range, as a percentage of
// the median).
func (r *results) syslogNote() string {
	rate := map[string]map[int]float64{}
	for _, rec := range r.Runs {
		if v, ok := rec.Metrics["a_rps"]; ok && rec.Error == "" {
			if rate[rec.Candidate] == nil {
				rate[rec.Candidate] = map[int]float64{}
			}
			rate[rec.Candidate][rec.Round] = v
		}
	}
	var ratios []float64
	var per []string
	for round, v := range rate["syslog"] {
		if base, ok := rate["tprouter"][round]; ok && base > 0 {
			ratios = append(ratios, v/base)
		}
	}
	if len(ratios) == 0 {
		return ""
	}
	slices.Sort(ratios)
	for _, v := range ratios {
		per = append(per, fmtRatio(v))
	}
	sp, _ := spread(ratios)
	return fmt.Sprintf("Syslog: with tprouter.syslog's collectors down (%s; queues full, dropping), (a) req/s is %s × tprouter's with no collector (median of %d rounds' ratios %s; ±%.0f%%).",
		initconfig.Commas(syslogDown), fmtRatio(median(ratios)), len(ratios), strings.Join(per, ", "), sp)
}
