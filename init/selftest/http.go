package selftest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Handler serves /selftest: GET the last report, as text for people or
// as JSON (?format=json, or Accept: application/json); POST runs the
// self-test again (or waits for the run in progress) and answers with
// its report. Before the first run GET answers 503. A failed self-test
// is still a 200: the body says what failed.
func (t *Tester) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rep Report
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			last, ok := t.Last()
			if !ok {
				http.Error(w, "selftest: not run yet (it runs after tprouter: ready; POST /selftest runs it now)", http.StatusServiceUnavailable)
				return
			}
			rep = last
		case http.MethodPost:
			rep = t.Run(r.Context())
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			http.Error(w, "selftest: GET the last report or POST to run it again", http.StatusMethodNotAllowed)
			return
		}
		if wantsJSON(r) {
			w.Header().Set("Content-Type", "application/json")
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			enc.Encode(rep)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		writeText(w, rep)
	})
}

func wantsJSON(r *http.Request) bool {
	if f := r.URL.Query().Get("format"); f != "" {
		return f == "json"
	}
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// writeText writes the summary, when it ran, then one line per check.
func writeText(w io.Writer, r Report) {
	fmt.Fprintf(w, "%s\nran %s, took %v\n\n", r.Summary(), r.Time.UTC().Format("2006-01-02 15:04:05 UTC"), r.Took.Round(1e6))
	for _, res := range r.Results {
		if res.OK {
			fmt.Fprintf(w, "%-13s ok      %s\n", res.Check, res.Detail)
			continue
		}
		fmt.Fprintf(w, "%-13s FAILED  %s\n%-13s fix:    %s\n", res.Check, res.Detail, "", res.Fix)
	}
}
