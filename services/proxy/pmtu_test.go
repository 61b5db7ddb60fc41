package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"tprouter/qemu/lab"
)

// TestUploadOverSmallerPathMTU: a server behind a hop whose link takes
// 1280 bytes. The hop answers the proxy's full-size segments with ICMP
// "fragmentation needed" (IPv4) or "packet too big" (IPv6), addressed to
// the client, whose address the proxy's upstream connection has. The
// router must deliver those to the proxy's socket, not forward them to
// the client (who has no such connection): otherwise path MTU discovery
// fails for every intercepted connection and an upload stalls.
func TestUploadOverSmallerPathMTU(t *testing.T) {
	t.Parallel()
	r := start(t)
	far := r.AddFar(t, 1280)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n, _ := io.Copy(io.Discard, req.Body)
		fmt.Fprintf(w, "%d %s", n, req.RemoteAddr)
	})}
	go srv.Serve(far.Listen(t, "tcp", ":80"))
	t.Cleanup(func() { srv.Close() })

	body := bytes.Repeat([]byte("x"), 256<<10)
	for _, tc := range []struct {
		dst, client netip.Addr
	}{{lab.FarV4, lab.ClientV4}, {lab.FarV6, lab.ClientV6}} {
		c := r.Client.HTTPClient()
		c.Timeout = 10 * time.Second
		url := "http://" + netip.AddrPortFrom(tc.dst, 80).String() + "/"
		t0 := time.Now()
		resp, err := c.Post(url, "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Errorf("POST %d bytes to %s: %v after %v", len(body), url, err, time.Since(t0).Round(time.Millisecond))
			continue
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var n int
		var from string
		fmt.Sscanf(string(got), "%d %s", &n, &from)
		ap, _ := netip.ParseAddrPort(from)
		if resp.StatusCode != 200 || n != len(body) || ap.Addr() != tc.client {
			t.Errorf("POST to %s: %s %q, want 200 and %d bytes from %v", url, resp.Status, got, len(body), tc.client)
		}
	}
}
