package cmdline

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"tprouter/init/config"
)

// TestParseWithFile: cmdline.txt's keys override the kernel command
// line's; each problem in the file names its line.
func TestParseWithFile(t *testing.T) {
	const kernel = "console=ttyS0 tprouter.wan=eth0 tprouter.lan=eth1 tprouter.hostname=fromkernel tprouter.nat=off"
	for _, tt := range []struct {
		what, file string
		want       func(*config.Config)
		sources    map[string]string // key: SourceOf, for the keys given
		problems   []string          // the console's lines, in order
	}{
		{what: "no file", file: "", want: func(c *config.Config) { c.Hostname = "fromkernel"; c.Network.NAT = false }},
		{what: "overrides", file: "tprouter.hostname=gw tprouter.intercept=80,8080\ntprouter.nat=on\n",
			want: func(c *config.Config) { c.Hostname = "gw"; c.Network.Intercept = []uint16{80, 8080} },
			sources: map[string]string{"tprouter.hostname": "cmdline.txt:1", "tprouter.intercept": "cmdline.txt:1",
				"tprouter.nat": "cmdline.txt:2", "tprouter.wan": "kernel command line", "tprouter.shell": "default"}},
		// As editors on other systems write it.
		{what: "comments, CRLF, BOM", file: "\ufeff# my router\r\n\r\n  tprouter.hostname=gw   # the name\r\n#tprouter.shell=on\r\ntprouter.ra=off",
			want:    func(c *config.Config) { c.Hostname = "gw"; c.Network.NAT = false; c.RA = false },
			sources: map[string]string{"tprouter.hostname": "cmdline.txt:3", "tprouter.ra": "cmdline.txt:5", "tprouter.shell": "default"}},
		{what: "quotes stay on their line", file: "tprouter.hostname=\"gw\ntprouter.ra=off\n",
			want: func(c *config.Config) { c.Hostname = "gw"; c.Network.NAT = false; c.RA = false }},
		// A bad value in the file gets the key's safe state, not the
		// kernel line's value: as on the command line, the last one given
		// is the one that counts.
		{what: "a bad value", file: "\n\n\n\n\n\ntprouter.intercept=x tprouter.hostname=-x\n",
			want: func(c *config.Config) { c.Network.NAT = false },
			problems: []string{
				`cmdline.txt:7: tprouter.hostname="-x": label "-x" is empty, too long or starts or ends with '-'; want a host name: letters, digits and '-' in dot-separated labels, at most 64 bytes; using tprouter`,
				`cmdline.txt:7: tprouter.intercept="x": "x" is not a port; want off, or comma-separated TCP ports (80,443 or 80,443,8080); using 80,443`,
			}},
		{what: "unknown and repeated keys", file: "tprouter.colour=blue\ntprouter.ra=off\ntprouter.ra=on # changed my mind\n",
			want: func(c *config.Config) { c.Hostname = "fromkernel"; c.Network.NAT = false },
			problems: []string{
				`cmdline.txt:1: tprouter.colour="blue": unknown key (see README.md for the keys); ignored`,
				`cmdline.txt:3: tprouter.ra="on": given 2 times; using the last one`,
			}},
		{what: "kernel parameters", file: "console=ttyS1 quiet\nTprouter.ra=off\n",
			want: func(c *config.Config) { c.Hostname = "fromkernel"; c.Network.NAT = false },
			problems: []string{
				`cmdline.txt:1: console="ttyS1": not a tprouter.* key: the kernel does not read cmdline.txt; its own parameters go on the boot loader's options line; ignored`,
				`cmdline.txt:1: quiet="": not a tprouter.* key`,
				`cmdline.txt:2: Tprouter.ra="off": unknown key (did you mean tprouter.ra?); ignored`,
			}},
	} {
		t.Run(tt.what, func(t *testing.T) {
			got, probs := ParseWithFile(kernel, tt.file)
			for k, want := range tt.sources {
				if s := got.SourceOf(k); s != want {
					t.Errorf("%s from %s, want %s", k, s, want)
				}
			}
			got.Sources = nil
			want := config.Default()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("config:\n got %+v\nwant %+v", got, want)
			}
			if len(probs) != len(tt.problems) {
				t.Errorf("problems %q, want %d", probs, len(tt.problems))
			}
			for i, p := range probs {
				if i < len(tt.problems) && !strings.HasPrefix(p.String(), tt.problems[i]) {
					t.Errorf("problem %d:\n%s\nwant\n%s", i, p, tt.problems[i])
				}
			}
		})
	}
}

// TestFileProblemText: a bad value says the same in cmdline.txt as on
// the command line, after where.
func TestFileProblemText(t *testing.T) {
	for _, k := range keys {
		_, line := Parse(k.name + "=\x01")
		_, file := ParseWithFile("", "\n"+k.name+"=\x01")
		l, _ := strings.CutPrefix(line[0].String(), "command line: ")
		f, _ := strings.CutPrefix(file[0].String(), "cmdline.txt:2: ")
		if l != f || l == line[0].String() || f == file[0].String() {
			t.Errorf("%s: command line %q, cmdline.txt %q", k.name, line[0], file[0])
		}
	}
}

func TestSummaryFromFile(t *testing.T) {
	c, _ := ParseWithFile("tprouter.nat=off", "tprouter.ra=off\ntprouter.hostname=gw")
	if s := c.Summary(); !strings.HasSuffix(s, "; shell off; from cmdline.txt: tprouter.hostname tprouter.ra") {
		t.Errorf("Summary() = %s\nwant it to end with the keys cmdline.txt set", s)
	}
}

func TestSources(t *testing.T) {
	c, _ := Parse("tprouter.hostname=gw tprouter.lan=eth1,eth1 console=ttyS0")
	if got, want := c.Sources, map[string]config.Source{"tprouter.hostname": {}, "tprouter.lan": {}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Sources = %v, want %v (a bad value counts as given)", got, want)
	}
	if s := c.SourceOf("tprouter.wan"); s != "default" {
		t.Errorf("tprouter.wan from %s, want default", s)
	}
	if c, _ := Parse(""); c.Sources != nil {
		t.Errorf("nothing given: Sources %v", c.Sources)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	if s, err := ReadFile(dir); s != "" || err != nil {
		t.Errorf("without the file: %q, %v", s, err)
	}
	os.WriteFile(filepath.Join(dir, FileName), []byte("tprouter.ra=off\n"), 0o644)
	if s, err := ReadFile(dir); s != "tprouter.ra=off\n" || err != nil {
		t.Errorf("ReadFile = %q, %v", s, err)
	}
	os.WriteFile(filepath.Join(dir, FileName), make([]byte, maxFileSize+1), 0o644)
	if s, err := ReadFile(dir); s != "" || err == nil || !strings.Contains(err.Error(), "larger than 64 KiB") {
		t.Errorf("a huge file: %d bytes, %v", len(s), err)
	}
}

// TestListFiles: deny.txt and allow.txt are found when they are regular
// files, and turn ECH stripping on by default.
func TestListFiles(t *testing.T) {
	dir := t.TempDir()
	var c config.Config
	ListFiles(&c, dir)
	if c.Proxy.DenyFile != "" || c.Proxy.AllowFile != "" || c.Proxy.StripECH() {
		t.Errorf("no files: %+v", c.Proxy)
	}
	os.WriteFile(filepath.Join(dir, DenyFileName), []byte(".ads.example\n"), 0o644)
	os.Mkdir(filepath.Join(dir, AllowFileName), 0o755)
	ListFiles(&c, dir)
	if c.Proxy.DenyFile != filepath.Join(dir, "deny.txt") || c.Proxy.AllowFile != "" || !c.Proxy.StripECH() {
		t.Errorf("deny.txt and a directory allow.txt: %+v", c.Proxy)
	}
	ListFiles(&c, "")
	if c.Proxy.DenyFile != "" {
		t.Errorf("no boot partition: %+v", c.Proxy)
	}
}
