// Package forward is the router's DNS forwarder: it answers the LAN's
// queries by asking upstream servers (the operator's tprouter.dns and
// the WAN lease's DNS servers) and relaying their answers unchanged, but
// for one edit when Config.StripECH is set: the ech parameter leaves
// HTTPS and SVCB records (ech.go says how and why); answers without one
// are still relayed byte for byte.
//
// It does no recursion of its own, and keeps answers only as long as their
// TTLs allow, in a bounded cache (cache.go; Config.CacheSize), so a
// repeated question from the LAN is answered without a round trip. It
// also gives the LAN one fixed address (the router's own), so that dhcp4d
// and radvd never hand out a server that changes with the WAN lease.
//
// A query goes to one upstream at a time, with a new random ID and a new
// socket (hence a new random source port); the answer must carry that ID
// and the query's question, and leaves with the client's ID restored. An
// upstream that does not answer within AttemptTimeout is skipped for the
// next; the last upstream that answered is tried first, so a dead server
// costs one timeout rather than one per query. UDP queries go upstream
// over UDP, TCP queries over TCP; a truncated UDP answer is relayed as it
// is, and the client retries over TCP as it would with any server.
package forward

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"tprouter/internal/ascii"
)

// Defaults for the zero fields of Config.
const (
	// DefaultAttemptTimeout is how long one upstream gets to answer.
	// Resolvers on the LAN wait 5 s (glibc, Go) before they retry, so a
	// dead first upstream still leaves time for the next one.
	DefaultAttemptTimeout = 2 * time.Second
	// DefaultQueryTimeout bounds a query over all its attempts.
	DefaultQueryTimeout = 5 * time.Second
	// DefaultMaxInFlight bounds the queries being forwarded at once (each
	// holds a socket and a goroutine). UDP queries beyond it are
	// dropped, TCP queries answered with SERVFAIL.
	DefaultMaxInFlight = 1000
	// DefaultMaxTCPConns bounds the clients' open TCP connections.
	DefaultMaxTCPConns = 256
	// DefaultLeasePoll is how often the lease file's metadata is checked.
	DefaultLeasePoll = 2 * time.Second
)

const (
	// tcpIdleTimeout closes a client's TCP connection that sends nothing
	// for this long (RFC 7766 section 6.2.3: some seconds).
	tcpIdleTimeout = 10 * time.Second
	// tcpPipeline is how many queries of one TCP connection are
	// forwarded at once; the connection's reader waits beyond it, so one
	// client cannot take all of MaxInFlight.
	tcpPipeline = 16
	// maxMsg is the largest DNS message over TCP, and over UDP.
	maxMsg = 65535
)

// NoUpstream is logged when there is no upstream server to ask; every
// query is answered with SERVFAIL until there is one.
const NoUpstream = "no upstream DNS servers: set tprouter.dns or use a DHCP WAN"

// Config configures a Forwarder.
type Config struct {
	// Upstream are the static upstream servers (tprouter.dns), before
	// those of the lease.
	Upstream []netip.AddrPort
	// Leases are the DHCP clients' state files (dhcp4c's, dhcp6c's); the
	// servers in their "dns" lists (port 53) follow the static ones, in
	// the order of the files. None: no lease.
	Leases []string
	// LeasePoll is how often Watch looks at the lease files.
	LeasePoll time.Duration

	AttemptTimeout time.Duration
	QueryTimeout   time.Duration
	MaxInFlight    int
	MaxTCPConns    int

	// Verbose logs every query with the upstream that answered it.
	Verbose bool
	// StripECH removes the ech SvcParam from HTTPS and SVCB records in
	// the answers (see ech.go), so that browsers send the real server
	// name in the clear for the proxy's domain lists.
	StripECH bool
	// CacheSize bounds the answer cache in bytes (cache.go): 0 means
	// DefaultCacheSize, a negative value turns the cache off.
	CacheSize int
}

// Forwarder forwards DNS queries. Its methods are safe for concurrent use.
type Forwarder struct {
	cfg      Config
	log      *log.Logger
	inflight chan struct{} // a token per query being forwarded
	tcpConns chan struct{} // a token per open client TCP connection
	// Lines about limits, at most one a minute each.
	busyLog, connLog, acceptLog, echLog rateLog
	// stripped counts the answers that left without ech (StripECH).
	stripped atomic.Uint64
	cache    *cache // nil: CacheSize < 0

	mu      sync.Mutex
	leased  []netip.AddrPort // from the lease file
	self    []netip.AddrPort // where this forwarder listens
	ups     []netip.AddrPort // static, then leased, without self and duplicates
	logged  bool             // ups was logged at least once
	prefer  netip.AddrPort   // the last upstream that answered
	failing map[netip.AddrPort]bool
	leases  []*leaseFile // Watch's state, one per Config.Leases
}

// New returns a forwarder with the static upstreams of cfg and, if
// cfg.Leases are set, those the lease files list now. It logs the upstream
// servers it will use, or NoUpstream.
func New(cfg Config, l *log.Logger) *Forwarder {
	if cfg.LeasePoll <= 0 {
		cfg.LeasePoll = DefaultLeasePoll
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = DefaultAttemptTimeout
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = DefaultQueryTimeout
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.MaxTCPConns <= 0 {
		cfg.MaxTCPConns = DefaultMaxTCPConns
	}
	f := &Forwarder{
		cfg:      cfg,
		log:      l,
		inflight: make(chan struct{}, cfg.MaxInFlight),
		tcpConns: make(chan struct{}, cfg.MaxTCPConns),
		failing:  map[netip.AddrPort]bool{},
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.CacheSize > 0 {
		f.cache = newCache(cfg.CacheSize)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range cfg.Leases {
		f.leases = append(f.leases, &leaseFile{path: p})
	}
	f.checkLeasesLocked()
	f.updateLocked()
	return f
}

// Upstreams returns the upstream servers in the order they are tried
// when none has answered yet.
func (f *Forwarder) Upstreams() []netip.AddrPort {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ups)
}

// AddSelf records an address the forwarder listens on: an upstream with
// that address would be the forwarder asking itself, each query looping
// until MaxInFlight is used up, so it is left out (tprouter.dns set to the
// router's own LAN address is an easy mistake to make).
func (f *Forwarder) AddSelf(a netip.AddrPort) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.self, a) {
		f.self = append(f.self, a)
		f.updateLocked()
	}
}

// setLeasedLocked replaces the lease's servers.
func (f *Forwarder) setLeasedLocked(dns []netip.Addr) {
	f.leased = nil
	for _, a := range dns {
		if a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() {
			f.leased = append(f.leased, netip.AddrPortFrom(a.Unmap(), 53))
		}
	}
	f.updateLocked()
}

// updateLocked recomputes the upstream list and logs it when it changed.
func (f *Forwarder) updateLocked() {
	var ups []netip.AddrPort
	for _, u := range slices.Concat(f.cfg.Upstream, f.leased) {
		switch {
		case slices.Contains(ups, u):
		case slices.Contains(f.self, u):
			f.log.Printf("ignoring upstream %s: this forwarder listens there", u)
		default:
			ups = append(ups, u)
		}
	}
	if f.logged && slices.Equal(ups, f.ups) {
		return
	}
	f.ups, f.logged = ups, true
	if len(ups) == 0 {
		msg := NoUpstream + "; answering SERVFAIL"
		if len(f.cfg.Leases) > 0 {
			msg += fmt.Sprintf(" (the leases in %s list none yet)", strings.Join(f.cfg.Leases, ", "))
		}
		f.log.Print(msg)
		return
	}
	var s []string
	for _, u := range ups {
		from := "static"
		if !slices.Contains(f.cfg.Upstream, u) {
			from = "lease"
		}
		s = append(s, fmt.Sprintf("%s (%s)", u, from))
	}
	f.log.Printf("upstream DNS servers: %s", strings.Join(s, ", "))
}

// order returns the upstreams, the one that answered last first.
func (f *Forwarder) order() []netip.AddrPort {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.Index(f.ups, f.prefer)
	if i < 0 {
		return slices.Clone(f.ups)
	}
	return slices.Concat(f.ups[i:], f.ups[:i])
}

// answered notes that up answered, and says so if it had not before.
func (f *Forwarder) answered(up netip.AddrPort) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prefer = up
	if f.failing[up] {
		delete(f.failing, up)
		f.log.Printf("upstream %s answers again", up)
	}
}

// failed notes that up did not answer, and says so once until it does.
func (f *Forwarder) failed(up netip.AddrPort, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.failing[up] {
		f.failing[up] = true
		f.log.Printf("upstream %s not answering: %v", up, err)
	}
}

// Forward answers query, a client's DNS message received over network
// ("udp" or "tcp"), and returns the answer to send back, or nil when
// nothing should be sent (the message is not a query). The answer is the
// upstream's, with the client's ID, or SERVFAIL when no upstream answers
// in time.
func (f *Forwarder) Forward(ctx context.Context, network string, query []byte) []byte {
	ans, _ := f.forward(ctx, network, query)
	return ans
}

// forward is Forward, and also says which upstream answered.
func (f *Forwarder) forward(ctx context.Context, network string, query []byte) ([]byte, netip.AddrPort) {
	h, qs, err := parseQuery(query)
	switch {
	case errors.Is(err, errNotQuery):
		return nil, netip.AddrPort{}
	case err != nil:
		return reply(h, nil, dnsmessage.RCodeFormatError), netip.AddrPort{}
	}
	key := ""
	if f.cache != nil {
		do, size := queryEDNS(query)
		if key = cacheKey(h, qs, do); key != "" {
			// Over UDP, only an answer that fits the client's
			// payload size; a larger one is asked for again.
			if ans := f.cache.get(key, h.ID); ans != nil && (network == "tcp" || len(ans) <= size) {
				restoreQuestion(ans, query)
				return ans, netip.AddrPort{}
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.QueryTimeout)
	defer cancel()
	out := slices.Clone(query)
	for _, up := range f.order() {
		id := uint16(rand.Uint32())
		binary.BigEndian.PutUint16(out, id)
		ans, err := f.attempt(ctx, network, up, out, id, qs)
		if err == nil {
			f.answered(up)
			ans, stripped := f.strip(ans, qs)
			if key != "" && stripped {
				f.cache.put(key, ans)
			}
			binary.BigEndian.PutUint16(ans, h.ID)
			return ans, up
		}
		if context.Cause(ctx) == context.Canceled {
			break // shutting down: no news about the upstream
		}
		f.failed(up, err)
		if ctx.Err() != nil {
			break
		}
	}
	return reply(h, qs, dnsmessage.RCodeServerFailure), netip.AddrPort{}
}

// attempt sends q (whose ID is id) to up over network and returns the
// first answer to it.
func (f *Forwarder) attempt(ctx context.Context, network string, up netip.AddrPort, q []byte, id uint16, qs []dnsmessage.Question) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.AttemptTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, network, up.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	// Cancellation (shutdown) ends the exchange at once.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if network == "tcp" {
		if err := writeMsg(c, q); err != nil {
			return nil, err
		}
		ans, err := readMsg(c)
		if err != nil {
			return nil, err
		}
		if !matches(ans, id, qs) {
			return nil, fmt.Errorf("tcp %s: answer does not match the query", up)
		}
		return ans, nil
	}
	if _, err := c.Write(q); err != nil {
		return nil, err
	}
	// The socket is connected: only up's datagrams arrive. Others than
	// the answer (a late answer to an earlier query from the same port,
	// or a forgery) are skipped.
	buf := make([]byte, maxMsg)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, err // a timeout, or ECONNREFUSED: nothing listens
		}
		if matches(buf[:n], id, qs) {
			return slices.Clone(buf[:n]), nil
		}
	}
}

// strip removes ech from ans when StripECH is set; an answer that cannot
// be repacked is relayed as it came, and logged, and ok is false.
func (f *Forwarder) strip(ans []byte, qs []dnsmessage.Question) (out []byte, ok bool) {
	if !f.cfg.StripECH {
		return ans, true
	}
	out, changed, err := stripECH(ans)
	if err != nil {
		name := "?"
		if len(qs) > 0 {
			name = qs[0].Name.String()
		}
		f.echLog.printf(f.log, "answer for %s relayed with ech: %v", name, err)
	}
	if changed {
		f.stripped.Add(1)
	}
	return out, err == nil
}

// Stripped returns how many answers have left without their ech
// parameters (StripECH).
func (f *Forwarder) Stripped() uint64 { return f.stripped.Load() }

// errNotQuery marks messages that get no answer at all: too short to
// have an ID, or a response (answering those could start a loop).
var errNotQuery = errors.New("not a query")

// parseQuery reads a client's query. The header is valid when the error
// is not errNotQuery.
func parseQuery(msg []byte) (dnsmessage.Header, []dnsmessage.Question, error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || h.Response {
		return h, nil, errNotQuery
	}
	qs, err := p.AllQuestions()
	if err != nil {
		return h, nil, err
	}
	return h, qs, nil
}

// matches reports whether msg answers the query with id and questions
// qs. An error answer without a question section matches as well: that is
// how servers answer queries they cannot parse, such as with FORMERR or
// NOTIMP, and the client should see that answer rather than a timeout.
func matches(msg []byte, id uint16, qs []dnsmessage.Question) bool {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || !h.Response || h.ID != id {
		return false
	}
	got, err := p.AllQuestions()
	if err != nil {
		return false
	}
	if len(got) == 0 && h.RCode != dnsmessage.RCodeSuccess {
		return true
	}
	// DNS names compare ignoring ASCII case only (RFC 4343).
	return slices.EqualFunc(got, qs, func(a, b dnsmessage.Question) bool {
		return a.Type == b.Type && a.Class == b.Class && ascii.EqualFold(a.Name.String(), b.Name.String())
	})
}

// reply builds an answer of its own to the query with header h and
// questions qs: an error with no records.
func reply(h dnsmessage.Header, qs []dnsmessage.Question, rcode dnsmessage.RCode) []byte {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{
		ID: h.ID, Response: true, OpCode: h.OpCode,
		RecursionDesired: h.RecursionDesired, RecursionAvailable: true,
		RCode: rcode,
	})
	b.EnableCompression()
	b.StartQuestions()
	for _, q := range qs {
		if err := b.Question(q); err != nil {
			break // cannot happen for questions that parsed
		}
	}
	msg, err := b.Finish()
	if err != nil {
		return nil
	}
	return msg
}

// readMsg reads one length-prefixed DNS message from a stream
// (RFC 1035 section 4.2.2).
func readMsg(r io.Reader) ([]byte, error) {
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	l := binary.BigEndian.Uint16(n[:])
	if l == 0 {
		return nil, errors.New("empty message")
	}
	msg := make([]byte, l)
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

// writeMsg writes msg with its length prefix, in one write so that it
// leaves in one segment when it fits.
func writeMsg(w io.Writer, msg []byte) error {
	if len(msg) > maxMsg {
		return fmt.Errorf("message of %d bytes is too long", len(msg))
	}
	b := make([]byte, 2, 2+len(msg))
	binary.BigEndian.PutUint16(b, uint16(len(msg)))
	_, err := w.Write(append(b, msg...))
	return err
}

// rateLog logs at most one line a minute, counting the ones it left out.
type rateLog struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

func (r *rateLog) printf(l *log.Logger, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() && time.Since(r.last) < time.Minute {
		r.skipped++
		return
	}
	msg := fmt.Sprintf(format, args...)
	if r.skipped > 0 {
		msg += fmt.Sprintf(" (and %d times since the last such line)", r.skipped)
	}
	l.Print(msg)
	r.last, r.skipped = time.Now(), 0
}
