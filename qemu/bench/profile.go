package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// How tprouter's proxy can be profiled. Its own flag wins when its -h
// shows one; until then the harness builds a profiling variant itself.
const (
	pprofHTTP    = "pprof"      // -pprof <addr>: net/http/pprof on addr
	pprofFile    = "cpuprofile" // -cpuprofile <file>: written at exit
	pprofOverlay = "overlay"    // a build with pprofOverlaySrc added
)

// pprofAddr is where the proxy serves pprof in the router namespace during
// the profile pass; only the harness reaches it.
const pprofAddr = "127.0.0.1:6060"

// pprofOverlaySrc is added to the proxy's main package with go build
// -overlay, so the proxy can be profiled without a flag of its own and
// without touching its files: with pprofEnv set, it serves net/http/pprof
// there. It only goes into the profile pass's binary.
const pprofOverlaySrc = `// Added by qemu/bench with go build -overlay; not in the source tree.
package main

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("` + pprofEnv + `"); addr != "" {
		go http.ListenAndServe(addr, nil)
	}
}
`

const pprofEnv = "TPROUTER_BENCH_PPROF"

func pprofStyle(help string) string {
	switch {
	case regexp.MustCompile(`(?m)^\s*-pprof\b`).MatchString(help):
		return pprofHTTP
	case regexp.MustCompile(`(?m)^\s*-cpuprofile\b`).MatchString(help):
		return pprofFile
	}
	return pprofOverlay
}

// buildProfilingProxy builds the overlay variant of the proxy into
// OutDir when the proxy has no profiling flag.
func (e *env) buildProfilingProxy(ctx context.Context) error {
	if e.pprof != pprofOverlay {
		return nil
	}
	dir := filepath.Join(e.cfg.OutDir, "pprof-overlay")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("mkdir %s: %w", dir, err)
	}
	src := filepath.Join(dir, "zz_bench_pprof.go")
	if err := os.WriteFile(src, []byte(pprofOverlaySrc), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", src, err)
	}
	overlay, _ := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(e.cfg.Root, "services", "proxy", "zz_bench_pprof.go"): src},
	})
	ovPath := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ovPath, overlay, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", ovPath, err)
	}
	bin := filepath.Join(e.cfg.OutDir, "tprouter-proxy-pprof")
	cmd := exec.CommandContext(ctx, "go", "build", "-overlay", ovPath, "-o", bin, "./services/proxy")
	cmd.Dir = e.cfg.Root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build -overlay %s -o %s ./services/proxy: %v\n%s", ovPath, bin, err, out)
	}
	e.profBin = bin
	return nil
}

// tprouterProfile returns the binary, extra flags and environment that
// turn profiling on during the profile pass.
func (e *env) tprouterProfile(dir string) (bin string, args, env []string) {
	if !e.profiling {
		return e.proxyBin, nil, nil
	}
	switch e.pprof {
	case pprofHTTP:
		return e.proxyBin, []string{"-pprof", pprofAddr}, nil
	case pprofFile:
		return e.proxyBin, []string{"-cpuprofile", filepath.Join(dir, "cpu.prof")}, nil
	}
	return e.profBin, nil, []string{pprofEnv + "=" + pprofAddr}
}

// profilePass runs tprouter's proxy once more, outside the measured
// rounds (profiling costs a few percent), and keeps a CPU profile and an
// allocation profile per wrk workload and a heap profile of the idle
// workload in OutDir, each with a `go tool pprof -top` summary beside it.
// A workload that cannot be profiled is reported and the others still are.
func (e *env) profilePass(ctx context.Context, ws []workload) error {
	if e.proxyBin == "" {
		return fmt.Errorf("-profile needs the tprouter candidate")
	}
	if err := e.buildProfilingProxy(ctx); err != nil {
		return err
	}
	// Profiles of an earlier run must not pass for this one's.
	old, _ := filepath.Glob(filepath.Join(e.cfg.OutDir, "profile-*"))
	for _, f := range old {
		os.Remove(f)
	}
	e.profiling = true
	defer func() { e.profiling = false }()
	if err := setRules(e.lab, e.rules, true); err != nil {
		return err
	}
	var errs []error
	for _, w := range ws {
		if !w.runsFor("tprouter") || (w.idle && e.pprof == pprofFile) {
			continue
		}
		e.logf("profile: tprouter %s", w.id)
		if err := e.profileOne(ctx, w); err != nil {
			e.logf("profile: %s: %v", w.id, err)
			errs = append(errs, fmt.Errorf("profile of %s: %w", w.id, err))
		}
	}
	return errors.Join(errs...)
}

// profileOne runs workload w against a fresh profiling proxy and stores
// its profiles. The workload's own errors (a few failed connections, wrk
// errors) do not spoil a profile and are left to the measured rounds.
func (e *env) profileOne(ctx context.Context, w workload) error {
	c, _ := candidateByName("tprouter")
	dir := filepath.Join(e.dir, "profile-"+w.id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("mkdir %s: %w", dir, err)
	}
	p, err := c.start(e, dir)
	if err != nil {
		return err
	}
	defer p.stop(10 * time.Second)
	out := filepath.Join(e.cfg.OutDir, "profile-"+w.id+".pprof")
	allocs := strings.TrimSuffix(out, ".pprof") + "-allocs.pprof"
	var perr error
	switch {
	case w.idle:
		// Heap profile while the connections idle.
		e.idleHook = func() { perr = e.fetchPprof(ctx, "/debug/pprof/heap?gc=1", out) }
		e.runWorkload(ctx, w, p)
		e.idleHook = nil
		if perr == nil && !fileExists(out) {
			perr = fmt.Errorf("the idle workload ended before its heap profile")
		}
	case e.pprof != pprofFile:
		secs := max(1, int(e.cfg.Duration.Seconds())-1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Start after wrk has ramped up.
			time.Sleep(500 * time.Millisecond)
			perr = e.fetchPprof(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), out)
		}()
		e.runWorkload(ctx, w, p)
		<-done
		if perr == nil {
			// What the workload allocated, from the proxy's start.
			perr = e.fetchPprof(ctx, "/debug/pprof/allocs", allocs)
		}
	default:
		e.runWorkload(ctx, w, p)
		p.stop(10 * time.Second) // -cpuprofile is written at exit
		perr = copyFile(filepath.Join(dir, "cpu.prof"), out)
	}
	if perr != nil {
		return perr
	}
	if err := e.pprofTop(ctx, out, ""); err != nil {
		return err
	}
	if fileExists(allocs) {
		if err := e.pprofTop(ctx, allocs, "alloc_space"); err != nil {
			return err
		}
	}
	e.logf("profile: %s (top: %s)", out, strings.TrimSuffix(out, ".pprof")+".txt")
	return nil
}

// pprofTop writes `go tool pprof -top` of the profile prof beside it.
func (e *env) pprofTop(ctx context.Context, prof, sampleIndex string) error {
	args := []string{"tool", "pprof", "-top", "-nodecount=40"}
	if sampleIndex != "" {
		args = append(args, "-sample_index="+sampleIndex)
	}
	bin := e.proxyBin
	if e.pprof == pprofOverlay {
		bin = e.profBin
	}
	args = append(args, bin, prof)
	text, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, text)
	}
	top := strings.TrimSuffix(prof, ".pprof") + ".txt"
	if err := os.WriteFile(top, text, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", top, err)
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// fetchPprof downloads path from the proxy's pprof server in the router
// namespace into the file out.
func (e *env) fetchPprof(ctx context.Context, path, out string) error {
	client := &http.Client{Transport: &http.Transport{DialContext: e.lab.Router.DialContext}}
	url := "http://" + pprofAddr + path
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("in %s: GET %s: %w", e.lab.Router.Name, url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("in %s: GET %s: %s: %s", e.lab.Router.Name, url, resp.Status, b)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return f.Close()
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("read profile: %w", err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}
