// Package tlshello reads a TLS ClientHello from the first bytes of a
// connection without decrypting anything, as a splicing proxy must: the
// server name (SNI), the ALPN protocols, the offered versions and whether
// the client offers Encrypted Client Hello.
//
// # Contract
//
// Parse is called with all the bytes a connection has sent so far (they
// only grow between calls). It returns ErrIncomplete until the whole
// ClientHello handshake message has arrived, however many TCP segments
// and TLS records carry it, and an *Error as soon as the bytes cannot be
// a ClientHello. A rejection is final: more bytes give the same Kind, so
// the caller stops reading. Parse keeps no state and is safe to call from
// many goroutines; it has no clock, so the caller bounds the wait
// (-header-timeout).
//
// ErrIncomplete is only ever returned for fewer than MaxHello bytes, so a
// read buffer of MaxHello bytes always suffices: when it is full, Parse
// has answered. Hello.Len is where the records that carried the hello end
// in b, at a record boundary; b[Len:] are the client's next records (a
// change_cipher_spec, early data). A splicing proxy forwards all of b,
// untouched, and then splices; Len tells it what was the hello. The
// Hello shares no memory with b, so b may be reused.
//
// # Records
//
// Each record before the hello completes must be a handshake record (22)
// of version 3.1 to 3.4 and length 1 to 2^14+256, the first handshake
// message a ClientHello (1), and the records that carry it end within
// MaxHello bytes; the last of them carries nothing after the hello (a
// ClientHello is alone in its flight, and a parser that ignored such
// bytes would read differently from the server). Each call walks the
// record headers once, O(records), without allocating, until the
// declared handshake length has arrived; only then are the fields parsed.
// A hello in one record is parsed where it lies; one over several records
// is copied once into a buffer of its declared length, at most MaxHello.
// The handshake length is checked against MaxHello from its header, so a
// hostile length costs nothing.
//
// # Fields
//
// Lengths are checked at every level (RFC 8446 §4.1.2): session_id at
// most 32 bytes, cipher_suites an even number of bytes and at least 2, at
// least one compression method, the extensions filling the rest (or
// absent, as TLS 1.2 allows), no extension type twice (§4.2). server_name
// (RFC 6066) must hold exactly one host_name of DNS syntax (letters,
// digits, hyphens, underscores, dots; at most 253 bytes, labels of 1 to
// 63; no trailing dot), returned lower-cased; else KindServerName,
// since a name the policy cannot read must not pass it. ALPN names are
// non-empty. Versions is supported_versions as sent (GREASE values
// included), else legacy_version alone. ECH reports the extension's
// presence only: ServerName is then the outer, public name.
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
