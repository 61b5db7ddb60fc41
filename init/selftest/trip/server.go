package trip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netns"
)

// seen is what the server saw of one request.
type seen struct {
	src netip.Addr
	via string
}

// origin is the server in the server namespace: it answers every request
// and remembers the last one's source and Via, by local address.
type origin struct {
	mu   sync.Mutex
	seen map[netip.Addr]seen
	srv  *http.Server
}

// serve listens on addrs (port port) inside ns.
func serve(ns netns.NsHandle, port uint16, addrs ...netip.Addr) (*origin, error) {
	o := &origin{seen: map[netip.Addr]seen{}}
	o.srv = &http.Server{Handler: http.HandlerFunc(o.handle), ReadHeaderTimeout: 5 * time.Second}
	var lns []net.Listener
	err := inNS(ns, func() error {
		for _, a := range addrs {
			ln, err := net.Listen("tcp", netip.AddrPortFrom(a, port).String())
			if err != nil {
				return fmt.Errorf("listen on %v in the server namespace: %w", netip.AddrPortFrom(a, port), err)
			}
			lns = append(lns, ln)
		}
		return nil
	})
	if err != nil {
		for _, ln := range lns {
			ln.Close()
		}
		return nil, err
	}
	for _, ln := range lns {
		go o.srv.Serve(ln)
	}
	return o, nil
}

func (o *origin) handle(w http.ResponseWriter, r *http.Request) {
	src, _ := netip.ParseAddrPort(r.RemoteAddr)
	dst, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	local, _ := netip.ParseAddrPort(dst.String())
	o.mu.Lock()
	o.seen[local.Addr().Unmap()] = seen{src: src.Addr().Unmap(), via: r.Header.Get("Via")}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintln(w, "tprouter self-test")
}

// saw returns what the server saw on its address a.
func (o *origin) saw(a netip.Addr) (seen, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s, ok := o.seen[a]
	return s, ok
}

func (o *origin) close() { o.srv.Close() }
