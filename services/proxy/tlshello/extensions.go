package tlshello

import (
	"strings"

	"tprouter/internal/ascii"
)

// The extensions a splicing proxy reads, and the checks that every
// extension's length adds up and none appears twice (RFC 8446 §4.2).

const (
	extServerName        = 0
	extALPN              = 16
	extSupportedVersions = 43
	extECH               = 0xfe0d
)

// extensions reads the extension list r into h.
func (h *Hello) extensions(r reader) error {
	var seen [1 << 16 / 64]uint64 // a bit per extension type
	for !r.empty() {
		typ := r.u16()
		data := r.vec16()
		if r.bad {
			return errorf(KindMalformed, "an extension (type %d) longer than the extensions that hold it", typ)
		}
		if seen[typ/64]&(1<<(typ%64)) != 0 {
			return errorf(KindMalformed, "extension type %d appears twice", typ)
		}
		seen[typ/64] |= 1 << (typ % 64)
		if err := h.extension(typ, data); err != nil {
			return err
		}
	}
	return nil
}

func (h *Hello) extension(typ int, r reader) error {
	var err error
	switch typ {
	case extServerName:
		h.ServerName, err = serverName(r)
	case extALPN:
		h.ALPN, err = alpn(r)
	case extSupportedVersions:
		h.Versions, err = versions(r)
	case extECH:
		h.ECH = true
	}
	return err
}

// serverName reads a ServerNameList (RFC 6066 §3): exactly one
// host_name, of DNS syntax.
func serverName(r reader) (string, error) {
	list := r.vec16()
	typ := list.u8()
	name := list.vec16()
	switch {
	case list.bad || !r.empty():
		return "", errorf(KindServerName, "a server_name extension whose lengths do not add up")
	case typ != 0:
		return "", errorf(KindServerName, "a server_name of name_type %d, not host_name (0)", typ)
	case !list.empty():
		return "", errorf(KindServerName, "a server_name list of more than one name")
	}
	host, ok := hostName(name.b)
	if !ok {
		return "", errorf(KindServerName, "server_name %q is not a DNS host name", name.b)
	}
	return host, nil
}

// hostName returns b lower-cased when it is a DNS name: letters, digits,
// hyphens, underscores (some real hosts have them, and the domain lists
// accept them) and dots, at most 253 bytes, labels of 1 to 63 bytes.
func hostName(b []byte) (string, bool) {
	if len(b) == 0 || len(b) > 253 {
		return "", false
	}
	label := 0
	for _, c := range b {
		switch {
		case c == '.':
			if label == 0 {
				return "", false
			}
			label = -1
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return "", false
		}
		if label++; label > 63 {
			return "", false
		}
	}
	if label == 0 {
		return "", false
	}
	var s strings.Builder // one allocation, lower-casing as it copies
	s.Grow(len(b))
	for _, c := range b {
		s.WriteByte(ascii.Lower(c))
	}
	return s.String(), true
}

// alpn reads a ProtocolNameList (RFC 7301 §3.1): one or more non-empty
// protocol names.
func alpn(r reader) ([]string, error) {
	list := r.vec16()
	if list.bad || !r.empty() || list.empty() {
		return nil, errorf(KindMalformed, "an ALPN extension whose lengths do not add up")
	}
	all := string(list.b) // one copy, which the names share
	var protos []string
	for off := 0; !list.empty(); {
		p := list.vec8()
		if p.bad || p.empty() {
			return nil, errorf(KindMalformed, "an ALPN protocol name that is empty or overruns the list")
		}
		protos = append(protos, all[off+1:off+1+len(p.b)])
		off += 1 + len(p.b)
	}
	return protos, nil
}

// versions reads a supported_versions list (RFC 8446 §4.2.1).
func versions(r reader) ([]uint16, error) {
	n := len(r.b)
	list := r.vec8()
	if list.bad || !r.empty() || list.empty() || len(list.b)%2 != 0 {
		return nil, errorf(KindMalformed, "a supported_versions extension of %d bytes, not a list of 2-byte versions", n)
	}
	vs := make([]uint16, 0, len(list.b)/2)
	for !list.empty() {
		vs = append(vs, uint16(list.u16()))
	}
	return vs, nil
}
