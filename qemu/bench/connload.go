package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tprouter/qemu/lab"
)

// The connection load generator: this executable in another mode, run in
// the client namespace for one workload as wrk is for the others. Each of
// Conns workers opens a TCP connection, for TLS makes a full TLS 1.3
// handshake (no session cache: nothing to resume), sends one GET with
// "Connection: close", reads and checks the whole response and closes,
// then starts over, until Duration has passed or Max connections were
// made. It prints a loadResult as JSON on stdout.
//
// It serves the TLS workloads (e, f; tls.go) from the lab's one client
// address and the many-clients workloads (many.go), plain HTTP or TLS,
// from Sources: connection i leaves from Sources[i mod len], so every
// address opens a new connection in turn. Those sockets set
// IP_BIND_ADDRESS_NO_PORT, which defers the port choice to connect(2),
// where the kernel only needs the 4-tuple to be unique (bind(2) of port
// 0 would want the port free on that address for every destination).
// The client closes as soon as the body is in, as browsers and curl do
// (tprouter's proxy waits for that close, so that the router keeps no
// TIME_WAIT socket with the client's address), and so holds the
// TIME_WAIT sockets: spread over the many addresses, with tcp_tw_reuse
// on (tuneLab) and cleared between candidates (many.go), they leave
// every connect a free port; no SO_LINGER reset is needed.
const connLoadEnv = "TPROUTER_BENCH_CONN_LOAD"

// loadSpec is one run of the load generator.
type loadSpec struct {
	Addr     string        `json:"addr"` // host:port of the origin
	Host     string        `json:"host"` // the Host header (and SNI for TLS)
	Path     string        `json:"path"` // "/1k"
	Size     int           `json:"size"` // the body's expected length
	Conns    int           `json:"conns"`
	Duration time.Duration `json:"duration"`
	Max      int64         `json:"max"` // bound on connections in all
	// CAFile, if set, makes every connection TLS, trusting the origin's
	// certificate (PEM) in that file.
	CAFile string `json:"ca_file,omitempty"`
	// Sources are the local addresses, taken in turn; none: the
	// kernel's choice (the namespace's primary address).
	Sources []string `json:"sources,omitempty"`
}

// loadResult is what the load generator measured. Latency is per
// connection, from dial to the response's last byte.
type loadResult struct {
	Conns      float64 `json:"conns"`
	Bytes      float64 `json:"body_bytes"`
	DurationUS float64 `json:"duration_us"`
	P50US      float64 `json:"p50_us"`
	P99US      float64 `json:"p99_us"`
	Errors     float64 `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Sources    int     `json:"sources,omitempty"`
	// CPUSeconds is the load generator's own user+system time.
	CPUSeconds float64 `json:"cpu_seconds"`
}

func (r loadResult) perSecond(v float64) float64 { return v / (r.DurationUS / 1e6) }

// connLoadMain runs the spec in specJSON and exits.
func connLoadMain(specJSON string) {
	var s loadSpec
	if err := json.Unmarshal([]byte(specJSON), &s); err != nil {
		log.Fatalf("conn load: %s: %v", connLoadEnv, err)
	}
	var cfg *tls.Config
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			log.Fatalf("conn load: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			log.Fatalf("conn load: %s: no certificate", s.CAFile)
		}
		cfg = tlsClientConfig(pool)
	}
	r, err := connLoad(s, cfg)
	if err != nil {
		log.Fatalf("conn load: %v", err)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		r.CPUSeconds = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		log.Fatalf("conn load: %v", err)
	}
	os.Exit(0)
}

// loadTally is what the workers add up.
type loadTally struct {
	mu     sync.Mutex
	lat    []time.Duration
	bytes  float64
	errors float64
	first  error
}

func (t *loadTally) add(lat []time.Duration, bytes, errs float64, first error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lat = append(t.lat, lat...)
	t.bytes += bytes
	t.errors += errs
	if t.first == nil {
		t.first = first
	}
}

// connLoad runs the workers, with TLS when cfg is set, and sums what they
// measured.
func connLoad(s loadSpec, cfg *tls.Config) (loadResult, error) {
	deadline := time.Now().Add(s.Duration)
	dialers, err := sourceDialers(s.Sources, deadline.Add(10*time.Second))
	if err != nil {
		return loadResult{}, err
	}
	var (
		wg sync.WaitGroup
		n  atomic.Int64
		t  loadTally
	)
	start := time.Now()
	for range s.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var my []time.Duration
			var bytes, errs float64
			var myFirst error
			for time.Now().Before(deadline) {
				i := n.Add(1)
				if i > s.Max {
					break
				}
				t0 := time.Now()
				got, err := loadGet(&dialers[int(i)%len(dialers)], s, cfg, deadline.Add(10*time.Second))
				if err != nil {
					errs++
					if myFirst == nil {
						myFirst = err
					}
					continue
				}
				my = append(my, time.Since(t0))
				bytes += float64(got)
			}
			t.add(my, bytes, errs, myFirst)
		}()
	}
	wg.Wait()
	res := loadResult{
		DurationUS: float64(time.Since(start).Microseconds()),
		Conns:      float64(len(t.lat)), Bytes: t.bytes, Errors: t.errors, Sources: len(s.Sources),
	}
	if t.first != nil {
		res.FirstError = t.first.Error()
	}
	sort.Slice(t.lat, func(i, j int) bool { return t.lat[i] < t.lat[j] })
	if len(t.lat) > 0 {
		res.P50US = float64(t.lat[len(t.lat)/2].Microseconds())
		res.P99US = float64(t.lat[len(t.lat)*99/100].Microseconds())
	}
	return res, nil
}

// sourceDialers returns one dialer per source address (one with the
// kernel's choice for none), bounded by deadline and 5 s per connect.
func sourceDialers(sources []string, deadline time.Time) ([]net.Dialer, error) {
	if len(sources) == 0 {
		return []net.Dialer{{Deadline: deadline, Timeout: 5 * time.Second}}, nil
	}
	ds := make([]net.Dialer, len(sources))
	for i, src := range sources {
		a, err := netip.ParseAddr(src)
		if err != nil {
			return nil, fmt.Errorf("source address %q: %w", src, err)
		}
		ds[i] = net.Dialer{Deadline: deadline, Timeout: 5 * time.Second,
			LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, 0)), Control: bindNoPort}
	}
	return ds, nil
}

// bindNoPort sets IP_BIND_ADDRESS_NO_PORT on a socket about to be bound
// to a source address (see connLoadEnv's comment).
func bindNoPort(_, _ string, rc syscall.RawConn) error {
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("setsockopt IP_BIND_ADDRESS_NO_PORT: %w", serr)
	}
	return nil
}

// loadGet makes one connection to s.Addr with d, for TLS (cfg set) one
// handshake, and one GET of s.Path, and returns the body's length.
func loadGet(d *net.Dialer, s loadSpec, cfg *tls.Config, deadline time.Time) (int64, error) {
	c, err := d.Dial("tcp", s.Addr)
	if err != nil {
		return 0, fmt.Errorf("dial %s from %v: %w", s.Addr, d.LocalAddr, err)
	}
	defer c.Close()
	c.SetDeadline(deadline)
	if cfg != nil {
		tc := tls.Client(c, cfg)
		if err := tc.Handshake(); err != nil {
			return 0, fmt.Errorf("TLS handshake with %s: %w", s.Addr, err)
		}
		c = tc
	}
	return closeExchange(c, s.Host, s.Path, s.Size)
}

// closeExchange sends one GET of path with "Connection: close" on c,
// reads the whole response and checks for 200 with size bytes.
func closeExchange(c net.Conn, host, path string, size int) (int64, error) {
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: tprouter-bench\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return 0, fmt.Errorf("write request to %s: %w", c.RemoteAddr(), err)
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 32<<10), nil)
	if err != nil {
		return 0, fmt.Errorf("read response from %s: %w", c.RemoteAddr(), err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, fmt.Errorf("read body from %s: %w", c.RemoteAddr(), err)
	}
	if resp.StatusCode != http.StatusOK || n != int64(size) {
		return n, fmt.Errorf("GET %s from %s: %s with %d bytes, want 200 OK with %d", path, c.RemoteAddr(), resp.Status, n, size)
	}
	return n, nil
}

// runConnLoad runs the load generator in client, bounded by the spec's
// duration plus a margin.
func runConnLoad(ctx context.Context, client *lab.NS, s loadSpec) (loadResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return loadResult{}, fmt.Errorf("os.Executable: %w", err)
	}
	spec, err := json.Marshal(s)
	if err != nil {
		return loadResult{}, fmt.Errorf("json.Marshal(loadSpec): %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.Duration+30*time.Second)
	defer cancel()
	cmd := client.Command(exe)
	cmd.Env = append(os.Environ(), connLoadEnv+"="+string(spec))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	defer killOnDone(ctx, cmd)()
	out, err := cmd.Output()
	if err != nil {
		return loadResult{}, fmt.Errorf("in %s: load generator %s: %v\n%s", client.Name, spec, err, stderr.String())
	}
	var r loadResult
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("load generator's output %q: %w", out, err)
	}
	if r.Conns == 0 || r.DurationUS == 0 {
		return r, fmt.Errorf("load generator: no connection completed (%.0f errors, first: %s)", r.Errors, r.FirstError)
	}
	return r, nil
}
