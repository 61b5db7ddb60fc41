// Command proxy is tprouter's transparent HTTP interception proxy: what
// Squid does on "http_port 3129 tproxy". Connections that the router's
// TPROXY rules divert to it are served on transparent sockets; each
// request goes to the connection's original destination, from the
// client's own address, and is logged in Squid's native format.
//
// init starts it as a child process and prefixes its standard error
// lines. It keeps the services' contract (services/internal/cli): a bad
// flag or an environment it cannot work in (no TPROXY, no CAP_NET_ADMIN)
// stops it at start with one line saying what to change and exit status
// 125, which init does not restart. SIGTERM and SIGINT stop it
// gracefully; SIGHUP reopens the access log file, for rotation.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"tprouter/services/internal/cli"
	"tprouter/services/proxy/accesslog"
	"tprouter/services/proxy/intercept"
	"tprouter/services/proxy/status"
	"tprouter/services/proxy/tproxy"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run is the proxy with its arguments and standard error; it returns the
// exit status (cli.Run).
func run(args []string, stderr io.Writer) int {
	c := &config{}
	return cli.Run(c.flags(), args, stderr, c.check, func(ctx context.Context) error {
		return serve(ctx, c, log.New(stderr, "", 0))
	})
}

// serve runs the proxy until ctx ends or its listeners fail.
func serve(ctx context.Context, c *config, lg *log.Logger) error {
	lf := &logFile{path: c.accessLog}
	w, _, err := lf.open()
	if err != nil {
		return cli.Usagef("-access-log %s: %v", c.accessLog, err)
	}
	alog := accesslog.New(w, c.logLines)
	defer func() {
		if err := alog.Close(); err != nil {
			lg.Printf("access log %s: %v", c.accessLog, err)
		}
	}()
	checkNetAdmin(c, lg)
	checkFiles(c, lg)

	// Catch SIGHUP before saying "listening", as cli does SIGTERM: a
	// supervisor may signal as soon as it reads that line.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	lns, notes, err := tproxy.Listen(context.Background(), c.listen)
	if err != nil {
		return cli.Usagef("-listen %s: %v; run as root or with CAP_NET_ADMIN, on a kernel with TPROXY", c.listen, err)
	}
	for _, n := range notes {
		lg.Print(n)
	}
	srv := newServer(c, alog, lg)
	hs, err := serveStatus(c, srv, alog, lg)
	if err != nil {
		for _, ln := range lns {
			ln.Close()
		}
		return err
	}
	errc := listen(c, srv, lns, lg)

	for {
		select {
		case err := <-errc:
			// Serve only returns when its listener broke for good.
			lg.Printf("listener failed: %v; shutting down", err)
		case <-hup:
			lf.reopen(alog, lg)
			continue
		case <-ctx.Done():
			lg.Printf("%v: stopping; waiting up to %v for %d connections", context.Cause(ctx), c.shutdownTimeout, srv.Active())
		}
		break
	}
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if hs != nil {
		hs.Close()
	}
	if err := srv.Shutdown(sctx); err != nil {
		lg.Printf("shutdown: %v", err)
	}
	lg.Printf("stopped")
	return nil
}

func newServer(c *config, alog *accesslog.Log, lg *log.Logger) *intercept.Server {
	d := &tproxy.Dialer{Spoof: c.spoof, Mark: uint32(c.mark), TOS: int(c.tos), Timeout: c.connectTimeout}
	return &intercept.Server{
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
}

// serveStatus serves /metrics and /access.log on -status, if set.
func serveStatus(c *config, srv *intercept.Server, alog *accesslog.Log, lg *log.Logger) (*http.Server, error) {
	if c.status == "" {
		return nil, nil
	}
	sl, err := net.Listen("tcp", c.status)
	if err != nil {
		return nil, cli.Usagef("-status %s: %v", c.status, err)
	}
	hs := &http.Server{
		Handler:           status.Handler(srv.Stats.WritePrometheus, alog),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          lg,
	}
	go hs.Serve(sl)
	lg.Printf("status on http://%s/ (/metrics, /access.log)", sl.Addr())
	return hs, nil
}

// listen serves the transparent listeners and says so; the channel gets
// a listener's error.
func listen(c *config, srv *intercept.Server, lns []tproxy.Listener, lg *log.Logger) <-chan error {
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
	return errc
}

// checkNetAdmin warns when spoofing or marking will fail for want of
// CAP_NET_ADMIN.
func checkNetAdmin(c *config, lg *log.Logger) {
	if ok, err := tproxy.HasNetAdmin(); err != nil {
		lg.Printf("cannot check capabilities: %v", err)
	} else if !ok && (c.spoof || c.mark != 0) {
		lg.Printf("spoofing needs CAP_NET_ADMIN, which this process lacks; unless it has CAP_NET_RAW, upstream connections will fail (run as root, grant CAP_NET_ADMIN, or use -spoof=false and -outgoing-mark=0)")
	}
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

// reopen opens the file anew and points alog at it (SIGHUP).
func (l *logFile) reopen(alog *accesslog.Log, lg *log.Logger) {
	w, old, err := l.open()
	if err != nil {
		lg.Printf("SIGHUP: reopening -access-log %s: %v; keeping the old file", l.path, err)
		return
	}
	if old != nil {
		alog.SetOutput(w)
		old.Close()
	}
}
