// Package status is the router's HTTP status endpoint, served on the LAN
// addresses only:
//
//	/metrics     the proxy's metrics and init's own, in Prometheus text format
//	/access.log  the proxy's recent access log lines (Squid's native format)
//	/logs        init's and each service's recent lines (?service=NAME for one)
//	/services    init's service table and the state of each service
//	/            the status page (page.go): every panel, redrawn every 2 s
//
// The proxy keeps its metrics and access log on its own status address on
// loopback; this endpoint fetches them from there, so the proxy never
// listens on a routable address for them.
package status

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tprouter/init/console"
	"tprouter/init/supervise"
)

// Server serves the endpoint.
type Server struct {
	// ProxyStatus is the proxy's -status address, host:port.
	ProxyStatus string
	// Logs returns the logs for /logs (init's and each service's).
	Logs func() []*console.Log
	// Services returns the services' state, for /metrics and /services.
	Services func() []supervise.Status
	// Table is init's service table, for /services and /metrics.
	Table []Service
	// Orphans returns how many orphans init has reaped, for /metrics.
	Orphans func() uint64
	// Start is when init started, for the uptime metric.
	Start time.Time
	// QUICBlocked reads the firewall's QUIC counter (firewall.QUICBlocked)
	// for tprouter_quic_blocked_packets_total; nil: no such metric. On an
	// error (no table yet) the metric is left out, with a comment.
	QUICBlocked func() (uint64, error)

	// SelfTest serves /selftest (init/selftest): the last self-test's
	// results, and a new run on request; nil: no such page.
	SelfTest http.Handler
	// Update serves PUT /update (init/update): an update bundle written
	// to the slot that is not running; nil: no updates.
	Update http.Handler
	// Version serves GET /version (init/update): the running version,
	// slot and loader entry, and a rollback; nil: no such page.
	Version http.Handler
	// Metrics write more of init's metrics (the self-test's, the
	// update's), each with its HELP and TYPE lines.
	Metrics []func(io.Writer)

	// Panels are the status page's sources (api.go).
	Panels Panels

	// Client fetches from the proxy; nil uses a client with a short
	// timeout.
	Client *http.Client
}

// Service is a row of init's service table (init/router).
type Service struct {
	Name   string
	RunsAs string // "uid 3129, CAP_NET_ADMIN"
	When   string // when it runs, in words
	// Enabled: the configuration asks for it (it may still wait for its
	// link).
	Enabled bool
}

// maxUpstream caps what is copied from the proxy, in case it misbehaves.
const maxUpstream = 16 << 20

// Handler returns the endpoint's handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page) // the status page (page.go)
	mux.HandleFunc("GET /metrics", s.metrics)
	mux.HandleFunc("GET /services", s.services)
	mux.HandleFunc("GET /access.log", s.accessLog)
	mux.HandleFunc("GET /logs", s.logs)
	s.api(mux) // the page's panels as JSON (api_serve.go)
	if s.SelfTest != nil {
		mux.Handle("/selftest", s.SelfTest)
	}
	if s.Update != nil {
		mux.Handle("PUT /update", s.Update)
	}
	if s.Version != nil {
		mux.Handle("GET /version", s.Version)
	}
	return mux
}

func (s *Server) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return &http.Client{Timeout: 3 * time.Second}
}

// fetch GETs path from the proxy's status address.
func (s *Server) fetch(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+s.ProxyStatus+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", req.URL, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstream))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", req.URL, err)
	}
	return b, nil
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var b strings.Builder
	proxy, err := s.fetch(r.Context(), "/metrics")
	up := 1
	if err != nil {
		up = 0
		fmt.Fprintf(&b, "# proxy metrics unavailable: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
	} else {
		b.Write(proxy)
		if len(proxy) > 0 && proxy[len(proxy)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	metric := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	metric("tprouter_proxy_scrape_ok", "gauge", "Whether init could fetch the proxy's metrics.")
	fmt.Fprintf(&b, "tprouter_proxy_scrape_ok %d\n", up)
	metric("tprouter_init_uptime_seconds", "gauge", "Seconds since init started.")
	fmt.Fprintf(&b, "tprouter_init_uptime_seconds %.3f\n", time.Since(s.Start).Seconds())
	if s.QUICBlocked != nil {
		if n, err := s.QUICBlocked(); err != nil {
			fmt.Fprintf(&b, "# tprouter_quic_blocked_packets_total unavailable: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			metric("tprouter_quic_blocked_packets_total", "counter", "QUIC (UDP 443) packets from the LAN answered with port unreachable since the firewall was last applied.")
			fmt.Fprintf(&b, "tprouter_quic_blocked_packets_total %d\n", n)
		}
	}
	if s.Orphans != nil {
		metric("tprouter_init_orphans_reaped_total", "counter", "Orphaned processes init reaped.")
		fmt.Fprintf(&b, "tprouter_init_orphans_reaped_total %d\n", s.Orphans())
	}
	if st := s.states(); st != nil {
		metric("tprouter_service_restarts_total", "counter", "Restarts of each supervised service since boot.")
		for _, sv := range st {
			fmt.Fprintf(&b, "tprouter_service_restarts_total{service=%s} %d\n", label(sv.Name), sv.Restarts)
		}
		metric("tprouter_service_up", "gauge", "Whether the service is running.")
		for _, sv := range st {
			fmt.Fprintf(&b, "tprouter_service_up{service=%s} %d\n", label(sv.Name), b2i(sv.PID != 0))
		}
		metric("tprouter_service_crash_looping", "gauge", "Whether the service is in a crash loop.")
		for _, sv := range st {
			fmt.Fprintf(&b, "tprouter_service_crash_looping{service=%s} %d\n", label(sv.Name), b2i(sv.CrashLoop))
		}
	}
	for _, m := range s.Metrics {
		m(&b)
	}
	io.WriteString(w, b.String())
}

// states returns the state of every service: those the supervisor runs
// and, not running, those of the table that the configuration asks for
// but that wait for their link.
func (s *Server) states() []supervise.Status {
	var st []supervise.Status
	if s.Services != nil {
		st = s.Services()
	}
	for _, t := range s.Table {
		if t.Enabled && !slices.ContainsFunc(st, func(v supervise.Status) bool { return v.Name == t.Name }) {
			st = append(st, supervise.Status{Name: t.Name})
		}
	}
	return st
}

// services lists the table with each service's state.
func (s *Server) services(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var st []supervise.Status
	if s.Services != nil {
		st = s.Services()
	}
	var b strings.Builder
	for _, t := range s.Table {
		i := slices.IndexFunc(st, func(v supervise.Status) bool { return v.Name == t.Name })
		var state string
		switch {
		case i >= 0:
			state = describe(st[i])
		case t.Enabled:
			state = "not started: waiting for its link"
		default:
			state = "off"
		}
		fmt.Fprintf(&b, "%s: %s\n\truns as %s; runs when %s\n", t.Name, state, t.RunsAs, t.When)
	}
	io.WriteString(w, b.String())
}

// describe says what state a supervised service is in.
func describe(v supervise.Status) string {
	switch {
	case v.PID != 0:
		return fmt.Sprintf("running (pid %d since %s, %d restarts)", v.PID, v.Since.UTC().Format(console.TimeFormat), v.Restarts)
	case v.Stopped:
		return fmt.Sprintf("stopped: %s, a usage error; not restarted (its last line is in /logs?service=%s)", v.LastExit, v.Name)
	}
	return fmt.Sprintf("restarting (%s, %d restarts)", v.LastExit, v.Restarts)
}

// label quotes a label value as the text format wants.
func label(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v) + `"`
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Server) accessLog(w http.ResponseWriter, r *http.Request) {
	b, err := s.fetch(r.Context(), "/access.log")
	if err != nil {
		http.Error(w, "proxy status unavailable: "+err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(b)
}

func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	only := r.URL.Query().Get("service")
	var logs []*console.Log
	for _, l := range s.Logs() {
		if only == "" || l.Name() == only {
			logs = append(logs, l)
		}
	}
	if len(logs) == 0 {
		http.Error(w, fmt.Sprintf("no service %q", only), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var b strings.Builder
	for i, l := range logs {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "== %s ==\n", l.Name())
		for _, line := range l.Lines() {
			b.WriteString(line.Time.UTC().Format(console.TimeFormat) + " " + line.Text + "\n")
		}
	}
	io.WriteString(w, b.String())
}

// Listen listens on port at each of addrs and nowhere else. It sets
// IP_FREEBIND (IPV6_FREEBIND), so it can bind a LAN address that is not
// configured yet or still in duplicate address detection; and, when dev is
// set, binds the sockets to that link (SO_BINDTODEVICE), so that a packet
// for a LAN address that arrives on the WAN does not reach them either (a
// Linux host accepts packets for any of its addresses on any link).
func Listen(addrs []netip.Addr, port uint16, dev string) ([]net.Listener, error) {
	var ls []net.Listener
	for _, a := range addrs {
		lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
			var err error
			c.Control(func(fd uintptr) {
				if a.Is4() {
					err = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
				} else {
					err = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_FREEBIND, 1)
				}
				if err != nil {
					err = fmt.Errorf("setsockopt(FREEBIND): %w", err)
					return
				}
				if dev != "" {
					if err = unix.BindToDevice(int(fd), dev); err != nil {
						err = fmt.Errorf("setsockopt(SO_BINDTODEVICE, %s): %w", dev, err)
					}
				}
			})
			return err
		}}
		addr := netip.AddrPortFrom(a, port).String()
		l, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, fmt.Errorf("listen %s: %w", addr, err)
		}
		ls = append(ls, l)
	}
	if len(ls) == 0 {
		return nil, errors.New("no addresses to listen on")
	}
	return ls, nil
}

// Serve serves h on each listener until it is closed.
func Serve(ls []net.Listener, h http.Handler, log func(format string, args ...any)) {
	for _, l := range ls {
		srv := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       time.Minute,
		}
		go func() {
			defer func() {
				if r := recover(); r != nil {
					log("status endpoint %s: panic: %v", l.Addr(), r)
				}
			}()
			if err := srv.Serve(l); err != nil && !errors.Is(err, net.ErrClosed) {
				log("status endpoint %s: %v", l.Addr(), err)
			}
		}()
	}
}
