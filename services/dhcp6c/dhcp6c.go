// Command dhcp6c is the router's DHCPv6 client on its WAN link: it asks
// for a delegated prefix (IA_PD, -pd-len as the size hint) and with -na an
// address (IA_NA), keeps them renewed, and writes them, the DNS servers
// and the prefixes it lost to a state file (see package client for its
// fields). It binds UDP port 546 on the link's link-local address
// (CAP_NET_BIND_SERVICE) and, with -na, adds the address to the link
// (CAP_NET_ADMIN). On SIGTERM it exits without releasing anything.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	"tprouter/services/dhcp6c/client"
	"tprouter/services/internal/cli"
)

func main() {
	fs := flag.NewFlagSet("dhcp6c", flag.ContinueOnError)
	iface := fs.String("iface", "eth0", "WAN `link` to ask on")
	state := fs.String("state", client.DefaultState, "state `file`: the prefixes and addresses held, for other services and the next start")
	pdLen := fs.Int("pd-len", 56, "delegated prefix `length` to ask for (a hint; 1 to 64)")
	na := fs.Bool("na", false, "ask for an address (IA_NA) too, and put it on the link")
	maxSol := fs.Duration("max-solicit", 120*time.Second, "longest wait between SOLICITs (RFC 8415's SOL_MAX_RT is 1h)")
	verbose := fs.Bool("v", false, "log every DHCPv6 message")
	check := func() error {
		if *pdLen < 1 || *pdLen > 64 {
			return fmt.Errorf("-pd-len %d: want 1 to 64, so that the LAN's /64 fits", *pdLen)
		}
		if *maxSol < time.Second || *maxSol > time.Hour {
			return fmt.Errorf("-max-solicit %v: want 1s to 1h", *maxSol)
		}
		if *iface == "" {
			return fmt.Errorf("-iface is empty: name the WAN link")
		}
		return nil
	}
	cli.Main(fs, check, func(ctx context.Context) error {
		c, err := client.New(client.Config{Iface: *iface, State: *state, PDLen: *pdLen, NA: *na, MaxSolicit: *maxSol, Verbose: *verbose}, log.Default())
		if err != nil {
			return err
		}
		if err := c.Run(ctx); err != nil {
			return err
		}
		log.Print("stopping; the bindings stay")
		return nil
	})
}
