// Command proxy is tprouter's transparent HTTP interception proxy: what
// Squid does on "http_port 3129 tproxy". Connections that the router's
// TPROXY rules divert to it are served on transparent sockets; each
// request goes to the connection's original destination, from the
// client's own address, and is logged in Squid's native format.
//
// init starts it as a child process and prefixes its standard error lines.
// A bad flag or environment stops it at start with one line saying what to
// change (exit status 2). SIGTERM and SIGINT stop it gracefully; SIGHUP
// reopens the access log file, for rotation.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"tprouter/services/proxy/accesslog"
	"tprouter/services/proxy/intercept"
	"tprouter/services/proxy/status"
	"tprouter/services/proxy/tproxy"
)

// config is what the flags say.
type config struct {
	listen, accessLog, status, name string
	spoof                           bool
	mark, tos                       uint64
	maxConns, maxPerClient          int
	maxIdleUp                       int
	upIdleTimeout                   time.Duration
	headerTimeout, idleTimeout      time.Duration
	readTimeout, connectTimeout     time.Duration
	shutdownTimeout                 time.Duration
	maxHeaderSize, logLines         int
}

// usageError is a mistake in the command line or the environment: one
// line, exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "tprouter"
	}
	c := &config{}
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.listen, "listen", ":3129", "transparent listening `address`; no host: IPv4 and IPv6")
	fs.StringVar(&c.accessLog, "access-log", "-", "access log `file` in Squid's native format; - for standard output, empty for none")
	fs.BoolVar(&c.spoof, "spoof", true, "connect to servers from the client's address (needs CAP_NET_ADMIN)")
	fs.Uint64Var(&c.mark, "outgoing-mark", 0, "SO_MARK `value` for upstream connections (0: none)")
	fs.Uint64Var(&c.tos, "outgoing-tos", 0, "IP TOS / IPv6 traffic class `value` for upstream connections, 0-255 (0: none)")
	fs.StringVar(&c.status, "status", "", "`address` serving /metrics and /access.log (empty: off)")
	fs.StringVar(&c.name, "name", host, "this proxy's `name` in Via headers and loop detection")
	fs.IntVar(&c.maxConns, "max-conns", 16384, "client connections open at once; more are closed at once (0: no limit)")
	fs.IntVar(&c.maxPerClient, "max-conns-per-client", 0, "client connections open at once from one address (0: no limit)")
	fs.IntVar(&c.maxIdleUp, "max-idle-upstream", 1024, "upstream connections kept after their client connection closed, for the same client's next request to the same server (0: none)")
	fs.DurationVar(&c.upIdleTimeout, "upstream-idle-timeout", intercept.DefaultUpstreamIdleTimeout, "time such an upstream connection is kept")
	fs.DurationVar(&c.headerTimeout, "header-timeout", intercept.DefaultHeaderTimeout, "time from a request's first byte to the end of its head")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", intercept.DefaultIdleTimeout, "time a client connection may wait for its next request")
	fs.DurationVar(&c.readTimeout, "read-timeout", intercept.DefaultReadTimeout, "silence from either side that ends a transaction or tunnel")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", intercept.DefaultConnectTimeout, "time to connect to a server; then 504")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGTERM, time for requests in flight to finish")
	fs.IntVar(&c.maxHeaderSize, "max-header-size", 65536, "largest request or response head in `bytes`; 431 or 502 beyond")
	fs.IntVar(&c.logLines, "log-lines", 1000, "access log lines kept for /access.log")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintf(stderr, "usage: proxy [flags]\n\nTransparent (TPROXY) HTTP interception proxy.\n\n")
			fs.PrintDefaults()
			return nil, err
		}
		return nil, usagef("%v (run with -h for the flags)", err)
	}
	switch {
	case fs.NArg() > 0:
		return nil, usagef("unexpected argument %q: the proxy takes only flags", fs.Arg(0))
	case c.mark > 0xffffffff:
		return nil, usagef("-outgoing-mark %d: must fit in 32 bits", c.mark)
	case c.tos > 255:
		return nil, usagef("-outgoing-tos %d: must be 0-255", c.tos)
	case c.maxConns < 0:
		return nil, usagef("-max-conns %d: must be 0 (no limit) or more", c.maxConns)
	case c.maxPerClient < 0:
		return nil, usagef("-max-conns-per-client %d: must be 0 (no limit) or more", c.maxPerClient)
	case c.maxIdleUp < 0:
		return nil, usagef("-max-idle-upstream %d: must be 0 (keep none) or more", c.maxIdleUp)
	case c.maxHeaderSize < 1024 || c.maxHeaderSize > 1<<20:
		return nil, usagef("-max-header-size %d: must be 1024-1048576", c.maxHeaderSize)
	case c.logLines < 0:
		return nil, usagef("-log-lines %d: must be 0 or more", c.logLines)
	case !isToken(c.name):
		return nil, usagef("-name %q: must be a non-empty token (letters, digits, -._~ and the like, no spaces)", c.name)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"header-timeout", c.headerTimeout}, {"idle-timeout", c.idleTimeout}, {"read-timeout", c.readTimeout},
		{"connect-timeout", c.connectTimeout}, {"shutdown-timeout", c.shutdownTimeout},
		{"upstream-idle-timeout", c.upIdleTimeout}} {
		if d.v <= 0 {
			return nil, usagef("-%s %v: must be positive", d.flag, d.v)
		}
	}
	if err := checkAddr("listen", c.listen, false); err != nil {
		return nil, err
	}
	if c.status != "" {
		if err := checkAddr("status", c.status, true); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func checkAddr(flag, addr string, anyHost bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("-%s %q: want [host]:port, e.g. :3129", flag, addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return usagef("-%s %q: port must be a number 0-65535", flag, addr)
	}
	if host != "" && !anyHost && net.ParseIP(host) == nil {
		return usagef("-%s %q: host must be an IP address or empty", flag, addr)
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token, which a Via
// received-by pseudonym must be.
func isToken(s string) bool {
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// logFile is the access log's destination, reopened on SIGHUP.
type logFile struct {
	path string
	f    *os.File
}

// open opens the file anew (for rotation) and returns it and the file it
// replaces, which the caller closes once nothing writes to it any more.
func (l *logFile) open() (w io.Writer, old io.Closer, err error) {
	switch l.path {
	case "":
		return nil, nil, nil
	case "-":
		return os.Stdout, nil, nil
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, nil, err
	}
	if l.f != nil {
		old = l.f
	}
	l.f = f
	return f, old, nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	lg := log.New(stderr, "", 0)
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		lg.Print(err)
		return 2
	}
	if err := serve(c, lg); err != nil {
		lg.Print(err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

func serve(c *config, lg *log.Logger) error {
	lf := &logFile{path: c.accessLog}
	w, _, err := lf.open()
	if err != nil {
		return usagef("-access-log %s: %v", c.accessLog, err)
	}
	alog := accesslog.New(w, c.logLines)
	defer func() {
		if err := alog.Close(); err != nil {
			lg.Printf("access log %s: %v", c.accessLog, err)
		}
	}()

	if ok, err := tproxy.HasNetAdmin(); err != nil {
		lg.Printf("cannot check capabilities: %v", err)
	} else if !ok && (c.spoof || c.mark != 0) {
		lg.Printf("spoofing needs CAP_NET_ADMIN, which this process lacks; unless it has CAP_NET_RAW, upstream connections will fail (run as root, grant CAP_NET_ADMIN, or use -spoof=false and -outgoing-mark=0)")
	}
	checkFiles(c, lg)

	// Catch signals before saying "listening": a supervisor may send
	// SIGTERM as soon as it reads that line.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)

	lns, notes, err := tproxy.Listen(context.Background(), c.listen)
	if err != nil {
		return usagef("-listen %s: %v; run as root or with CAP_NET_ADMIN, on a kernel with TPROXY", c.listen, err)
	}
	for _, n := range notes {
		lg.Print(n)
	}

	d := &tproxy.Dialer{Spoof: c.spoof, Mark: uint32(c.mark), TOS: int(c.tos), Timeout: c.connectTimeout}
	srv := &intercept.Server{
		Name:              c.name,
		Dial:              d.Dial,
		Log:               alog,
		Stats:             intercept.NewStats(),
		Logf:              lg.Printf,
		MaxConns:          c.maxConns,
		MaxConnsPerClient: c.maxPerClient,
		HeaderTimeout:     c.headerTimeout,
		IdleTimeout:       c.idleTimeout,
		ConnectTimeout:    c.connectTimeout,
		ReadTimeout:       c.readTimeout,
		MaxHeaderSize:     c.maxHeaderSize,

		MaxIdleUpstream:     c.maxIdleUp,
		UpstreamIdleTimeout: c.upIdleTimeout,
	}

	var hs *http.Server
	if c.status != "" {
		sl, err := net.Listen("tcp", c.status)
		if err != nil {
			for _, ln := range lns {
				ln.Close()
			}
			return usagef("-status %s: %v", c.status, err)
		}
		hs = &http.Server{
			Handler:           status.Handler(srv.Stats.WritePrometheus, alog),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          lg,
		}
		go hs.Serve(sl)
		lg.Printf("status on http://%s/ (/metrics, /access.log)", sl.Addr())
	}

	errc := make(chan error, len(lns))
	var addrs []string
	for _, ln := range lns {
		addrs = append(addrs, fmt.Sprintf("%s (%v)", ln.Addr(), ln.Family))
		go func() { errc <- srv.Serve(ln) }()
	}
	from := "the client's address"
	if !c.spoof {
		from = "the router's own address"
	}
	lg.Printf("listening on %s, transparent; upstream connections from %s; Via name %q", strings.Join(addrs, " and "), from, c.name)

	for {
		select {
		case err := <-errc:
			// Serve only returns when its listener broke for good.
			lg.Printf("listener failed: %v; shutting down", err)
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				if w, old, err := lf.open(); err != nil {
					lg.Printf("SIGHUP: reopening -access-log %s: %v; keeping the old file", c.accessLog, err)
				} else if old != nil {
					alog.SetOutput(w)
					old.Close()
				}
				continue
			}
			name := "SIGTERM"
			if sig == syscall.SIGINT {
				name = "SIGINT"
			}
			lg.Printf("%s: stopping; waiting up to %v for %d connections", name, c.shutdownTimeout, srv.Active())
		}
		break
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if hs != nil {
		hs.Close()
	}
	if err := srv.Shutdown(ctx); err != nil {
		lg.Printf("shutdown: %v", err)
	}
	lg.Printf("stopped")
	return nil
}

// checkFiles makes sure the file descriptor limit can hold -max-conns
// client connections, their upstream connections and the kept idle ones:
// it raises the limit when it can (as root), and warns when it cannot.
func checkFiles(c *config, lg *log.Logger) {
	var rl syscall.Rlimit
	if c.maxConns == 0 || syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil {
		return
	}
	need := uint64(2*c.maxConns + c.maxIdleUp + 64)
	if rl.Cur >= need {
		return
	}
	want := syscall.Rlimit{Cur: need, Max: max(rl.Max, need)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		lg.Printf("-max-conns %d needs about %d file descriptors but the limit is %d (%v); raise it (ulimit -n %d) or lower -max-conns",
			c.maxConns, need, rl.Cur, err, need)
	}
}
