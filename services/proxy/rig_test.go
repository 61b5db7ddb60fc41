package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tprouter/qemu/lab"
	"tprouter/qemu/labrouter"
	"tprouter/services/proxy/accesslog"
)

// The lab tests run the real proxy binary in a lab router namespace with
// TPROXY rules, clients in the client namespace and servers in the server
// namespace, on the real kernel.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// proxyBinary builds the proxy once per test binary.
func proxyBinary(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("PROXY_TEST_BIN"); b != "" {
		return b // a measurement's own build (see TestMeasureNewConns)
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "proxy-test-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "proxy")
		out, err := exec.Command("go", "build", "-o", binPath, "tprouter/services/proxy").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// rig is a lab with the proxy running in its router.
type rig struct {
	*lab.Lab
	cmd     *exec.Cmd
	logPath string
	stderr  *lines
	exited  chan error
}

// statusAddr is where the proxy serves /metrics inside the router.
const statusAddr = "127.0.0.1:9000"

// lines collects a process's output lines and lets tests wait for one.
type lines struct {
	mu   sync.Mutex
	all  []string
	more chan struct{}
}

func (l *lines) add(s string) {
	l.mu.Lock()
	l.all = append(l.all, s)
	close(l.more)
	l.more = make(chan struct{})
	l.mu.Unlock()
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

// wait waits up to d for a line containing sub.
func (l *lines) wait(sub string, d time.Duration) bool {
	deadline := time.After(d)
	for {
		l.mu.Lock()
		for _, s := range l.all {
			if strings.Contains(s, sub) {
				l.mu.Unlock()
				return true
			}
		}
		more := l.more
		l.mu.Unlock()
		select {
		case <-more:
		case <-deadline:
			return false
		}
	}
}

func start(t *testing.T, flags ...string) *rig {
	t.Helper()
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	labrouter.Install(t, l, labrouter.Config(3129))
	return launch(t, l, flags...)
}

// launch starts the proxy in l's router, whatever ruleset it has, and
// waits until it listens.
func launch(t *testing.T, l *lab.Lab, flags ...string) *rig {
	t.Helper()
	raiseFileLimit(t)
	r := &rig{Lab: l, logPath: filepath.Join(t.TempDir(), "access.log"),
		stderr: &lines{more: make(chan struct{})}, exited: make(chan error, 1)}
	args := append([]string{"-name", "lab-proxy", "-access-log", r.logPath, "-status", statusAddr}, flags...)
	r.cmd = l.Router.Command(proxyBinary(t), args...)
	pipe, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		s := bufio.NewScanner(pipe)
		for s.Scan() {
			r.stderr.add(s.Text())
		}
	}()
	go func() {
		<-scanned
		r.exited <- r.cmd.Wait()
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		select {
		case <-r.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("proxy did not exit after SIGKILL")
		}
		if t.Failed() {
			t.Logf("proxy stderr:\n%s", r.stderr)
		}
	})
	if !r.stderr.wait("listening", 10*time.Second) {
		t.Fatalf("proxy did not start listening:\n%s", r.stderr)
	}
	return r
}

// raiseFileLimit lets a test hold 10,000 connections at both ends.
func raiseFileLimit(t *testing.T) {
	var rl syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	if rl.Cur < 65536 {
		rl = syscall.Rlimit{Cur: 65536, Max: max(rl.Max, 65536)}
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl) // needs CAP_SYS_RESOURCE

	}
}

// stop sends SIGTERM and waits for a clean exit.
func (r *rig) stop(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.exited:
		if err != nil {
			t.Errorf("proxy exit after SIGTERM: %v\n%s", err, r.stderr)
		}
		r.exited <- err // for Cleanup
	case <-time.After(20 * time.Second):
		t.Fatalf("proxy did not exit after SIGTERM")
	}
}

// fetch GETs a status page from inside the router.
func (r *rig) fetch(t *testing.T, path string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: r.Router.DialContext}}
	resp, err := c.Get("http://" + statusAddr + path)
	if err != nil {
		t.Fatalf("status %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metric returns the value of one sample on /metrics, e.g.
// `tprouter_proxy_errors_total{kind="via_loop"}`.
func (r *rig) metric(t *testing.T, sample string) string {
	t.Helper()
	for _, l := range strings.Split(r.fetch(t, "/metrics"), "\n") {
		if v, ok := strings.CutPrefix(l, sample+" "); ok {
			return v
		}
	}
	t.Fatalf("no sample %s on /metrics", sample)
	return ""
}

// logLines waits until /access.log has at least n lines and parses them.
func (r *rig) logLines(t *testing.T, n int) []accesslog.Entry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		text := r.fetch(t, "/access.log")
		ls := strings.SplitAfter(text, "\n")
		if ls[len(ls)-1] == "" {
			ls = ls[:len(ls)-1]
		}
		if len(ls) >= n || time.Now().After(deadline) {
			var es []accesslog.Entry
			for _, l := range ls {
				e, err := accesslog.Parse(l)
				if err != nil {
					t.Fatalf("access log line %q: %v", l, err)
				}
				es = append(es, e)
			}
			return es
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dial connects from the client namespace.
func (r *rig) dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := r.Client.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// server is a test server in the server namespace counting connections.
type server struct {
	conns chanCounter
}

type chanCounter struct {
	mu sync.Mutex
	n  int
}

func (c *chanCounter) inc() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

func (c *chanCounter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// serveHTTP runs h on port 80 of the server (both families).
func (r *rig) serveHTTP(t *testing.T, h http.Handler) *server {
	t.Helper()
	s := &server{}
	ln := r.Server.Listen(t, "tcp", ":80")
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.inc()
			}
		}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// serveRaw runs fn for each connection to port 80 of the server.
func (r *rig) serveRaw(t *testing.T, fn func(net.Conn)) *server {
	t.Helper()
	s := &server{}
	r.acceptEach(t, "80", s, 120*time.Second, fn)
	return s
}

// acceptEach runs fn, within d, for each connection to port of the
// server, counting them in s.
func (r *rig) acceptEach(t *testing.T, port string, s *server, d time.Duration, fn func(net.Conn)) {
	t.Helper()
	ln := r.Server.Listen(t, "tcp", ":"+port)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.inc()
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(d))
				fn(c)
			}()
		}
	}()
}

func readResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return resp, string(b)
}
