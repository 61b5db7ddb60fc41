package cmdline

import (
	"strings"
	"testing"

	"tprouter/init/config"
)

// TestPD: the prefix delegation keys, a bad length falling back to 56 and
// a /64 outside the prefix to the first.
func TestPD(t *testing.T) {
	for _, tt := range []struct {
		line    string
		want    config.PD
		problem string
	}{
		{"", config.PD{Len: 56}, ""},
		{"tprouter.wan.pd=/60 tprouter.lan.pd=0x0f", config.PD{Len: 60, LAN: 15}, ""},
		{"tprouter.wan.pd=off", config.PD{}, ""},
		{"tprouter.wan.pd=65", config.PD{Len: 56}, `tprouter.wan.pd="65": not off or a prefix length 1-64`},
		{"tprouter.wan.pd=62 tprouter.lan.pd=4", config.PD{Len: 62}, `tprouter.lan.pd="4": a /62 has 4 /64s (tprouter.wan.pd); want 0 to 3; using 0, the first /64`},
		{"tprouter.lan.pd=-1", config.PD{Len: 56}, "using 0"},
	} {
		c, probs := Parse(tt.line)
		got := ""
		if len(probs) > 0 {
			got = probs[0].String()
		}
		if c.Network.PD != tt.want || len(probs) > 1 || !strings.Contains(got, tt.problem) || (tt.problem == "") != (got == "") {
			t.Errorf("%q: %+v, problems %q; want %+v and %q", tt.line, c.Network.PD, probs, tt.want, tt.problem)
		}
	}
}
