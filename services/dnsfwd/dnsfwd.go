// Command dnsfwd is the router's DNS forwarder on its LAN: the DNS server
// that dhcp4d and radvd hand out (the router's own LAN address). It
// relays each query to the upstream servers, the static ones of -upstream
// (tprouter.dns) and those of the WAN's DHCP leases, DHCPv4 and DHCPv6
// (-lease), and their
// answers back unchanged; with -strip-ech, HTTPS and SVCB records leave
// without their ech parameter, so that browsers do not hide the server
// name from the proxy's domain lists (tprouter.ech=strip). Answers are
// cached within their TTLs, in at most -cache-size bytes (forward's
// cache.go says what is cached and for how long). With no upstream server
// it answers SERVFAIL and says so.
//
// It listens on the LAN only: on the -listen addresses or the addresses
// of -iface, and, with -iface, on that link only. On SIGTERM it exits 0.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"strings"

	"tprouter/services/dnsfwd/forward"
	"tprouter/services/internal/cli"
)

func main() {
	fs := flag.NewFlagSet("dnsfwd", flag.ContinueOnError)
	iface := fs.String("iface", "", "LAN `link`: the sockets take only packets that arrive on it; without -listen, listen on its addresses")
	var listen, upstream addrPorts
	fs.Var(&listen, "listen", "comma-separated `addresses` to listen on, port 53 unless given (default: the addresses of -iface)")
	fs.Var(&upstream, "upstream", "comma-separated upstream DNS server `addresses`, port 53 unless given; tried before those of -lease")
	lease := fs.String("lease", "", "comma-separated DHCP client state `files` (dhcp4c's, dhcp6c's) whose \"dns\" servers are upstreams too, re-read when they change (empty: none)")
	attempt := fs.Duration("timeout", forward.DefaultAttemptTimeout, "time one upstream server gets to answer before the next is asked")
	query := fs.Duration("query-timeout", forward.DefaultQueryTimeout, "time a query gets over all upstream servers; then SERVFAIL")
	inflight := fs.Int("max-inflight", forward.DefaultMaxInFlight, "queries forwarded at once; more UDP queries are dropped, TCP ones answered SERVFAIL")
	tcpConns := fs.Int("max-tcp-conns", forward.DefaultMaxTCPConns, "client TCP connections open at once; more are closed")
	verbose := fs.Bool("v", false, "log every query")
	cacheSize := fs.Int("cache-size", forward.DefaultCacheSize, "`bytes` of answers kept to answer repeated questions within their TTLs; 0 turns the cache off")
	stripECH := fs.Bool("strip-ech", false, "remove the ech parameter (Encrypted Client Hello keys) from HTTPS and SVCB records in answers")
	check := func() error {
		switch {
		case len(listen) == 0 && *iface == "":
			return errors.New("nothing to listen on: set -listen or -iface")
		case *attempt <= 0 || *query <= 0:
			return errors.New("-timeout and -query-timeout must be positive")
		case *inflight < 1 || *tcpConns < 1:
			return errors.New("-max-inflight and -max-tcp-conns must be at least 1")
		case *cacheSize < 0:
			return errors.New("-cache-size must be 0 (off) or more")
		}
		return nil
	}
	cli.Main(fs, check, func(ctx context.Context) error {
		f := forward.New(forward.Config{
			Upstream:       upstream,
			Leases:         leaseFiles(*lease),
			AttemptTimeout: *attempt,
			QueryTimeout:   *query,
			MaxInFlight:    *inflight,
			MaxTCPConns:    *tcpConns,
			Verbose:        *verbose,
			StripECH:       *stripECH,
			CacheSize:      cmp.Or(*cacheSize, -1),
		}, log.Default())
		if *stripECH {
			log.Print("removing ech from HTTPS and SVCB answers (-strip-ech)")
		}
		go f.Watch(ctx)
		if err := f.Serve(ctx, listen, *iface); err != nil {
			return err
		}
		log.Print("stopping")
		return nil
	})
}

// addrPorts is a flag of comma-separated addresses with optional ports:
// 192.0.2.1, 2001:db8::1, 192.0.2.1:5353, [2001:db8::1]:5353.
type addrPorts []netip.AddrPort

func (l *addrPorts) String() string {
	s := make([]string, len(*l))
	for i, a := range *l {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func (l *addrPorts) Set(v string) error {
	*l = nil
	if strings.TrimSpace(v) == "" {
		return nil // none, as when the flag is not given
	}
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		ap, err := netip.ParseAddrPort(f)
		if err != nil {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return fmt.Errorf("%q is not an address or address:port", f)
			}
			ap = netip.AddrPortFrom(a, 53)
		}
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		if a := ap.Addr(); a.IsUnspecified() || a.IsMulticast() || ap.Port() == 0 {
			return fmt.Errorf("%q is not a unicast address and port", f)
		}
		*l = append(*l, ap)
	}
	return nil
}

// leaseFiles splits -lease's list.
func leaseFiles(s string) []string {
	var files []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			files = append(files, f)
		}
	}
	return files
}
