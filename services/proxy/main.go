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
// gracefully; SIGHUP reopens the access log file, for a rotation done
// outside, and re-reads the domain lists (policy.go); it also rotates the
// file itself at a size cap.
package main

import (
	"context"
	"errors"
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
	"tprouter/services/proxy/top"
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
	alog, file, err := openAccessLog(c, lg)
	if err != nil {
		return err
	}
	defer closeAccessLog(alog, file, lg)
	srv := newServer(c, alog, lg)
	if err := c.policy.start(srv, lg); err != nil {
		return err
	}
	checkNetAdmin(c, lg)
	checkFiles(c, lg)
	clearTimeWait(lg)

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
			reopen(alog, file, lg)
			c.policy.reload(srv, lg)
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
		Top:               top.New(),
		Logf:              lg.Printf,
		MaxConns:          c.maxConns,
		MaxConnsPerClient: c.maxPerClient,
		HeaderTimeout:     c.headerTimeout,
		IdleTimeout:       c.idleTimeout,
		ConnectTimeout:    c.connectTimeout,
		ReadTimeout:       c.readTimeout,
		MaxHeaderSize:     c.maxHeaderSize,
		Unknown:           c.policy.unknown.v,
		SelfTestNet:       c.selfTestNet.List,

		MaxIdleUpstream:     c.maxIdleUp,
		UpstreamIdleTimeout: c.upIdleTimeout,
	}
}

// serveStatus serves /metrics, /access.log and /top on -status, if set.
func serveStatus(c *config, srv *intercept.Server, alog *accesslog.Log, lg *log.Logger) (*http.Server, error) {
	if c.status == "" {
		return nil, nil
	}
	sl, err := net.Listen("tcp", c.status)
	if err != nil {
		return nil, cli.Usagef("-status %s: %v", c.status, err)
	}
	hs := &http.Server{
		Handler:           status.Handler(metrics(srv, alog), alog, srv.Top),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          lg,
	}
	go hs.Serve(sl)
	lg.Printf("status on http://%s/ (/metrics, /access.log, /top)", sl.Addr())
	return hs, nil
}

// metrics writes the proxy's metrics and the access log's.
func metrics(srv *intercept.Server, alog *accesslog.Log) func(io.Writer) error {
	return func(w io.Writer) error {
		return errors.Join(srv.Stats.WritePrometheus(w), alog.WritePrometheus(w))
	}
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

// clearTimeWait destroys the TIME_WAIT sockets a crashed proxy left with
// clients' tuples (see "After a crash" in docs/proxy.md).
func clearTimeWait(lg *log.Logger) {
	n, err := tproxy.ClearTimeWait()
	if n > 0 {
		lg.Printf("destroyed %d TIME_WAIT sockets of an earlier proxy (their local addresses are not this router's)", n)
	}
	if err != nil {
		lg.Printf("clearing an earlier proxy's TIME_WAIT sockets: %v; forwarded packets of their tuples are dropped until they expire (60 s)", err)
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

// openAccessLog opens -access-log: standard output for "-", nothing for
// "", else a file that rotates at -access-log-max-size, whose last lines
// it loads into the /access.log ring. A file it cannot write yet (a full
// or read-only partition) does not stop the proxy: the log drops lines and
// says so until it can write again.
func openAccessLog(c *config, lg *log.Logger) (*accesslog.Log, *accesslog.File, error) {
	var w io.Writer
	var f *accesslog.File
	switch c.accessLog {
	case "":
	case "-":
		w = os.Stdout
	default:
		var err error
		f, err = accesslog.OpenFile(c.accessLog, c.logMaxSize, c.logKeep)
		if f == nil {
			return nil, nil, cli.Usagef("-access-log %s: %v", c.accessLog, err)
		}
		if err != nil {
			lg.Printf("access log: %v; lines are dropped until it can be written", err)
		}
		w = f
	}
	alog := accesslog.New(w, c.logLines)
	alog.SetLogf(lg.Printf)
	alog.SetFormat(c.logFormat)
	if f != nil {
		n, err := alog.Load(f.Paths()...)
		if err != nil {
			lg.Printf("access log: loading the last lines for /access.log: %v", err)
		}
		if n > 0 {
			lg.Printf("access log: %d lines from before this start loaded for /access.log", n)
		}
	}
	return alog, f, nil
}

// closeAccessLog writes out the buffered lines and closes the file.
func closeAccessLog(alog *accesslog.Log, f *accesslog.File, lg *log.Logger) {
	if err := alog.Close(); err != nil {
		lg.Printf("access log: %v; the last lines are lost", err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			lg.Printf("access log: closing %s: %v", f.Path(), err)
		}
	}
}

// reopen writes out the buffered lines and opens the file anew, after an
// outside rotation (SIGHUP).
func reopen(alog *accesslog.Log, f *accesslog.File, lg *log.Logger) {
	if f == nil {
		return
	}
	alog.Flush()
	if err := f.Reopen(); err != nil {
		lg.Printf("SIGHUP: reopening -access-log %s: %v; keeping the old file", f.Path(), err)
	}
}
