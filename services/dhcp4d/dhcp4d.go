// Command dhcp4d is the router's DHCPv4 server on a LAN link. The pool,
// gateway and netmask follow from the link's own IPv4 address, read at
// start and again whenever the link's addresses change (netlink events),
// so a changed LAN address needs no restart: leases outside the new
// subnet are dropped. Leases are kept in a file across restarts.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"

	"tprouter/services/dhcp4d/server"
	"tprouter/services/internal/cli"
)

func main() {
	fs := flag.NewFlagSet("dhcp4d", flag.ContinueOnError)
	iface := fs.String("iface", "eth1", "LAN `link` to serve; its IPv4 address gives the pool, gateway and netmask")
	leases := fs.String("leases", server.DefaultLeases, "lease `file`, kept across restarts")
	var dns cli.Addrs
	fs.Var(&dns, "dns", "comma-separated DNS server `addresses` to hand out (default: the router's LAN address)")
	lease := fs.Duration("lease", 12*time.Hour, "lease `time` handed out")
	verbose := fs.Bool("v", false, "log every DHCP message received")
	check := func() error {
		if *lease < time.Second || *lease > 0xffffffff*time.Second {
			return fmt.Errorf("invalid value %v for flag -lease: want between 1s and 136y", *lease)
		}
		return nil
	}
	cli.Main(fs, check, func(ctx context.Context) error {
		return run(ctx, *iface, server.Config{DNS: dns.List, Lease: *lease, Path: *leases}, *verbose)
	})
}

func run(ctx context.Context, iface string, cfg server.Config, verbose bool) error {
	var err error
	if cfg.Addr, err = server.LinkAddr(iface); err != nil {
		return err
	}
	srv, err := server.New(cfg, log.Default())
	if err != nil {
		return err
	}
	h := srv.Handle
	if verbose {
		h = func(conn net.PacketConn, peer net.Addr, m *dhcpv4.DHCPv4) {
			log.Printf("from %s: %s", peer, m)
			srv.Handle(conn, peer, m)
		}
	}
	s, err := server4.NewServer(iface, &net.UDPAddr{Port: dhcpv4.ServerPort}, h)
	if err != nil {
		return fmt.Errorf("server4.NewServer(%s, :67): %w", iface, err)
	}
	first, last := srv.Range()
	log.Printf("serving %s-%s on %s as %s, %d leases loaded", first, last, iface, cfg.Addr, len(srv.Leases()))
	errc := make(chan error, 1)
	go func() { errc <- s.Serve() }()
	go srv.Follow(ctx, iface)
	select {
	case <-ctx.Done():
		s.Close()
		<-errc
		log.Print("stopping")
		return nil
	case err := <-errc:
		return fmt.Errorf("serving on %s: %w", iface, err)
	}
}
