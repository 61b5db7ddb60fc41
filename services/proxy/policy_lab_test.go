package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tprouter/services/internal/cli"
)

// TestPolicyFlagErrors: a list file that cannot be read and a bad -unknown
// stop the proxy at start with one line naming the flag (and the file).
func TestPolicyFlagErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-deny.txt")
	for _, tc := range []struct {
		args []string
		says []string
	}{
		{[]string{"-access-log", "", "-deny-file", missing}, []string{"-deny-file", missing}},
		{[]string{"-access-log", "", "-allow-file", missing}, []string{"-allow-file", missing}},
		{[]string{"-unknown", "drop"}, []string{"-unknown", "tunnel or reject"}},
	} {
		var out bytes.Buffer
		code := run(tc.args, &out)
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		ok := code == cli.ExitUsage && len(lines) == 1
		for _, s := range tc.says {
			ok = ok && strings.Contains(lines[0], s)
		}
		if !ok {
			t.Errorf("%q: exit %d, output %q; want exit %d and one line naming %q", tc.args, code, out.String(), cli.ExitUsage, tc.says)
		}
	}
}

// getHost sends a GET for host on c and reads the response.
func getHost(t *testing.T, c net.Conn, br *bufio.Reader, host string) (*http.Response, string) {
	t.Helper()
	fmt.Fprintf(c, "GET /p HTTP/1.1\r\nHost: %s\r\n\r\n", host)
	return readResponse(t, br, "GET")
}

// TestPolicyLab: a name on the deny file (or -deny-names) gets the 403 page
// naming it and the router, logged TCP_DENIED/403, and the server accepts
// no connection for it; an allowed name passes. After the deny file is
// edited and the proxy gets SIGHUP, a new connection is decided by the
// new list, while a keep-alive connection opened before stays open; a
// deny file that has gone missing on SIGHUP keeps the lists in force.
func TestPolicyLab(t *testing.T) {
	t.Parallel()
	deny := filepath.Join(t.TempDir(), "deny.txt")
	if err := os.WriteFile(deny, []byte("# test list\n.denied.example\n0.0.0.0 ads.example\nbad name here!\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := start(t, "-deny-file", deny, "-deny-names", "inline.example")
	if !r.stderr.wait("policy: 3 deny, 0 allow entries (1 lines skipped: ", 5*time.Second) {
		t.Errorf("no policy line at start:\n%s", r.stderr)
	}
	s := r.serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { io.WriteString(w, "origin:"+req.Host) }))

	for i, host := range []string{"www.denied.example", "ADS.example", "inline.example:80"} {
		c := r.dial(t, []string{srv4, srv6}[i%2])
		resp, body := getHost(t, c, bufio.NewReader(c), host)
		name := strings.ToLower(strings.TrimSuffix(host, ":80"))
		if resp.StatusCode != 403 || !strings.Contains(body, name) || !strings.Contains(body, "lab-proxy") {
			t.Errorf("%s: %v %q, want the 403 page naming %s and lab-proxy", host, resp.Status, body, name)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := s.conns.get(); n != 0 {
		t.Errorf("server accepted %d connections for denied names, want none", n)
	}
	for _, e := range r.logLines(t, 3) {
		if e.Code != "TCP_DENIED" || e.Status != 403 || e.Hier != "HIER_NONE" || string(e.MIME) != "text/html" {
			t.Errorf("log: %+v", e)
		}
	}
	if v := r.metric(t, `tprouter_proxy_denied_total{proto="http"}`); v != "3" {
		t.Errorf("denied_total{http} = %s, want 3", v)
	}

	kept := r.dial(t, srv4)
	kbr := bufio.NewReader(kept)
	if resp, body := getHost(t, kept, kbr, "ok.example"); resp.StatusCode != 200 || body != "origin:ok.example" {
		t.Fatalf("allowed: %v %q", resp.Status, body)
	}

	if err := os.WriteFile(deny, []byte(".ok.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.cmd.Process.Signal(syscall.SIGHUP)
	if !r.stderr.wait("SIGHUP: policy: 2 deny, 0 allow entries", 5*time.Second) {
		t.Fatalf("no policy line after SIGHUP:\n%s", r.stderr)
	}
	c := r.dial(t, srv6)
	if resp, _ := getHost(t, c, bufio.NewReader(c), "ok.example"); resp.StatusCode != 403 {
		t.Errorf("ok.example after SIGHUP on a new connection: %v, want 403", resp.Status)
	}
	c = r.dial(t, srv6)
	if resp, _ := getHost(t, c, bufio.NewReader(c), "www.denied.example"); resp.StatusCode != 200 {
		t.Errorf("www.denied.example after SIGHUP: %v, want 200 (no longer listed)", resp.Status)
	}
	if resp, body := getHost(t, kept, kbr, "other.example"); resp.StatusCode != 200 || body != "origin:other.example" {
		t.Errorf("the keep-alive connection opened before SIGHUP: %v %q, want it open and served", resp.Status, body)
	}

	os.Remove(deny)
	r.cmd.Process.Signal(syscall.SIGHUP)
	if !r.stderr.wait("keeping the old lists", 5*time.Second) || !strings.Contains(r.stderr.String(), deny) {
		t.Fatalf("no complaint naming the missing file after SIGHUP:\n%s", r.stderr)
	}
	c = r.dial(t, srv4)
	if resp, _ := getHost(t, c, bufio.NewReader(c), "ok.example"); resp.StatusCode != 403 {
		t.Errorf("ok.example after a failed SIGHUP: %v, want 403 (the old lists kept)", resp.Status)
	}
	if s.conns.get() != 2 {
		t.Errorf("server accepted %d connections, want 2 (the allowed ones)", s.conns.get())
	}
}
