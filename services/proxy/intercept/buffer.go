package intercept

import (
	"io"
	"net"

	"tprouter/services/proxy/accesslog"
	"tprouter/services/proxy/h1"
)

// bufSize is the pooled read buffer: a typical request or response head
// with the start of its body fits. Bigger heads grow the buffer up to
// MaxHeaderSize for the rest of that transaction.
const bufSize = 16 << 10

// buffer holds bytes read from a connection; b[r:w] are not consumed yet.
type buffer struct {
	b    []byte
	r, w int
}

func (b *buffer) bytes() []byte { return b.b[b.r:b.w] }
func (b *buffer) len() int      { return b.w - b.r }

func (b *buffer) consume(n int) {
	b.r += n
	if b.r == b.w {
		b.r, b.w = 0, 0
	}
}

func (b *buffer) reset() { b.r, b.w = 0, 0 }

// fill reads once from c into the free space, after moving unconsumed
// bytes to the front when the tail is full, and after growing the buffer
// to limit when it is full of unconsumed bytes. It returns how many bytes
// came in; io.EOF only with none.
func (b *buffer) fill(c net.Conn, limit int) (int, error) {
	if b.w == len(b.b) {
		switch {
		case b.r > 0:
			copy(b.b, b.b[b.r:b.w])
			b.w -= b.r
			b.r = 0
		case len(b.b) < limit:
			nb := make([]byte, limit)
			copy(nb, b.b[:b.w])
			b.b = nb
		default:
			return 0, errBufferFull
		}
	}
	n, err := c.Read(b.b[b.w:])
	b.w += n
	if n > 0 {
		err = nil
	} else if err == nil {
		err = io.ErrNoProgress
	}
	return n, err
}

var errBufferFull = &h1.Error{Reason: "buffer full"}

// work is everything a transaction needs beyond its connection: taken from
// the server's pool when a request starts, returned when the connection
// goes idle, so an idle connection holds none of it.
type work struct {
	in, up buffer // bytes from the client, from the server
	out    []byte // heads we write
	req    h1.Request
	resp   h1.Response
	reqCh  h1.Chunked
	respCh h1.Chunked
	method []byte // copies: the buffers move under the parsed slices
	url    []byte
	mime   []byte
	bufs   [2][]byte
	nb     net.Buffers
	e      accesslog.Entry
	// host names the transaction in Server.Top: lower case, no port;
	// empty for the destination address.
	host []byte
	// sent counts the transaction's bytes written: [0] to the client,
	// [1] to the server (see leg.count).
	sent [2]int64
	// lastErr is the I/O error behind the last failure, for diagnostics.
	lastErr error
}

func newWork() *work {
	w := &work{out: make([]byte, 0, 4<<10)}
	w.ready()
	return w
}

// ready gives w its read buffers back after a tunnel dropped them.
func (w *work) ready() {
	if w.in.b == nil {
		w.in = buffer{b: make([]byte, bufSize)}
	}
	if w.up.b == nil {
		w.up = buffer{b: make([]byte, bufSize)}
	}
}

// dropBuffers lets a long-lived tunnel give up the read buffers it no
// longer needs (both sides are spliced) instead of pinning them.
func (w *work) dropBuffers() {
	w.in, w.up = buffer{}, buffer{}
}

// shrink empties w for the pool and drops buffers grown for one large
// head, so the pool does not fill with them. Emptying matters: after an
// error the connection closes with bytes unread, and they must never be
// seen by the next connection that takes w.
func (w *work) shrink() {
	w.lastErr = nil
	w.in.reset()
	w.up.reset()
	if len(w.in.b) > bufSize {
		w.in.b = make([]byte, bufSize)
	}
	if len(w.up.b) > bufSize {
		w.up.b = make([]byte, bufSize)
	}
	if cap(w.out) > 64<<10 {
		w.out = make([]byte, 0, 4<<10)
	}
}
