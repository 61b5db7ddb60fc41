package intercept

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"tprouter/services/proxy/internal/tlsconn"
	"tprouter/services/proxy/top"
)

// The status page's traffic figures: tprouter_proxy_bytes_total,
// tprouter_proxy_client_connections_total and Server.Top.

func withTop(s *Server) { s.Top = top.New() }

// sameBytes checks that bytes_total has every byte sent_bytes has, each
// way, once the transactions are logged (sent_bytes counts them then;
// bytes_total as they go, and also the TLS alerts sent_bytes leaves out).
func sameBytes(t *testing.T, st *Stats, alerts float64) (client, server float64) {
	t.Helper()
	for _, to := range []string{"client", "server"} {
		got := sample(t, st, `tprouter_proxy_bytes_total{to="`+to+`"}`, "counter")
		want := sample(t, st, `tprouter_proxy_sent_bytes_total{to="`+to+`"}`, "counter")
		if to == "client" {
			want += alerts
			client = got
		} else {
			server = got
		}
		if got != want || got == 0 {
			t.Errorf(`bytes_total{to=%q} = %v, want %v (sent_bytes)`, to, got, want)
		}
	}
	return client, server
}

// TestBytesMetricHTTP: heads, small bodies and spliced ones both ways
// all count, and the transactions' bytes go to Top under the Host.
func TestBytesMetricHTTP(t *testing.T) {
	t.Parallel()
	const size = 1 << 20 // spliced
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/large" {
			n = size
		}
		w.Header().Set("Content-Length", fmt.Sprint(n))
		io.Copy(w, io.LimitReader(newPattern(), n))
	})
	h := newProxy(t, o.addr, withTop)
	c := h.dial(t)
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /large HTTP/1.1\r\nHost: WWW.Example.COM:8080\r\n\r\n")
	if _, body := get(t, br, "GET"); len(body) != size {
		t.Fatalf("large body: %d bytes", len(body))
	}
	fmt.Fprintf(c, "POST /up HTTP/1.1\r\nHost: up.example\r\nContent-Length: %d\r\n\r\n", size)
	go io.Copy(c, io.LimitReader(newPattern(), size))
	if _, body := get(t, br, "POST"); len(body) != size {
		t.Fatalf("echoed body: %d bytes", len(body))
	}
	h.waitLines(t, 2)
	if h.s.Stats.Spliced.Value() < size {
		t.Errorf("spliced %d bytes: the test wants bodies by splice", h.s.Stats.Spliced.Value())
	}
	toClient, toServer := sameBytes(t, h.s.Stats, 0)
	if toClient < 2*size || toServer < size {
		t.Errorf("bytes_total %v to clients, %v to servers; want at least %d and %d", toClient, toServer, 2*size, size)
	}
	got := h.s.Top.Snapshot()
	if len(got.Hosts) != 2 || got.Hosts[0].Name != "up.example" || got.Hosts[1].Name != "www.example.com" ||
		got.Hosts[0].Bytes < 2*size || got.Hosts[1].Bytes < size || got.Hosts[1].Bytes > size+1024 {
		t.Errorf("top hosts %+v", got.Hosts)
	}
	if len(got.Clients) != 1 || got.Clients[0].Name != "127.0.0.1" || got.Clients[0].Count != 2 ||
		float64(got.Clients[0].Bytes) != toClient+toServer {
		t.Errorf("top clients %+v, want 127.0.0.1 with 2 and %v bytes", got.Clients, toClient+toServer)
	}
}

// TestBytesMetricTunnel: a tunnel's bytes count while it runs, not only
// when it ends (a relay step, spliceChunk, at a time); Top names it by the
// destination address.
func TestBytesMetricTunnel(t *testing.T) {
	t.Parallel()
	o := rawOrigin(t, func(c net.Conn) { io.Copy(c, c) })
	h := newProxy(t, o.addr, withTop)
	c := h.dial(t)
	const more = 4 << 20
	io.WriteString(c, "HELLO\r\n")
	go c.Write(bytes.Repeat([]byte{'x'}, more))
	if _, err := io.CopyN(io.Discard, c, more+7); err != nil {
		t.Fatal(err)
	}
	st := h.s.Stats
	if a, b := st.Bytes[0].Value(), st.Bytes[1].Value(); a < more+7-spliceChunk || b < more+7-spliceChunk || a > more+7 || b > more+7 {
		t.Errorf("mid-tunnel bytes_total: %d to the client, %d to the server, want all but a step of %d each", a, b, more+7)
	}
	if st.ToClient.Value() != 0 {
		t.Errorf("sent_bytes already %d mid-tunnel: then the tunnel ended early", st.ToClient.Value())
	}
	c.Close()
	h.waitLines(t, 1)
	sameBytes(t, st, 0)
	got := h.s.Top.Snapshot()
	if len(got.Hosts) != 1 || got.Hosts[0] != (top.Entry{Name: "127.0.0.1", Count: 1, Bytes: 2 * (more + 7)}) {
		t.Errorf("top hosts %+v", got.Hosts)
	}
}

// TestBytesMetricTLS: a spliced TLS connection counts both ways, and Top
// names it by its SNI; a denied one counts its alert.
func TestBytesMetricTLS(t *testing.T) {
	t.Parallel()
	site := newTLSSite(t, "www.example.com")
	h := newProxy(t, site.addr, withTop)
	if _, err := tlsconn.Ping(h.dial(t), site.client("www.example.com")); err != nil {
		t.Fatal(err)
	}
	h.waitLines(t, 1)
	st := h.s.Stats
	if st.Bytes[0].Value() != st.TLSToClient.Value() || st.Bytes[1].Value() != st.TLSToServer.Value() {
		t.Errorf("bytes_total %d/%d, tls_bytes %d/%d", st.Bytes[0].Value(), st.Bytes[1].Value(), st.TLSToClient.Value(), st.TLSToServer.Value())
	}
	h.s.SetPolicy(policy("denied.example"))
	tlsconn.Ping(h.dial(t), site.client("denied.example"))
	h.waitLines(t, 2)
	sameBytes(t, st, 7) // the alert: a record header and two bytes
	got := h.s.Top.Snapshot()
	if len(got.Hosts) != 2 || got.Hosts[0].Name != "www.example.com" || got.Hosts[1] != (top.Entry{Name: "denied.example", Count: 1, Bytes: 7}) {
		t.Errorf("top hosts %+v", got.Hosts)
	}
}

// TestClientFamilies: connections count by the client's family, a
// v4-mapped client (a dual-stack listener's) as IPv4.
func TestClientFamilies(t *testing.T) {
	t.Parallel()
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) {})
	h := newProxy(t, o.addr)
	ln, err := net.Listen("tcp", "[::]:0")
	if err != nil {
		t.Fatalf("dual-stack listener: %v", err)
	}
	go h.s.Serve(ln)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, a := range []string{h.addr, "127.0.0.1:" + port, "127.0.0.1:" + port, "[::1]:" + port} {
		c, err := net.DialTimeout("tcp", a, 5*time.Second)
		if err != nil {
			t.Fatalf("dial %s: %v", a, err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		io.Copy(io.Discard, c)
		c.Close()
	}
	h.waitLines(t, 4)
	v4 := sample(t, h.s.Stats, `tprouter_proxy_client_connections_total{family="ipv4"}`, "counter")
	v6 := sample(t, h.s.Stats, `tprouter_proxy_client_connections_total{family="ipv6"}`, "counter")
	total := sample(t, h.s.Stats, "tprouter_proxy_connections_total", "counter")
	if v4 != 3 || v6 != 1 || total != 4 {
		t.Errorf("connections: ipv4 %v, ipv6 %v, total %v; want 3, 1, 4", v4, v6, total)
	}
	var text strings.Builder
	h.s.Stats.WritePrometheus(&text)
	if strings.Count(text.String(), "\ntprouter_proxy_client_connections_total{") != 2 {
		t.Errorf("want exactly the two families:\n%s", text.String())
	}
}
