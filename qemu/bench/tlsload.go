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
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"tprouter/qemu/lab"
)

// The TLS load generator: this executable in another mode, run in the
// client namespace for one workload as wrk is for the others. Each of
// Conns workers opens a TCP connection, makes a full TLS 1.3 handshake
// (no session cache: nothing to resume), sends one GET with
// "Connection: close", reads and checks the whole response and closes,
// then starts over, until Duration has passed or Max connections were
// made. It prints a tlsLoadResult as JSON on stdout.
const tlsLoadEnv = "TPROUTER_BENCH_TLS_LOAD"

// tlsLoadSpec is one run of the load generator.
type tlsLoadSpec struct {
	Addr     string        `json:"addr"` // host:port of the origin
	Path     string        `json:"path"` // "/1k"
	Size     int           `json:"size"` // the body's expected length
	Conns    int           `json:"conns"`
	Duration time.Duration `json:"duration"`
	Max      int64         `json:"max"`     // bound on connections in all
	CAFile   string        `json:"ca_file"` // the origin's certificate (PEM)
}

// tlsLoadResult is what the load generator measured. Latency is per
// connection, from dial to the response's last byte.
type tlsLoadResult struct {
	Conns      float64 `json:"conns"`
	Bytes      float64 `json:"body_bytes"`
	DurationUS float64 `json:"duration_us"`
	P50US      float64 `json:"p50_us"`
	P99US      float64 `json:"p99_us"`
	Errors     float64 `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	// CPUSeconds is the load generator's own user+system time.
	CPUSeconds float64 `json:"cpu_seconds"`
}

func (r tlsLoadResult) perSecond(v float64) float64 { return v / (r.DurationUS / 1e6) }

// tlsLoadMain runs the spec in specJSON and exits.
func tlsLoadMain(specJSON string) {
	var s tlsLoadSpec
	if err := json.Unmarshal([]byte(specJSON), &s); err != nil {
		log.Fatalf("tls load: %s: %v", tlsLoadEnv, err)
	}
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		log.Fatalf("tls load: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		log.Fatalf("tls load: %s: no certificate", s.CAFile)
	}
	r := tlsLoad(s, pool)
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		r.CPUSeconds = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		log.Fatalf("tls load: %v", err)
	}
	os.Exit(0)
}

// tlsLoad runs the workers and sums what they measured.
func tlsLoad(s tlsLoadSpec, pool *x509.CertPool) tlsLoadResult {
	cfg := tlsClientConfig(pool)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		n     atomic.Int64
		res   tlsLoadResult
		lat   []time.Duration
		first error
	)
	deadline := time.Now().Add(s.Duration)
	start := time.Now()
	for range s.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var my []time.Duration
			var bytes, errs float64
			var myFirst error
			for time.Now().Before(deadline) && n.Add(1) <= s.Max {
				t0 := time.Now()
				got, err := tlsGet(s.Addr, s.Path, s.Size, cfg, deadline.Add(10*time.Second))
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
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, my...)
			res.Bytes += bytes
			res.Errors += errs
			if first == nil {
				first = myFirst
			}
		}()
	}
	wg.Wait()
	res.DurationUS = float64(time.Since(start).Microseconds())
	res.Conns = float64(len(lat))
	if first != nil {
		res.FirstError = first.Error()
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		res.P50US = float64(lat[len(lat)/2].Microseconds())
		res.P99US = float64(lat[len(lat)*99/100].Microseconds())
	}
	return res
}

// tlsClientConfig is a browser's view of the origin, minus resumption:
// TLS 1.3, Go's default key shares (X25519MLKEM768 and X25519, so the
// ClientHello is post-quantum sized, about 1.3 KB), the SNI tlsName.
func tlsClientConfig(pool *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: pool, ServerName: tlsName, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS13}
}

// tlsGet makes one connection to addr, one TLS handshake and one GET of
// path, checks for 200 with size bytes and returns the body's length.
func tlsGet(addr, path string, size int, cfg *tls.Config, deadline time.Time) (int64, error) {
	d := net.Dialer{Deadline: deadline, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return 0, fmt.Errorf("dial %s: %w", addr, err)
	}
	defer c.Close()
	c.SetDeadline(deadline)
	tc := tls.Client(c, cfg)
	if err := tc.Handshake(); err != nil {
		return 0, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return tlsExchange(tc, path, size)
}

// tlsExchange sends one GET of path on c and reads the whole response.
func tlsExchange(c *tls.Conn, path string, size int) (int64, error) {
	req := "GET " + path + " HTTP/1.1\r\nHost: " + tlsName + "\r\nUser-Agent: tprouter-bench\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return 0, fmt.Errorf("write request over TLS to %s: %w", c.RemoteAddr(), err)
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 32<<10), nil)
	if err != nil {
		return 0, fmt.Errorf("read response over TLS from %s: %w", c.RemoteAddr(), err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, fmt.Errorf("read body over TLS from %s: %w", c.RemoteAddr(), err)
	}
	if resp.StatusCode != http.StatusOK || n != int64(size) {
		return n, fmt.Errorf("GET %s over TLS from %s: %s with %d bytes, want 200 OK with %d", path, c.RemoteAddr(), resp.Status, n, size)
	}
	return n, nil
}

// runTLSLoad runs the load generator in client, bounded by the spec's
// duration plus a margin.
func runTLSLoad(ctx context.Context, client *lab.NS, s tlsLoadSpec) (tlsLoadResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return tlsLoadResult{}, fmt.Errorf("os.Executable: %w", err)
	}
	spec, err := json.Marshal(s)
	if err != nil {
		return tlsLoadResult{}, fmt.Errorf("json.Marshal(tlsLoadSpec): %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.Duration+30*time.Second)
	defer cancel()
	cmd := client.Command(exe)
	cmd.Env = append(os.Environ(), tlsLoadEnv+"="+string(spec))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	defer killOnDone(ctx, cmd)()
	out, err := cmd.Output()
	if err != nil {
		return tlsLoadResult{}, fmt.Errorf("in %s: TLS load generator %s: %v\n%s", client.Name, spec, err, stderr.String())
	}
	var r tlsLoadResult
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("TLS load generator's output %q: %w", out, err)
	}
	if r.Conns == 0 || r.DurationUS == 0 {
		return r, fmt.Errorf("TLS load generator: no connection completed (%.0f errors, first: %s)", r.Errors, r.FirstError)
	}
	return r, nil
}
