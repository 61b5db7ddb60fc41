// Package tlshello reads a TLS ClientHello from the first bytes of a
// connection without decrypting anything, as a splicing proxy must: the
// server name (SNI), the ALPN protocols, the offered versions and whether
// the client offers Encrypted Client Hello.
//
// Parse is called with all the bytes a connection has sent so far (they
// only grow between calls). It returns ErrIncomplete until the whole
// ClientHello handshake message has arrived, however many TCP segments
// and TLS records carry it, and an *Error as soon as the bytes cannot be
// a ClientHello. It never allocates more than MaxHello bytes, whatever a
// length field claims.
package tlshello

import "errors"

// MaxHello bounds the record bytes that may carry a ClientHello: larger
// ones are KindTooLarge. Real ones, post-quantum key shares included, are
// under 4 KiB.
const MaxHello = 16 << 10

// Hello is what a ClientHello says.
type Hello struct {
	ServerName string   // the SNI host_name, lower case; "" when none
	ALPN       []string // protocol_name_list, in the client's order
	Versions   []uint16 // supported_versions, else legacy_version alone
	ECH        bool     // an encrypted_client_hello extension (0xfe0d) is there
	Len        int      // bytes of the records that carried the ClientHello
}

// ErrIncomplete means: read more and call Parse again.
var ErrIncomplete = errors.New("tlshello: incomplete ClientHello")

// Kind is a class of parse failure, a metric label.
type Kind int

const (
	KindRecord         Kind = iota // not a TLS handshake record header
	KindNotClientHello             // a handshake message other than ClientHello first
	KindTooLarge                   // longer than MaxHello
	KindMalformed                  // lengths or fields that do not add up
	KindServerName                 // a server_name extension that is not one valid host name
	NumKinds
)

// String returns the kind's metric label.
func (k Kind) String() string {
	if k < 0 || k >= NumKinds {
		return "unknown"
	}
	return [NumKinds]string{"record", "not_client_hello", "too_large", "malformed", "server_name"}[k]
}

// Error is a ClientHello that does not parse.
type Error struct {
	Kind   Kind
	Reason string // what was wrong, for a log line
}

func (e *Error) Error() string { return "tlshello: " + e.Reason }

// Parse parses the ClientHello at the start of b. See the package doc.
func Parse(b []byte) (*Hello, error) {
	f, err := locate(b)
	if err != nil {
		return nil, err
	}
	h, err := parseMessage(message(b, f))
	if err != nil {
		return nil, err
	}
	h.Len = f.end
	return h, nil
}

// IsRecordStart reports whether b, a connection's first bytes (at least
// one), begins like a TLS handshake record: the content type 22. Nothing
// else on an intercepted port starts with that byte.
func IsRecordStart(b []byte) bool { return len(b) > 0 && b[0] == 22 }

// AlertAccessDenied is a fatal access_denied alert record (RFC 8446 §6),
// what a denied client is sent before the connection closes.
var AlertAccessDenied = []byte{21, 3, 3, 0, 2, 2, 49}
