package intercept

import (
	"bufio"
	"io"
	"runtime/metrics"

	pm "tprouter/services/proxy/metrics"
	"tprouter/services/proxy/tlshello"
)

// kind is a class of failure, counted in tprouter_proxy_errors_total.
type kind int

const (
	errAccept             kind = iota // accept(2) failed (EMFILE, ...)
	errConnLimit                      // -max-conns reached: connection closed at once
	errClientLimit                    // -max-conns-per-client reached
	errDstLoop                        // destination is the proxy itself
	errBadRequest                     // malformed request: 400
	errHeadTooLarge                   // request head over -max-header-size: 431
	errHeaderTimeout                  // request head not complete in time: 408
	errViaLoop                        // Via names this proxy: 403
	errClientAbort                    // client went away mid-transaction
	errConnectRefused                 // upstream refused: 502
	errConnectUnreachable             // no route, host down: 502
	errConnectTimeout                 // upstream did not answer the SYN: 504
	errConnectOther                   // other dial failure (spoofing bind, ...): 502
	errBadResponse                    // malformed response or framing: 502
	errUpstreamAbort                  // upstream closed or reset mid-response
	errUpstreamTimeout                // upstream silent for -read-timeout: 504
	numKinds
)

var kindNames = [numKinds]string{
	"accept", "conn_limit", "client_conn_limit", "dst_loop", "bad_request",
	"head_too_large", "header_timeout", "via_loop", "client_abort",
	"connect_refused", "connect_unreachable", "connect_timeout", "connect_other",
	"bad_response", "upstream_abort", "upstream_timeout",
}

// Stats are the proxy's counters. Updating them is a few atomic adds per
// transaction; WritePrometheus renders them for /metrics.
type Stats struct {
	Requests       [6]pm.Counter // by status class; [0] is "no status sent"
	ToClient       pm.Counter    // bytes written to clients
	ToServer       pm.Counter    // bytes written to servers
	Spliced        pm.Counter    // bytes of both moved socket to socket (splice)
	Bytes          [2]pm.Counter // bytes written as they go, every kind: [0] to clients, [1] to servers
	ConnsActive    pm.Gauge
	ConnsTotal     pm.Counter
	Families       [2]pm.Counter // client connections accepted: [0] IPv4 (v4-mapped too), [1] IPv6
	UpstreamConns  pm.Counter    // upstream connections opened
	UpstreamReused pm.Counter    // requests sent on a pooled upstream connection
	UpstreamIdle   pm.Gauge      // pooled upstream connections now
	Tunnels        pm.Counter    // non-HTTP, Upgrade and CONNECT tunnels
	Errors         [numKinds]pm.Counter
	Connect        *pm.Histogram // upstream connect latency
	Response       *pm.Histogram // request sent to first response byte

	// Domain policy and unsupported protocols (issue 12).
	Denied  [2]pm.Counter // denied by the domain policy: [0] HTTP requests, [1] TLS connections
	Unknown [2]pm.Counter // neither HTTP nor TLS: [0] tunnelled, [1] rejected (Server.Unknown)

	SelfTest pm.Counter // transactions of Server.SelfTestNet's clients, not logged

	// TLS (peek and splice, tls.go).
	TLSConns         pm.Counter                    // ClientHellos that parsed
	TLSToClient      pm.Counter                    // bytes of spliced TLS connections to clients
	TLSToServer      pm.Counter                    // and to servers, the ClientHello included
	TLSHello         *pm.Histogram                 // first byte to a complete ClientHello
	TLSParseFailures [tlshello.NumKinds]pm.Counter // by tlshello.Kind
}

// NewStats returns zeroed Stats.
func NewStats() *Stats {
	return &Stats{
		Connect:  pm.NewHistogram(pm.LatencyBuckets),
		Response: pm.NewHistogram(pm.LatencyBuckets),
		TLSHello: pm.NewHistogram(pm.LatencyBuckets),
	}
}

var classNames = [6]string{"none", "1xx", "2xx", "3xx", "4xx", "5xx"}

func (st *Stats) request(status int) {
	c := status / 100
	if c < 1 || c > 5 {
		c = 0
	}
	st.Requests[c].Inc()
}

// WritePrometheus writes st in the Prometheus text format.
func (st *Stats) WritePrometheus(out io.Writer) error {
	w := pm.Writer{W: bufio.NewWriter(out)}
	w.Head("tprouter_proxy_requests_total", "counter", "HTTP transactions logged, by class of the status sent to the client.")
	for i, n := range classNames {
		w.Sample("tprouter_proxy_requests_total", `class="`+n+`"`, float64(st.Requests[i].Value()))
	}
	w.Head("tprouter_proxy_sent_bytes_total", "counter", "Bytes the proxy wrote, heads included, by receiving side.")
	w.Sample("tprouter_proxy_sent_bytes_total", `to="client"`, float64(st.ToClient.Value()))
	w.Sample("tprouter_proxy_sent_bytes_total", `to="server"`, float64(st.ToServer.Value()))
	w.Counter("tprouter_proxy_spliced_bytes_total", "Bytes of bodies and tunnels moved socket to socket (splice), without passing through the proxy's buffers.", &st.Spliced)
	w.Head("tprouter_proxy_bytes_total", "counter", "Every byte the proxy wrote, by receiving side, counted as it goes: heads, bodies, spliced bytes, TLS, tunnels, its own pages.")
	w.Sample("tprouter_proxy_bytes_total", `to="client"`, float64(st.Bytes[0].Value()))
	w.Sample("tprouter_proxy_bytes_total", `to="server"`, float64(st.Bytes[1].Value()))
	w.Gauge("tprouter_proxy_connections_active", "Client connections open now.", &st.ConnsActive)
	w.Counter("tprouter_proxy_connections_total", "Client connections accepted, including those refused by a limit.", &st.ConnsTotal)
	w.Head("tprouter_proxy_client_connections_total", "counter", "Client connections accepted, by the client's address family (a v4-mapped address is ipv4).")
	w.Sample("tprouter_proxy_client_connections_total", `family="ipv4"`, float64(st.Families[0].Value()))
	w.Sample("tprouter_proxy_client_connections_total", `family="ipv6"`, float64(st.Families[1].Value()))
	w.Counter("tprouter_proxy_upstream_connections_total", "Connections opened to original destinations.", &st.UpstreamConns)
	w.Counter("tprouter_proxy_upstream_reused_total", "Client connections whose first request went on a pooled upstream connection.", &st.UpstreamReused)
	w.Gauge("tprouter_proxy_upstream_idle", "Upstream connections kept idle for their client's next connection.", &st.UpstreamIdle)
	w.Counter("tprouter_proxy_tunnels_total", "Connections relayed as raw tunnels (non-HTTP, Upgrade, CONNECT).", &st.Tunnels)
	w.Head("tprouter_proxy_errors_total", "counter", "Failures by kind.")
	for k := kind(0); k < numKinds; k++ {
		w.Sample("tprouter_proxy_errors_total", `kind="`+kindNames[k]+`"`, float64(st.Errors[k].Value()))
	}
	writePolicy(w, st)
	w.Counter("tprouter_selftest_requests_total", "Transactions of the router's self-test (-selftest-net), kept out of the access log.", &st.SelfTest)
	w.Histogram("tprouter_proxy_upstream_connect_seconds", "Time to connect to the original destination.", st.Connect)
	w.Histogram("tprouter_proxy_upstream_response_seconds", "Time from sending a request head to the first byte of the response.", st.Response)
	writeTLS(w, st)
	writeRuntime(w)
	return w.W.Flush()
}

// writePolicy writes the domain policy's and Server.Unknown's counters.
func writePolicy(w pm.Writer, st *Stats) {
	w.Head("tprouter_proxy_denied_total", "counter", "Requests (HTTP) and connections (TLS) the domain policy denied.")
	w.Sample("tprouter_proxy_denied_total", `proto="http"`, float64(st.Denied[0].Value()))
	w.Sample("tprouter_proxy_denied_total", `proto="tls"`, float64(st.Denied[1].Value()))
	w.Head("tprouter_proxy_unknown_total", "counter", "Connections neither HTTP nor TLS, by what -unknown did with them.")
	w.Sample("tprouter_proxy_unknown_total", `action="tunnel"`, float64(st.Unknown[0].Value()))
	w.Sample("tprouter_proxy_unknown_total", `action="reject"`, float64(st.Unknown[1].Value()))
}

// writeTLS writes the TLS block.
func writeTLS(w pm.Writer, st *Stats) {
	w.Counter("tprouter_proxy_tls_connections_total", "TLS connections whose ClientHello parsed (spliced or denied).", &st.TLSConns)
	w.Head("tprouter_proxy_tls_bytes_total", "counter", "Bytes of spliced TLS connections, the ClientHello included, by direction.")
	w.Sample("tprouter_proxy_tls_bytes_total", `direction="to_client"`, float64(st.TLSToClient.Value()))
	w.Sample("tprouter_proxy_tls_bytes_total", `direction="to_server"`, float64(st.TLSToServer.Value()))
	w.Histogram("tprouter_proxy_tls_hello_seconds", "Time from a TLS connection's first byte to its complete ClientHello.", st.TLSHello)
	w.Head("tprouter_proxy_tls_parse_failures_total", "counter", "Connections that began like a TLS handshake record but whose ClientHello did not parse, by kind.")
	for k := tlshello.Kind(0); k < tlshello.NumKinds; k++ {
		w.Sample("tprouter_proxy_tls_parse_failures_total", `kind="`+k.String()+`"`, float64(st.TLSParseFailures[k].Value()))
	}
}

// runtimeSamples are the Go runtime figures that explain the proxy's
// memory: goroutines (one per connection, two per tunnel), their stacks,
// and the heap.
var runtimeSamples = []struct{ name, help, key string }{
	{"tprouter_proxy_go_goroutines", "Goroutines.", "/sched/goroutines:goroutines"},
	{"tprouter_proxy_go_stack_bytes", "Memory in goroutine stacks.", "/memory/classes/heap/stacks:bytes"},
	{"tprouter_proxy_go_heap_objects_bytes", "Memory in live and not yet swept heap objects.", "/memory/classes/heap/objects:bytes"},
	{"tprouter_proxy_go_memory_bytes", "All memory the Go runtime mapped.", "/memory/classes/total:bytes"},
	{"tprouter_proxy_go_released_bytes", "Memory returned to the OS.", "/memory/classes/heap/released:bytes"},
}

func writeRuntime(w pm.Writer) {
	s := make([]metrics.Sample, len(runtimeSamples))
	for i, r := range runtimeSamples {
		s[i].Name = r.key
	}
	metrics.Read(s)
	for i, r := range runtimeSamples {
		if s[i].Value.Kind() != metrics.KindUint64 {
			continue
		}
		w.Head(r.name, "gauge", r.help)
		w.Sample(r.name, "", float64(s[i].Value.Uint64()))
	}
}
