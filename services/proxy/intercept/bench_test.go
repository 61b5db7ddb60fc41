package intercept

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// The benchmarks put a client, the proxy and an origin in one process on
// loopback. Client and origin are allocation-free loops, so allocs/op is
// the proxy's own.

// fixedOrigin answers every request head on a connection with resp.
func fixedOrigin(b *testing.B, resp []byte) *origin {
	return rawOrigin(b, func(c net.Conn) {
		c.SetDeadline(time.Time{})
		buf := make([]byte, 16<<10)
		n := 0
		for {
			m, err := c.Read(buf[n:])
			if err != nil {
				return
			}
			n += m
			for {
				i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
				if i < 0 {
					break
				}
				if _, err := c.Write(resp); err != nil {
					return
				}
				n = copy(buf, buf[i+4:n])
			}
		}
	})
}

// roundTrip writes req and reads one response whose body has bodyLen
// bytes, into buf.
func roundTrip(c net.Conn, req, buf []byte, bodyLen int) error {
	if _, err := c.Write(req); err != nil {
		return err
	}
	n, want := 0, -1
	for want < 0 || n < want {
		if n == len(buf) {
			return fmt.Errorf("response longer than %d bytes", len(buf))
		}
		m, err := c.Read(buf[n:])
		if err != nil {
			return err
		}
		n += m
		if want < 0 {
			if i := bytes.Index(buf[:n], []byte("\r\n\r\n")); i >= 0 {
				want = i + 4 + bodyLen
			}
		}
	}
	return nil
}

func response(body int) []byte {
	return []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nServer: bench\r\n\r\n%s",
		body, strings.Repeat("x", body)))
}

var benchReq = []byte("GET /bench HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")

func BenchmarkKeepAlive1KiB(b *testing.B) {
	o := fixedOrigin(b, response(1024))
	h := newProxy(b, o.addr, withTop) // as in production
	c := h.dial(b)
	c.SetDeadline(time.Time{})
	buf := make([]byte, 8<<10)
	for i := 0; i < 100; i++ { // warm the pools
		if err := roundTrip(c, benchReq, buf, 1024); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := roundTrip(c, benchReq, buf, 1024); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeepAlive1KiBParallel(b *testing.B) {
	o := fixedOrigin(b, response(1024))
	h := newProxy(b, o.addr, withTop) // as in production
	b.ReportAllocs()
	b.SetParallelism(25) // 50 connections on 2 CPUs, as the wrk benchmark
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		buf := make([]byte, 8<<10)
		for pb.Next() {
			if err := roundTrip(c, benchReq, buf, 1024); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func Benchmark1MiB(b *testing.B) {
	const size = 1 << 20
	o := fixedOrigin(b, response(size))
	h := newProxy(b, o.addr)
	c := h.dial(b)
	c.SetDeadline(time.Time{})
	buf := make([]byte, 64<<10)
	get := func() error {
		if _, err := c.Write(benchReq); err != nil {
			return err
		}
		// The head arrives in the first read: the origin writes it with
		// the body's start, and the proxy forwards them together.
		n, want := 0, -1
		for want < 0 || n < want {
			m, err := c.Read(buf)
			if err != nil {
				return err
			}
			if want < 0 {
				i := bytes.Index(buf[:m], []byte("\r\n\r\n"))
				if i < 0 {
					return fmt.Errorf("no head in the first %d bytes", m)
				}
				want = i + 4 + size
			}
			n += m
		}
		if n != want {
			return fmt.Errorf("read %d bytes, want %d", n, want)
		}
		return nil
	}
	for i := 0; i < 5; i++ {
		if err := get(); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := get(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewConnection(b *testing.B) {
	o := fixedOrigin(b, response(1024))
	h := newProxy(b, o.addr)
	req := []byte("GET /bench HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
	buf := make([]byte, 8<<10)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if err := roundTrip(c, req, buf, 1024); err != nil {
			b.Fatal(err)
		}
		c.Close() // as wrk does: first, so the proxy keeps no TIME_WAIT
	}
}
