package trip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"syscall"
	"time"

	"tprouter/init/config"
	"tprouter/init/selftest"
)

// Result is one check's outcome: the self-test's own type, so that
// Run is Tester.RoundTrip as it stands.
type Result = selftest.Result

// Config is what Run needs of the router's configuration.
type Config struct {
	Port      uint16 // the port the client connects to: an intercepted one
	ProxyPort uint16 // the proxy's, for the diagnoses
	Mark      uint32 // the firewall's mark, for the diagnoses
	// ClientNS and ServerNS name the namespaces; empty: the defaults.
	ClientNS, ServerNS string
}

// FromNetwork returns the Config for n: port 80 if intercepted, else the
// first intercepted port.
func FromNetwork(n config.Network) Config {
	c := Config{Port: 80, ProxyPort: n.ProxyPort, Mark: n.Mark}
	if len(n.Intercept) > 0 && !slices.Contains(n.Intercept, 80) {
		c.Port = n.Intercept[0]
	}
	return c
}

// DefaultTimeout bounds Run when ctx has no deadline.
const DefaultTimeout = 10 * time.Second

// Run makes the round trip over IPv4 ("roundtrip4") and IPv6
// ("roundtrip6") and removes what it made before returning.
func Run(ctx context.Context, c Config) []Result {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	c.ClientNS = orDefault(c.ClientNS, ClientNS)
	c.ServerNS = orDefault(c.ServerNS, ServerNS)
	fail := func(detail, fix string) []Result {
		return []Result{{Check: "roundtrip4", Detail: detail, Fix: fix}, {Check: "roundtrip6", Detail: detail, Fix: fix}}
	}
	e, err := setup(c.ClientNS, c.ServerNS)
	if err != nil {
		return fail("could not make the synthetic client and server: "+err.Error(), "the kernel needs network namespaces and veth (module veth)")
	}
	defer e.teardown()
	o, err := serve(e.server, c.Port, server.ns4.Addr(), server.ns6.Addr())
	if err != nil {
		return fail(err.Error(), "")
	}
	defer o.close()
	return []Result{
		c.trip(ctx, e, o, "roundtrip4", client.ns4.Addr(), server.ns4.Addr()),
		c.trip(ctx, e, o, "roundtrip6", client.ns6.Addr(), server.ns6.Addr()),
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// trip sends one GET from the client at src to the server at dst and
// judges what each side saw.
func (c Config) trip(ctx context.Context, e *env, o *origin, check string, src, dst netip.Addr) Result {
	r := Result{Check: check}
	to := netip.AddrPortFrom(dst, c.Port)
	status, err := get(ctx, e, to)
	saw, reached := o.saw(dst)
	switch {
	case reached && saw.via == "":
		r.Detail = fmt.Sprintf("GET %v from %v reached the server without Via: not intercepted, forwarded untouched (fail open)", to, src)
		r.Fix = fmt.Sprintf("the proxy must listen on :%d with IP_TRANSPARENT, and the firewall's tproxy rule must divert port %d (nft list table inet tprouter)", c.ProxyPort, c.Port)
	case reached && saw.src != src:
		r.Detail = fmt.Sprintf("GET %v through the proxy (%s) reached the server from %v, not from the client's %v: not spoofed", to, saw.via, saw.src, src)
		r.Fix = "the proxy needs -spoof=true and CAP_NET_ADMIN for IP_TRANSPARENT on its upstream sockets"
	case reached && err != nil:
		r.Detail = fmt.Sprintf("GET %v reached the server through the proxy (%s), but its response did not come back: %v", to, saw.via, err)
		r.Fix = c.fixRouting()
	case reached && status != http.StatusOK:
		r.Detail = fmt.Sprintf("GET %v reached the server through the proxy, which answered %d", to, status)
	case reached:
		r.OK, r.Detail = true, fmt.Sprintf("GET %v from %v: the server saw the client's address and Via %q", to, src, saw.via)
	case errors.Is(err, syscall.ECONNREFUSED):
		r.Detail = fmt.Sprintf("GET %v from %v: connection refused: diverted but no proxy took it (fail closed)", to, src)
		r.Fix = fmt.Sprintf("start the proxy; it must listen on :%d with IP_TRANSPARENT, both families", c.ProxyPort)
	case err != nil:
		r.Detail = fmt.Sprintf("GET %v from %v: no connection: %v", to, src, err)
		r.Fix = "interception is not working: " + c.fixRouting()
	default:
		r.Detail = fmt.Sprintf("GET %v from %v: the proxy answered %d and the server saw nothing: the proxy could not connect from the client's address", to, src, status)
		r.Fix = "the proxy needs CAP_NET_ADMIN (IP_TRANSPARENT) to connect from the client's address, and the divert rule must deliver the server's replies; " + c.fixRouting()
	}
	return r
}

func (c Config) fixRouting() string {
	return fmt.Sprintf("check the divert rule (socket transparent ... meta mark set 0x%x) and the tproxy rule in table inet tprouter, "+
		"and the policy routing (ip rule fwmark 0x%x, local default route in its table, both families)", c.Mark, c.Mark)
}

// get sends GET to dst from the client namespace and returns the status.
func get(ctx context.Context, e *env, dst netip.AddrPort) (int, error) {
	tr := &http.Transport{DisableKeepAlives: true, Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (conn net.Conn, err error) {
			err = inNS(e.client, func() error {
				// The socket is made on this thread, in the client
				// namespace, and keeps it.
				conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return err
			})
			return conn, err
		}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+dst.String()+"/tprouter-selftest", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "tprouter-selftest")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, unwrap(err)
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// unwrap drops net/http's "Get "url": " around err.
func unwrap(err error) error {
	if u, ok := errors.AsType[*url.Error](err); ok {
		return u.Err
	}
	return err
}
