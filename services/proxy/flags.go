package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"tprouter/internal/ascii"
	"tprouter/services/internal/cli"
	"tprouter/services/proxy/accesslog"
	"tprouter/services/proxy/intercept"
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
	logMaxSize                      int64
	logKeep                         int
	logFormat                       accesslog.Format
	policy                          policyFlags  // policy.go
	selfTestNet                     cli.Prefixes // -selftest-net: the self-test, not logged
}

// flags returns the proxy's flag set, which fills c.
func (c *config) flags() *flag.FlagSet {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "tprouter"
	}
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.StringVar(&c.listen, "listen", ":3129", "transparent listening `address`; no host: IPv4 and IPv6")
	fs.StringVar(&c.accessLog, "access-log", "-", "access log `file` in Squid's native format; - for standard output, empty for none")
	fs.Int64Var(&c.logMaxSize, "access-log-max-size", 2<<20, "`bytes` at which the access log file is rotated (renamed to file.1); 0: never, for rotation from outside with SIGHUP")
	fs.IntVar(&c.logKeep, "access-log-keep", 1, "rotated access log files kept (file.1 ... file.N), 0-9; 0: the file starts over at the size cap")
	fs.Var(&c.logFormat, "access-log-format", "access log line `format`: squid (Squid's native) or tls (squid, then the TLS server name, ALPN protocols and ECH offered 1/0)")
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
	fs.IntVar(&c.logLines, "log-lines", 1000, "access log lines kept for /access.log (at start, the file's last lines)")
	c.policy.register(fs)
	fs.Var(&c.selfTestNet, "selftest-net", "comma-separated `prefixes` of the router's self-test clients: their requests are not logged, only counted in tprouter_selftest_requests_total")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: proxy [flags]\n\nTransparent (TPROXY) HTTP interception proxy.\n\n")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into a config (see cli.Parse).
func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := c.flags()
	fs.SetOutput(io.Discard)
	if err := cli.Parse(fs, args, c.check); err != nil {
		return nil, err
	}
	return c, nil
}

// check validates the flags' values once they are parsed.
func (c *config) check() error {
	switch {
	case c.mark > 0xffffffff:
		return fmt.Errorf("-outgoing-mark %d: must fit in 32 bits", c.mark)
	case c.tos > 255:
		return fmt.Errorf("-outgoing-tos %d: must be 0-255", c.tos)
	case c.maxConns < 0:
		return fmt.Errorf("-max-conns %d: must be 0 (no limit) or more", c.maxConns)
	case c.maxPerClient < 0:
		return fmt.Errorf("-max-conns-per-client %d: must be 0 (no limit) or more", c.maxPerClient)
	case c.maxIdleUp < 0:
		return fmt.Errorf("-max-idle-upstream %d: must be 0 (keep none) or more", c.maxIdleUp)
	case c.maxHeaderSize < 1024 || c.maxHeaderSize > 1<<20:
		return fmt.Errorf("-max-header-size %d: must be 1024-1048576", c.maxHeaderSize)
	case c.logLines < 0:
		return fmt.Errorf("-log-lines %d: must be 0 or more", c.logLines)
	case c.logMaxSize != 0 && c.logMaxSize < 4096:
		return fmt.Errorf("-access-log-max-size %d: must be 0 (never rotate) or at least 4096 bytes", c.logMaxSize)
	case c.logKeep < 0 || c.logKeep > 9:
		return fmt.Errorf("-access-log-keep %d: must be 0-9", c.logKeep)
	case !ascii.IsToken(c.name):
		return fmt.Errorf("-name %q: must be a non-empty token (letters, digits, -._~ and the like, no spaces)", c.name)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"header-timeout", c.headerTimeout}, {"idle-timeout", c.idleTimeout}, {"read-timeout", c.readTimeout},
		{"connect-timeout", c.connectTimeout}, {"shutdown-timeout", c.shutdownTimeout},
		{"upstream-idle-timeout", c.upIdleTimeout}} {
		if d.v <= 0 {
			return fmt.Errorf("-%s %v: must be positive", d.flag, d.v)
		}
	}
	err := checkAddr("listen", c.listen, false)
	if err == nil && c.status != "" {
		err = checkAddr("status", c.status, true)
	}
	return err
}

func checkAddr(flag, addr string, anyHost bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-%s %q: want [host]:port, e.g. :3129", flag, addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("-%s %q: port must be a number 0-65535", flag, addr)
	}
	if host != "" && !anyHost && net.ParseIP(host) == nil {
		return fmt.Errorf("-%s %q: host must be an IP address or empty", flag, addr)
	}
	return nil
}
