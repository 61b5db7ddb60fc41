package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// checkMetrics runs Prometheus's own linter, `promtool check metrics`
// (Debian's prometheus package, make deps), on a /metrics page: what a
// scraper would refuse or warn about fails t.
func checkMetrics(t *testing.T, metrics string) {
	t.Helper()
	if _, err := exec.LookPath("promtool"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("required under CI=true: promtool not found: install prometheus (make deps)")
		}
		t.Skipf("promtool not found: install prometheus (make deps)")
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(metrics)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}
}
