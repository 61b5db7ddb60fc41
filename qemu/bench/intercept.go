package main

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	fwconfig "tprouter/init/config"
	"tprouter/init/firewall"
	"tprouter/init/netconf"
	"tprouter/qemu/lab"
)

// proxyPort is where every candidate proxy listens: tprouter's default
// ProxyPort, Squid's customary tproxy port.
const proxyPort = 3129

// Rule sets the router can be given (-rules).
const (
	// rulesTprouter configures the router with tprouter's own packages,
	// as the firmware does: init/netconf (addresses, sysctls, policy
	// routing) and init/firewall (the inet tprouter table).
	rulesTprouter = "tprouter"
	// rulesNft is a minimal equivalent written with ip(8) and nft(8),
	// from issue 6: it tells what tprouter's full ruleset (filtering,
	// forwarding policy) costs, and keeps the benchmark usable if the
	// packages break.
	rulesNft = "nft"
)

// routerConfig is the lab router's configuration: the lab's links and
// addresses, port 80 intercepted unless intercept is false (then port 80
// is plainly forwarded: the direct candidate), no NAT, so the origin sees
// the client's address either way.
func routerConfig(intercept bool) fwconfig.Network {
	mac, _ := net.ParseMAC(lab.RouterLANMAC)
	c := fwconfig.Network{
		WAN:       fwconfig.Link{Name: lab.RouterWAN},
		LAN:       []fwconfig.Link{{Name: lab.RouterLAN, MAC: mac}},
		WANAddrs:  []netip.Prefix{lab.RouterWANv4, lab.RouterWANv6},
		LANAddrs:  []netip.Prefix{lab.RouterLANv4, lab.RouterLANv6},
		ProxyPort: proxyPort,
		FailMode:  fwconfig.FailOpen,
		Mark:      fwMark,
		Table:     routeTable,
	}
	if intercept {
		c.Intercept = []uint16{80}
	}
	return c
}

// configureRouter gives the router its addresses and policy routing once,
// before any candidate runs.
func configureRouter(r *lab.NS, rules string) error {
	if rules == rulesNft {
		return installRouting(r)
	}
	err := r.Do(func() error {
		if err := netconf.Apply(routerConfig(true)); err != nil {
			return fmt.Errorf("netconf.Apply: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("in %s: %w", r.Name, err)
	}
	return nil
}

// setIntercept installs the ruleset, with or without the port-80 tproxy
// rule, in the router namespace.
func setIntercept(r *lab.NS, rules string, intercept bool) error {
	if rules == rulesNft {
		return nftIntercept(r, intercept)
	}
	c := routerConfig(intercept)
	err := r.Do(func() error {
		wan, lan, err := netconf.Resolve(c)
		if err != nil {
			return fmt.Errorf("netconf.Resolve: %w", err)
		}
		if err := firewall.Apply(c, wan, lan); err != nil {
			return fmt.Errorf("firewall.Apply(intercept=%v, wan %s, lan %v): %w", c.Intercept, wan, lan, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("in %s: %w", r.Name, err)
	}
	return nil
}

// The minimal ruleset (-rules nft) follows.

// Policy routing that delivers marked packets locally: the tproxy rule
// marks the packets it diverts, and so does the socket rule for the
// replies to the proxy's spoofed upstream connections.
const (
	fwMark     = 0x1
	routeTable = 100
)

// installRouting gives the router its addresses, forwarding and the
// fwmark rule and local default route for both families.
func installRouting(r *lab.NS) error {
	cmds := [][]string{
		{"link", "set", lab.RouterLAN, "up"},
		{"link", "set", lab.RouterWAN, "up"},
	}
	for _, p := range []netip.Prefix{lab.RouterLANv4, lab.RouterLANv6} {
		cmds = append(cmds, []string{"addr", "add", p.String(), "dev", lab.RouterLAN, "nodad"})
	}
	for _, p := range []netip.Prefix{lab.RouterWANv4, lab.RouterWANv6} {
		cmds = append(cmds, []string{"addr", "add", p.String(), "dev", lab.RouterWAN, "nodad"})
	}
	for _, fam := range []string{"-4", "-6"} {
		def := "0.0.0.0/0"
		if fam == "-6" {
			def = "::/0"
		}
		cmds = append(cmds,
			[]string{fam, "rule", "add", "fwmark", fmt.Sprintf("%#x/%#x", fwMark, fwMark), "lookup", fmt.Sprint(routeTable)},
			[]string{fam, "route", "add", "local", def, "dev", "lo", "table", fmt.Sprint(routeTable)})
	}
	for _, args := range cmds {
		if _, err := r.IPErr(args...); err != nil {
			return err
		}
	}
	for _, key := range []string{"net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding"} {
		if err := r.SysctlErr(key, "1"); err != nil {
			return err
		}
	}
	return nil
}

// nftRuleset returns the nft script that replaces the tprouter table.
// With intercept false the port-80 tproxy rule is left out.
func nftRuleset(intercept bool) string {
	var b strings.Builder
	// "table; delete table; table {...}" replaces the table atomically
	// whether or not it existed.
	fmt.Fprintf(&b, "table inet tprouter\ndelete table inet tprouter\n")
	fmt.Fprintf(&b, "table inet tprouter {\n\tchain prerouting {\n")
	fmt.Fprintf(&b, "\t\ttype filter hook prerouting priority mangle; policy accept;\n")
	// Traffic for the router itself is never diverted.
	fmt.Fprintf(&b, "\t\tfib daddr type local accept\n")
	// Packets of an existing transparent socket (the proxy's accepted and
	// spoofed upstream connections) go to it through the local route.
	fmt.Fprintf(&b, "\t\tmeta l4proto tcp socket transparent 1 meta mark set %#x accept\n", fwMark)
	if intercept {
		// New HTTP connections from the LAN go to the proxy's listener.
		fmt.Fprintf(&b, "\t\tiifname %q tcp dport 80 tproxy to :%d meta mark set %#x accept\n", lab.RouterLAN, proxyPort, fwMark)
	}
	fmt.Fprintf(&b, "\t}\n}\n")
	return b.String()
}

func nftIntercept(r *lab.NS, intercept bool) error {
	cmd := r.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(nftRuleset(intercept))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("in %s: nft -f - (intercept=%v): %v\n%s", r.Name, intercept, err, out)
	}
	return nil
}
