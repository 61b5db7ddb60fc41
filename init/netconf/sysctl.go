package netconf

import (
	"fmt"
	"os"
	"path/filepath"

	"tprouter/init/internal/oneline"
)

// sysctl is one /proc/sys setting; key uses slashes, so interface names
// with dots (VLANs) need no escaping.
type sysctl struct{ key, value string }

// sysctls returns the settings of a TPROXY router whose links are named
// wan and lan (empty names, links that were not found, are skipped);
// forwarding has its own (see forwarding).
//
// Reverse-path filtering is off on the LAN and in "all" (the kernel uses
// the maximum of "all" and the link's value): packets that TPROXY diverts
// to a local socket have a destination the router does not own, and strict
// filtering would drop them and the replies to the proxy's spoofed
// connections. The WAN keeps loose filtering, which still drops sources
// that are not routable at all. accept_ra=2 lets the WAN take its IPv6
// default route from router advertisements although forwarding is on.
//
// The LAN keeps its IPv6 addresses when it goes down (keep_addr_on_down;
// the kernel's default flushes them, and nothing would add them again), so
// that router advertisements go on with the same prefix after a link flap
// (services/radvd).
//
// The per-peer ICMP rate limits are off (icmp_ratelimit, IPv6's
// icmp/ratelimit: 0): the firewall answers QUIC from the LAN with port
// unreachable so that browsers fall back to TCP at once, and a client
// opening a page's worth of QUIC connections would otherwise get answers
// for the first six and then one a second, and wait out a timeout for
// the rest. The limit of all ICMP errors together (icmp_msgs_per_sec,
// 1000 a second, shared by both families) stays, so the router still
// cannot be made to flood anyone.
func sysctls(wan string, lan []string) []sysctl {
	s := []sysctl{
		{"net/ipv4/conf/all/rp_filter", "0"},
		{"net/ipv4/icmp_ratelimit", "0"},
		{"net/ipv6/icmp/ratelimit", "0"},
	}
	for _, l := range lan {
		if l != "" {
			s = append(s, sysctl{"net/ipv4/conf/" + l + "/rp_filter", "0"},
				sysctl{"net/ipv6/conf/" + l + "/keep_addr_on_down", "1"})
		}
	}
	if wan != "" {
		s = append(s,
			sysctl{"net/ipv4/conf/" + wan + "/rp_filter", "2"},
			sysctl{"net/ipv6/conf/" + wan + "/accept_ra", "2"})
	}
	return s
}

// forwarding returns the settings that turn IPv4 and IPv6 forwarding on
// or off, on every link. netconf is their only writer on the router.
func forwarding(on bool) []sysctl {
	v := "0"
	if on {
		v = "1"
	}
	return []sysctl{{"net/ipv4/ip_forward", v}, {"net/ipv6/conf/all/forwarding", v}}
}

// write makes each setting, goes on after a failure and returns all of
// them.
func (a *applier) write(ss []sysctl) error {
	var errs []error
	for _, s := range ss {
		// Not os.WriteFile: sysctl files must not be created.
		path := filepath.Join(a.procSys, s.key)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err == nil {
			_, err = f.WriteString(s.value)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("sysctl %s=%s: %w", s.key, s.value, err))
		}
	}
	return oneline.Join(errs...)
}
