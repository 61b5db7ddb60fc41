package main

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"tprouter/qemu/lab"
	"tprouter/services/internal/cli"
	"tprouter/services/proxy/accesslog"
	"tprouter/services/proxy/internal/tlsconn"
)

// tlsOrigin is a TLS server on port 443 of the server namespace (both
// families) with a certificate the test made. It counts the connections
// it accepts and answers each one's first line with "<sni> <client
// address> <line>".
type tlsOrigin struct {
	*lab.Origin
	accepts chanCounter
}

func (r *rig) serveTLS(t *testing.T, names ...string) *tlsOrigin {
	t.Helper()
	o := &tlsOrigin{Origin: lab.NewOrigin(t, names...)}
	ln := r.Server.Listen(t, "tcp", ":443")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			o.accepts.inc()
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				tlsconn.Echo(c, o.Config)
			}()
		}
	}()
	return o
}

// TestTLSSpliceLab: over IPv4 and IPv6, TLS connections on port 443 are
// spliced to the original destination from the client's address, also
// with a ClientHello sent a byte per segment, a 2,000-byte one in
// 300-byte records, and none with no SNI; the tls log format carries the
// SNI, ALPN and ECH fields.
func TestTLSSpliceLab(t *testing.T) {
	t.Parallel()
	r := startBoth(t, "-access-log-format", "tls")
	o := r.serveTLS(t, "www.example.com", "big.example.com")
	n := 0
	for _, fam := range []struct {
		server, client netip.Addr
	}{{lab.ServerV4, lab.ClientV4}, {lab.ServerV6, lab.ClientV6}} {
		dst := netip.AddrPortFrom(fam.server, 443)
		noSNI := o.Client("")
		noSNI.InsecureSkipVerify = true // nothing to verify a name against; the test's own origin
		for _, tc := range []struct {
			name string
			wrap func(net.Conn) net.Conn
			cfg  *tls.Config
			sni  string
			alpn string
		}{
			{"sni", nil, withALPN(o.Client("www.example.com"), "h2", "http/1.1"), "www.example.com", "h2,http/1.1"},
			{"byte per segment", func(c net.Conn) net.Conn { return &tlsconn.Slow{Conn: c, N: 2000} }, o.Client("www.example.com"), "www.example.com", "http/1.1"},
			{"2,000 bytes in 300-byte records", func(c net.Conn) net.Conn { return &tlsconn.Frag{Conn: c, Size: 300} }, tlsconn.Big(o.Client("big.example.com")), "big.example.com", ""},
			{"no SNI", nil, noSNI, "", "http/1.1"},
		} {
			c := r.dial(t, dst.String())
			if tc.wrap != nil {
				c = tc.wrap(c)
			}
			got, err := tlsconn.Ping(c, tc.cfg)
			if f, ok := c.(*tlsconn.Frag); ok && (f.Hello < 2000 || f.Records < 7) {
				t.Errorf("%v %s: the hello was %d bytes in %d records, want 2,000+ in 7+", dst, tc.name, f.Hello, f.Records)
			}
			from, _, _ := strings.Cut(strings.TrimPrefix(got, tc.sni+" "), " ")
			if ap, perr := netip.ParseAddrPort(from); err != nil || perr != nil || ap.Addr() != fam.client || !strings.HasPrefix(got, tc.sni+" ") {
				t.Errorf("%v %s: origin says %q (%v); want the SNI %q and the client %v", dst, tc.name, got, err, tc.sni, fam.client)
				continue
			}
			n++
			e := r.logLines(t, n)[n-1]
			url := tc.sni + ":443"
			if tc.sni == "" {
				url = dst.String()
			}
			line := string(accesslog.AppendTLS(nil, &e))
			if e.Client != fam.client || e.Code != "TCP_TUNNEL" || e.Status != 200 || string(e.Method) != "CONNECT" ||
				string(e.URL) != url || e.Hier != "ORIGINAL_DST" || e.Server != fam.server || e.Bytes < 500 ||
				e.SNI != tc.sni || tc.alpn != "" && strings.Join(e.ALPN, ",") != tc.alpn || e.ECH != accesslog.ECHAbsent {
				t.Errorf("%v %s: log line %q", dst, tc.name, line)
			}
		}
	}
	if got := o.accepts.get(); got != 8 {
		t.Errorf("the origin accepted %d connections, want 8", got)
	}
	if v := r.metric(t, "tprouter_proxy_tls_connections_total"); v != "8" {
		t.Errorf("tprouter_proxy_tls_connections_total %s, want 8", v)
	}
	if v := r.metric(t, "tprouter_proxy_tls_hello_seconds_count"); v != "8" {
		t.Errorf("tprouter_proxy_tls_hello_seconds_count %s, want 8", v)
	}
	text := r.fetch(t, "/access.log")
	if !strings.Contains(text, " CONNECT www.example.com:443 - ORIGINAL_DST/198.51.100.2 - www.example.com h2,http/1.1 0\n") ||
		!strings.Contains(text, " CONNECT [2001:db8:2::2]:443 - ORIGINAL_DST/2001:db8:2::2 - - http/1.1 0\n") {
		t.Errorf("/access.log in the tls format:\n%s", text)
	}
}

func withALPN(c *tls.Config, alpn ...string) *tls.Config {
	c.NextProtos = alpn
	return c
}

// TestTLSDeniedLab: a denied SNI gets an access_denied alert (the client's
// error says so) and no connection reaches the origin; an allowed one on
// the same proxy is spliced. Logged as Squid logs a denied CONNECT.
func TestTLSDeniedLab(t *testing.T) {
	t.Parallel()
	if _, err := parseFlags([]string{"-deny-names", ".ads.example.com"}); err != nil {
		t.Fatalf("-deny-names (the http branch's flag) is not in this build: %v", err)
	}
	r := startBoth(t, "-deny-names", ".ads.example.com")
	o := r.serveTLS(t, "ads.example.com", "www.example.com")
	for _, dst := range []string{"198.51.100.2:443", "[2001:db8:2::2]:443"} {
		_, err := tlsconn.Ping(r.dial(t, dst), o.Client("tracker.ads.example.com"))
		if err == nil || !strings.Contains(err.Error(), "access denied") {
			t.Errorf("%s: a denied name: %v, want the access_denied alert", dst, err)
		}
	}
	if got := o.accepts.get(); got != 0 {
		t.Errorf("%d connections reached the origin for denied names, want 0", got)
	}
	if _, err := tlsconn.Ping(r.dial(t, "198.51.100.2:443"), o.Client("www.example.com")); err != nil {
		t.Errorf("an allowed name: %v", err)
	}
	es := r.logLines(t, 3)
	for i, e := range es[:2] {
		if e.Code != "TCP_DENIED" || e.Status != 200 || e.Bytes != 0 || string(e.URL) != "tracker.ads.example.com:443" ||
			e.Hier != "HIER_NONE" || e.Server.IsValid() || string(e.MIME) != "" {
			t.Errorf("line %d: %s", i, accesslog.Append(nil, &e))
		}
	}
	if v := r.metric(t, `tprouter_proxy_denied_total{proto="tls"}`); v != "2" {
		t.Errorf(`tprouter_proxy_denied_total{proto="tls"} %s, want 2`, v)
	}
}

func TestAccessLogFormatFlag(t *testing.T) {
	c, err := parseFlags(nil)
	if err != nil || c.logFormat != accesslog.FormatSquid {
		t.Errorf("default -access-log-format: %v, %v; want squid", c.logFormat, err)
	}
	if c, err = parseFlags([]string{"-access-log-format", "tls"}); err != nil || c.logFormat != accesslog.FormatTLS {
		t.Errorf("-access-log-format tls: %v, %v", c.logFormat, err)
	}
	var out bytes.Buffer
	if code := run([]string{"-access-log-format", "combined"}, &out); code != cli.ExitUsage || !strings.Contains(out.String(), "access-log-format") {
		t.Errorf("-access-log-format combined: exit %d, %q; want %d naming the flag", code, out.String(), cli.ExitUsage)
	}
}
