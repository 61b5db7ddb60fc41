package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Summary describes c in one line for the console.
func (c Config) Summary() string {
	n := c.Network
	var b strings.Builder
	wan := "dhcp"
	if !n.WANDHCP() {
		wan = join(n.WANAddrs)
	}
	fmt.Fprintf(&b, "host %s; wan %s (%s)", c.Hostname, n.WAN, wan)
	if len(n.Gateways) > 0 {
		fmt.Fprintf(&b, " via %s", join(n.Gateways))
	}
	fmt.Fprintf(&b, "; lan %s (%s)", join(n.LAN), join(n.LANAddrs))
	if len(n.DNS) > 0 {
		fmt.Fprintf(&b, "; dns %s", join(n.DNS))
	}
	fmt.Fprintf(&b, "; nat %s; intercept %s to :%d, fail %s, spoof %s", OnOff(n.NAT), join(n.Intercept), n.ProxyPort, n.FailMode, OnOff(c.Spoof))
	if len(n.Exempt) > 0 {
		fmt.Fprintf(&b, ", exempt %s", join(n.Exempt))
	}
	fmt.Fprintf(&b, "; quic %s; %s", quic(n), c.Proxy.summary())
	fmt.Fprintf(&b, "; dhcpd %s; ra %s; status port %s; shell %s", OnOff(c.DHCPD), OnOff(c.RA), portString(c.StatusPort), OnOff(c.Shell))
	if len(c.Syslog) > 0 {
		fmt.Fprintf(&b, "; syslog %s", Commas(c.Syslog))
	}
	byFile := map[string][]string{}
	for k, s := range c.Sources {
		if s.File != "" {
			byFile[s.File] = append(byFile[s.File], k)
		}
	}
	for _, f := range slices.Sorted(maps.Keys(byFile)) {
		slices.Sort(byFile[f])
		fmt.Fprintf(&b, "; from %s: %s", f, strings.Join(byFile[f], " "))
	}
	return b.String()
}

// quic says whether the firewall blocks QUIC, and why not when asked to
// but 443 is not intercepted.
func quic(n Network) string {
	switch {
	case n.QUICBlocked():
		return "block"
	case n.BlockQUIC:
		return "pass (443 is not intercepted, so HTTPS bypasses the proxy anyway)"
	}
	return "pass"
}

// summary: "unknown tunnel; deny 2 names + deny.txt; allow none; ech
// strip (lists); log squid".
func (p Proxy) summary() string {
	ech := p.ECH.String()
	if p.ECH == ECHAuto {
		ech = "pass (no lists)"
		if p.StripECH() {
			ech = "strip (lists)"
		}
	}
	return fmt.Sprintf("unknown %s; deny %s; allow %s; ech %s; log %s",
		p.Unknown, names(p.Deny, p.DenyFile), names(p.Allow, p.AllowFile), ech, p.LogFormat)
}

// names counts a list's inline entries and names its file.
func names(inline []string, file string) string {
	var parts []string
	if len(inline) > 0 {
		n := fmt.Sprintf("%d names", len(inline))
		if len(inline) == 1 {
			n = "1 name"
		}
		parts = append(parts, n)
	}
	if file != "" {
		parts = append(parts, file)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " + ")
}

// join is Commas, or none.
func join[T any](s []T) string {
	if len(s) == 0 {
		return "none"
	}
	return Commas(s)
}

// Commas writes a list as the command line gives it: comma-separated.
func Commas[T any](s []T) string {
	var parts []string
	for _, v := range s {
		parts = append(parts, fmt.Sprint(v))
	}
	return strings.Join(parts, ",")
}

// OnOff writes a boolean as the command line gives it.
func OnOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func portString(p uint16) string {
	if p == 0 {
		return "off"
	}
	return fmt.Sprint(p)
}
