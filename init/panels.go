package main

import (
	"tprouter/init/selftest"
	"tprouter/init/status"
)

// selfTestPanel is the status page's self-test panel: the Tester's last
// report, as status.SelfTest.
func selfTestPanel(st *selftest.Tester) func() (status.SelfTest, bool) {
	return func() (status.SelfTest, bool) {
		rep, ok := st.Last()
		if !ok {
			return status.SelfTest{}, false
		}
		out := status.SelfTest{Time: rep.Time, OK: rep.OK, Results: make([]status.Check, len(rep.Results))}
		for i, r := range rep.Results {
			out.Results[i] = status.Check{Check: r.Check, OK: r.OK, Detail: r.Detail, Fix: r.Fix}
		}
		return out, true
	}
}
