package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// The router's conntrack table in the many-clients workloads (many.go):
// what each run did to it (insert_failed: a connection whose entry
// clashed with another's; drop and early_drop: a full table), noted under
// the report's table, and room for it. A full table drops new
// connections' packets, which would pass for the candidate's slowness.

// ctStats are the router's conntrack figures of one run: the counters'
// increase and the table's size after it.
type ctStats struct {
	InsertFailed int64 `json:"insert_failed"`
	Drop         int64 `json:"drop"`
	EarlyDrop    int64 `json:"early_drop"`
	Entries      int64 `json:"entries_after"`
	Max          int64 `json:"max"`
}

// conntrackMaxPath is the conntrack table's limit. A network namespace
// sees it read-only: it is the machine's, and each namespace's table is
// held to it.
const conntrackMaxPath = "/proc/sys/net/netfilter/nf_conntrack_max"

func conntrackMax() int64 {
	b, _ := os.ReadFile(conntrackMaxPath)
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// manyMaxRate bounds the connection rate a run could reach, for the
// conntrack estimate: about twice the best measured on 2 cores (direct
// forwarding in (c), 11,500 connections per second).
const manyMaxRate = 20000

// conntrackRoom raises the machine's conntrack limit when the run s could
// fill the router's table: two entries per connection (a proxy's client
// and upstream sides) at manyMaxRate for the run's length. The old limit
// is put back at the end of the benchmark (restoreConntrackMax). A full
// table drops new connections' packets, which would pass for the
// candidate's slowness.
func (e *env) conntrackRoom(s loadSpec) error {
	need := 2 * int64(manyMaxRate*s.Duration.Seconds())
	old := conntrackMax()
	if old == 0 || need <= old {
		return nil
	}
	if err := os.WriteFile(conntrackMaxPath, []byte(strconv.FormatInt(need, 10)), 0o644); err != nil {
		return fmt.Errorf("raise %s from %d to %d for the many-clients workloads: %w", conntrackMaxPath, old, need, err)
	}
	if e.ctMaxSaved == 0 {
		e.ctMaxSaved = old
	}
	e.logf("raised %s from %d to %d for the many-clients workloads (restored at the end)", conntrackMaxPath, old, need)
	return nil
}

// restoreConntrackMax puts back the limit conntrackRoom raised.
func (e *env) restoreConntrackMax() {
	if e.ctMaxSaved == 0 {
		return
	}
	if err := os.WriteFile(conntrackMaxPath, []byte(strconv.FormatInt(e.ctMaxSaved, 10)), 0o644); err != nil {
		e.logf("restore %s to %d: %v", conntrackMaxPath, e.ctMaxSaved, err)
	}
	e.ctMaxSaved = 0
}

// conntrackNote sums, per candidate and many-clients workload, the
// router's conntrack counters over the rounds, with the largest table.
func (r *results) conntrackNote() string {
	type key struct{ c, w string }
	sum := map[key]*ctStats{}
	var keys []key
	for _, rec := range r.Runs {
		if rec.Conntrack == nil {
			continue
		}
		k := key{rec.Candidate, rec.Workload}
		s := sum[k]
		if s == nil {
			s = &ctStats{}
			sum[k] = s
			keys = append(keys, k)
		}
		s.InsertFailed += rec.Conntrack.InsertFailed
		s.Drop += rec.Conntrack.Drop
		s.EarlyDrop += rec.Conntrack.EarlyDrop
		s.Entries = max(s.Entries, rec.Conntrack.Entries)
		s.Max = max(s.Max, rec.Conntrack.Max)
	}
	if len(keys) == 0 {
		return ""
	}
	// Workload by workload, candidates in the table's order.
	order := func(c string) int { return slices.Index(r.Candidates, c) }
	slices.SortStableFunc(keys, func(a, b key) int {
		if a.w != b.w {
			return strings.Compare(a.w, b.w)
		}
		return order(a.c) - order(b.c)
	})
	var parts []string
	for _, k := range keys {
		s := sum[k]
		parts = append(parts, fmt.Sprintf("%s %s: insert_failed %d, drop %d, early_drop %d, at most %d entries (limit %d)",
			title(k.c), k.w, s.InsertFailed, s.Drop, s.EarlyDrop, s.Entries, s.Max))
	}
	return "Router conntrack in the many-clients runs (table emptied before each; counters summed over the rounds): " + strings.Join(parts, "; ") + "."
}
