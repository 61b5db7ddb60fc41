package cmdline

import (
	"testing"

	"tprouter/init/config"
)

// TestSettings: every key, in the reference's order, with its value and
// where it came from.
func TestSettings(t *testing.T) {
	c, probs := ParseWithFile("console=ttyS0 tprouter.wan=eth0 tprouter.hostname=fromkernel", "# mine\ntprouter.hostname=gw\n\ntprouter.intercept=80,8080 tprouter.ra=off\n")
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	got := Settings(c)
	if len(got) != len(keys) {
		t.Fatalf("%d settings, want %d (one per key)", len(got), len(keys))
	}
	want := map[string]Setting{
		"tprouter.hostname":  {"tprouter.hostname", "gw", "cmdline.txt:2"},
		"tprouter.intercept": {"tprouter.intercept", "80,8080", "cmdline.txt:4"},
		"tprouter.ra":        {"tprouter.ra", "off", "cmdline.txt:4"},
		"tprouter.wan":       {"tprouter.wan", "eth0", "kernel command line"},
	}
	def := Settings(config.Default())
	for i, s := range got {
		if s.Key != keys[i].name {
			t.Errorf("setting %d is %s, want %s (the reference's order)", i, s.Key, keys[i].name)
		}
		w, given := want[s.Key]
		if !given {
			w = Setting{s.Key, def[i].Value, "default"}
		}
		if s != w {
			t.Errorf("setting %d: %+v, want %+v", i, s, w)
		}
	}
}
