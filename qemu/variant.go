package qemu

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Variant is an image built with other flags than Image's, in a directory
// of its own (build/test/<board>-<Name>), for tests that need several
// builds at once: the versions of an update test.
type Variant struct {
	Name    string // the directory's suffix; also what names the build in errors
	Version string // -version; empty: the builder's default
	// Keys is a directory of update keys (go run ./image/update keys
	// -dir), whose public key and password the disk image carries on its
	// boot partition; only with Disk.
	Keys string
	// Without are service packages left out of the image
	// ("tprouter/services/proxy": a version whose proxy cannot start).
	Without []string
	Disk    bool // also write the disk image, in the same process (-disk)
}

// Build is a variant being built in the background (StartVariant).
type Build struct {
	v    Variant
	done chan struct{}
	dir  string
	log  string
	err  error
}

// StartVariant builds v of board in a `go run ./image` process of its own
// while the caller goes on (booting another variant, say). The builds of
// several variants take turns where they share the kernel cache (the
// builder locks build/cache), so the second starts when the first writes
// its disk image. Each call builds: a test that starts a variant once per
// process has it once. Wait for the result.
func StartVariant(board string, v Variant) *Build {
	b := &Build{v: v, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		b.dir, b.log, b.err = buildVariant(board, v)
	}()
	return b
}

// Wait waits for the build and returns its directory (vmlinuz,
// initramfs.img, cmdline, and tprouter.img with Variant.Disk), failing t
// if it failed.
func (b *Build) Wait(t testing.TB) string {
	t.Helper()
	<-b.done
	if b.err != nil {
		t.Fatalf("building variant %s: %v", b.v.Name, b.err)
	}
	t.Log(b.log)
	return b.dir
}

// buildVariant runs the builder for v and returns the directory and what
// the builder said.
func buildVariant(board string, v Variant) (dir, log string, err error) {
	if v.Name == "" || strings.ContainsAny(v.Name, "/ ") {
		return "", "", fmt.Errorf("variant name %q: want a word, the directory's suffix", v.Name)
	}
	root, err := moduleRoot()
	if err != nil {
		return "", "", err
	}
	dir = filepath.Join(root, "build", "test", board+"-"+v.Name)
	args := []string{"-board", board, "-o", dir}
	if v.Version != "" {
		args = append(args, "-version", v.Version)
	}
	if v.Disk {
		args = append(args, "-disk")
		if v.Keys != "" {
			args = append(args, "-keys", v.Keys)
		}
	} else if v.Keys != "" {
		return "", "", fmt.Errorf("variant %s: Keys without Disk: only the disk image carries keys", v.Name)
	}
	if len(v.Without) > 0 {
		svcs, err := servicesWithout(root, v.Without)
		if err != nil {
			return "", "", err
		}
		args = append(args, "-services", strings.Join(svcs, ","))
	}
	log, err = goRun(root, "./image", args...)
	return dir, log, err
}

// servicesWithout lists the main packages among the builder's services
// (tprouter/services/...) but those in without, each of which must be one.
func servicesWithout(root string, without []string) ([]string, error) {
	cmd := exec.Command("go", "list", "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, "tprouter/services/...")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list tprouter/services/...: %w", err)
	}
	all := strings.Fields(string(out))
	for _, w := range without {
		if !slices.Contains(all, w) {
			return nil, fmt.Errorf("variant without %s: not a service package (%s)", w, strings.Join(all, " "))
		}
	}
	return slices.DeleteFunc(all, func(p string) bool { return slices.Contains(without, p) }), nil
}

// GoRun runs `go run pkg args...` in the module's root, as the Makefile
// runs a host tool (go run ./image/update keys -dir DIR), logs what it
// printed and fails t if it fails.
func GoRun(t testing.TB, pkg string, args ...string) {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := goRun(root, pkg, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(out)
}
