package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tprouter/internal/pipes"
)

// relayEnv switches this executable (the bench program or its test binary)
// into the built-in relay, with the listening port as its value. The relay
// is the reference for what a proxy costs at the very least: a TPROXY
// listener, a spoofed upstream connection per client connection, and
// splice(2) both ways. It knows nothing of HTTP. The test uses it when
// tprouter's proxy does not build.
const relayEnv = "TPROUTER_BENCH_RELAY"

// relayMain serves the relay until killed; it never returns.
func relayMain(port string) {
	if _, err := strconv.Atoi(port); err != nil {
		log.Fatalf("relay: %s=%q: not a port", relayEnv, port)
	}
	lc := net.ListenConfig{Control: transparent}
	ln, err := lc.Listen(context.Background(), "tcp", ":"+port)
	if err != nil {
		log.Fatalf("relay: listen tcp :%s: %v", port, err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Printf("relay: accept: %v", err)
			time.Sleep(10 * time.Millisecond) // EMFILE and friends persist
			continue
		}
		go relay(c.(*net.TCPConn))
	}
}

// relay connects to the client's original destination (the accepted
// socket's local address) from the client's own address and pumps both
// ways, passing half-closes on.
func relay(c *net.TCPConn) {
	defer c.Close()
	client := c.RemoteAddr().(*net.TCPAddr)
	d := net.Dialer{
		LocalAddr: &net.TCPAddr{IP: client.IP},
		Control:   transparent,
	}
	u, err := d.Dial("tcp", c.LocalAddr().String())
	if err != nil {
		log.Printf("relay: dial %s from %s: %v", c.LocalAddr(), client.IP, err)
		return
	}
	up := u.(*net.TCPConn)
	defer up.Close()
	done := make(chan struct{})
	go func() {
		pump(up, c)
		up.CloseWrite()
		close(done)
	}()
	pump(c, up)
	c.CloseWrite()
	<-done
}

// pump splices src to dst until EOF or an error. It does not use io.Copy:
// the runtime's splice path takes a pipe (two descriptors, and up to 64 KiB
// of kernel buffer) before it waits for data and keeps it while the
// connection idles, so 10,000 idle connections would hold 20,000 pipes.
// pump waits for data first and holds a pipe only while bytes move.
func pump(dst, src *net.TCPConn) error {
	srcRC, err := src.SyscallConn()
	if err != nil {
		return err
	}
	dstRC, err := dst.SyscallConn()
	if err != nil {
		return err
	}
	var peek [1]byte
	for {
		// Wait until src is readable (or at EOF) without a pipe.
		var n int
		var serr error
		err := srcRC.Read(func(fd uintptr) bool {
			n, _, serr = unix.Recvfrom(int(fd), peek[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
			return serr != unix.EAGAIN
		})
		if err != nil {
			return err
		}
		if serr != nil {
			return serr
		}
		if n == 0 {
			return nil // EOF
		}
		p, err := pipes.Get()
		if err != nil {
			return err
		}
		err = spliceOnce(dstRC, srcRC, p)
		pipes.Put(p, err == nil)
		if err != nil {
			return err
		}
	}
}

// spliceOnce moves what src has ready (up to a pipe's worth) to dst
// through p, leaving p empty on success.
func spliceOnce(dstRC, srcRC syscall.RawConn, p pipes.Pipe) error {
	const flags = unix.SPLICE_F_MOVE | unix.SPLICE_F_NONBLOCK
	var n int64
	var serr error
	err := srcRC.Read(func(fd uintptr) bool {
		n, serr = unix.Splice(int(fd), nil, p.W, nil, pipes.Size, flags)
		return serr != unix.EAGAIN
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("splice from socket: %w", err)
	}
	for n > 0 {
		var m int64
		err := dstRC.Write(func(fd uintptr) bool {
			m, serr = unix.Splice(p.R, nil, int(fd), nil, int(n), flags)
			return serr != unix.EAGAIN
		})
		if err == nil {
			err = serr
		}
		if err != nil {
			return fmt.Errorf("splice to socket: %w", err)
		}
		n -= m
	}
	return nil
}

// transparent marks a socket IP_TRANSPARENT (IPV6_TRANSPARENT for IPv6),
// which a TPROXY listener needs and which lets a dialer bind the client's
// address. IP_BIND_ADDRESS_NO_PORT defers the port choice to connect(2),
// which then only needs the 4-tuple to be unique; without it the many
// short connections of the connection-rate workload run out of ports.
func transparent(network, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		if network == "tcp6" {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_TRANSPARENT, 1)
		} else {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_TRANSPARENT, 1)
		}
		if serr != nil {
			serr = fmt.Errorf("setsockopt transparent (%s): %w", network, serr)
			return
		}
		if err := unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil {
			fmt.Fprintf(os.Stderr, "relay: setsockopt IP_BIND_ADDRESS_NO_PORT: %v\n", err)
		}
	})
	return errors.Join(err, serr)
}
