// Command demo is `make demo`: it boots the tprouter image in QEMU between
// a LAN client and a WAN server (network namespaces on this machine),
// then has the client fetch pages over IPv4 and IPv6 and shows what the
// server saw and what the proxy logged, until Ctrl-C, which removes
// everything it created. It needs root. With -disk it boots the disk image
// to flash instead (make disk), under UEFI as a router box does; a copy of
// it, so that the image stays as built.
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
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"tprouter/image/disk"
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
	diskImg := flag.String("disk", "", "boot this disk image (make disk: build/qemu-x86_64/tprouter.img) under UEFI instead of -image")
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
	src := source{image: *image, disk: *diskImg}
	if err := run(ctx, src, *rounds, *every, *console); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	fmt.Println("demo: removed the namespaces and the VM")
}

// source is what the VM boots: an image directory, or a disk image
// through a copy of it.
type source struct{ image, disk, copy string }

// run builds the lab, boots the router and shows rounds of fetches until
// ctx ends (Ctrl-C) or rounds are done. Whatever happens, the VM, the
// server and the namespaces are gone when it returns.
func run(ctx context.Context, src source, rounds int, every time.Duration, all bool) (err error) {
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
	if src.disk != "" {
		dir, err := os.MkdirTemp("", "tprouter-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		src.copy = filepath.Join(dir, disk.FileName)
		if err := disk.Copy(src.copy, src.disk); err != nil {
			return err
		}
	}
	fmt.Printf("lab: client %s (LAN) ── eth1 [tprouter VM] eth0 ── server %s (WAN)\n", l.Client.Name, l.Server.Name)

	vm, err := boot(ctx, l, src, all)
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
func boot(ctx context.Context, l *lab.Lab, src source, all bool) (*qemu.VM, error) {
	o := qemu.Options{
		Image:   src.image,
		Cmdline: cmdline,
		NICs:    []qemu.NIC{{NS: l.Server}, {NS: l.Client}},
		Timeout: 24 * time.Hour,
	}
	what := src.image
	if src.disk != "" {
		o.Image, o.Disk = "", src.copy
		what = src.disk + " under UEFI"
	}
	pr, pw := io.Pipe()
	go showConsole(pr, all)
	o.Output = pw
	vm, err := qemu.Start(ctx, o)
	if err != nil {
		return nil, err
	}
	fmt.Printf("qemu: booting %s (software emulation%s)\n", what, map[bool]string{true: ", KVM"}[qemu.KVM()])
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if src.disk != "" {
		d, err := vm.Wait(wctx, qemu.FirmwareBoots)
		if err != nil {
			vm.Close()
			return nil, fmt.Errorf("waiting for the firmware to start the boot loader: %w (console: %s)", err, vm.ConsoleFile())
		}
		fmt.Printf("\n==> the firmware started the boot loader %.1f s after QEMU started\n", d.Seconds())
	}
	d, err := vm.Wait(wctx, "tprouter: ready")
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
