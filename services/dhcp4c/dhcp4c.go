// Command dhcp4c is the router's DHCPv4 client on its WAN link. It
// configures the lease's address and default route, writes the lease to a
// state file, and keeps the lease renewed. On SIGTERM it exits without
// releasing the lease: a router keeps its address across restarts.
package main

import (
	"context"
	"flag"
	"log"

	"tprouter/services/dhcp4c/client"
	"tprouter/services/internal/cli"
)

func main() {
	fs := flag.NewFlagSet("dhcp4c", flag.ContinueOnError)
	iface := fs.String("iface", "eth0", "WAN `link` to configure")
	state := fs.String("state", client.DefaultState, "state `file`: the current lease, for other services and the next start")
	verbose := fs.Bool("v", false, "log every DHCP message")
	cli.Main(fs, nil, func(ctx context.Context) error {
		c, err := client.New(client.Config{Iface: *iface, State: *state, Verbose: *verbose}, log.Default())
		if err != nil {
			return err
		}
		if err := c.Run(ctx); err != nil {
			return err
		}
		log.Print("stopping; the lease stays applied")
		return nil
	})
}
