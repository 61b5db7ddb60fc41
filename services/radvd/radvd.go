// Command radvd sends IPv6 router advertisements on a LAN link for the
// link's global /64 prefixes, so that hosts configure themselves by SLAAC
// and learn the router as DNS server. It follows the link without a
// restart: prefixes added or removed (a new delegated prefix) are
// advertised at once, a removed one with lifetimes 0 for a while so hosts
// deprecate their addresses in it, and after the link goes down and up the
// advertisements start over. On SIGTERM it sends a last advertisement with
// router lifetime zero and exits.
package main

import (
	"context"
	"flag"
	"log"

	"tprouter/services/internal/cli"
	"tprouter/services/radvd/ra"
)

func main() {
	fs := flag.NewFlagSet("radvd", flag.ContinueOnError)
	iface := fs.String("iface", "eth1", "LAN `link` to advertise on; its global /64 addresses are the prefixes")
	rdnss := cli.Addrs{V6: true}
	fs.Var(&rdnss, "rdnss", "comma-separated IPv6 DNS server `addresses` to advertise (default: the router's address on the link)")
	cli.Main(fs, nil, func(ctx context.Context) error {
		ra.New(ra.Config{Iface: *iface, RDNSS: rdnss.List}, log.Default()).Run(ctx)
		log.Print("stopping")
		return nil
	})
}
