package selftest

import (
	"fmt"
	"io"
)

// WriteMetrics writes the last report in Prometheus' text format:
// tprouter_selftest_ok{check="…"} 1 or 0 per check, and
// tprouter_selftest_last_run_timestamp_seconds (0 before the first run).
func (t *Tester) WriteMetrics(w io.Writer) {
	r, ran := t.Last()
	fmt.Fprintln(w, "# HELP tprouter_selftest_ok Whether the check passed in the last self-test (1) or failed (0).")
	fmt.Fprintln(w, "# TYPE tprouter_selftest_ok gauge")
	for _, res := range r.Results {
		v := 0
		if res.OK {
			v = 1
		}
		fmt.Fprintf(w, "tprouter_selftest_ok{check=%q} %d\n", res.Check, v)
	}
	fmt.Fprintln(w, "# HELP tprouter_selftest_last_run_timestamp_seconds When the last self-test started, 0 before the first.")
	fmt.Fprintln(w, "# TYPE tprouter_selftest_last_run_timestamp_seconds gauge")
	var ts float64
	if ran {
		ts = float64(r.Time.UnixMilli()) / 1000
	}
	fmt.Fprintf(w, "tprouter_selftest_last_run_timestamp_seconds %.3f\n", ts)
}
