package labproc

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

// TestBuildPerPackage checks that every call gets programs that exist,
// also a call for packages an earlier call did not ask for, and that a
// package is built only once.
func TestBuildPerPackage(t *testing.T) {
	first := Build(t, "tprouter/services/radvd")
	second := Build(t, "tprouter/services/dhcp4c", "tprouter/services/radvd")
	if second["radvd"] != first["radvd"] {
		t.Errorf("radvd built again: %s, then %s", first["radvd"], second["radvd"])
	}
	before, err := os.Stat(first["radvd"])
	if err != nil {
		t.Fatal(err)
	}
	for name, bin := range second {
		out, err := exec.Command(bin, "-h").CombinedOutput()
		if !strings.Contains(string(out), "Usage of "+name) {
			t.Errorf("%s -h: %v, want its usage; got:\n%s", bin, err, out)
		}
	}
	if after, err := os.Stat(second["radvd"]); err != nil || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("radvd's program changed after the second Build (%v)", err)
	}
}
