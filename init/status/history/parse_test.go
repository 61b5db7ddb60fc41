package history

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"tprouter/services/proxy/intercept"
)

func TestParse(t *testing.T) {
	text := `# HELP x_total Things.
# TYPE x_total counter
x_total 3
y{a="1",b="two words"} 1.5e3 1764100000000

z{a="q\"\\\n",} +Inf
w{} NaN
`
	got, err := parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{x_total map[] 3} {y map[a:1 b:two words] 1500} {z map[a:q"\` + "\n" + `] +Inf} {w map[] NaN}]`
	if fmt.Sprint(got) != want {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	for _, bad := range []string{"x_total", "{a=\"1\"} 1", "x{a=1} 1", "x{a=\"1} 1", "x{a=\"1\" b=\"2\"} 1", "x one", "x 1 2 3", "9x 1", "x{a=\"\\t\"} 1"} {
		if _, err := parse([]byte("ok 1\n" + bad + "\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("parse(%q): %v, want an error naming line 2", bad, err)
		}
	}
	if s, _ := parse([]byte("x 1")); len(s) != 1 || math.IsNaN(s[0].value) {
		t.Errorf("no final newline: %v", s)
	}
}

// TestProxyMetrics parses the proxy's real /metrics text (its own
// writer): every line parses, every series' metric is there with the
// labels it selects, and the values come out as set.
func TestProxyMetrics(t *testing.T) {
	st := intercept.NewStats()
	st.Requests[0].Add(1)
	st.Requests[3].Add(2)
	st.ConnsTotal.Add(3)
	st.Bytes[0].Add(1 << 40)
	st.Bytes[1].Add(5)
	st.TLSConns.Add(6)
	st.Tunnels.Add(7)
	st.Denied[1].Add(8)
	st.Families[0].Add(9)
	st.Families[1].Add(10)
	var b bytes.Buffer
	if err := st.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	samples, err := parse(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if !strings.HasPrefix(l, "#") {
			n++
		}
	}
	if len(samples) != n {
		t.Errorf("%d samples from %d sample lines", len(samples), n)
	}
	c := pick(samples)
	want := [numSeries]float64{3, 3, 1 << 40, 5, 3, 6, 7, 8, 9, 10}
	for i, sel := range selectors {
		if !c.ok[i] || c.v[i] != want[i] {
			t.Errorf("series %d (%v): %v ok %v, want %v", i, sel, c.v[i], c.ok[i], want[i])
		}
		if sel.label != "" && !strings.Contains(b.String(), "\n"+sel.metric+"{"+sel.label+`="`+sel.value+`"} `) {
			t.Errorf("no sample %s{%s=%q} in the proxy's text", sel.metric, sel.label, sel.value)
		}
		if !strings.Contains(b.String(), "\n# TYPE "+sel.metric+" counter\n") {
			t.Errorf("%s is no counter in the proxy's text", sel.metric)
		}
	}
}
