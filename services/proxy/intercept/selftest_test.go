package intercept

import (
	"bufio"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// TestSelfTestNet: a transaction from a SelfTestNet client is counted, not
// logged; with the client outside every prefix it is logged as usual.
func TestSelfTestNet(t *testing.T) {
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	for _, tc := range []struct {
		net    string
		logged bool
	}{{"127.0.0.0/8", false}, {"198.18.0.0/15", true}} {
		h := newProxy(t, o.addr, func(s *Server) { s.SelfTestNet = []netip.Prefix{netip.MustParsePrefix(tc.net)} })
		c := h.dial(t)
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if resp, body := get(t, bufio.NewReader(c), "GET"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("%s: %d %q, want 200 ok", tc.net, resp.StatusCode, body)
		}
		c.Close()
		h.s.Shutdown(t.Context())
		var m strings.Builder
		h.s.Stats.WritePrometheus(&m)
		n, want := len(h.lines(t)), "tprouter_selftest_requests_total 1\n"
		if tc.logged {
			want = "tprouter_selftest_requests_total 0\n"
		}
		if (n == 1) != tc.logged || !strings.Contains(m.String(), want) {
			t.Errorf("SelfTestNet %s: %d access log lines, metrics have %q: %v; want logged %v", tc.net, n, want, strings.Contains(m.String(), want), tc.logged)
		}
	}
}
