package cmdline

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"tprouter/init/config"
)

func TestFields(t *testing.T) {
	for _, tt := range []struct {
		line string
		want []Param
	}{
		{"", nil},
		{"  \n", nil},
		{"quiet", []Param{{Key: "quiet"}}},
		{"console=ttyS0 root=/dev/vda\n", []Param{{"console", "ttyS0", true}, {"root", "/dev/vda", true}}},
		{"a= b", []Param{{"a", "", true}, {Key: "b"}}},
		{`k="a b" x`, []Param{{"k", "a b", true}, {Key: "x"}}},
		{`"k=a b" x`, []Param{{"k", "a b", true}, {Key: "x"}}},
		{`"quiet"`, []Param{{Key: "quiet"}}},
		{`k="a b`, []Param{{"k", "a b", true}}}, // unterminated: runs to the end
		{`k=a"b c"d e`, []Param{{"k", `a"b c"d`, true}, {Key: "e"}}},
		{`k='a b'`, []Param{{"k", "'a", true}, {Key: "b'"}}}, // single quotes are not quotes
		{`k="`, []Param{{"k", "", true}}},
		{`"`, []Param{{Key: ""}}},
		{`k=""v""`, []Param{{"k", `"v"`, true}}},
		{"=x a=b=c", []Param{{Key: "=x"}, {"a", "b=c", true}}},
		{"a\tb -- c=d", []Param{{Key: "a"}, {Key: "b"}, {"c", "d", true}}},
	} {
		if got := Fields(tt.line); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Fields(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func prefixes_(s ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, p := range s {
		ps = append(ps, netip.MustParsePrefix(p))
	}
	return ps
}

func addrs_(s ...string) []netip.Addr {
	var as []netip.Addr
	for _, a := range s {
		as = append(as, netip.MustParseAddr(a))
	}
	return as
}

// TestParse has good and bad values for every key. Each case starts from
// config.Default(); want changes the expected config, and problems lists the keys
// reported (in order).
func TestParse(t *testing.T) {
	for _, tt := range []struct {
		line     string
		want     func(*config.Config)
		problems []string
		using    string // a word the single problem's Using must contain
	}{
		{line: "", want: func(*config.Config) {}},
		{line: "console=ttyS0 panic=-1 quiet root=/dev/ram0 nft_tproxy.x=1", want: func(*config.Config) {}},

		// tprouter.hostname
		{line: "tprouter.hostname=gw.example.org", want: func(c *config.Config) { c.Hostname = "gw.example.org" }},
		{line: "tprouter.hostname=-bad", want: func(*config.Config) {}, problems: []string{"tprouter.hostname"}, using: "tprouter"},
		{line: "tprouter.hostname=" + strings.Repeat("a", 65), want: func(*config.Config) {}, problems: []string{"tprouter.hostname"}},
		{line: `tprouter.hostname="a b"`, want: func(*config.Config) {}, problems: []string{"tprouter.hostname"}},

		// tprouter.wan
		{line: "tprouter.wan=enp1s0", want: func(c *config.Config) { c.Network.WAN = config.Link{Name: "enp1s0"} }},
		{line: "tprouter.wan=02:00:00:00:02:01", want: func(c *config.Config) { c.Network.WAN = config.Link{MAC: mac("02:00:00:00:02:01")} }},
		{line: "tprouter.wan=02:00:00:00:02", want: func(*config.Config) {}, problems: []string{"tprouter.wan"}, using: "eth0"},
		{line: "tprouter.wan=averyveryverylongname", want: func(*config.Config) {}, problems: []string{"tprouter.wan"}},
		{line: "tprouter.wan=a/b", want: func(*config.Config) {}, problems: []string{"tprouter.wan"}},
		{line: "tprouter.wan", want: func(*config.Config) {}, problems: []string{"tprouter.wan"}},
		// name@MAC: the link with that MAC, renamed.
		{line: "tprouter.wan=wan0@02:00:00:00:02:01", want: func(c *config.Config) {
			c.Network.WAN = config.Link{Name: "wan0", MAC: mac("02:00:00:00:02:01")}
		}},
		{line: "tprouter.wan=@02:00:00:00:02:01", want: func(*config.Config) {}, problems: []string{"tprouter.wan"}},
		{line: "tprouter.wan=wan0@", want: func(*config.Config) {}, problems: []string{"tprouter.wan"}, using: "eth0"},
		{line: "tprouter.wan=wan0@eth0", want: func(*config.Config) {}, problems: []string{"tprouter.wan"}},
		{line: "tprouter.wan=a:b@02:00:00:00:02:01", want: func(*config.Config) {}, problems: []string{"tprouter.wan"}},

		// tprouter.lan
		{line: "tprouter.lan=eth1,eth2,02:00:00:00:01:01", want: func(c *config.Config) {
			c.Network.LAN = []config.Link{{Name: "eth1"}, {Name: "eth2"}, {MAC: mac("02:00:00:00:01:01")}}
		}},
		{line: "tprouter.lan=eth1,eth1", want: func(*config.Config) {}, problems: []string{"tprouter.lan"}, using: "eth1"},
		{line: "tprouter.lan=lan0@02:00:00:00:01:01,eth2", want: func(c *config.Config) {
			c.Network.LAN = []config.Link{{Name: "lan0", MAC: mac("02:00:00:00:01:01")}, {Name: "eth2"}}
		}},
		// Two links cannot take one name.
		{line: "tprouter.lan=eth2,eth2@02:00:00:00:01:01", want: func(*config.Config) {}, problems: []string{"tprouter.lan"}},
		{line: "tprouter.lan=eth0@02:00:00:00:01:01", want: func(c *config.Config) {
			c.Network.LAN, c.Network.LANAddrs, c.Network.Intercept = nil, nil, nil
			c.DHCPD, c.RA, c.StatusPort = false, false, 0
		}, problems: []string{"tprouter.lan", "tprouter.lan"}, using: "not using"},
		{line: "tprouter.lan=", want: func(*config.Config) {}, problems: []string{"tprouter.lan"}},
		{line: "tprouter.lan=eth1,", want: func(*config.Config) {}, problems: []string{"tprouter.lan"}},
		// LAN equal to WAN: dropped, and with no LAN left the LAN features are off.
		{line: "tprouter.wan=eth1", want: func(c *config.Config) {
			c.Network.WAN = config.Link{Name: "eth1"}
			c.Network.LAN, c.Network.LANAddrs, c.Network.Intercept = nil, nil, nil
			c.DHCPD, c.RA, c.StatusPort = false, false, 0
		}, problems: []string{"tprouter.lan", "tprouter.lan"}},
		{line: "tprouter.wan=eth1 tprouter.lan=eth1,eth2", want: func(c *config.Config) {
			c.Network.WAN = config.Link{Name: "eth1"}
			c.Network.LAN = []config.Link{{Name: "eth2"}}
		}, problems: []string{"tprouter.lan"}, using: "not using"},

		// tprouter.wan.addr
		{line: "tprouter.wan.addr=dhcp", want: func(*config.Config) {}},
		{line: "tprouter.wan.addr=198.51.100.1/24,2001:db8:2::1/64", want: func(c *config.Config) {
			c.Network.WANAddrs = prefixes_("198.51.100.1/24", "2001:db8:2::1/64")
		}},
		{line: "tprouter.wan.addr=198.51.100.7/32", want: func(c *config.Config) { c.Network.WANAddrs = prefixes_("198.51.100.7/32") }},
		{line: "tprouter.wan.addr=198.51.100.1", want: func(*config.Config) {}, problems: []string{"tprouter.wan.addr"}, using: "dhcp"},
		{line: "tprouter.wan.addr=198.51.100.0/24", want: func(*config.Config) {}, problems: []string{"tprouter.wan.addr"}},
		{line: "tprouter.wan.addr=198.51.100.255/24", want: func(*config.Config) {}, problems: []string{"tprouter.wan.addr"}},
		{line: "tprouter.wan.addr=198.51.100.1/24,300.1.1.1/24", want: func(*config.Config) {}, problems: []string{"tprouter.wan.addr"}},
		{line: "tprouter.wan.addr=224.0.0.1/4", want: func(*config.Config) {}, problems: []string{"tprouter.wan.addr"}},
		{line: "tprouter.wan.addr=::ffff:198.51.100.1/120", want: func(*config.Config) {}, problems: []string{"tprouter.wan.addr"}},
		{line: "tprouter.wan.addr=DHCP", want: func(*config.Config) {}, problems: []string{"tprouter.wan.addr"}},

		// tprouter.wan.gw
		{line: "tprouter.wan.gw=198.51.100.2,fe80::1", want: func(c *config.Config) { c.Network.Gateways = addrs_("198.51.100.2", "fe80::1") }},
		{line: "tprouter.wan.gw=198.51.100.2,198.51.100.3", want: func(*config.Config) {}, problems: []string{"tprouter.wan.gw"}, using: "no static gateway"},
		{line: "tprouter.wan.gw=0.0.0.0", want: func(*config.Config) {}, problems: []string{"tprouter.wan.gw"}},
		{line: "tprouter.wan.gw=fe80::1%eth0", want: func(*config.Config) {}, problems: []string{"tprouter.wan.gw"}},

		// tprouter.dns
		{line: "tprouter.dns=198.51.100.53,2001:db8:2::53,198.51.100.53", want: func(c *config.Config) {
			c.Network.DNS = addrs_("198.51.100.53", "2001:db8:2::53")
		}},
		{line: "tprouter.dns=dns.example", want: func(*config.Config) {}, problems: []string{"tprouter.dns"}, using: "no static DNS"},
		{line: "tprouter.dns=127.0.0.1", want: func(*config.Config) {}, problems: []string{"tprouter.dns"}},

		// tprouter.lan.addr
		{line: "tprouter.lan.addr=192.0.2.1/24,2001:db8:1::1/64", want: func(c *config.Config) {
			c.Network.LANAddrs = prefixes_("192.0.2.1/24", "2001:db8:1::1/64")
		}},
		{line: "tprouter.lan.addr=2001:db8:1::1/64", want: func(c *config.Config) { c.Network.LANAddrs = prefixes_("2001:db8:1::1/64") }},
		{line: "tprouter.lan.addr=192.0.2.1/24,192.0.2.2/24", want: func(*config.Config) {}, problems: []string{"tprouter.lan.addr"}, using: "192.168.1.1/24"},
		{line: "tprouter.lan.addr=192.0.2.0/24", want: func(*config.Config) {}, problems: []string{"tprouter.lan.addr"}},
		{line: "tprouter.lan.addr=2001:db8:1::/64", want: func(*config.Config) {}, problems: []string{"tprouter.lan.addr"}},
		// Prefixes without room for DHCP clients or SLAAC turn those off.
		{line: "tprouter.lan.addr=192.0.2.1/31", want: func(c *config.Config) {
			c.Network.LANAddrs = prefixes_("192.0.2.1/31")
			c.DHCPD = false
		}, problems: []string{"tprouter.dhcpd"}, using: "DHCP server off"},
		{line: "tprouter.lan.addr=2001:db8:1::1/56", want: func(c *config.Config) {
			c.Network.LANAddrs = prefixes_("2001:db8:1::1/56")
			c.RA = false
		}, problems: []string{"tprouter.ra"}, using: "advertisements off"},

		// tprouter.nat
		{line: "tprouter.nat=off", want: func(c *config.Config) { c.Network.NAT = false }},
		{line: "tprouter.nat=0", want: func(c *config.Config) { c.Network.NAT = false }},
		{line: "tprouter.nat=on", want: func(*config.Config) {}},
		{line: "tprouter.nat=of", want: func(*config.Config) {}, problems: []string{"tprouter.nat"}, using: "NAT on"},

		// tprouter.intercept
		{line: "tprouter.intercept=80,8080,80", want: func(c *config.Config) { c.Network.Intercept = []uint16{80, 8080} }},
		{line: "tprouter.intercept=off", want: func(c *config.Config) { c.Network.Intercept = nil }},
		{line: "tprouter.intercept=80,65536", want: func(*config.Config) {}, problems: []string{"tprouter.intercept"}, using: "using 80,443"},
		{line: "tprouter.intercept=0", want: func(*config.Config) {}, problems: []string{"tprouter.intercept"}},
		{line: "tprouter.intercept=http", want: func(*config.Config) {}, problems: []string{"tprouter.intercept"}},

		// tprouter.proxy.port
		{line: "tprouter.proxy.port=8081", want: func(c *config.Config) { c.Network.ProxyPort = 8081 }},
		{line: "tprouter.proxy.port=-1", want: func(*config.Config) {}, problems: []string{"tprouter.proxy.port"}, using: "3129"},
		{line: "tprouter.proxy.port=off", want: func(*config.Config) {}, problems: []string{"tprouter.proxy.port"}},

		// tprouter.failmode
		{line: "tprouter.failmode=closed", want: func(c *config.Config) { c.Network.FailMode = config.FailClosed }},
		{line: "tprouter.failmode=open", want: func(*config.Config) {}},
		{line: "tprouter.failmode=clsed", want: func(c *config.Config) { c.Network.FailMode = config.FailClosed },
			problems: []string{"tprouter.failmode"}, using: "closed"},

		// tprouter.spoof
		{line: "tprouter.spoof=off", want: func(c *config.Config) { c.Spoof = false }},
		{line: "tprouter.spoof=yes", want: func(*config.Config) {}},
		{line: "tprouter.spoof=maybe", want: func(c *config.Config) { c.Spoof = false }, problems: []string{"tprouter.spoof"}, using: "off"},

		// tprouter.exempt
		{line: "tprouter.exempt=192.0.2.10,198.51.100.7/24,2001:db8::/32", want: func(c *config.Config) {
			c.Network.Exempt = prefixes_("192.0.2.10/32", "198.51.100.0/24", "2001:db8::/32")
		}},
		{line: "tprouter.exempt=none", want: func(*config.Config) {}},
		{line: "tprouter.exempt=192.0.2.10,bank.example", want: func(c *config.Config) { c.Network.Intercept = nil },
			problems: []string{"tprouter.exempt"}, using: "interception off"},
		// A bad exempt wins over an intercept list given after it.
		{line: "tprouter.exempt=x tprouter.intercept=8080", want: func(c *config.Config) { c.Network.Intercept = nil },
			problems: []string{"tprouter.exempt"}},

		// tprouter.unknown
		{line: "tprouter.unknown=reject", want: func(c *config.Config) { c.Proxy.Unknown = config.UnknownReject }},
		{line: "tprouter.unknown=tunnel", want: func(*config.Config) {}},
		{line: "tprouter.unknown=drop", want: func(c *config.Config) { c.Proxy.Unknown = config.UnknownReject },
			problems: []string{"tprouter.unknown"}, using: "using reject"},

		// tprouter.quic
		{line: "tprouter.quic=pass", want: func(c *config.Config) { c.Network.BlockQUIC = false }},
		{line: "tprouter.quic=block", want: func(*config.Config) {}},
		{line: "tprouter.quic=off", want: func(*config.Config) {}, problems: []string{"tprouter.quic"}, using: "using block"},

		// tprouter.deny, tprouter.allow: normalised, repeats dropped.
		{line: "tprouter.deny=.Ads.Example.,tracker.example,.ads.example,198.51.100.7,2001:DB8::7,_dmarc.example", want: func(c *config.Config) {
			c.Proxy.Deny = []string{".ads.example", "tracker.example", "198.51.100.7", "2001:db8::7", "_dmarc.example"}
		}},
		{line: "tprouter.deny=.bücher.example", want: func(c *config.Config) { c.Proxy.Deny = []string{".xn--bcher-kva.example"} }},
		{line: "tprouter.deny=", want: func(*config.Config) {}},
		// A bad entry is named and dropped; the others stay.
		{line: "tprouter.deny=ads.example,*.x.example,a..example,-a.example,.", want: func(c *config.Config) {
			c.Proxy.Deny = []string{"ads.example"}
		}, problems: []string{"tprouter.deny"}, using: "denying the other 1"},
		{line: "tprouter.deny", want: func(*config.Config) {}, problems: []string{"tprouter.deny"}, using: "other 0"},
		{line: "tprouter.allow=.school.example", want: func(c *config.Config) { c.Proxy.Allow = []string{".school.example"} }},
		{line: "tprouter.allow=school.example,bad!", want: func(c *config.Config) { c.Proxy.Allow = []string{"school.example"} },
			problems: []string{"tprouter.allow"}, using: "allowing only the other 1"},
		// All bad: everything is denied, not everything allowed.
		{line: "tprouter.allow=bad!", want: func(c *config.Config) { c.Proxy.Allow = []string{"invalid"} },
			problems: []string{"tprouter.allow"}, using: "denying every name"},

		// tprouter.ech, tprouter.logformat
		{line: "tprouter.ech=strip", want: func(c *config.Config) { c.Proxy.ECH = config.ECHStrip }},
		{line: "tprouter.ech=pass", want: func(c *config.Config) { c.Proxy.ECH = config.ECHPass }},
		{line: "tprouter.ech=auto", want: func(*config.Config) {}},
		{line: "tprouter.ech=yes", want: func(*config.Config) {}, problems: []string{"tprouter.ech"}, using: "using auto"},
		{line: "tprouter.logformat=tls", want: func(c *config.Config) { c.Proxy.LogFormat = config.LogTLS }},
		{line: "tprouter.logformat=json", want: func(*config.Config) {}, problems: []string{"tprouter.logformat"}, using: "using squid"},

		// tprouter.dhcpd, tprouter.ra
		{line: "tprouter.dhcpd=off tprouter.ra=off", want: func(c *config.Config) { c.DHCPD, c.RA = false, false }},
		{line: "tprouter.dhcpd=nope", want: func(c *config.Config) { c.DHCPD = false }, problems: []string{"tprouter.dhcpd"}, using: "off"},
		{line: "tprouter.ra=2", want: func(c *config.Config) { c.RA = false }, problems: []string{"tprouter.ra"}, using: "off"},

		// tprouter.status.port
		{line: "tprouter.status.port=8080", want: func(c *config.Config) { c.StatusPort = 8080 }},
		{line: "tprouter.status.port=off", want: func(c *config.Config) { c.StatusPort = 0 }},
		{line: "tprouter.status.port=99999", want: func(c *config.Config) { c.StatusPort = 0 }, problems: []string{"tprouter.status.port"}, using: "off"},
		{line: "tprouter.status.port=3129", want: func(c *config.Config) { c.StatusPort = 0 }, problems: []string{"tprouter.status.port"}, using: "off"},

		// tprouter.shell
		{line: "tprouter.shell", want: func(c *config.Config) { c.Shell = true }},
		{line: "tprouter.shell=on", want: func(c *config.Config) { c.Shell = true }},
		{line: "tprouter.shell=please", want: func(*config.Config) {}, problems: []string{"tprouter.shell"}, using: "no rescue shell"},

		// Unknown keys, repeats, quoting.
		{line: "tprouter.proxy_port=80", want: func(*config.Config) {}, problems: []string{"tprouter.proxy_port"}, using: "ignored"},
		{line: "TPROUTER.WAN=eth3", want: func(*config.Config) {}, problems: []string{"TPROUTER.WAN"}},
		{line: "tprouter.wan=eth2 tprouter.wan=eth3", want: func(c *config.Config) { c.Network.WAN = config.Link{Name: "eth3"} },
			problems: []string{"tprouter.wan"}, using: "last"},
		{line: `tprouter.hostname="gw" "tprouter.dns=192.0.2.53"`, want: func(c *config.Config) {
			c.Hostname = "gw"
			c.Network.DNS = addrs_("192.0.2.53")
		}},
		{line: `console=ttyS0 -- tprouter.nat=off`, want: func(c *config.Config) { c.Network.NAT = false }},
	} {
		t.Run(tt.line, func(t *testing.T) {
			got, probs := Parse(tt.line)
			got.Sources = nil // TestSources
			want := config.Default()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("config:\n got %+v\nwant %+v", got, want)
			}
			var keys []string
			for _, p := range probs {
				keys = append(keys, p.Key)
			}
			if !reflect.DeepEqual(keys, tt.problems) {
				t.Errorf("problems %q, want keys %q", probs, tt.problems)
			}
			if tt.using != "" && len(probs) > 0 && !strings.Contains(probs[0].Using, tt.using) {
				t.Errorf("problem %q: Using = %q, want it to contain %q", probs[0], probs[0].Using, tt.using)
			}
		})
	}
}

// TestDefaultValues checks that each key writes its default in a form it
// parses back, and that a key falling back to its default names that
// default: change a default, and the console says the new one.
func TestDefaultValues(t *testing.T) {
	d := config.Default()
	for _, k := range keys {
		v := k.value(d)
		if v != "" {
			c := config.Default()
			if err := k.set(&c, v); err != nil || !reflect.DeepEqual(c, d) {
				t.Errorf("%s=%s, its own default: %v, config %+v", k.name, v, err, c)
			}
		}
		if k.safe != nil {
			continue
		}
		got, probs := Parse(k.name + "=\x01")
		got.Sources = nil
		if len(probs) != 1 || probs[0].Using != "using "+v || !reflect.DeepEqual(got, d) {
			t.Errorf("%s with a bad value: %q and %+v, want using %s and the default", k.name, probs, got, v)
		}
	}
}

// TestEveryKey checks that a bad value of each key is reported with the
// expected form and the fallback.
func TestEveryKey(t *testing.T) {
	for _, k := range keys {
		_, probs := Parse(k.name + "=\x01")
		if len(probs) == 0 || probs[0].Key != k.name || probs[0].Want == "" || probs[0].Using == "" {
			t.Errorf("%s with a bad value: problems %q, want one naming the key, the expected form and the fallback", k.name, probs)
		}
	}
}

// TestReadme checks README.md's table of keys against the key table: the
// same keys in the same order, each default as the key writes it, the
// key's example first in the example column, and for a key that falls
// back to its default, that default first in the last column.
func TestReadme(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "| `tprouter.") {
			cells := strings.Split(strings.Trim(line, "|"), " | ")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			rows = append(rows, cells)
		}
	}
	if len(rows) != len(keys) {
		t.Errorf("README has %d keys, the table %d", len(rows), len(keys))
	}
	d := config.Default()
	for i, k := range keys {
		if i >= len(rows) {
			break
		}
		row := rows[i]
		if len(row) != 4 || row[0] != "`"+k.name+"`" {
			t.Errorf("README row %d is %q, want key %s and 4 columns", i+1, row, k.name)
			continue
		}
		want := "`" + k.value(d) + "`"
		if k.value(d) == "" {
			want = "none"
		}
		if !strings.HasPrefix(row[1], want) {
			t.Errorf("README: %s defaults to %s, want %s", k.name, row[1], want)
		}
		// The template (cmdline.txt) shows the same example.
		if ex := "`" + k.name + "=" + k.example + "`"; !strings.HasPrefix(row[2], ex) {
			t.Errorf("README: %s's example is %s, want %s first (the key table's)", k.name, row[2], ex)
		}
		if k.safe == nil && !strings.HasPrefix(row[3], want) {
			t.Errorf("README: a bad %s gives %s, want %s first (its default)", k.name, row[3], want)
		}
	}
}

func TestProblemString(t *testing.T) {
	_, probs := Parse("tprouter.failmode=clsed tprouter.lna=eth1")
	got := fmt.Sprint(probs)
	for _, want := range []string{
		`tprouter.lna="eth1": unknown key (did you mean tprouter.lan?); ignored`,
		`tprouter.failmode="clsed": not open or closed; want open or closed; using closed`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %s\nwant %s", got, want)
		}
	}
}

func TestSummary(t *testing.T) {
	c, _ := Parse("tprouter.wan=02:00:00:00:02:01 tprouter.wan.addr=198.51.100.1/24 tprouter.wan.gw=198.51.100.2 tprouter.intercept=80,8080 tprouter.exempt=192.0.2.9")
	want := "host tprouter; wan 02:00:00:00:02:01 (198.51.100.1/24) via 198.51.100.2; lan eth1 (192.168.1.1/24); " +
		"nat on; intercept 80,8080 to :3129, fail open, spoof on, exempt 192.0.2.9/32; " +
		"quic pass (443 is not intercepted, so HTTPS bypasses the proxy anyway); unknown tunnel; deny none; allow none; ech pass (no lists); log squid; " +
		"dhcpd on; ra on; status port 9090; shell off"
	if got := c.Summary(); got != want {
		t.Errorf("Summary() =\n%s\nwant\n%s", got, want)
	}
}

// TestSummaryPolicy: the defaults block QUIC; lists are counted, files
// named, and make ech strip unless it is set.
func TestSummaryPolicy(t *testing.T) {
	for _, tt := range []struct {
		line, file string
		want       string
	}{
		{"", "", "; quic block; unknown tunnel; deny none; allow none; ech pass (no lists); log squid;"},
		{"tprouter.deny=a.example,.b.example tprouter.unknown=reject", "",
			"; quic block; unknown reject; deny 2 names; allow none; ech strip (lists); log squid;"},
		{"tprouter.quic=pass tprouter.logformat=tls", "/boot/allow.txt",
			"; quic pass; unknown tunnel; deny none; allow /boot/allow.txt; ech strip (lists); log tls;"},
		{"tprouter.ech=pass tprouter.allow=a.example", "/boot/allow.txt",
			"; allow 1 name + /boot/allow.txt; ech pass; log squid;"},
	} {
		c, probs := Parse(tt.line)
		c.Proxy.AllowFile = tt.file
		if got := c.Summary(); len(probs) != 0 || !strings.Contains(got, tt.want) {
			t.Errorf("%q with allow file %q: Summary() =\n%s\nwant it to contain\n%s (problems %q)", tt.line, tt.file, got, tt.want, probs)
		}
		if strip := c.Proxy.StripECH(); strip != strings.Contains(tt.want, "ech strip") {
			t.Errorf("%q: StripECH() = %t", tt.line, strip)
		}
	}
}

// TestSyslog: collectors by address or name, port 514 unless given; a bad
// entry is reported and the good ones kept.
func TestSyslog(t *testing.T) {
	for _, tt := range []struct {
		v, want string
		bad     bool
	}{
		{"udp://198.51.100.2", "udp://198.51.100.2:514", false},
		{"tcp://[2001:db8:2::2]:6514,udp://logs.example", "tcp://[2001:db8:2::2]:6514,udp://logs.example:514", false},
		{"udp://2001:db8:2::2", "udp://[2001:db8:2::2]:514", false},
		{"none", "", false},
		{"http://198.51.100.2", "", true},
		{"udp://198.51.100.2:0,tcp://198.51.100.3", "tcp://198.51.100.3:514", true},
		{"udp://-bad-", "", true},
		{"udp://127.0.0.1", "", true},
	} {
		c, probs := Parse("tprouter.syslog=" + tt.v)
		if got := config.Commas(c.Syslog); got != tt.want || (len(probs) != 0) != tt.bad {
			t.Errorf("tprouter.syslog=%s: %q, problems %q; want %q, bad %t", tt.v, got, probs, tt.want, tt.bad)
		}
		if s := c.Summary(); tt.want != "" && !strings.HasSuffix(s, "; syslog "+tt.want) {
			t.Errorf("tprouter.syslog=%s: Summary() = %s, want it to end in ; syslog %s", tt.v, s, tt.want)
		}
	}
}
