package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"tprouter/qemu"
)

// TestDemo runs `make demo`'s program for two rounds and checks that it
// showed interception over both families: the server saw the client's own
// addresses, and the proxy logged the requests. It runs it on the image
// (make demo) and on the disk image under UEFI (make demo-disk).
func TestDemo(t *testing.T) {
	qemu.Require(t)
	bin := filepath.Join(t.TempDir(), "demo")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	want := []string{
		`router ready [0-9.]+ s after QEMU started`,
		`GET http://198\.51\.100\.2/ +server saw the client as 192\.0\.2\.2:\d+`,
		`GET http://\[2001:db8:2::2\]/ +server saw the client as \[2001:db8:1:[0-9a-f:]+\]:\d+`,
		`proxy access\.log: \d+\.\d{3} +\d+ 192\.0\.2\.2 TCP_MISS/200 \d+ GET http://198\.51\.100\.2/ `,
		`demo: removed the namespaces and the VM`,
	}
	t.Run("image", func(t *testing.T) {
		demo(t, bin, []string{"-image", qemu.Image(t, "qemu-x86_64")}, want)
	})
	t.Run("disk", func(t *testing.T) {
		img := qemu.Disk(t, "qemu-x86_64")
		demo(t, bin, []string{"-disk", img}, append(want,
			`qemu: booting .*tprouter\.img under UEFI`,
			`the firmware started the boot loader [0-9.]+ s after QEMU started`))
	})
}

// demo runs the demo with args for two rounds and wants the regular
// expressions in its output.
func demo(t *testing.T, bin string, args, want []string) {
	out, err := exec.Command(bin, append(args, "-rounds", "2", "-every", "1s")...).CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, re := range want {
		if !regexp.MustCompile(re).Match(out) {
			t.Errorf("demo output lacks %s:\n%s", re, out)
		}
	}
}
