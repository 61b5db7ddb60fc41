package cmdline

import (
	"strings"
	"testing"
	"unicode/utf8"

	"tprouter/init/config"
)

// FuzzParse checks that no command line makes Parse panic, and that what
// it returns is always a configuration init can use.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"console=ttyS0 panic=-1 tprouter.wan=eth0 tprouter.lan=eth1\n",
		`tprouter.hostname="a b" tprouter.wan="`,
		`"tprouter.lan=eth1,eth2" tprouter.lan.addr=192.0.2.1/24,2001:db8:1::1/64`,
		"tprouter.wan.addr=dhcp tprouter.wan.gw=198.51.100.1,fe80::1 tprouter.dns=::1",
		"tprouter.intercept=80,443,0 tprouter.proxy.port=65536 tprouter.failmode=x",
		"tprouter.exempt=192.0.2.0/33 tprouter.spoof tprouter.nat= tprouter.shell=on",
		"tprouter.status.port=3129 tprouter.proxy.port=3129 tprouter.dhcpd=off tprouter.ra=1",
		"tprouter.wan=02:00:00:00:02:01 tprouter.lan=02:00:00:00:02:01",
		"tprouter.wan=eth0@02:00:00:00:02:01 tprouter.lan=eth0@02:00:00:00:01:01,eth1@,@02:00:00:00:01:02",
		"tprouter.lan.addr=192.0.2.1/32,2001:db8::1/128 tprouter.bogus=1 Tprouter.x",
		"\"\"\"=\"= = tprouter.=\x00\xff -- tprouter.wan=",
		"tprouter.exempt=::ffff:1.2.3.4 tprouter.exempt=1.2.3.4/8",
		"tprouter.deny=.A.example.,bücher.example,..,-x tprouter.allow=bad! tprouter.ech=x tprouter.quic=x tprouter.unknown tprouter.logformat=",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, probs := Parse(line)
		usable(t, c, probs, 0, line)
	})
}

// FuzzParseWithFile: no cmdline.txt makes ParseWithFile panic, and what
// it returns is a configuration init can use, with every problem in the
// file on one of its lines.
func FuzzParseWithFile(f *testing.F) {
	f.Add("tprouter.wan=eth0 tprouter.lan=eth1", Template())
	f.Add("", "\ufefftprouter.hostname=gw # x\r\n\"tprouter.ra=off\nconsole=ttyS0 quiet tprouter.ra=on\n#")
	f.Add("tprouter.lan=eth2", "tprouter.wan=eth2\ntprouter.wan=eth2 tprouter.colour=1 Tprouter.x \"\n=\x00\xff")
	f.Fuzz(func(t *testing.T, line, file string) {
		c, probs := ParseWithFile(line, file)
		usable(t, c, probs, strings.Count(file, "\n")+1, line, file)
	})
}

// usable checks what Parse and ParseWithFile return: a configuration init
// can use, and problems that each say what the router does instead; those
// of a file (with lines in it) on one of its lines.
func usable(t *testing.T, c config.Config, probs []config.Problem, lines int, inputs ...string) {
	t.Helper()
	r := c.Network
	if r.ProxyPort == 0 {
		t.Error("ProxyPort 0")
	}
	if c.Hostname == "" || len(c.Hostname) > 64 {
		t.Errorf("Hostname %q", c.Hostname)
	}
	if r.WAN.Name == "" && len(r.WAN.MAC) == 0 {
		t.Error("WAN without name or MAC")
	}
	for i, l := range r.LAN {
		if l.Same(r.WAN) || l.SameName(r.WAN) {
			t.Errorf("LAN link %v is the WAN or has its name", l)
		}
		for _, o := range r.LAN[:i] {
			if l.Same(o) || l.SameName(o) {
				t.Errorf("LAN links %v and %v are one or share a name", o, l)
			}
		}
	}
	if c.StatusPort != 0 && c.StatusPort == r.ProxyPort {
		t.Error("status port is the proxy port")
	}
	for _, p := range append(append(r.LANAddrs, r.WANAddrs...), r.Exempt...) {
		if !p.IsValid() {
			t.Errorf("invalid prefix %v", p)
		}
	}
	for k := range c.Sources {
		if findKey(k) == nil {
			t.Errorf("Sources has %q, not a key", k)
		}
	}
	for _, p := range probs {
		if p.Using == "" {
			t.Errorf("problem %+v: want what is used instead", p)
		}
		if p.Source.File == "" && !strings.HasPrefix(strings.ToLower(p.Key), Prefix) {
			t.Errorf("problem %+v on the command line: want a tprouter key", p)
		}
		if p.Source.File != "" && (p.Source.File != FileName || p.Source.Line < 1 || p.Source.Line > lines) {
			t.Errorf("problem %+v: want a line of %s, 1 to %d", p, FileName, lines)
		}
		if s := p.String(); allValid(inputs) && !utf8.ValidString(s) {
			t.Errorf("problem %q is not valid UTF-8", s)
		}
	}
}

func allValid(ss []string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}
