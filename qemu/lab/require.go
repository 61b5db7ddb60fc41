package lab

import (
	"os"
	"os/exec"
	"testing"
)

// Require stops t when the machine cannot run namespace tests: it fails t
// under CI=true, where a missing capability is a broken CI machine, and
// skips it with the same message elsewhere. Nothing skips silently.
func Require(t testing.TB) {
	t.Helper()
	if msg := missing(); msg != "" {
		Unavailable(t, msg)
	}
}

// Unavailable fails t under CI=true and skips it otherwise, with msg.
func Unavailable(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("required under CI=true: %s", msg)
	}
	t.Skipf("skipped: %s (set CI=true to make this a failure)", msg)
}

func missing() string {
	if os.Geteuid() != 0 {
		return "needs root for network namespaces (run as root: sudo make test)"
	}
	for _, bin := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(bin); err != nil {
			return bin + " not found: install iproute2 and nftables (make deps)"
		}
	}
	return ""
}
