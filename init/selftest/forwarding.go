package selftest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// wantSysctl is one /proc/sys setting interception needs, and why.
type wantSysctl struct{ key, value, why string }

// wantSysctls are the settings netconf makes (init/netconf/sysctl.go)
// that interception depends on.
func (t *Tester) wantSysctls() []wantSysctl {
	w := []wantSysctl{
		{"net/ipv4/ip_forward", "1", "IPv4 forwarding"},
		{"net/ipv6/conf/all/forwarding", "1", "IPv6 forwarding"},
		{"net/ipv4/conf/all/rp_filter", "0", "reverse-path filtering off (the kernel takes the maximum of all and the link)"},
	}
	for _, l := range t.LAN {
		w = append(w, wantSysctl{"net/ipv4/conf/" + l + "/rp_filter", "0", "no reverse-path filtering on LAN link " + l})
	}
	if t.WAN != "" {
		w = append(w, wantSysctl{"net/ipv4/conf/" + t.WAN + "/rp_filter", "2", "loose reverse-path filtering on the WAN"})
	}
	return w
}

// forwarding reads the settings from <Proc>/sys, in the network namespace
// of the calling thread.
func (t *Tester) forwarding(context.Context) Result {
	var bad, seen []string
	for _, s := range t.wantSysctls() {
		b, err := os.ReadFile(filepath.Join(t.proc(), "sys", s.key))
		got := strings.TrimSpace(string(b))
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", s.key, err))
		case got != s.value:
			bad = append(bad, fmt.Sprintf("%s = %s, want %s (%s)", s.key, got, s.value, s.why))
		default:
			seen = append(seen, strings.ReplaceAll(s.key, "/", ".")+"="+got)
		}
	}
	if len(bad) > 0 {
		return fail("forwarding", strings.Join(bad, "; "),
			"netconf sets these at every Configure and holds forwarding off while the firewall failed to apply "+
				"(look for a firewall or netconf error on the console); something else may have written them (sysctl on the box)")
	}
	return ok("forwarding", strings.Join(seen, " "))
}
