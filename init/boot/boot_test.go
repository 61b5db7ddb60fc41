package boot

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tprouter/qemu/lab"
)

// Tests that change the mount table or the host name run in a child
// process in new namespaces (the test binary re-executed with helperEnv),
// so the machine running the tests keeps its own.
const helperEnv = "BOOT_TEST_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(helper(h))
	}
	os.Exit(m.Run())
}

func helper(h string) int {
	what, arg, _ := strings.Cut(h, ":")
	switch what {
	case "mount":
		// Keep our mounts from propagating to the parent namespace.
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			fmt.Println("make / private:", err)
			return 1
		}
		for i := range 2 { // the second run must change nothing
			if err := Mount(arg); err != nil {
				fmt.Printf("Mount #%d: %v\n", i+1, err)
				return 1
			}
		}
		b, _ := os.ReadFile("/proc/self/mountinfo")
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) > 4 && strings.HasPrefix(f[4], arg+"/") {
				_, after, _ := strings.Cut(l, " - ")
				fmt.Println(strings.TrimPrefix(f[4], arg), strings.Fields(after)[0])
			}
		}
	case "hostname":
		if err := SetHostname(arg); err != nil {
			fmt.Println(err)
			return 1
		}
		name, _ := os.Hostname()
		fmt.Println(name)
	}
	return 0
}

// inNamespaces runs the helper in new namespaces and returns its output.
func inNamespaces(t *testing.T, flags uintptr, h string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		lab.Unavailable(t, "needs root to create mount and UTS namespaces")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+h)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper %s: %v\n%s", h, err, out)
	}
	return string(out)
}

func TestMount(t *testing.T) {
	root := t.TempDir()
	out := inNamespaces(t, unix.CLONE_NEWNS, "mount:"+root)
	got := strings.Fields(out)
	want := []string{"/proc", "proc", "/sys", "sysfs", "/dev", "devtmpfs", "/dev/pts", "devpts", "/run", "tmpfs", "/tmp", "tmpfs"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mounted (mount point, type):\n%s\nwant each once: %v", out, want)
	}
}

func TestSetHostname(t *testing.T) {
	if out := inNamespaces(t, unix.CLONE_NEWUTS, "hostname:gw.example"); out != "gw.example\n" {
		t.Errorf("host name %q, want gw.example", out)
	}
}

func TestUnescape(t *testing.T) {
	if got := unescape(`/mnt/a\040b\\c\0`); got != `/mnt/a b\\c\0` {
		t.Errorf("unescape = %q", got)
	}
}

func event(typ, code uint16, value int32) []byte {
	b := make([]byte, eventSize)
	binary.NativeEndian.PutUint16(b[eventSize-8:], typ)
	binary.NativeEndian.PutUint16(b[eventSize-6:], code)
	binary.NativeEndian.PutUint32(b[eventSize-4:], uint32(value))
	return b
}

func TestPowerButton(t *testing.T) {
	dir := t.TempDir()
	var events []byte
	events = append(events, event(evKey, 30, 1)...)       // KEY_A down
	events = append(events, event(0x04, 4, 116)...)       // EV_MSC scan code
	events = append(events, event(evKey, keyPower, 1)...) // power down
	events = append(events, event(0, 0, 0)...)            // EV_SYN
	events = append(events, event(evKey, keyPower, 0)...) // power up
	os.WriteFile(filepath.Join(dir, "event0"), events, 0o644)
	os.WriteFile(filepath.Join(dir, "event1"), event(evKey, 30, 1), 0o644)

	presses := make(chan string, 10)
	b := &PowerButton{Glob: filepath.Join(dir, "event*"), Rescan: time.Hour,
		Press: func(dev string) { presses <- dev }, Log: t.Logf}
	b.Watch()
	select {
	case dev := <-presses:
		if dev != filepath.Join(dir, "event0") {
			t.Errorf("press on %s, want event0", dev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no press seen")
	}
	select {
	case dev := <-presses:
		t.Errorf("second press on %s", dev)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestShutdownSignals(t *testing.T) {
	var mu sync.Mutex
	var steps []string
	step := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		steps = append(steps, s)
	}
	rebooted := make(chan int, 2)
	s := &Shutdown{
		Stop:    func() { step("stop") },
		Flush:   func() { step("flush") },
		Unmount: func() { step("unmount") },
		Drain:   func() { step("drain") },
		Disarm:  func() { step("disarm") },
		Log:     func(f string, a ...any) { step(fmt.Sprintf(f, a...)) },
		sync:    func() { step("sync") },
		reboot: func(cmd int) error {
			rebooted <- cmd
			return nil
		},
	}
	s.HandleSignals()
	defer func() {
		for sig := range Signals {
			signal.Reset(sig)
		}
	}()
	syscall.Kill(os.Getpid(), syscall.SIGUSR2)
	select {
	case cmd := <-rebooted:
		if cmd != unix.LINUX_REBOOT_CMD_POWER_OFF {
			t.Errorf("reboot(%#x), want LINUX_REBOOT_CMD_POWER_OFF", cmd)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SIGUSR2 did not power off")
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	time.Sleep(100 * time.Millisecond)
	select {
	case cmd := <-rebooted:
		t.Errorf("second shutdown: reboot(%#x)", cmd)
	default:
	}
	mu.Lock()
	defer mu.Unlock()
	// The services' and init's state is written before the sync, and
	// the partitions are unmounted before the machine goes.
	want := []string{"got SIGUSR2: power off", "stop", "flush", "sync", "unmount", "sync", "disarm", "power off now", "drain", "got SIGTERM: already shutting down"}
	if !reflect.DeepEqual(steps, want) {
		t.Errorf("steps %q, want %q", steps, want)
	}
}

func TestActions(t *testing.T) {
	for sig, want := range map[syscall.Signal]int{
		syscall.SIGTERM: unix.LINUX_REBOOT_CMD_RESTART,
		syscall.SIGUSR1: unix.LINUX_REBOOT_CMD_HALT,
		syscall.SIGUSR2: unix.LINUX_REBOOT_CMD_POWER_OFF,
	} {
		if got := Signals[sig].cmd(); got != want {
			t.Errorf("%v: %#x, want %#x", sig, got, want)
		}
	}
}

// TestRaiseFileLimit checks that a raised limit reaches a child process,
// as the services are: Go gives the children it starts its own original
// soft limit back unless the program set the limit itself. The
// test runs itself again with a low soft limit, as the kernel starts init,
// and raises it to the hard one there (which needs no privilege; init, as
// PID 1 with every capability, raises the hard one too).
func TestRaiseFileLimit(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("RAISE_FILE_LIMIT_CHILD") == "1" {
		if err := RaiseFileLimit(rl.Max); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("sh", "-c", "ulimit -Sn").Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != fmt.Sprint(rl.Max) {
			t.Errorf("child's open-file limit %s, want %d (the hard limit)", got, rl.Max)
		}
		return
	}
	if rl.Max <= 512 {
		t.Fatalf("hard open-file limit %d: too low to test", rl.Max)
	}
	cmd := exec.Command("sh", "-c", `ulimit -Sn 256 && exec "$0" -test.run '^TestRaiseFileLimit$' -test.v`, os.Args[0])
	cmd.Env = append(os.Environ(), "RAISE_FILE_LIMIT_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("with a soft limit of 256: %v\n%s", err, out)
	}
}
