package selftest

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tprouter/qemu/lab"
	"tprouter/qemu/labproc"
)

// TestMain runs the test binary as a stand-in proxy when its first
// argument is "proxy-helper" (see startProxy).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "proxy-helper" {
		if err := proxyHelper(os.Args[2:]); err != nil {
			fmt.Println("proxy-helper:", err)
			os.Exit(1)
		}
		select {} // killed by the test
	}
	os.Exit(m.Run())
}

// proxyHelper listens on port (args[0]) in both families, with
// IP_TRANSPARENT unless args[1] is "plain", and then drops every
// capability (setuid to nobody, all threads) when args[2] is "nocap".
func proxyHelper(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: proxy-helper <port> transparent|plain cap|nocap")
	}
	for _, fam := range []struct{ network, addr string }{{"tcp4", "0.0.0.0"}, {"tcp6", "[::]"}} {
		lc := net.ListenConfig{Control: func(network, _ string, c syscall.RawConn) error {
			var err error
			c.Control(func(fd uintptr) {
				if args[1] == "plain" {
					return
				}
				if network == "tcp6" {
					err = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_TRANSPARENT, 1)
				} else {
					err = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_TRANSPARENT, 1)
				}
			})
			return err
		}}
		ln, err := lc.Listen(context.Background(), fam.network, fam.addr+":"+args[0])
		if err != nil {
			return err
		}
		held = append(held, ln) // open until the process is killed
	}
	if args[2] == "nocap" {
		if err := syscall.Setuid(65534); err != nil {
			return fmt.Errorf("setuid: %w", err)
		}
	}
	fmt.Printf("listening pid=%d\n", os.Getpid())
	return nil
}

// held keeps the helper's listeners open.
var held []net.Listener

// startProxy runs the helper in ns and returns its pid.
func startProxy(t *testing.T, ns *lab.NS, port uint16, mode, caps string) int {
	t.Helper()
	p := labproc.Start(t, ns, os.Args[0], "proxy-helper", strconv.Itoa(int(port)), mode, caps)
	p.WaitLog(t, "listening pid=", 10*time.Second)
	_, s, _ := strings.Cut(p.Log(), "listening pid=")
	pid, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("helper's pid in %q: %v", p.Log(), err)
	}
	return pid
}
