package main

import (
	"errors"
	"fmt"
	"strings"

	"tprouter/qemu/lab"
	"tprouter/qemu/labrouter"
)

// proxyPort is where every candidate proxy listens: tprouter's default
// ProxyPort, Squid's customary tproxy port.
const proxyPort = 3129

// interceptPorts are the ports the router diverts to proxyPort: HTTP for
// the wrk workloads, HTTPS for the TLS ones (tls.go), as the firmware's
// default tprouter.intercept=80,443.
var interceptPorts = []uint16{80, 443}

// Rule sets the router can be given (-rules).
const (
	// rulesTprouter is the firmware's own bring-up, router.Configure
	// (init/firewall and init/netconf), run through qemu/labrouter.
	rulesTprouter = "tprouter"
	// rulesNft is a minimal equivalent written with ip(8) and nft(8):
	// the tproxy rule and the socket rule with their policy routing,
	// nothing else. It tells what tprouter's full ruleset (filtering,
	// forwarding policy, conntrack zones) costs, and keeps the benchmark
	// usable if the packages break.
	rulesNft = "nft"
)

// newLab builds the lab. With -rules nft the router's addresses,
// forwarding and policy routing are made here with ip(8); with tprouter's
// rules labrouter makes them, with the rest, in setRules.
func newLab(rules string) (*lab.Lab, error) {
	l, err := lab.Make(lab.Options{ConfigureRouter: rules == rulesNft})
	if err != nil || rules != rulesNft {
		return l, err
	}
	c := labrouter.Config(proxyPort)
	if err := policyRouting(l.Router, c.Mark, c.Table); err != nil {
		return nil, errors.Join(err, l.Close())
	}
	return l, nil
}

// setRules gives the router the rules of the -rules set, with or without
// interception. tprouter's are the lab router's configuration
// (labrouter.Config) for the candidates' proxyPort: no NAT, so the origin
// sees the client's address either way. Ports 80 and 443 are intercepted (interceptPorts). Without
// intercept it is the same configuration with interception off, and both
// are plainly forwarded: the direct candidate.
func setRules(l *lab.Lab, rules string, intercept bool) error {
	if rules == rulesNft {
		return nftIntercept(l.Router, intercept)
	}
	c := labrouter.Config(proxyPort)
	c.Intercept = interceptPorts
	if !intercept {
		c.Intercept = nil
	}
	return labrouter.InstallErr(l, c)
}

// The minimal ruleset (-rules nft) follows.

// policyRouting adds, for both families, the rule and the local default
// route that deliver packets with mark locally: the tproxy rule marks the
// packets it diverts, and so does the socket rule for the replies to the
// proxy's spoofed upstream connections.
func policyRouting(r *lab.NS, mark uint32, table int) error {
	m, tab := fmt.Sprintf("%#x/%#x", mark, mark), fmt.Sprint(table)
	for _, fam := range []struct{ flag, all string }{{"-4", "0.0.0.0/0"}, {"-6", "::/0"}} {
		if _, err := r.IPErr(fam.flag, "rule", "add", "fwmark", m, "lookup", tab); err != nil {
			return err
		}
		if _, err := r.IPErr(fam.flag, "route", "add", "local", fam.all, "dev", "lo", "table", tab); err != nil {
			return err
		}
	}
	return nil
}

// nftRuleset returns the nft script that replaces the tprouter table.
// With intercept false the tproxy rule is left out.
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
	mark := labrouter.Config(proxyPort).Mark
	fmt.Fprintf(&b, "\t\tmeta l4proto tcp socket transparent 1 meta mark set %#x accept\n", mark)
	if intercept {
		// New HTTP and HTTPS connections from the LAN go to the
		// proxy's listener.
		var ports []string
		for _, p := range interceptPorts {
			ports = append(ports, fmt.Sprint(p))
		}
		fmt.Fprintf(&b, "\t\tiifname %q tcp dport { %s } tproxy to :%d meta mark set %#x accept\n", lab.RouterLAN, strings.Join(ports, ", "), proxyPort, mark)
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
