// Command demo is `make demo`: it boots the tprouter image in QEMU between
// a LAN client and a WAN server (network namespaces on this machine),
// then has the client fetch pages over IPv4 and IPv6 and shows what the
// server saw and what the proxy logged, until Ctrl-C, which removes
// everything it created. It needs root.
package main

import (
	"bufio"
	"context"
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
	p := &lab.Program{}
	err := run(ctx, p, *image, *rounds, *every, *console)
	p.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	fmt.Println("demo: removed the namespaces and the VM")
}

func run(ctx context.Context, p *lab.Program, image string, rounds int, every time.Duration, all bool) error {
	var l *lab.Lab
	err := p.Try(func() {
		l = lab.New(p, lab.Options{})
		// The client's IPv6 address comes from the router's RAs.
		l.Client.IP(p, "-6", "addr", "flush", "dev", lab.ClientIf, "scope", "global")
		l.Client.IP(p, "-6", "route", "flush", "default")
		l.Client.Sysctl(p, "net/ipv6/conf/"+lab.ClientIf+"/accept_ra", "1")
		l.Client.Sysctl(p, "net/ipv6/conf/"+lab.ClientIf+"/autoconf", "1")
		l.Server.ServeHTTP(p, ":80", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s", r.RemoteAddr)
		}))
	})
	if err != nil {
		return err
	}
	fmt.Printf("lab: client %s (LAN) ── eth1 [tprouter VM] eth0 ── server %s (WAN)\n", l.Client.Name, l.Server.Name)

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
		return err
	}
	defer vm.Close()
	fmt.Printf("qemu: booting %s (software emulation%s)\n", image, map[bool]string{true: ", KVM"}[qemu.KVM()])
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	d, err := vm.Wait(wctx, "tprouter: ready")
	cancel()
	if err != nil {
		return fmt.Errorf("waiting for the router: %w (console: %s)", err, vm.ConsoleFile())
	}
	fmt.Printf("\n==> router ready %.1f s after QEMU started\n", d.Seconds())

	// The client forms its IPv6 address and default route from the
	// router's first advertisements, a moment after ready.
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		var routes string
		if p.Try(func() { routes = l.Client.IP(p, "-6", "route", "show", "default") }) == nil && strings.Contains(routes, "via fe80:") {
			break
		}
	}

	c := l.Client.HTTPClient()
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
		log, err := get(c, "http://192.0.2.1:9090/access.log")
		if err != nil {
			fmt.Printf("proxy access log: %v\n", err)
		} else {
			lines := strings.Split(strings.TrimSpace(log), "\n")
			if seen > len(lines) {
				seen = 0 // the proxy restarted
			}
			for _, line := range lines[seen:] {
				fmt.Printf("proxy access.log: %s\n", line)
			}
			seen = len(lines)
		}
		select {
		case <-ctx.Done():
			fmt.Println("\n==> Ctrl-C: stopping")
			return nil
		case <-vm.Done():
			return fmt.Errorf("QEMU exited: %v", vm.Err())
		case <-time.After(every):
		}
	}
	return nil
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
