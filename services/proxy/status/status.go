// Package status serves the proxy's status page: /metrics in the
// Prometheus text format, /access.log with the most recent access log
// lines, for a router without a shell to tail files, and /top, the hosts
// and clients of the last minutes as JSON (top.Top; init's status page
// shows them).
package status

import (
	"encoding/json"
	"io"
	"net/http"

	"tprouter/services/proxy/accesslog"
	"tprouter/services/proxy/metrics"
	"tprouter/services/proxy/top"
)

// Handler serves /metrics from write, /access.log from log and /top from
// tc (nil: an empty top.Top).
func Handler(write func(io.Writer) error, log *accesslog.Log, tc *top.Counter) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /top", func(w http.ResponseWriter, r *http.Request) {
		t := top.Top{WindowSeconds: int(top.Window.Seconds()), Hosts: []top.Entry{}, Clients: []top.Entry{}}
		if tc != nil {
			t = tc.Snapshot()
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(t)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", metrics.ContentType)
		write(w)
	})
	mux.HandleFunc("GET /access.log", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		log.WriteRecent(w)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!DOCTYPE html><title>tprouter proxy</title><ul><li><a href="/metrics">/metrics</a><li><a href="/access.log">/access.log</a><li><a href="/top">/top</a></ul>`+"\n")
	})
	return mux
}
