package intercept

import (
	"bytes"
	"net/netip"
	"strconv"
	"unsafe"

	"tprouter/internal/ascii"
	"tprouter/services/proxy/h1"
)

// Hierarchy codes for the log. hierMismatch: sent to the original
// destination although Host named another address or port (see "Loops and
// limits" in docs/proxy.md).
const (
	hierNone     = "HIER_NONE"
	hierDirect   = "ORIGINAL_DST"
	hierMismatch = "HOST_MISMATCH_ORIGINAL_DST"
)

// hostMismatch reports whether host (a validated Host value) names an IP
// literal other than dst's address or a port other than dst's. Names are
// not resolved: a name cannot choose the server.
func hostMismatch(host []byte, dst netip.AddrPort) bool {
	if len(host) == 0 {
		return false
	}
	name, port := splitHost(host)
	p := 80
	if port != nil {
		n, err := strconv.Atoi(unsafeString(port))
		if err != nil {
			return true
		}
		p = n
	}
	if p > 65535 || uint16(p) != dst.Port() {
		return true
	}
	if !ipLiteral(name) {
		return false
	}
	a, err := netip.ParseAddr(unsafeString(name))
	return err != nil || a.Unmap() != dst.Addr()
}

// splitHost splits a validated Host value (or absolute-form authority)
// into its name, without brackets for IPv6, and its port, nil when there
// is none.
func splitHost(host []byte) (name, port []byte) {
	if len(host) > 0 && host[0] == '[' {
		end := bytes.IndexByte(host, ']')
		if end < 0 {
			return host[1:], nil
		}
		if end+1 < len(host) {
			port = host[end+2:]
		}
		return host[1:end], port
	}
	if i := bytes.LastIndexByte(host, ':'); i >= 0 {
		return host[:i], host[i+1:]
	}
	return host, nil
}

// appendPolicyName appends the name the domain policy checks for a request
// whose Host is host (see domains.Policy): lower case, without port or
// brackets; with no Host (HTTP/1.0), dst's address literal.
func appendPolicyName(b, host []byte, dst netip.AddrPort) []byte {
	if len(host) == 0 {
		return dst.Addr().AppendTo(b)
	}
	name, _ := splitHost(host)
	for _, c := range name {
		b = append(b, ascii.Lower(c))
	}
	return b
}

// ipLiteral reports whether a Host name is written as an address: IPv6 (it
// was bracketed) or only digits and dots (IPv4; a DNS name cannot be all
// numeric in its last label).
func ipLiteral(b []byte) bool {
	for _, c := range b {
		switch {
		case c == ':':
			return true
		case c != '.' && (c < '0' || c > '9'):
			return false
		}
	}
	return len(b) > 0
}

// unsafeString views b as a string for a call that neither keeps it nor
// outlives b's contents, saving a copy on the request path.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// viaHas reports whether a Via field lists name as a received-by (RFC 9110
// §7.6.3: "1.1 name (comment), 1.0 other"), ignoring ASCII case. Squid calls
// it loop detection; the request has been through this proxy already.
func viaHas(fs []h1.Field, name string) bool {
	for _, f := range fs {
		if !ascii.EqualFold(f.Name, "via") {
			continue
		}
		v := f.Value
		for len(v) > 0 {
			var e []byte
			e, v = cutComma(v)
			// e is "protocol SP received-by [SP comment]".
			e = bytes.Trim(e, " \t")
			i := 0
			for i < len(e) && e[i] != ' ' && e[i] != '\t' {
				i++
			}
			for i < len(e) && (e[i] == ' ' || e[i] == '\t') {
				i++
			}
			j := i
			for j < len(e) && e[j] != ' ' && e[j] != '\t' {
				j++
			}
			if ascii.EqualFold(e[i:j], name) {
				return true
			}
		}
	}
	return false
}

func cutComma(v []byte) (elem, rest []byte) {
	depth := 0 // commas inside a (comment) do not split
	for i, c := range v {
		switch c {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				return v[:i], v[i+1:]
			}
		}
	}
	return v, nil
}

// appendURL appends the absolute URL Squid logs for r: the target when it
// is absolute already, else "http://" + Host + target, with the original
// destination standing in for a missing Host (bracketed if IPv6, with the
// port unless it is 80).
func appendURL(b []byte, r *h1.Request, dst netip.AddrPort) []byte {
	if r.Absolute {
		return append(b, r.Target...)
	}
	if len(r.Target) > 0 && r.Target[0] != '/' {
		return append(b, r.Target...) // "*" or a CONNECT authority
	}
	b = append(b, "http://"...)
	if len(r.Host) > 0 {
		b = append(b, r.Host...)
	} else {
		b = appendHostPort(b, dst, 80)
	}
	return append(b, r.Target...)
}

// appendHostPort writes dst as a URL authority, leaving out defPort.
func appendHostPort(b []byte, dst netip.AddrPort, defPort uint16) []byte {
	a := dst.Addr()
	if a.Is6() {
		b = append(b, '[')
		b = a.AppendTo(b)
		b = append(b, ']')
	} else {
		b = a.AppendTo(b)
	}
	if dst.Port() != defPort {
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(dst.Port()), 10)
	}
	return b
}

// appendMIME appends the Content-Type of fs without parameters, as Squid's
// %mt logs it.
func appendMIME(b []byte, fs []h1.Field) []byte {
	for _, f := range fs {
		if !ascii.EqualFold(f.Name, "content-type") {
			continue
		}
		for _, c := range f.Value {
			if c == ';' || c == ' ' || c == '\t' {
				break
			}
			b = append(b, c)
		}
		return b
	}
	return b
}
