package config

import (
	"fmt"
	"unicode/utf8"
)

// Problem is a key whose value was not used as given.
type Problem struct {
	// Source is where the key was given; the zero Source, the kernel
	// command line, also stands for the rules between keys (Check).
	Source Source
	Key    string
	Value  string
	// Want is the form the value should have.
	Want string
	// Why says what is wrong with the value, when more than Want says.
	Why string
	// Using says what the router does instead.
	Using string
}

// String is the console's line: where, the key and value, what is wrong
// with it, the form it wants, and what the router does instead.
func (p Problem) String() string {
	where := "command line"
	if p.Source.File != "" {
		where = p.Source.String()
	}
	s := fmt.Sprintf("%s: %s=%q: ", where, p.Key, truncate(p.Value, 100))
	if p.Why != "" {
		s += p.Why + "; "
	}
	if p.Want != "" {
		s += "want " + p.Want + "; "
	}
	return s + p.Using
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// Check resolves conflicts between keys, each in the safe direction, and
// reports what it changed. Every rule between keys lives here.
func (c *Config) Check() []Problem {
	var probs []Problem
	n := &c.Network

	// A LAN link that is also the WAN would put the DHCP server and the
	// open LAN side on the uplink; one that takes the WAN's name cannot
	// be renamed.
	var lan []Link
	for _, l := range n.LAN {
		why := ""
		switch {
		case l.Same(n.WAN):
			why = "it is also the WAN (tprouter.wan)"
		case l.SameName(n.WAN):
			why = "it has the WAN's name (tprouter.wan)"
		}
		if why != "" {
			probs = append(probs, Problem{Key: "tprouter.lan", Value: l.String(),
				Why: why, Using: "not using it as a LAN link"})
			continue
		}
		lan = append(lan, l)
	}
	n.LAN = lan
	if len(lan) == 0 {
		n.LANAddrs, n.Intercept = nil, nil
		c.DHCPD, c.RA, c.StatusPort = false, false, 0
		probs = append(probs, Problem{Key: "tprouter.lan", Why: "no LAN link left",
			Using: "no LAN: DHCP server, router advertisements, interception and status endpoint are off"})
	}

	for _, p := range n.LANAddrs {
		switch {
		case p.Addr().Is4() && p.Bits() > 30 && c.DHCPD:
			c.DHCPD = false
			probs = append(probs, Problem{Key: "tprouter.dhcpd", Value: "on",
				Why:  fmt.Sprintf("the LAN prefix %s has no room for clients", p),
				Want: "an IPv4 LAN prefix of /30 or shorter in tprouter.lan.addr", Using: "DHCP server off"})
		case p.Addr().Is6() && p.Bits() != 64 && c.RA:
			c.RA = false
			probs = append(probs, Problem{Key: "tprouter.ra", Value: "on",
				Why:  fmt.Sprintf("SLAAC needs a /64, the LAN has %s", p),
				Want: "an IPv6 /64 in tprouter.lan.addr", Using: "router advertisements off"})
		}
	}

	probs = append(probs, c.checkPD()...)

	// The status endpoint would collide with the proxy's wildcard
	// listener; the proxy's own status port moves by itself
	// (ProxyStatusPort).
	if c.StatusPort != 0 && c.StatusPort == n.ProxyPort {
		probs = append(probs, Problem{Key: "tprouter.status.port", Value: fmt.Sprint(c.StatusPort),
			Why: "the proxy listens on that port (tprouter.proxy.port)", Using: "status endpoint off"})
		c.StatusPort = 0
	}
	return probs
}
