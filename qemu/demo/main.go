// Command demo is `make demo`: it boots the tprouter image in QEMU between
// a LAN client and a WAN server (network namespaces on this machine),
// then has the client fetch pages over IPv4 and IPv6 and shows what the
// server saw and what the proxy logged, until Ctrl-C, which removes
// everything it created. It needs root.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"tprouter/qemu"
	"tprouter/qemu/lab"
)

// cmdline makes the VM a routed (no NAT) intercepting router on the lab's
// documentation prefixes; the client takes its IPv6 address from the
// router's advertisements.
const cmdline = "tprouter.wan.addr=198.51.100.1/24,2001:db8:2::1/64 " +
	"tprouter.lan.addr=192.0.2.1/24,2001:db8:1::1/64 tprouter.nat=off"

func main() {
	image := flag.String("image", "build/qemu-x86_64", "image directory (make image)")
	rounds := flag.Int("rounds", 0, "stop after this many rounds of fetches (0: until Ctrl-C)")
	every := flag.Duration("every", 3*time.Second, "time between rounds")
	console := flag.Bool("console", false, "show the router's whole console, not only init's lines")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "demo: needs root (network namespaces, tap devices): sudo make demo")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *image, *rounds, *every, *console); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	fmt.Println("demo: removed the namespaces and the VM")
}

// run builds the lab, boots the router and shows rounds of fetches until
// ctx ends (Ctrl-C) or rounds are done. Whatever happens, the VM, the
// server and the namespaces are gone when it returns.
func run(ctx context.Context, image string, rounds int, every time.Duration, all bool) (err error) {
	l, err := lab.Make(lab.Options{})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, l.Close()) }()
	srv, err := setUp(l)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Printf("lab: client %s (LAN) ── eth1 [tprouter VM] eth0 ── server %s (WAN)\n", l.Client.Name, l.Server.Name)

	vm, err := boot(ctx, l, image, all)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Println("\n==> Ctrl-C: stopping")
			return nil
		}
		return err
	}
	defer vm.Close()
	waitRA(ctx, l.Client)
	return show(ctx, vm, l.Client, rounds, every)
}

// setUp prepares the client to take its IPv6 address from the router's
// advertisements and starts the server, which answers with the client's
// address as it sees it.
func setUp(l *lab.Lab) (*http.Server, error) {
	if _, err := l.Client.IPErr("-6", "addr", "flush", "dev", lab.ClientIf, "scope", "global"); err != nil {
		return nil, err
	}
	if _, err := l.Client.IPErr("-6", "route", "flush", "default"); err != nil {
		return nil, err
	}
	for _, key := range []string{"accept_ra", "autoconf"} {
		if err := l.Client.SysctlErr("net/ipv6/conf/"+lab.ClientIf+"/"+key, "1"); err != nil {
			return nil, err
		}
	}
	srv, _, err := l.Server.ServeHTTPErr(":80", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s", r.RemoteAddr)
	}))
	return srv, err
}

// boot starts the VM between the lab's server (eth0, WAN) and client
// (eth1, LAN) and waits until the router is ready.
func boot(ctx context.Context, l *lab.Lab, image string, all bool) (*qemu.VM, error) {
	pr, pw := io.Pipe()
	go showConsole(pr, all)
	vm, err := qemu.Start(ctx, qemu.Options{
		Image:   image,
		Cmdline: cmdline,
		NICs:    []qemu.NIC{{NS: l.Server}, {NS: l.Client}},
		Output:  pw,
		Timeout: 24 * time.Hour,
	})
	if err != nil {
		return nil, err
	}
	fmt.Printf("qemu: booting %s (software emulation%s)\n", image, map[bool]string{true: ", KVM"}[qemu.KVM()])
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	d, err := vm.Wait(wctx, "tprouter: ready")
	cancel()
	if err != nil {
		vm.Close()
		return nil, fmt.Errorf("waiting for the router: %w (console: %s)", err, vm.ConsoleFile())
	}
	fmt.Printf("\n==> router ready %.1f s after QEMU started\n", d.Seconds())
	return vm, nil
}

// waitRA waits up to 30 s, or until ctx ends, for the client's IPv6
// default route: the client forms its address and route from the router's
// first advertisements, a moment after ready.
func waitRA(ctx context.Context, client *lab.NS) {
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end) && ctx.Err() == nil; time.Sleep(250 * time.Millisecond) {
		routes, err := client.IPErr("-6", "route", "show", "default")
		if err == nil && strings.Contains(routes, "via fe80:") {
			return
		}
	}
}

// show has the client fetch a page from the server over IPv4 and IPv6
// every so often and prints what the server saw and what the proxy
// logged, until ctx ends, QEMU exits or rounds (0: no limit) are done.
func show(ctx context.Context, vm *qemu.VM, client *lab.NS, rounds int, every time.Duration) error {
	c := client.HTTPClient()
	seen := 0 // access log lines already shown
	for i := 1; rounds == 0 || i <= rounds; i++ {
		fmt.Printf("\n==> round %d\n", i)
		for _, url := range []string{"http://198.51.100.2/", "http://[2001:db8:2::2]/"} {
			body, err := get(c, url)
			if err != nil {
				fmt.Printf("client GET %-26s failed: %v\n", url, err)
				continue
			}
			fmt.Printf("client GET %-26s server saw the client as %s\n", url, body)
		}
		seen = showAccessLog(c, seen)
		select {
		case <-ctx.Done():
			fmt.Println("\n==> Ctrl-C: stopping")
			return nil
		case <-vm.Done():
			if ctx.Err() != nil { // Ctrl-C reached QEMU too
				fmt.Println("\n==> Ctrl-C: stopping")
				return nil
			}
			return fmt.Errorf("QEMU exited: %v", vm.Err())
		case <-time.After(every):
		}
	}
	return nil
}

// showAccessLog prints the proxy's access log lines after the first seen,
// read from the status endpoint, and returns how many there are now.
func showAccessLog(c *http.Client, seen int) int {
	log, err := get(c, "http://192.0.2.1:9090/access.log")
	if err != nil {
		fmt.Printf("proxy access log: %v\n", err)
		return seen
	}
	lines := strings.Split(strings.TrimSpace(log), "\n")
	if seen > len(lines) {
		seen = 0 // the proxy restarted
	}
	for _, line := range lines[seen:] {
		fmt.Printf("proxy access.log: %s\n", line)
	}
	return len(lines)
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s", resp.Status)
	}
	return string(b), err
}

// showConsole prints the router's console lines: all of them, or only
// init's (the kernel's boot messages are long, and the proxy's access log
// lines are shown per round).
func showConsole(r io.Reader, all bool) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		line := s.Text()
		if all || strings.Contains(line, " init: ") {
			fmt.Println("router |", line)
		}
	}
}
