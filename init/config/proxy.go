package config

// Proxy is the proxy's policy: what it does with what is neither HTTP nor
// TLS, its domain lists, how it logs, and whether the DNS forwarder
// strips ECH (which only matters to the lists).
type Proxy struct {
	Unknown   Unknown
	LogFormat LogFormat
	ECH       ECH
	// Deny and Allow are the inline entries of tprouter.deny and
	// tprouter.allow, in dstdomain syntax, lower-case, without a trailing
	// dot, internationalised names in their A-label form.
	Deny, Allow []string
	// DenyFile and AllowFile are deny.txt and allow.txt on the boot
	// partition when it has them (init fills them in), else "".
	DenyFile, AllowFile string
}

// HasLists reports whether a deny or an allow list is set, inline or as
// a file.
func (p Proxy) HasLists() bool {
	return len(p.Deny)+len(p.Allow) > 0 || p.DenyFile != "" || p.AllowFile != ""
}

// StripECH reports whether the DNS forwarder removes ECH configurations
// from HTTPS and SVCB answers: when asked to, or by default when a list
// is set. With ECH, the proxy sees only the provider's outer name, and
// the lists could not apply to the real one.
func (p Proxy) StripECH() bool {
	return p.ECH == ECHStrip || p.ECH == ECHAuto && p.HasLists()
}

// Unknown says what the proxy does with a connection that is neither
// HTTP nor TLS (its -unknown flag).
type Unknown int

const (
	// UnknownTunnel relays it untouched, unfiltered by the lists.
	UnknownTunnel Unknown = iota
	// UnknownReject closes it.
	UnknownReject
)

func (u Unknown) String() string {
	if u == UnknownReject {
		return "reject"
	}
	return "tunnel"
}

// LogFormat is the access log's format (the proxy's -access-log-format).
type LogFormat int

const (
	// LogSquid is Squid's native format, which analyzers read.
	LogSquid LogFormat = iota
	// LogTLS is the native line and the SNI, ALPN and ECH fields.
	LogTLS
)

func (f LogFormat) String() string {
	if f == LogTLS {
		return "tls"
	}
	return "squid"
}

// ECH is tprouter.ech: strip, pass, or by default auto (StripECH).
type ECH int

const (
	ECHAuto ECH = iota
	ECHStrip
	ECHPass
)

func (e ECH) String() string {
	switch e {
	case ECHStrip:
		return "strip"
	case ECHPass:
		return "pass"
	}
	return "auto"
}
