// Command bench measures tprouter's interception proxy against plain
// forwarding, HAProxy and Squid in the namespace lab (qemu/lab), all
// behind the same TPROXY rule, and prints a markdown table of medians with
// tprouter's ratios and where it stands against its targets (report.go):
// with 1 KiB responses on keep-alive connections (a), at least HAProxy's
// rate, 4 times Squid's and 0.6 times direct forwarding's; with 1 MiB
// responses (b), 0.6 times direct's throughput; with a new connection per
// request (c), 1.5 times HAProxy's rate; and at most 64 MiB resident for
// 10,000 idle connections (d). Over TLS, with a new connection per request
// (tls.go), it measures handshakes per second (e) and MiB/s with 1 MiB
// responses (f) against HAProxy's SNI inspection and direct forwarding.
// The many-clients workloads (many.go) open a new connection per request
// from 64 client addresses: over HTTP (m), over TLS (mt), and over HTTP
// with the router under the seed ruleset (ms, a second, short pass).
//
//	go run ./qemu/bench            # the full run, 15-20 minutes (make bench)
//	go run ./qemu/bench -quick     # 1 round of 3 s: a smoke run
//	go run ./qemu/bench -profile   # plus CPU/heap profiles of tprouter
//	go run ./qemu/bench -workloads many   # the many-clients rows only
//
// It needs root and wrk, nginx, haproxy and squid (bench.mk installs
// them). Results go to build/bench/results.json and build/bench/table.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

func main() {
	childMain()
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := benchmark(ctx, cfg, "go run ./qemu/bench "+strings.Join(os.Args[1:], " "))
	if r != nil {
		fmt.Print(r.text())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// childMain runs this executable (the bench program or its test binary)
// as the bare relay candidate, the TLS origin or the connection load generator
// when the environment says so, and then never returns.
func childMain() {
	if port := os.Getenv(relayEnv); port != "" {
		relayMain(port)
	}
	if dir := os.Getenv(tlsOriginEnv); dir != "" {
		tlsOriginMain(dir)
	}
	if spec := os.Getenv(connLoadEnv); spec != "" {
		connLoadMain(spec)
	}
}

// parseFlags turns the command line into a config.
func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var (
		cfg   config
		cands string
		wls   string
		quick bool
	)
	fs.IntVar(&cfg.Rounds, "rounds", 3, "rounds; each runs every candidate once, in rotating order")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "length of each wrk run")
	// Half the CPUs: the other half runs wrk and nginx. On a 2-core box
	// that is 1, and every proxy gets one thread.
	fs.IntVar(&cfg.N, "n", max(1, runtime.NumCPU()/2), "CPUs per proxy: tprouter GOMAXPROCS, HAProxy nbthread, Squid workers, nginx workers")
	fs.StringVar(&wls, "workloads", "", "comma-separated workloads to run (a, a6, b, c, d, e, f, m, mt, ms; many = m,mt,ms; default all), e.g. to profile one")
	fs.StringVar(&cands, "candidates", "direct,tprouter,haproxy,squid,syslog,nopool", "comma-separated candidates: direct, tprouter, haproxy, squid, syslog (tprouter with tprouter.syslog's collectors down, workload a only), relay (a bare splice relay), nopool (tprouter with -max-idle-upstream 0, many-clients HTTP workloads only)")
	fs.IntVar(&cfg.IdleConns, "idle-conns", 10000, "connections held open by the idle workload (d)")
	fs.BoolVar(&cfg.IPv6, "ipv6", true, "also run workload (a) over IPv6 (not for Squid)")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "wrk warm-up before each candidate's workloads")
	fs.BoolVar(&quick, "quick", false, "smoke run: 1 round of 3 s, no warm-up")
	fs.BoolVar(&cfg.Profile, "profile", false, "after the rounds, profile tprouter's proxy per workload into the output dir")
	fs.StringVar(&cfg.OutDir, "out", "", "output directory (default build/bench under the module root)")
	fs.StringVar(&cfg.Rules, "rules", rulesTprouter, "router rules: tprouter (the firmware's bring-up, router.Configure, through qemu/labrouter) or nft (a minimal equivalent with ip and nft)")
	fs.StringVar(&cfg.Base, "base", "", "another build of ./services/proxy `binary`, run as candidate base (add it to -candidates) to compare a change")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the scratch directory (configs, logs) and print its path")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if quick {
		cfg.Rounds, cfg.Duration, cfg.Warmup = 1, 3*time.Second, 0
	}
	if cfg.Rules != rulesTprouter && cfg.Rules != rulesNft {
		return cfg, fmt.Errorf("-rules: %q is neither %s nor %s", cfg.Rules, rulesTprouter, rulesNft)
	}
	if wls != "" {
		for _, w := range strings.Split(wls, ",") {
			switch {
			case w == "many":
				cfg.Workloads = append(cfg.Workloads, manyWorkloads...)
			case strings.Contains(",a,a6,b,c,d,e,f,m,mt,ms,", ","+w+","):
				cfg.Workloads = append(cfg.Workloads, w)
			default:
				return cfg, fmt.Errorf("-workloads: unknown workload %q (a, a6, b, c, d, e, f, m, mt, ms or many)", w)
			}
		}
	}
	cfg.Candidates = strings.Split(cands, ",")
	for _, c := range cfg.Candidates {
		if _, ok := candidateByName(c); !ok {
			return cfg, fmt.Errorf("-candidates: unknown candidate %q", c)
		}
	}
	if cfg.Rounds < 1 || cfg.N < 1 || cfg.IdleConns < 1 || cfg.Duration < time.Second {
		return cfg, fmt.Errorf("-rounds, -n and -idle-conns must be positive and -duration at least 1s")
	}
	root, err := moduleRoot()
	if err != nil {
		return cfg, err
	}
	cfg.Root = root
	if cfg.OutDir == "" {
		cfg.OutDir = filepath.Join(root, "build", "bench")
	}
	cfg.Log = os.Stderr
	return cfg, nil
}

// benchmark runs the benchmark and writes its results; the results are
// returned even when a late step failed, so partial figures are printed.
func benchmark(ctx context.Context, cfg config, command string) (*results, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("needs root (network namespaces, TPROXY): run as root")
	}
	start := time.Now()
	recs, err := run(ctx, cfg)
	if len(recs) == 0 {
		return nil, err
	}
	r := summarize(cfg, recs)
	r.Command = command
	r.Host = hostInfo()
	if werr := r.write(cfg.OutDir); werr != nil && err == nil {
		err = werr
	}
	fmt.Fprintf(cfg.Log, "bench: done in %v; wrote %s and %s\n", time.Since(start).Round(time.Second),
		filepath.Join(cfg.OutDir, "results.json"), filepath.Join(cfg.OutDir, "table.md"))
	return r, err
}

// moduleRoot finds the directory of tprouter's go.mod from the working
// directory up, so the program works from the root (go run) and from its
// own folder (go test).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("os.Getwd: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "module tprouter\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod of module tprouter in %s or above", dir)
		}
	}
}
