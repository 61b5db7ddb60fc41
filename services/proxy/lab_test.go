package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tprouter/qemu/lab"
	"tprouter/services/proxy/accesslog"
	"tprouter/services/proxy/internal/badreq"
)

var (
	srv4 = netip.AddrPortFrom(lab.ServerV4, 80).String()
	srv6 = netip.AddrPortFrom(lab.ServerV6, 80).String()
)

// TestIntercept checks both families end to end: the server sees the
// client's own address, the request and response carry Via, and the
// access log (on /access.log and, after SIGTERM, in the file) has one
// exact Squid line per request.
func TestIntercept(t *testing.T) {
	t.Parallel()
	r := start(t)
	r.serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "%s|%s", req.RemoteAddr, req.Header.Get("Via"))
	}))
	c := r.Client.HTTPClient()
	for _, tc := range []struct {
		url    string
		client netip.Addr
	}{
		{"http://198.51.100.2/v4?x=1", lab.ClientV4},
		{"http://[2001:db8:2::2]/v6", lab.ClientV6},
	} {
		resp, err := c.Get(tc.url)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		addr, via, _ := strings.Cut(string(body), "|")
		ap, err := netip.ParseAddrPort(addr)
		if err != nil || ap.Addr() != tc.client {
			t.Errorf("GET %s: server saw %q, want the client %v", tc.url, addr, tc.client)
		}
		if via != "1.1 lab-proxy (tprouter)" || resp.Header.Get("Via") != "1.1 lab-proxy (tprouter)" {
			t.Errorf("GET %s: Via %q to the server, %q to the client", tc.url, via, resp.Header.Get("Via"))
		}
	}
	want := []accesslog.Entry{
		{Client: lab.ClientV4, Code: "TCP_MISS", Status: 200, Method: []byte("GET"), URL: []byte("http://198.51.100.2/v4?x=1"),
			Hier: "ORIGINAL_DST", Server: lab.ServerV4, MIME: []byte("text/plain")},
		{Client: lab.ClientV6, Code: "TCP_MISS", Status: 200, Method: []byte("GET"), URL: []byte("http://[2001:db8:2::2]/v6"),
			Hier: "ORIGINAL_DST", Server: lab.ServerV6, MIME: []byte("text/plain")},
	}
	check := func(where string, got []accesslog.Entry) {
		if len(got) != len(want) {
			t.Fatalf("%s: %d lines, want %d", where, len(got), len(want))
		}
		// A line is written once its client has the answer: the two
		// requests' lines may come in either order.
		slices.SortFunc(got, func(a, b accesslog.Entry) int { return bytes.Compare(a.URL, b.URL) })
		for i, g := range got {
			w := want[i]
			if g.Client != w.Client || g.Code != w.Code || g.Status != w.Status || string(g.Method) != string(w.Method) ||
				string(g.URL) != string(w.URL) || g.Hier != w.Hier || g.Server != w.Server || string(g.MIME) != string(w.MIME) ||
				g.Bytes < 150 || g.Bytes > 400 || g.Elapsed > 5*time.Second || time.Since(g.Time) > time.Minute {
				t.Errorf("%s line %d: %s", where, i, accesslog.Append(nil, &g))
			}
		}
	}
	check("/access.log", r.logLines(t, 2))
	if v := r.metric(t, `tprouter_proxy_requests_total{class="2xx"}`); v != "2" {
		t.Errorf("2xx requests = %s, want 2", v)
	}
	checkTraffic(t, r)
	r.stop(t)
	data, err := os.ReadFile(r.logPath)
	if err != nil {
		t.Fatal(err)
	}
	var got []accesslog.Entry
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l == "" {
			continue
		}
		e, err := accesslog.Parse(l)
		if err != nil {
			t.Fatalf("log file: %v", err)
		}
		got = append(got, e)
	}
	check(r.logPath, got)
}

// checkTraffic checks TestIntercept's two requests, one per family, in
// the status page's figures: connections by family, bytes both ways and
// /top's rows by Host and by client.
func checkTraffic(t *testing.T, r *rig) {
	t.Helper()
	v4, v6 := r.metric(t, `tprouter_proxy_client_connections_total{family="ipv4"}`), r.metric(t, `tprouter_proxy_client_connections_total{family="ipv6"}`)
	if v4 != "1" || v6 != "1" {
		t.Errorf("client connections: ipv4 %s, ipv6 %s, want 1 each", v4, v6)
	}
	toClient, _ := strconv.Atoi(r.metric(t, `tprouter_proxy_bytes_total{to="client"}`))
	toServer, _ := strconv.Atoi(r.metric(t, `tprouter_proxy_bytes_total{to="server"}`))
	if toClient < 300 || toServer < 100 {
		t.Errorf("bytes_total: %d to clients, %d to servers", toClient, toServer)
	}
	var top struct {
		WindowSeconds  int `json:"window_seconds"`
		Hosts, Clients []struct {
			Name         string
			Count, Bytes int
		}
	}
	if err := json.Unmarshal([]byte(r.fetch(t, "/top")), &top); err != nil {
		t.Fatalf("/top: %v", err)
	}
	var hosts, clients []string
	total := 0
	for _, h := range top.Hosts {
		hosts = append(hosts, fmt.Sprintf("%s %d", h.Name, h.Count))
	}
	for _, c := range top.Clients {
		clients = append(clients, fmt.Sprintf("%s %d", c.Name, c.Count))
		total += c.Bytes
	}
	slices.Sort(hosts)
	slices.Sort(clients)
	if top.WindowSeconds != 300 || fmt.Sprint(hosts) != "[198.51.100.2 1 2001:db8:2::2 1]" ||
		fmt.Sprint(clients) != fmt.Sprintf("[%v 1 %v 1]", lab.ClientV4, lab.ClientV6) || total != toClient+toServer {
		t.Errorf("/top: %+v; want both hosts and clients once, %d bytes", top, toClient+toServer)
	}
}

// TestKeepAliveAndPipelining sends requests on one client connection, one
// at a time and then all at once: one upstream connection carries them,
// and the answers come in order.
func TestKeepAliveAndPipelining(t *testing.T) {
	t.Parallel()
	r := start(t)
	s := r.serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		fmt.Fprintf(w, "%s %s %s %s", req.Method, req.URL.Path, body, req.RemoteAddr)
	}))
	for _, dst := range []string{srv4, srv6} {
		c := r.dial(t, dst)
		br := bufio.NewReader(c)
		for i := 0; i < 2; i++ {
			fmt.Fprintf(c, "GET /ka%d HTTP/1.1\r\nHost: example.com\r\n\r\n", i)
			if _, body := readResponse(t, br, "GET"); !strings.HasPrefix(body, fmt.Sprintf("GET /ka%d ", i)) {
				t.Errorf("%s keep-alive %d: %q", dst, i, body)
			}
		}
		var all strings.Builder
		for i := 0; i < 6; i++ {
			if i%3 == 1 {
				fmt.Fprintf(&all, "POST /p%d HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc", i)
			} else {
				fmt.Fprintf(&all, "GET /p%d HTTP/1.1\r\nHost: example.com\r\n\r\n", i)
			}
		}
		io.WriteString(c, all.String())
		for i := 0; i < 6; i++ {
			want := fmt.Sprintf("GET /p%d  ", i)
			if i%3 == 1 {
				want = fmt.Sprintf("POST /p%d abc ", i)
			}
			if _, body := readResponse(t, br, "GET"); !strings.HasPrefix(body, want) {
				t.Errorf("%s pipelined %d: %q, want %q...", dst, i, body, want)
			}
		}
	}
	if n := s.conns.get(); n != 2 {
		t.Errorf("server saw %d connections for two client connections, want 2", n)
	}
}

// TestChunkedAndExpect sends a chunked upload with a trailer after an
// Expect: 100-continue, and gets a chunked response with a trailer.
func TestChunkedAndExpect(t *testing.T) {
	t.Parallel()
	r := start(t)
	r.serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		w.Header().Set("Trailer", "X-Len")
		io.WriteString(w, "part1,")
		w.(http.Flusher).Flush()
		fmt.Fprintf(w, "%s,%v,%s", body, req.TransferEncoding, req.Trailer.Get("X-Check"))
		w.Header().Set("X-Len", fmt.Sprint(len(body)))
	}))
	c := r.dial(t, srv6)
	br := bufio.NewReader(c)
	io.WriteString(c, "POST /up HTTP/1.1\r\nHost: example.com\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\nTrailer: X-Check\r\n\r\n")
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("want 100 Continue, got %q %v", line, err)
	}
	if l, _ := br.ReadString('\n'); l != "\r\n" {
		t.Fatalf("100 Continue has fields: %q", l)
	}
	io.WriteString(c, "4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\nX-Check: fine\r\n\r\n")
	resp, body := readResponse(t, br, "POST")
	if body != "part1,abcdefg,[chunked],fine" || resp.Trailer.Get("X-Len") != "7" || len(resp.TransferEncoding) == 0 {
		t.Errorf("response %q trailer %v te %v", body, resp.Trailer, resp.TransferEncoding)
	}
}

// TestWebSocketUpgrade relays a 101 and then echoes raw frames both ways.
func TestWebSocketUpgrade(t *testing.T) {
	t.Parallel()
	r := start(t)
	r.serveRaw(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil || !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			req.Header.Get("Sec-WebSocket-Key"))
		io.Copy(c, br)
	})
	c := r.dial(t, srv4)
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "dGhlIHNhbXBsZSBub25jZQ==" {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	for i := 0; i < 10; i++ {
		frame := []byte{0x81, 5, 'h', 'e', 'l', 'l', byte('0' + i)}
		c.Write(frame)
		got := make([]byte, len(frame))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != string(frame) {
			t.Fatalf("echo %d: %q %v", i, got, err)
		}
	}
	c.Close() // the tunnel is logged when it ends
	if es := r.logLines(t, 1); len(es) != 1 || es[0].Status != 101 {
		t.Errorf("log %v", es)
	}
}

// TestGiB moves 1 GiB each way and compares SHA-256 at both ends,
// streaming: nothing holds the body.
func TestGiB(t *testing.T) {
	t.Parallel()
	const size = 1 << 30
	r := start(t)
	sum := func() string {
		h := sha256.New()
		io.Copy(h, io.LimitReader(newPattern(), size))
		return hex.EncodeToString(h.Sum(nil))
	}()
	r.serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == "PUT" {
			h := sha256.New()
			n, err := io.Copy(h, req.Body)
			fmt.Fprintf(w, "%d %x %v", n, h.Sum(nil), err)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(size))
		io.Copy(w, io.LimitReader(newPattern(), size))
	}))
	c := r.dial(t, srv4)
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	br := bufio.NewReader(c)

	t0 := time.Now()
	fmt.Fprintf(c, "PUT /up HTTP/1.1\r\nHost: example.com\r\nContent-Length: %d\r\n\r\n", size)
	if _, err := io.Copy(c, io.LimitReader(newPattern(), size)); err != nil {
		t.Fatalf("upload: %v", err)
	}
	if _, body := readResponse(t, br, "PUT"); body != fmt.Sprintf("%d %s <nil>", size, sum) {
		t.Errorf("upload: server says %q, want %d %s", body, size, sum)
	}
	up := time.Since(t0)

	t0 = time.Now()
	io.WriteString(c, "GET /down HTTP/1.1\r\nHost: example.com\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if n != size || err != nil || hex.EncodeToString(h.Sum(nil)) != sum {
		t.Errorf("download: %d bytes, %v, sum %x, want %s", n, err, h.Sum(nil), sum)
	}
	t.Logf("1 GiB up in %v (%.0f MB/s), down in %v (%.0f MB/s)", up, size/up.Seconds()/1e6, time.Since(t0), size/time.Since(t0).Seconds()/1e6)
}

// pattern is an endless reader of bytes that do not depend on read sizes.
type pattern struct{ off *int64 }

func newPattern() pattern { return pattern{new(int64)} }

func (r pattern) Read(p []byte) (int, error) {
	for i := range p {
		o := *r.off + int64(i)
		p[i] = byte(o*7 + o>>12)
	}
	*r.off += int64(len(p))
	return len(p), nil
}

// TestUpstreamErrors: a refused connection gives 502, a destination that
// drops SYNs 504 after -connect-timeout, each with a page naming it.
func TestUpstreamErrors(t *testing.T) {
	t.Parallel()
	r := start(t, "-connect-timeout", "1s")
	// Nothing listens on the server's port 80 (refused); IPv6 SYNs vanish.
	f, err := os.CreateTemp(t.TempDir(), "drop*.nft")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "table ip6 t {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\ttcp dport 80 drop\n\t}\n}\n")
	f.Close()
	r.Server.Run(t, "nft", "-f", f.Name())

	for _, tc := range []struct {
		dst    string
		status int
		says   string
	}{
		{srv4, 502, "refused"},
		{srv6, 504, "in time"},
	} {
		c := r.dial(t, tc.dst)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
		t0 := time.Now()
		resp, body := readResponse(t, bufio.NewReader(c), "GET")
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.says) || !strings.Contains(body, strings.TrimSuffix(tc.dst, ":80")) {
			t.Errorf("%s: %v %q", tc.dst, resp.Status, body)
		}
		if tc.status == 504 && (time.Since(t0) < 900*time.Millisecond || time.Since(t0) > 5*time.Second) {
			t.Errorf("504 after %v, want about 1s", time.Since(t0))
		}
	}
	es := r.logLines(t, 2)
	for i, e := range es {
		if e.Code != "TCP_MISS" || e.Hier != "HIER_NONE" || e.Server.IsValid() || e.Status != []int{502, 504}[i] {
			t.Errorf("log line %d: %s", i, accesslog.Append(nil, &e))
		}
	}
	if v := r.metric(t, `tprouter_proxy_errors_total{kind="connect_refused"}`); v != "1" {
		t.Errorf("connect_refused = %s", v)
	}
	if v := r.metric(t, `tprouter_proxy_errors_total{kind="connect_timeout"}`); v != "1" {
		t.Errorf("connect_timeout = %s", v)
	}
}

// TestNonHTTPTunnel relays bytes that are not HTTP untouched, from the
// client's own address.
func TestNonHTTPTunnel(t *testing.T) {
	t.Parallel()
	r := start(t)
	r.serveRaw(t, func(c net.Conn) {
		fmt.Fprintf(c, "%s|", c.RemoteAddr())
		io.Copy(c, c)
	})
	c := r.dial(t, srv6)
	msg := "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03binary-not-http"
	io.WriteString(c, msg)
	c.(*net.TCPConn).CloseWrite()
	got, _ := io.ReadAll(c)
	addr, echo, _ := strings.Cut(string(got), "|")
	if ap, err := netip.ParseAddrPort(addr); err != nil || ap.Addr() != lab.ClientV6 || echo != msg {
		t.Errorf("tunnel: got %q", got)
	}
	es := r.logLines(t, 1)
	if len(es) != 1 || es[0].Code != "TCP_TUNNEL" || string(es[0].Method) != "CONNECT" || string(es[0].URL) != "[2001:db8:2::2]:80" ||
		es[0].Hier != "ORIGINAL_DST" || es[0].Server != lab.ServerV6 {
		t.Errorf("log %v", es)
	}
}

// TestMalformed sends each malformed or smuggling request of the table:
// each gets its error status, and the server sees no connection at all.
func TestMalformed(t *testing.T) {
	t.Parallel()
	r := start(t)
	s := r.serveRaw(t, func(c net.Conn) {})
	if len(badreq.Cases) < 25 {
		t.Fatalf("only %d cases", len(badreq.Cases))
	}
	for i, tc := range badreq.Cases {
		dst := []string{srv4, srv6}[i%2]
		c := r.dial(t, dst)
		io.WriteString(c, tc.Request)
		resp, body := readResponse(t, bufio.NewReader(c), "GET")
		if resp.StatusCode != tc.Status || !strings.Contains(body, "destination") {
			t.Errorf("%s: %v, want %d", tc.Name, resp.Status, tc.Status)
		}
		c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	if n := s.conns.get(); n != 0 {
		t.Errorf("server saw %d connections, want none", n)
	}
	for _, e := range r.logLines(t, len(badreq.Cases)) {
		if e.Status != 400 || e.Hier != "HIER_NONE" {
			t.Errorf("log: %s", accesslog.Append(nil, &e))
		}
	}
}

// TestRouting: a Host naming another address still goes to the original
// destination (marked in the log); a request that already went through
// this proxy gets 403; a connection to the proxy's own port is refused.
func TestRouting(t *testing.T) {
	t.Parallel()
	r := start(t)
	s := r.serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { io.WriteString(w, req.Host) }))
	c := r.dial(t, srv4)
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: 203.0.113.9:8080\r\n\r\n")
	if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != "203.0.113.9:8080" {
		t.Errorf("Host mismatch: %v %q", resp.Status, body)
	}
	io.WriteString(c, "GET /y HTTP/1.1\r\nHost: x\r\nVia: 1.0 fred, 1.1 lab-proxy (tprouter)\r\n\r\n")
	if resp, _ := readResponse(t, br, "GET"); resp.StatusCode != 403 {
		t.Errorf("Via loop: %v, want 403", resp.Status)
	}
	if n := s.conns.get(); n != 1 {
		t.Errorf("server saw %d connections, want 1", n)
	}
	es := r.logLines(t, 2)
	if len(es) != 2 || es[0].Hier != "HOST_MISMATCH_ORIGINAL_DST" || es[0].Server != lab.ServerV4 ||
		string(es[0].URL) != "http://203.0.113.9:8080/x" || es[1].Code != "TCP_DENIED" || es[1].Status != 403 {
		for _, e := range es {
			t.Errorf("log: %s", accesslog.Append(nil, &e))
		}
	}

	// Straight to the proxy's port on the router: a loop, closed at once.
	self := r.dial(t, "192.0.2.1:3129")
	io.WriteString(self, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	self.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := self.Read(make([]byte, 1)); err == nil || n > 0 {
		t.Errorf("connection to the proxy itself answered")
	}
	if v := r.metric(t, `tprouter_proxy_errors_total{kind="dst_loop"}`); v != "1" {
		t.Errorf("dst_loop = %s", v)
	}
}

// TestConnectionCaps: over -max-conns-per-client or -max-conns a new
// connection is closed at once and counted.
func TestConnectionCaps(t *testing.T) {
	t.Parallel()
	r := start(t, "-max-conns", "3", "-max-conns-per-client", "2")
	r.serveHTTP(t, lab.EchoAddr)
	refused := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, err := c.Read(make([]byte, 1))
		return err != nil && !isTimeout(err)
	}
	a, b := r.dial(t, srv4), r.dial(t, srv4)
	waitActive(t, r, 2)
	if !refused(r.dial(t, srv4)) {
		t.Errorf("third connection from one address not closed")
	}
	_ = r.dial(t, srv6) // another address: third connection in all
	waitActive(t, r, 3)
	if !refused(r.dial(t, "[2001:db8:2::2]:80")) {
		t.Errorf("fourth connection in all not closed")
	}
	if v := r.metric(t, `tprouter_proxy_errors_total{kind="client_conn_limit"}`); v != "1" {
		t.Errorf("client_conn_limit = %s", v)
	}
	if v := r.metric(t, `tprouter_proxy_errors_total{kind="conn_limit"}`); v != "1" {
		t.Errorf("conn_limit = %s", v)
	}
	// The admitted ones work.
	for _, c := range []net.Conn{a, b} {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, _ := readResponse(t, bufio.NewReader(c), "GET"); resp.StatusCode != 200 {
			t.Errorf("admitted connection: %v", resp.Status)
		}
	}
}

func waitActive(t *testing.T, r *rig, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if r.metric(t, "tprouter_proxy_connections_active") == fmt.Sprint(n) {
			return
		}
	}
	t.Fatalf("connections_active never reached %d", n)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestSIGTERMDrains: on SIGTERM idle keep-alive connections close at
// once, a request in flight completes, new connections are refused, the
// log is flushed and the proxy exits 0.
func TestSIGTERMDrains(t *testing.T) {
	t.Parallel()
	r := start(t, "-shutdown-timeout", "10s")
	r.serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/slow" {
			time.Sleep(1500 * time.Millisecond)
		}
		io.WriteString(w, "done")
	}))
	idle := r.dial(t, srv4)
	ib := bufio.NewReader(idle)
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	readResponse(t, ib, "GET")

	busy := r.dial(t, srv6)
	bb := bufio.NewReader(busy)
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(300 * time.Millisecond)

	r.cmd.Process.Signal(syscall.SIGTERM)
	idle.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := ib.ReadByte(); err != io.EOF {
		t.Errorf("idle connection: %v, want EOF at once", err)
	}
	resp, body := readResponse(t, bb, "GET")
	if resp.StatusCode != 200 || body != "done" || !resp.Close {
		t.Errorf("in-flight: %v %q close=%v", resp.Status, body, resp.Close)
	}
	select {
	case err := <-r.exited:
		r.exited <- err
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no exit after SIGTERM")
	}
	ctxc, err := r.Client.DialContext(t.Context(), "tcp", srv4)
	if err == nil {
		ctxc.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := ctxc.Read(make([]byte, 1)); err == nil {
			t.Errorf("a new connection was served after exit")
		}
		ctxc.Close()
	}
	data, _ := os.ReadFile(r.logPath)
	if n := strings.Count(string(data), "\n"); n != 2 || !strings.Contains(string(data), "http://x/slow") {
		t.Errorf("log file after exit:\n%s", data)
	}
	if !r.stderr.wait("stopped", time.Second) {
		t.Errorf("no 'stopped' line:\n%s", r.stderr)
	}
}

// TestIdleMemory holds 10,000 idle client connections, half of them after
// a request (so with an upstream connection too), and checks the proxy's
// resident memory: idle connections hold no buffers.
func TestIdleMemory(t *testing.T) {
	t.Parallel()
	const total, used, batch = 10000, 5000, 50
	r := start(t)
	r.serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Write(make([]byte, 1024))
	}))
	base := rss(t, r.cmd.Process.Pid)
	conns := make([]net.Conn, 0, total)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	err := r.Client.Do(func() error {
		for i := 0; i < total; i++ {
			c, err := net.DialTimeout("tcp", []string{srv4, srv6}[i%2], 5*time.Second)
			if err != nil {
				return fmt.Errorf("connection %d: %v", i, err)
			}
			conns = append(conns, c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// One request on each of the first connections, batch at a time, as
	// a load generator with batch connections would send them.
	buf := make([]byte, 4096)
	for i := 0; i < used; i += batch {
		for _, c := range conns[i : i+batch] {
			c.SetDeadline(time.Now().Add(30 * time.Second))
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
		}
		for _, c := range conns[i : i+batch] {
			br := bufio.NewReaderSize(c, 4096)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			io.CopyBuffer(io.Discard, resp.Body, buf)
			resp.Body.Close()
		}
	}
	waitActive(t, r, total)
	time.Sleep(time.Second)
	got := rss(t, r.cmd.Process.Pid)
	t.Logf("proxy RSS: %d KiB at start, %d KiB with %d idle connections (%d with upstream connections): %.1f KiB each",
		base>>10, got>>10, total, used, float64(got-base)/1024/total)
	for _, l := range strings.Split(r.fetch(t, "/metrics"), "\n") {
		if strings.HasPrefix(l, "tprouter_proxy_go_") {
			t.Log(l)
		}
	}
	if got > 64<<20 {
		t.Errorf("RSS %d MiB with %d idle connections, want at most 64 MiB", got>>20, total)
	}
}

// rss returns a process's resident set size in bytes.
func rss(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS for %d", pid)
	return 0
}

// TestLogRotation: after the log file is renamed, SIGHUP makes the proxy
// write to a new file at the old path.
func TestLogRotation(t *testing.T) {
	t.Parallel()
	r := start(t)
	r.serveHTTP(t, lab.EchoAddr)
	c := r.Client.HTTPClient()
	getURL := func(u string) {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	getURL("http://198.51.100.2/before")
	r.logLines(t, 1)
	deadline := time.Now().Add(5 * time.Second)
	for data, _ := os.ReadFile(r.logPath); !strings.Contains(string(data), "/before"); data, _ = os.ReadFile(r.logPath) {
		if time.Now().After(deadline) {
			t.Fatalf("line not flushed to %s within 5s", r.logPath)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := os.Rename(r.logPath, r.logPath+".1"); err != nil {
		t.Fatal(err)
	}
	r.cmd.Process.Signal(syscall.SIGHUP)
	for _, err := os.Stat(r.logPath); err != nil; _, err = os.Stat(r.logPath) {
		if time.Now().After(deadline) {
			t.Fatalf("no new log file after SIGHUP")
		}
		time.Sleep(20 * time.Millisecond)
	}
	getURL("http://198.51.100.2/after")
	r.stop(t)
	old, _ := os.ReadFile(r.logPath + ".1")
	cur, _ := os.ReadFile(r.logPath)
	if !strings.Contains(string(old), "/before") || strings.Contains(string(old), "/after") || !strings.Contains(string(cur), "/after") {
		t.Errorf("rotated file:\n%s\nnew file:\n%s", old, cur)
	}
}

// TestReconnectSamePort reconnects again and again from one client port
// after "Connection: close", as a load generator cycling through its ports
// does. If the proxy closed first, its TIME_WAIT socket (transparent, so
// matched by the "socket transparent" rule) would swallow the next SYN
// from that port and each reconnection would stall for a SYN retransmit.
func TestReconnectSamePort(t *testing.T) {
	t.Parallel()
	r := start(t)
	r.serveHTTP(t, lab.EchoAddr)
	r.Client.Sysctl(t, "net/ipv4/tcp_tw_reuse", "1")
	d := net.Dialer{
		Timeout:   5 * time.Second,
		LocalAddr: &net.TCPAddr{IP: lab.ClientV4.AsSlice(), Port: 40000},
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			})
			return serr
		},
	}
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		var c net.Conn
		err := r.Client.Do(func() (err error) {
			c, err = d.Dial("tcp", srv4)
			return err
		})
		if err != nil {
			t.Fatalf("round %d: dial from port 40000: %v", i, err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		resp, body := readResponse(t, bufio.NewReader(c), "GET")
		c.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(body, lab.ClientV4.String()+":") {
			t.Errorf("round %d: %v %q", i, resp.Status, body)
		}
		if d := time.Since(t0); d > 900*time.Millisecond {
			t.Errorf("round %d took %v: a SYN was lost", i, d)
		}
		time.Sleep(50 * time.Millisecond) // the proxy's side finishes its close
	}
	// The deterministic check: no intercepted connection of the client's
	// port is in TIME_WAIT on the router.
	out := r.Router.Run(t, "ss", "-Htan", "state", "time-wait")
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 4 && f[2] == srv4 && f[3] == "192.0.2.2:40000" {
			t.Errorf("router holds TIME_WAIT for the client's connection: %s", l)
		}
	}
}

// TestUpstreamKeptForNextConnection: a client that opens a connection per
// request gets, on its next connection, the upstream connection its last
// one left, still spoofed from its own address; and nothing is kept with
// -max-idle-upstream 0.
func TestUpstreamKeptForNextConnection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		flags []string
		want  int // server connections per family
	}{{nil, 1}, {[]string{"-max-idle-upstream", "0"}, 3}} {
		r := start(t, tc.flags...)
		s := r.serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			io.WriteString(w, req.RemoteAddr)
		}))
		for f, dst := range []struct {
			addr   string
			client netip.Addr
		}{{srv4, lab.ClientV4}, {srv6, lab.ClientV6}} {
			idle := strconv.Itoa(f + 1) // this family's and the one before's
			for i := range 3 {
				c := r.dial(t, dst.addr)
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
				_, body := readResponse(t, bufio.NewReader(c), "GET")
				c.Close()
				if ap, err := netip.ParseAddrPort(body); err != nil || ap.Addr() != dst.client {
					t.Errorf("%v %s request %d: server saw %q, want the client %v", tc.flags, dst.addr, i, body, dst.client)
				}
				for deadline := time.Now().Add(5 * time.Second); tc.want == 1 && r.metric(t, "tprouter_proxy_upstream_idle") != idle; {
					if time.Now().After(deadline) {
						t.Fatalf("the upstream connection was not kept")
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		}
		if n := s.conns.get(); n != 2*tc.want {
			t.Errorf("%v: server saw %d connections for 3 client connections per family, want %d", tc.flags, n, 2*tc.want)
		}
		r.stop(t)
	}
}
