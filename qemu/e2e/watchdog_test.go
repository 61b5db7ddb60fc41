package e2e

import (
	"testing"
	"time"

	"tprouter/qemu/lab"
)

// TestWatchdogHang proves that a hung init resets the box. PID 1 ignores
// SIGSTOP, so the rescue shell freezes it with the cgroup freezer: it
// moves init into a cgroup of its own and freezes that. The pings stop,
// and the watchdog (softdog on this board) reboots the VM, which ends
// QEMU (-no-reboot), some 45 to 60 s later: the last ping came up to a
// quarter of init's 60 s timeout before the freeze.
func TestWatchdogHang(t *testing.T) {
	l := lab.New(t, lab.Options{})
	vm := boot(t, l, routed+" tprouter.shell=on")
	// The '' keeps the shell's echo of the command from matching.
	const freeze = "mount -t cgroup2 cgroup2 /sys/fs/cgroup; mkdir /sys/fs/cgroup/hang; " +
		"echo 1 > /sys/fs/cgroup/hang/cgroup.procs; echo 1 > /sys/fs/cgroup/hang/cgroup.freeze; echo init-froz''en\n"
	typeUntil(t, vm, freeze, "init-frozen")
	frozen := time.Now()
	vm.Expect(t, "softdog: Initiating system reboot", 2*time.Minute)
	after := time.Since(frozen)
	t.Logf("the watchdog reset the VM %.1f s after init froze", after.Seconds())
	if after < 40*time.Second {
		t.Errorf("reset %v after the freeze: too soon for init's 60 s timeout, not the watchdog's doing?", after)
	}
	select {
	case <-vm.Done():
	case <-time.After(waitTimeout):
		t.Fatalf("QEMU still runs %v after the watchdog's reboot", waitTimeout)
	}
}
