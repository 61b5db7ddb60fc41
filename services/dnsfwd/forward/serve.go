package forward

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// ServeUDP answers the queries that arrive on conn until ctx ends, then
// closes conn. Queries beyond MaxInFlight are dropped: the client retries,
// and a flood is not answered.
func (f *Forwarder) ServeUDP(ctx context.Context, conn net.PacketConn) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	buf := make([]byte, maxMsg)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read udp %s: %w", conn.LocalAddr(), err)
		}
		if !f.acquire() {
			f.busyLog.printf(f.log, "%d queries in flight: dropping udp queries", f.cfg.MaxInFlight)
			continue
		}
		q := slices.Clone(buf[:n])
		go func() {
			defer f.release()
			if ans := f.serve(ctx, "udp", peer, q); ans != nil {
				conn.WriteTo(ans, peer) // the client may be gone; it retries
			}
		}()
	}
}

// ServeTCP answers the queries on the connections that l accepts until
// ctx ends, then closes l and the connections. Connections beyond
// MaxTCPConns are closed at once.
func (f *Forwarder) ServeTCP(ctx context.Context, l net.Listener) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors, mostly: wait for some to close.
			f.acceptLog.printf(f.log, "accept tcp %s: %v", l.Addr(), err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		select {
		case f.tcpConns <- struct{}{}:
		default:
			f.connLog.printf(f.log, "%d tcp connections open: closing new ones", f.cfg.MaxTCPConns)
			c.Close()
			continue
		}
		go func() {
			defer func() { <-f.tcpConns }()
			f.serveConn(ctx, c)
		}()
	}
}

// serveConn answers the queries on c, up to tcpPipeline at once, in the
// order their answers come (RFC 7766 section 6.2.1.1). It closes c after
// tcpIdleTimeout without a query, or when the client closes its side,
// once the answers to the queries read so far are written.
func (f *Forwarder) serveConn(ctx context.Context, c net.Conn) {
	var (
		wg      sync.WaitGroup
		writeMu sync.Mutex
		slots   = make(chan struct{}, tcpPipeline)
	)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer func() {
		wg.Wait()
		stop()
		c.Close()
	}()
	write := func(ans []byte) {
		writeMu.Lock()
		defer writeMu.Unlock()
		c.SetWriteDeadline(time.Now().Add(f.cfg.QueryTimeout))
		writeMsg(c, ans) // on error the reader sees the closed connection
	}
	peer := c.RemoteAddr()
	for {
		c.SetReadDeadline(time.Now().Add(tcpIdleTimeout))
		q, err := readMsg(c)
		if err != nil {
			return
		}
		slots <- struct{}{}
		if !f.acquire() {
			<-slots
			f.busyLog.printf(f.log, "%d queries in flight: answering tcp queries with SERVFAIL", f.cfg.MaxInFlight)
			if h, qs, err := parseQuery(q); err == nil {
				write(reply(h, qs, dnsmessage.RCodeServerFailure))
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			defer f.release()
			if ans := f.serve(ctx, "tcp", peer, q); ans != nil {
				write(ans)
			}
		}()
	}
}

// serve forwards one query and logs it when Verbose.
func (f *Forwarder) serve(ctx context.Context, network string, peer net.Addr, q []byte) []byte {
	if !f.cfg.Verbose {
		return f.Forward(ctx, network, q)
	}
	start := time.Now()
	ans, up := f.forward(ctx, network, q)
	f.log.Printf("%s %s %s: %s", network, peer, describe(q), outcome(ans, up, time.Since(start)))
	return ans
}

func (f *Forwarder) acquire() bool {
	select {
	case f.inflight <- struct{}{}:
		return true
	default:
		return false
	}
}

func (f *Forwarder) release() { <-f.inflight }

// describe names a query's question for the log: "example.test. A".
func describe(q []byte) string {
	_, qs, err := parseQuery(q)
	switch {
	case err != nil:
		return fmt.Sprintf("malformed query (%v)", err)
	case len(qs) == 0:
		return "query without question"
	}
	return qs[0].Name.String() + " " + strings.TrimPrefix(qs[0].Type.String(), "Type")
}

// outcome says how a query was answered, for the log.
func outcome(ans []byte, up netip.AddrPort, took time.Duration) string {
	if ans == nil {
		return "no answer"
	}
	var p dnsmessage.Parser
	h, err := p.Start(ans)
	if err != nil {
		return "unparsable answer"
	}
	from := "answered here"
	if up.IsValid() {
		from = "from " + up.String()
	}
	tc := ""
	if h.Truncated {
		tc = " truncated"
	}
	rcode := strings.TrimPrefix(h.RCode.String(), "RCode")
	return fmt.Sprintf("%s%s %s in %v", rcode, tc, from, took.Round(time.Millisecond))
}
