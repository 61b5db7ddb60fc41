package main

import (
	"strings"
	"testing"
)

// TestSyslogNote: the note pairs the syslog candidate's rounds with
// tprouter's and leaves out failed runs.
func TestSyslogNote(t *testing.T) {
	run := func(round int, c string, rps float64, err string) runRecord {
		return runRecord{Round: round, Candidate: c, Workload: "a", Metrics: map[string]float64{"a_rps": rps}, Error: err}
	}
	r := &results{Runs: []runRecord{
		run(0, "tprouter", 1000, ""), run(0, "syslog", 900, ""),
		run(1, "tprouter", 1000, ""), run(1, "syslog", 1100, ""),
		run(2, "tprouter", 1000, ""), run(2, "syslog", 1000, ""),
		run(3, "tprouter", 1000, ""), run(3, "syslog", 10, "wrk reported errors"),
	}}
	note := r.syslogNote()
	for _, want := range []string{"is 1.00 × tprouter's", "median of 3 rounds' ratios 0.90, 1.00, 1.10; ±10%"} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q lacks %q", note, want)
		}
	}
	if note := (&results{Runs: r.Runs[:1]}).syslogNote(); note != "" {
		t.Errorf("note without syslog runs: %q", note)
	}
}
