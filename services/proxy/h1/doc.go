// Package h1 is the HTTP/1.x wire layer of the interception proxy: a strict,
// allocation-free parser for request and response heads, a streaming
// validator for chunked bodies, and the serializer for forwarded heads.
//
// The proxy forwards bodies byte for byte, so the only defence against
// request smuggling is that every message it forwards has exactly one
// reading. The parser therefore rejects, with an *Error, anything that two
// conforming implementations could frame differently: bare CR or LF, obs-fold,
// whitespace before a colon, malformed or conflicting Content-Length,
// Content-Length together with Transfer-Encoding, a request whose
// Transfer-Encoding does not end in chunked, repeated Host, and so on. See
// the tests for the catalogue.
//
// # Parsing heads
//
// ParseRequest and ParseResponse parse one head at the start of a buffer
// into a reusable Request or Response. After warm-up they do not allocate.
// Every []byte in the result (Method, Target, Host, Reason, Field.Name,
// Field.Value) aliases the buffer: copy what must outlive it.
//
// The head is buf[:HeadLen]. HeadLen counts from buf[0], so it includes up
// to four empty lines tolerated before a request line (RFC 9112 §2.2); the
// serializers do not reproduce them. A caller that tolerates more consumes
// them before parsing, as the interception proxy does (parsing over
// thousands each time would make a slow client's head quadratic). Bytes
// after HeadLen are the body (see Body) and then, for a persistent
// connection, the next pipelined message; keep them for the next parse.
//
// Errors: ErrIncomplete (read more; not a protocol error), ErrHeadTooLarge
// (431 for requests; also returned for more than MaxFields field lines), or
// another *Error (400, or 502 for a response). ErrHeadTooLarge is itself an
// *Error, so test for it first. Malformed bytes are reported as soon as they
// arrive, before the head is complete. The parser restarts from buf[0] on
// each call; to keep a slow client from making that quadratic, parse again
// only after a read that brought a '\n' (a head can only complete, and a
// new line only be judged, at one). With MaxFields that bounds the work to
// a few hundred passes over at most max bytes.
//
// Interpretation beyond syntax:
//   - Request.Host is the routing authority: the target of a CONNECT, the
//     authority of an absolute-form target (then Request.Absolute is set),
//     else the Host field. A Host field that is present must be valid even
//     when it is not the one used.
//   - Host values, absolute-form authorities and CONNECT targets accept only
//     ALPHA, DIGIT and "-._~" host names or bracketed IPv6 literals, with an
//     optional port 0-65535 (required for CONNECT). Sub-delims,
//     pct-encoding and userinfo are rejected.
//   - Request targets may not contain '#', CTLs, SP or non-ASCII bytes;
//     asterisk-form is for OPTIONS only, authority-form for CONNECT only,
//     absolute-form only with the http scheme. A CONNECT request may not
//     carry Transfer-Encoding or a non-zero Content-Length.
//   - Transfer-Encoding in any HTTP/1.0 message is rejected (RFC 9112 §6.1).
//   - Expect: 100-continue and Upgrade are honoured only on HTTP/1.1.
//   - Response.KeepAlive reflects the fields only; close the connection
//     after a BodyUntilClose body regardless.
//   - A Content-Length of 0 yields BodyNone, never BodyLength.
//
// # Chunked bodies
//
// A Chunked scanner follows a chunked body as it streams: call Scan on each
// read, forward p[:n], and stop at done. Between framing bytes, DataLeft
// tells how much chunk data follows; such data may be spliced or copied
// without Scan, then reported with Skip. Chunk extensions are accepted
// without any whitespace; a chunk line is capped at MaxChunkLine bytes and
// the trailer section at MaxTrailer. Trailer fields follow head rules, and
// Content-Length, Transfer-Encoding and Host are refused there.
//
// # Forwarding heads
//
// AppendRequest and AppendResponse write the head for the next hop: start
// line as received (version included: the origin must see a 1.0 client as
// 1.0, or it may answer chunked), end-to-end fields in order, the caller's
// extra fields, and the Connection field the caller chose. IsHopByHop is the
// field filter they use; it never strips framing fields or Host, whatever
// Connection lists. Content-Length is re-emitted once as a plain decimal and
// all Transfer-Encoding fields as one field of lower-case codings, so the
// next hop cannot read the framing differently from how it was validated.
// Pass conn "upgrade" (or a list containing it) to keep the Upgrade field
// when relaying a protocol switch.
package h1
