package cmdline

import (
	"fmt"
	"strings"
	"testing"

	"tprouter/init/config"
)

// TestTemplate: the template as shipped changes nothing, and with every
// example uncommented it sets every key, without a problem.
func TestTemplate(t *testing.T) {
	tmpl := Template()
	if c, probs := ParseWithFile("", tmpl); len(probs) != 0 || c.Sources != nil {
		t.Errorf("the template as shipped: problems %q, sources %v; want none", probs, c.Sources)
	}
	var lines []string
	for _, l := range strings.Split(tmpl, "\n") {
		if strings.HasPrefix(l, "#"+Prefix) {
			lines = append(lines, l[1:])
		}
	}
	c, probs := ParseWithFile("", strings.Join(lines, "\n"))
	if len(probs) != 0 {
		t.Errorf("the template's examples:\n%s\nproblems %q", strings.Join(lines, "\n"), probs)
	}
	if len(lines) != len(keys) || len(c.Sources) != len(keys) {
		t.Errorf("the template's examples set %d keys (%d lines), want all %d", len(c.Sources), len(lines), len(keys))
	}
	d := config.Default()
	for _, k := range keys {
		if k.example == k.value(d) {
			t.Errorf("%s: the example is the default, %s", k.name, k.example)
		}
		if !strings.Contains(tmpl, fmt.Sprintf("# %s: %s.\n", k.name, k.want)) {
			t.Errorf("the template does not say what %s wants", k.name)
		}
	}
}
