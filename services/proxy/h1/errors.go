package h1

import "errors"

// ErrIncomplete means the buffer does not yet hold a whole message head.
// It is not a protocol error: read more bytes and parse again.
var ErrIncomplete = errors.New("h1: incomplete message head")

// Error is a protocol violation. Reason is a short fixed phrase, safe to log;
// it never echoes message bytes. The parser returns shared *Error values, so
// callers may compare them with == or errors.Is but must not modify them.
type Error struct{ Reason string }

func (e *Error) Error() string { return "h1: " + e.Reason }

// ErrHeadTooLarge reports that no complete head fits in the limit given, or
// that the head has more than MaxFields field lines. It is an *Error too, so
// test for it before the generic *Error case (431 rather than 400).
var ErrHeadTooLarge = &Error{"message head too large"}

// errNeedMore is internal: the parser ran off the end of its view of the
// buffer. ParseRequest/ParseResponse turn it into ErrIncomplete or
// ErrHeadTooLarge depending on whether the limit was reached.
var errNeedMore = errors.New("need more")

// Start line.
var (
	errLeadingEmpty = &Error{"too many empty lines before request line"}
	errMethod       = &Error{"invalid method"}
	errRequestLine  = &Error{"malformed request line"}
	errTarget       = &Error{"invalid request-target"}
	errAsterisk     = &Error{"asterisk-form target without OPTIONS"}
	errConnect      = &Error{"CONNECT without authority-form target"}
	errVersion      = &Error{"invalid HTTP version"}
	errStatusLine   = &Error{"malformed status line"}
	errStatus       = &Error{"invalid status code"}
	errReason       = &Error{"invalid reason phrase"}
)

// Field lines (head and trailers).
var (
	errBareLF     = &Error{"bare LF in header"}
	errBareCR     = &Error{"bare CR in header"}
	errObsFold    = &Error{"obs-fold in header"}
	errFieldName  = &Error{"invalid field name"}
	errNameSpace  = &Error{"whitespace between field name and colon"}
	errNoColon    = &Error{"field line without colon"}
	errFieldValue = &Error{"invalid character in field value"}
)

// Framing and routing fields.
var (
	errCL          = &Error{"invalid Content-Length"}
	errCLConflict  = &Error{"conflicting Content-Length"}
	errCLTE        = &Error{"both Content-Length and Transfer-Encoding"}
	errTE          = &Error{"invalid transfer coding"}
	errTEEmpty     = &Error{"empty Transfer-Encoding element"}
	errTETwice     = &Error{"chunked applied more than once"}
	errTENotLast   = &Error{"chunked is not the final transfer coding"}
	errTENotChunk  = &Error{"request transfer coding is not chunked"}
	errTE10        = &Error{"Transfer-Encoding in HTTP/1.0 message"}
	errHostDup     = &Error{"multiple Host fields"}
	errHostMissing = &Error{"missing Host field"}
	errHost        = &Error{"invalid Host"}
	errConnection  = &Error{"invalid Connection option"}
	errConnectBody = &Error{"CONNECT request with content"}
)

// Chunked body.
var (
	errChunkSize     = &Error{"invalid chunk size"}
	errChunkOverflow = &Error{"chunk size too large"}
	errChunkExt      = &Error{"invalid chunk extension"}
	errChunkLine     = &Error{"chunk line too long"}
	errChunkBareLF   = &Error{"bare LF in chunked framing"}
	errChunkBareCR   = &Error{"bare CR in chunked framing"}
	errChunkCRLF     = &Error{"missing CRLF after chunk data"}
	errTrailerSize   = &Error{"trailer section too large"}
	errTrailerField  = &Error{"framing field in trailer section"}
)
