// Package cmdline turns the kernel command line into the router's
// configuration. It is the one place that parses strings: Parse checks every
// tprouter.* key and hands on typed values (config.Router and the settings
// init itself uses).
//
// A value that does not parse never stops the boot. It is reported as a
// Problem naming the key, the value and the expected form, and the key
// falls back to whichever is safe: its default, or the feature it controls
// off. The choice for each key is in the table below and in README.md.
// Unknown tprouter.* keys are reported too; everything else on the line
// (console=, root=, quiet, module parameters) belongs to the kernel and is
// ignored.
//
// Parse does not use u-root's pkg/cmdline: that package treats single
// quotes and Unicode quotation marks as quotes, which the kernel does not,
// and its dequote panics on a value that is a lone quote (`x="`), which
// PID 1 cannot afford. Fields implements the kernel's own splitting.
package cmdline

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"tprouter/init/config"
)

// Config is everything the command line configures.
type Config struct {
	// Router is the network configuration, for netconf and firewall.
	Router config.Router

	// Hostname is the router's host name, also the proxy's name in Via.
	Hostname string
	// Spoof makes the proxy connect upstream from the client's address.
	Spoof bool
	// DHCPD runs the DHCPv4 server on the LAN (when it has IPv4).
	DHCPD bool
	// RA sends router advertisements on the LAN (when it has an IPv6 /64).
	RA bool
	// StatusPort is the status endpoint's TCP port on the LAN addresses;
	// 0 turns it off.
	StatusPort uint16
	// Shell runs a rescue shell on the console.
	Shell bool
}

// WANDHCP reports whether the WAN address comes from DHCP.
func (c Config) WANDHCP() bool { return len(c.Router.WANAddrs) == 0 }

// Default returns the configuration of a command line without tprouter
// keys.
func Default() Config {
	return Config{
		Router:     config.Default(),
		Hostname:   "tprouter",
		Spoof:      true,
		DHCPD:      true,
		RA:         true,
		StatusPort: 9090,
	}
}

// Problem is a tprouter key whose value was not used as given.
type Problem struct {
	Key   string
	Value string
	// Want is the form the value should have.
	Want string
	// Why says what is wrong with the value, when more than Want says.
	Why string
	// Using says what the router does instead.
	Using string
}

func (p Problem) String() string {
	s := fmt.Sprintf("%s=%q: ", p.Key, truncate(p.Value, 100))
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

// Prefix starts every key that Parse reads.
const Prefix = "tprouter."

// Parse parses a kernel command line (the contents of /proc/cmdline). It
// returns a usable configuration whatever the input and lists what it did
// not take as given. It never panics.
func Parse(line string) (Config, []Problem) {
	c := Default()
	var probs []Problem

	// The kernel lets the last of repeated parameters win; so does Parse,
	// but says so.
	values := map[string]Param{}
	count := map[string]int{}
	for _, p := range Fields(line) {
		if len(p.Key) < len(Prefix) || !strings.EqualFold(p.Key[:len(Prefix)], Prefix) {
			continue
		}
		if findKey(p.Key) == nil {
			probs = append(probs, Problem{Key: p.Key, Value: p.Value,
				Why: "unknown key" + suggest(p.Key), Using: "ignored"})
			continue
		}
		values[p.Key] = p
		count[p.Key]++
	}

	var noIntercept bool // set by a bad tprouter.exempt
	for i := range keys {
		k := &keys[i]
		p, ok := values[k.name]
		if !ok {
			continue
		}
		if n := count[k.name]; n > 1 {
			probs = append(probs, Problem{Key: k.name, Value: p.Value,
				Why: fmt.Sprintf("given %d times", n), Using: "using the last one"})
		}
		v := p.Value
		if !p.HasValue {
			v = bare
		}
		if err := k.set(&c, v); err != nil {
			using := k.bad(&c)
			if k.name == "tprouter.exempt" {
				noIntercept = true
			}
			probs = append(probs, Problem{Key: k.name, Value: p.Value,
				Why: err.Error(), Want: k.want, Using: using})
		}
	}
	if noIntercept {
		c.Router.Intercept = nil
	}
	return c, append(probs, check(&c)...)
}

// bare is the value a key given without '=' gets: it turns on a boolean
// (`tprouter.shell`) and is invalid for the others.
const bare = "\x00bare"

// check resolves conflicts between keys, each in the safe direction.
func check(c *Config) []Problem {
	var probs []Problem
	r := &c.Router

	// A LAN link that is also the WAN would put the DHCP server and the
	// open LAN side on the uplink.
	var lan []config.Link
	for _, l := range r.LAN {
		if sameLink(l, r.WAN) {
			probs = append(probs, Problem{Key: "tprouter.lan", Value: linkString(l),
				Why: "it is also the WAN (tprouter.wan)", Using: "not using it as a LAN link"})
			continue
		}
		lan = append(lan, l)
	}
	r.LAN = lan
	if len(lan) == 0 {
		r.LANAddrs = nil
		c.DHCPD, c.RA, c.StatusPort = false, false, 0
		probs = append(probs, Problem{Key: "tprouter.lan", Why: "no LAN link left",
			Using: "no LAN: DHCP server, router advertisements, interception and status endpoint are off"})
		r.Intercept = nil
	}

	for _, p := range r.LANAddrs {
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

	// The status endpoint would collide with the proxy's wildcard listener.
	if c.StatusPort != 0 && c.StatusPort == r.ProxyPort {
		probs = append(probs, Problem{Key: "tprouter.status.port", Value: fmt.Sprint(c.StatusPort),
			Why: "the proxy listens on that port (tprouter.proxy.port)", Using: "status endpoint off"})
		c.StatusPort = 0
	}
	return probs
}

func sameLink(a, b config.Link) bool {
	if len(a.MAC) > 0 || len(b.MAC) > 0 {
		return slices.Equal(a.MAC, b.MAC)
	}
	return a.Name == b.Name
}

func linkString(l config.Link) string {
	if len(l.MAC) > 0 {
		return l.MAC.String()
	}
	return l.Name
}

// suggest names the known key closest to an unknown one, if any is close.
func suggest(key string) string {
	best, dist := "", 4
	for _, k := range keys {
		if d := distance(strings.ToLower(key), k.name); d < dist {
			best, dist = k.name, d
		}
	}
	if best == "" {
		return " (see README.md for the keys)"
	}
	return " (did you mean " + best + "?)"
}

// distance is the Levenshtein distance of a and b, bounded so that an
// absurdly long key costs little.
func distance(a, b string) int {
	if len(a) > 64 {
		return len(a)
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Summary describes c in one line for the console.
func (c Config) Summary() string {
	r := c.Router
	var b strings.Builder
	wan := "dhcp"
	if !c.WANDHCP() {
		wan = join(r.WANAddrs)
	}
	fmt.Fprintf(&b, "host %s; wan %s (%s)", c.Hostname, linkString(r.WAN), wan)
	if len(r.Gateways) > 0 {
		fmt.Fprintf(&b, " via %s", join(r.Gateways))
	}
	var lan []string
	for _, l := range r.LAN {
		lan = append(lan, linkString(l))
	}
	fmt.Fprintf(&b, "; lan %s (%s)", strings.Join(lan, ","), join(r.LANAddrs))
	if len(r.DNS) > 0 {
		fmt.Fprintf(&b, "; dns %s", join(r.DNS))
	}
	onOff := map[bool]string{true: "on", false: "off"}
	fmt.Fprintf(&b, "; nat %s; intercept %s to :%d, fail %s, spoof %s", onOff[r.NAT], join(r.Intercept), r.ProxyPort, r.FailMode, onOff[c.Spoof])
	if len(r.Exempt) > 0 {
		fmt.Fprintf(&b, ", exempt %s", join(r.Exempt))
	}
	fmt.Fprintf(&b, "; dhcpd %s; ra %s; status port %s; shell %s", onOff[c.DHCPD], onOff[c.RA], portString(c.StatusPort), onOff[c.Shell])
	return b.String()
}

func join[T any](s []T) string {
	if len(s) == 0 {
		return "none"
	}
	var parts []string
	for _, v := range s {
		parts = append(parts, fmt.Sprint(v))
	}
	return strings.Join(parts, ",")
}

func portString(p uint16) string {
	if p == 0 {
		return "off"
	}
	return fmt.Sprint(p)
}
