// Command radvd sends IPv6 router advertisements on a LAN link for the
// link's global /64 prefixes, so that hosts configure themselves by SLAAC
// and learn the router as DNS server. On SIGTERM it sends a last
// advertisement with router lifetime zero and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"tprouter/services/radvd/ra"
)

func main() {
	log.SetFlags(0)
	fs := flag.NewFlagSet("radvd", flag.ContinueOnError)
	iface := fs.String("iface", "eth1", "LAN `link` to advertise on; its global /64 addresses are the prefixes")
	var rdnss addrList
	fs.Var(&rdnss, "rdnss", "comma-separated IPv6 DNS server `addresses` to advertise (default: the router's address on the link)")
	fs.SetOutput(io.Discard)
	err := fs.Parse(os.Args[1:])
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(os.Stderr)
		fs.Usage()
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "radvd: %v (see radvd -h)\n", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ra.New(ra.Config{Iface: *iface, RDNSS: rdnss}, log.Default()).Run(ctx)
	log.Print("stopping")
}

// addrList is a flag of comma-separated IPv6 addresses.
type addrList []netip.Addr

func (l *addrList) String() string {
	s := make([]string, len(*l))
	for i, a := range *l {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func (l *addrList) Set(v string) error {
	*l = nil
	for _, f := range strings.Split(v, ",") {
		a, err := netip.ParseAddr(strings.TrimSpace(f))
		if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
			return fmt.Errorf("%q is not an IPv6 address", f)
		}
		*l = append(*l, a)
	}
	return nil
}
