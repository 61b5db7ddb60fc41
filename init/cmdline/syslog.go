package cmdline

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"tprouter/init/config"
)

// collectors parses tprouter.syslog: none, or comma-separated
// udp://host[:port] and tcp://host[:port]. On a bad entry it keeps the
// good ones in dst and reports the first bad one.
func collectors(dst *[]config.Collector, v string) error {
	if v == "none" {
		*dst = nil
		return nil
	}
	var cs []config.Collector
	var first error
	for _, f := range list(v) {
		c, err := collector(f)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		if !slices.Contains(cs, c) {
			cs = append(cs, c)
		}
	}
	*dst = cs
	if first == nil && len(cs) == 0 {
		return errors.New("no collectors")
	}
	return first
}

// collector parses one udp://host[:port] or tcp://host[:port].
func collector(f string) (config.Collector, error) {
	network, rest, ok := strings.Cut(f, "://")
	if !ok || network != "udp" && network != "tcp" {
		return config.Collector{}, fmt.Errorf("%q does not start with udp:// or tcp://", f)
	}
	c := config.Collector{Network: network, Host: rest, Port: 514}
	if a, err := netip.ParseAddr(rest); err != nil || !a.Is6() { // a bare IPv6 address has colons but no port
		if strings.Contains(rest, ":") {
			h, p, err := net.SplitHostPort(rest)
			if err != nil {
				return c, fmt.Errorf("%q: not host:port (write an IPv6 address with a port as [2001:db8::1]:514)", f)
			}
			n, err := strconv.ParseUint(p, 10, 16)
			if err != nil || n == 0 {
				return c, fmt.Errorf("%q: %q is not a port", f, p)
			}
			c.Host, c.Port = h, uint16(n)
		}
	}
	if _, err := netip.ParseAddr(c.Host); err == nil {
		if _, err := addr(c.Host); err != nil {
			return c, fmt.Errorf("%s: %v", f, err)
		}
		return c, nil
	}
	var h string
	if err := hostname(&h, c.Host); err != nil {
		return c, fmt.Errorf("%s: %q is neither an address nor a host name: %v", f, c.Host, err)
	}
	return c, nil
}
