package e2e

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"tprouter/qemu/lab"
)

// originName is the name the lab's HTTPS origin has a certificate for.
const originName = "origin.example"

// checkTLS checks that HTTPS through the router is spliced from the
// client's address with its server name in the access log, and that
// QUIC (UDP 443) is answered with port unreachable and counted.
func checkTLS(t *testing.T, l *lab.Lab, o *lab.Origin) {
	t.Run("TLS", func(t *testing.T) {
		for _, dst := range []string{"198.51.100.2:443", "[2001:db8:2::2]:443"} {
			got := fetchTLS(t, l.Client, o, dst)
			want := lab.ClientV4
			if strings.HasPrefix(dst, "[") {
				want = slaacAddr(t, l.Client)
			}
			if got != want {
				t.Errorf("%s: the origin saw %s, want the client's own %s", dst, got, want)
			}
		}
		log := accessLog(t, l.Client, " CONNECT "+originName+":443 ")
		if !strings.Contains(log, " TCP_TUNNEL/200 ") || !strings.Contains(log, " CONNECT "+originName+":443 - ORIGINAL_DST/198.51.100.2 ") {
			t.Errorf("access log lacks the spliced TLS connection with its SNI:\n%s", log)
		}
	})
	t.Run("QUIC", func(t *testing.T) {
		for _, dst := range []string{"198.51.100.2:443", "[2001:db8:2::2]:443"} {
			if err := quicProbe(l.Client, dst); !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("UDP to %s: %v, want port unreachable (connection refused)", dst, err)
			}
		}
		m := get(t, l.Client, "http://192.0.2.1:9090/metrics")
		if strings.Contains(m, "\ntprouter_quic_blocked_packets_total 0\n") || !strings.Contains(m, "\ntprouter_quic_blocked_packets_total ") {
			t.Errorf("metrics do not count the blocked QUIC packets:\n%s", grepLines(m, "quic"))
		}
		checkMetrics(t, m)
	})
}

// fetchTLS GETs / over TLS from ns to dst with the origin's name as SNI
// (retrying for a while) and returns the address the origin saw.
func fetchTLS(t *testing.T, ns *lab.NS, o *lab.Origin, dst string) netip.Addr {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		body, err := tryTLS(ns, o, dst)
		if err == nil {
			ap, err := netip.ParseAddrPort(body)
			if err != nil {
				t.Fatalf("TLS %s: the origin answered %q: %v", dst, body, err)
			}
			return ap.Addr()
		}
		if time.Now().After(deadline) {
			t.Fatalf("TLS %s: %v", dst, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func tryTLS(ns *lab.NS, o *lab.Origin, dst string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := ns.DialContext(ctx, "tcp", dst)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := tls.Client(nc, o.Client(originName))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+originName+"\r\nConnection: close\r\n\r\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return "", err
	}
	_, body, ok := strings.Cut(string(b), "\r\n\r\n")
	if !strings.HasPrefix(string(b), "HTTP/1.1 200 ") || !ok {
		return "", errors.New("not a 200 response: " + string(b))
	}
	return body, nil
}

// quicProbe sends a datagram to UDP dst from ns and returns the error of
// the read that follows: ECONNREFUSED when an ICMP port unreachable came.
func quicProbe(ns *lab.NS, dst string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := ns.DialContext(ctx, "udp", dst)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte("\xc0QUIC initial, or so")); err != nil {
		return err
	}
	_, err = c.Read(make([]byte, 64))
	return err
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
