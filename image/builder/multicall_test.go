package builder

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

func TestRewriteMain(t *testing.T) {
	src := `// Command x does x.
package main

import "fmt"

type t struct{}

func (t) main() {}

// main is x.
func main() { fmt.Println("x") }
`
	out, found, err := rewriteMain("x.go", []byte(src), "x")
	if err != nil || !found {
		t.Fatalf("rewriteMain = %v, %v", found, err)
	}
	want := strings.NewReplacer("package main", "package x", "func main()", "func Main()").Replace(src)
	if string(out) != want {
		t.Errorf("rewritten:\n%s\nwant:\n%s", out, want)
	}
	if _, found, _ := rewriteMain("y.go", []byte("package main\n\nfunc helper() {}\n"), "y"); found {
		t.Errorf("a file without func main: found one")
	}
	if _, _, err := rewriteMain("z.go", []byte("package z\n"), "z"); err == nil || !strings.Contains(err.Error(), "want main") {
		t.Errorf("package z: err = %v, want one saying it is not main", err)
	}
}

// TestMulticall builds init and the services into one program, as the
// image has it, and runs each through a link of its name: the services
// print their usage for -h, init refuses to run as anything but PID 1, and
// a name that is no program is an error that lists the programs.
func TestMulticall(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("go not found: the test builds the multicall program with it")
	}
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	services, err := mainPackages(root, Services)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, Multicall)
	if err := buildMulticall(root, filepath.Join(dir, "gen"), bin, append([]string{DefaultInit}, services...)); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) (string, int) {
		t.Helper()
		link := filepath.Join(dir, name)
		if err := os.Symlink(Multicall, link); err != nil && !errors.Is(err, os.ErrExist) {
			t.Fatal(err)
		}
		var out bytes.Buffer
		cmd := exec.Command(link, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if err != nil && cmd.ProcessState == nil {
			t.Fatalf("%s: %v", name, err)
		}
		return out.String(), cmd.ProcessState.ExitCode()
	}
	for _, p := range services {
		name := path.Base(p)
		out, code := run(name, "-h")
		if code != 0 || !strings.Contains(out, "usage") && !strings.Contains(out, "Usage of "+name) {
			t.Errorf("%s -h: exit %d, want 0 and its usage:\n%s", name, code, out)
		}
	}
	if out, code := run("init"); code != 2 || !strings.Contains(out, "not PID 1") {
		t.Errorf("init: exit %d, want 2 and init's refusal:\n%s", code, out)
	}
	out, code := run("nosuch")
	if code != 125 || !strings.Contains(out, "nosuch: no such program") || !strings.Contains(out, "init dhcp4c") {
		t.Errorf("nosuch: exit %d, want 125 and the list of programs:\n%s", code, out)
	}
}
