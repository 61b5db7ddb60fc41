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
	fmt.Fprintf(&b, "; dhcpd %s; ra %s; status port %s; shell %s", OnOff(c.DHCPD), OnOff(c.RA), portString(c.StatusPort), OnOff(c.Shell))
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
