// Package status serves the proxy's status page: /metrics in the
// Prometheus text format and /access.log with the most recent access log
// lines, for a router without a shell to tail files.
package status

import (
	"io"
	"net/http"

	"tprouter/services/proxy/accesslog"
	"tprouter/services/proxy/metrics"
)

// Handler serves /metrics from write and /access.log from log.
func Handler(write func(io.Writer) error, log *accesslog.Log) http.Handler {
	mux := http.NewServeMux()
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
		io.WriteString(w, `<!DOCTYPE html><title>tprouter proxy</title><ul><li><a href="/metrics">/metrics</a><li><a href="/access.log">/access.log</a></ul>`+"\n")
	})
	return mux
}
