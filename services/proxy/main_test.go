package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"tprouter/services/internal/cli"
)

func TestFlagDefaults(t *testing.T) {
	c, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.listen != ":3129" || c.accessLog != "-" || c.logMaxSize != 2<<20 || c.logKeep != 1 || !c.spoof || c.status != "" || c.maxHeaderSize != 65536 ||
		c.idleTimeout != 2*time.Minute || c.headerTimeout != 30*time.Second || c.name == "" {
		t.Errorf("defaults: %+v", c)
	}
}

// TestBadFlags checks that every mistake gives one line that names the
// flag, not the program, and exit status 125 (cli.ExitUsage), which init
// does not restart.
func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"-outgoing-tos", "256"}, "-outgoing-tos"},
		{[]string{"-outgoing-mark", "0x100000000"}, "-outgoing-mark"},
		{[]string{"-outgoing-mark", "x"}, "outgoing-mark"},
		{[]string{"-max-conns", "-1"}, "-max-conns"},
		{[]string{"-max-conns-per-client", "-2"}, "-max-conns-per-client"},
		{[]string{"-max-header-size", "100"}, "-max-header-size"},
		{[]string{"-idle-timeout", "0s"}, "-idle-timeout"},
		{[]string{"-connect-timeout", "-1s"}, "-connect-timeout"},
		{[]string{"-header-timeout", "soon"}, "header-timeout"},
		{[]string{"-name", "my proxy"}, "-name"},
		{[]string{"-name", ""}, "-name"},
		{[]string{"-listen", "3129"}, "-listen"},
		{[]string{"-listen", "example.com:3129"}, "-listen"},
		{[]string{"-listen", ":99999"}, "-listen"},
		{[]string{"-status", "nowhere"}, "-status"},
		{[]string{"-access-log", "/nonexistent/dir/access.log"}, "-access-log"},
		{[]string{"-access-log", "/"}, "-access-log"},
		{[]string{"-access-log-max-size", "100"}, "-access-log-max-size"},
		{[]string{"-access-log-max-size", "-1"}, "-access-log-max-size"},
		{[]string{"-access-log-keep", "10"}, "-access-log-keep"},
		{[]string{"-access-log-keep", "-1"}, "-access-log-keep"},
		{[]string{"-bogus"}, "bogus"},
		{[]string{"extra"}, "extra"},
	} {
		var out bytes.Buffer
		code := run(tc.args, &out)
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if code != cli.ExitUsage || len(lines) != 1 || !strings.Contains(lines[0], tc.says) || strings.HasPrefix(lines[0], "proxy:") {
			t.Errorf("%q: exit %d, output %q; want exit %d and one line naming %s", tc.args, code, out.String(), cli.ExitUsage, tc.says)
		}
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"-h"}, &out); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
	for _, f := range []string{"-listen", "-access-log", "-spoof", "-outgoing-mark", "-outgoing-tos", "-status", "-max-conns",
		"-max-conns-per-client", "-header-timeout", "-idle-timeout", "-connect-timeout", "-max-header-size", "-name",
		"-read-timeout", "-shutdown-timeout", "-access-log-max-size", "-access-log-keep", `(default ":3129")`, "(default 65536)",
		"(default 2097152)"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("-h does not show %s", f)
		}
	}
}
