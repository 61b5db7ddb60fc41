package cmdline

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/net/idna"
)

// domains parses tprouter.deny and tprouter.allow: comma-separated
// entries in Squid's dstdomain syntax, ".example.com" (the domain and
// every name under it) or "example.com" (that name alone), or an address
// literal (the name checked for TLS without SNI). Entries are stored as
// the proxy compares them: lower-case, without a trailing dot,
// internationalised names in their A-label (xn--) form. The good entries
// are kept even when some are bad, and the error names each bad one: a
// typo in one entry must not drop the whole list.
func domains(dst *[]string, v string) error {
	if v == bare {
		return errors.New("no entries (write tprouter.deny= for none)")
	}
	var good []string
	var bad []string
	for _, f := range list(v) {
		e, err := domain(f)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		if !slices.Contains(good, e) {
			good = append(good, e)
		}
	}
	*dst = good
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

// domain checks and normalises one entry.
func domain(e string) (string, error) {
	if a, err := netip.ParseAddr(e); err == nil && a.Zone() == "" {
		return a.String(), nil
	}
	name := strings.TrimSuffix(strings.ToLower(e), ".")
	dot := strings.HasPrefix(name, ".")
	name = strings.TrimPrefix(name, ".")
	if name != "" && hasNonASCII(name) {
		a, err := idna.Lookup.ToASCII(name)
		if err != nil {
			return "", fmt.Errorf("entry %q is not an internationalised domain name: %v", e, err)
		}
		name = a
	}
	if err := dnsName(name); err != nil {
		return "", fmt.Errorf("entry %q: %v", e, err)
	}
	if dot {
		name = "." + name
	}
	return name, nil
}

// dnsName checks a name as DNS carries it: labels of letters, digits,
// '-' and '_' (blocklists have service names such as _dmarc), 1 to 63
// bytes, not starting or ending with '-', at most 253 bytes in all.
func dnsName(n string) error {
	if n == "" || len(n) > 253 {
		return errors.New("not a domain name of 1 to 253 bytes (.example.com or example.com)")
	}
	for _, l := range strings.Split(n, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("label %q is empty, longer than 63 bytes, or starts or ends with '-'", l)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("%q is not allowed in a domain name", r)
			}
		}
	}
	return nil
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}
