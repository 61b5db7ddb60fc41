package main

import (
	"debug/elf"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tprouter/qemu/lab"
)

// fakeProxyEnv makes the test binary act as the proxy that init starts.
const fakeProxyEnv = "INIT_TEST_FAKE_PROXY"

var initBin string // init, built once with CGO_ENABLED=0

func TestMain(m *testing.M) {
	if os.Getenv(fakeProxyEnv) != "" {
		fakeProxy()
		return
	}
	dir, err := os.MkdirTemp("", "init-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	initBin = filepath.Join(dir, "init")
	cmd := exec.Command("go", "build", "-o", initBin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "CGO_ENABLED=0 go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fakeProxy stands in for services/proxy: it reports how init started it,
// listens where it is told, exits once after a moment (so the test sees a
// restart), and then runs until SIGTERM.
func fakeProxy() {
	status, _ := os.ReadFile("/proc/self/status")
	var ids []string
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "Uid:") || strings.HasPrefix(l, "CapAmb:") {
			ids = append(ids, strings.Join(strings.Fields(l), " "))
		}
	}
	fmt.Printf("fake proxy %s; %s\n", strings.Join(os.Args[1:], " "), strings.Join(ids, "; "))
	listen := ":3129"
	for _, a := range os.Args[1:] {
		if v, ok := strings.CutPrefix(a, "-listen="); ok {
			listen = v
		}
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	defer l.Close()
	runs := "/tmp/fake-proxy-runs" // init's own /tmp
	f, _ := os.OpenFile(runs, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o666)
	f.Write([]byte{'x'})
	st, _ := f.Stat()
	if st != nil && st.Size() == 1 {
		time.Sleep(500 * time.Millisecond)
		fmt.Println("fake proxy: crashing on purpose")
		os.Exit(3)
	}
	time.Sleep(time.Hour)
}

// TestStaticBuild checks that init builds into a static binary, as an
// initramfs without a dynamic loader needs.
func TestStaticBuild(t *testing.T) {
	f, err := elf.Open(initBin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("init has a %v program header: not static", p.Type)
		}
	}
}

func TestNotPID1(t *testing.T) {
	out, err := exec.Command(initBin).CombinedOutput()
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "not PID 1") {
		t.Errorf("init as an ordinary process: %v\n%s", err, out)
	}
}

func errorsAs(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}

// TestBootAsPID1 boots the real init as PID 1 of new PID, mount, UTS,
// network and IPC namespaces on this machine's kernel, with a command line
// and a console of the test's making, a veth pair for eth0 and eth1,
// and the test binary as the proxy. It waits for `tprouter: ready`, sees
// the proxy restarted after it crashes, and sends SIGTERM, which must end
// in an orderly reboot: in a PID namespace reboot(2) ends init with
// SIGHUP. (The QEMU tests of the image issue boot the real kernel.)
func TestBootAsPID1(t *testing.T) {
	lab.Require(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		lab.Unavailable(t, "unshare not found: install util-linux")
	}
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755) // t.TempDir is 0700: uid 3129 must reach the proxy
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	copyFile(t, os.Args[0], filepath.Join(bin, "proxy"))
	cmdline := filepath.Join(dir, "cmdline")
	os.WriteFile(cmdline, []byte("console=ttyS0 tprouter.hostname=smoke tprouter.wan.addr=198.51.100.1/24 "+
		"tprouter.dhcpd=off tprouter.ra=off tprouter.status.port=off tprouter.failmode=clsed tprouter.bogus=1\n"), 0o644)
	consoleFile := filepath.Join(dir, "console")
	os.WriteFile(consoleFile, nil, 0o644)

	// /bin is where init finds the services; Debian's /bin is a link to
	// /usr/bin, so the test's bin directory goes there, last. Empty
	// directories hide this machine's disks and firmware from init: it
	// boots as a kernel started without a boot disk (QEMU's -kernel).
	script := strings.Join([]string{
		"set -e",
		"ip link add eth0 type veth peer name eth1",
		"mount --bind " + cmdline + " /proc/cmdline",
		"mount --bind " + consoleFile + " /dev/console",
		"mount -t tmpfs tmpfs /sys/class/block",
		"mount -t tmpfs tmpfs /sys/firmware",
		"mount -t tmpfs tmpfs /run",
		"mount --bind " + bin + " /usr/bin",
		"exec " + initBin,
	}, "\n")
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount", "--mount-proc", "--propagation", "private",
		"--uts", "--net", "--ipc", "sh", "-c", script)
	cmd.Env = append(os.Environ(), fakeProxyEnv+"=1")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(consoleFile)
			t.Logf("console:\n%s\nunshare:\n%s", b, out)
		}
	}()

	console := func() string { b, _ := os.ReadFile(consoleFile); return string(b) }
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(console(), what) {
			select {
			case err := <-exited:
				exited <- err
				t.Fatalf("init's namespace ended (%v) before %q", err, what)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %q on the console", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	start := time.Now()
	waitFor("tprouter: ready")
	t.Logf("ready %v after start", time.Since(start).Round(time.Millisecond))
	waitFor("restarting in 100ms")
	waitFor("fake proxy: crashing on purpose")
	for deadline := time.Now().Add(10 * time.Second); strings.Count(console(), "init: started proxy") < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("proxy not restarted")
		}
	}
	c := console()
	line := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z init: tprouter: ready$`)
	for _, want := range []string{
		`init: command line: tprouter.bogus="1": unknown key`,
		`init: command line: tprouter.failmode="clsed": not open or closed; want open or closed; using closed`,
		"init: storage: no boot partition (none named tprouter-boot): configured by the kernel command line alone, state in memory",
		"init: config: host smoke; wan eth0 (198.51.100.1/24); lan eth1 (192.168.1.1/24);",
		"init: started proxy (pid ",
		"as uid 3129 gid 3129 with [CAP_NET_ADMIN]",
		"proxy: fake proxy -listen=:3129 -access-log=- -access-log-format=squid -spoof=true -status=127.0.0.1:9091 -name=smoke -selftest-net=198.18.0.0/15,2001:db8:5e1f::/48 -unknown=tunnel; Uid: 3129 3129 3129 3129; CapAmb: 0000000000001000",
		"init: proxy exited after ",
	} {
		if !strings.Contains(c, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if !line.MatchString(c) {
		t.Errorf("no timestamped ready line matching %v", line)
	}

	// SIGTERM to PID 1, seen from here by its PID in our namespace.
	pid := childOf(t, cmd.Process.Pid)
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case err := <-exited:
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGHUP {
			t.Errorf("after SIGTERM: %v, want init ended by SIGHUP (a reboot in a PID namespace)", err)
		}
		exited <- err
	case <-time.After(20 * time.Second):
		t.Fatal("init did not reboot after SIGTERM")
	}
	c = console()
	for _, want := range []string{"init: got SIGTERM: reboot", "init: stopping proxy (pid ", "init: reboot now"} {
		if !strings.Contains(c, want) {
			t.Errorf("console lacks %q", want)
		}
	}
}

// childOf returns the PID of pid's only child (unshare --fork's init).
func childOf(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		t.Fatalf("unshare's children: %q", b)
	}
	child, _ := strconv.Atoi(f[0])
	return child
}

func copyFile(t *testing.T, src, dst string) {
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
