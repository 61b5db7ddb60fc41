package status

import (
	"encoding/json"
	"net/http"
	"strconv"

	"tprouter/init/internal/oneline"
)

// apiPanels are the panels under /api/, in the index's order.
var apiPanels = []string{"history", "top", "leases", "wan", "interfaces", "services", "config", "selftest"}

// api adds the /api/ endpoints to mux: each panel as JSON, from the same
// methods the page renders (panels.go, services_panel.go, top.go).
func (s *Server) api(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, struct {
			Panels []string `json:"panels"`
		}{apiPanels})
	})
	mux.HandleFunc("GET /api/history", func(w http.ResponseWriter, r *http.Request) {
		var after uint64
		if v := r.URL.Query().Get("after"); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				jsonError(w, http.StatusBadRequest, "after="+strconv.Quote(v)+": want the seq of a point (a whole number), as /api/history's last gives it")
				return
			}
			after = n
		}
		writeJSON(w, s.History(after))
	})
	mux.HandleFunc("GET /api/top", func(w http.ResponseWriter, r *http.Request) {
		top, err := s.Top(r.Context())
		answer(w, http.StatusBadGateway, top, err)
	})
	mux.HandleFunc("GET /api/leases", func(w http.ResponseWriter, r *http.Request) {
		v, err := s.Leases()
		answer(w, http.StatusInternalServerError, v, err)
	})
	mux.HandleFunc("GET /api/wan", func(w http.ResponseWriter, r *http.Request) {
		v, err := s.WAN()
		answer(w, http.StatusInternalServerError, v, err)
	})
	mux.HandleFunc("GET /api/interfaces", func(w http.ResponseWriter, r *http.Request) {
		v, err := s.Interfaces()
		answer(w, http.StatusInternalServerError, v, err)
	})
	mux.HandleFunc("GET /api/services", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.ServiceStates())
	})
	mux.HandleFunc("GET /api/config", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.Settings())
	})
	mux.HandleFunc("GET /api/selftest", func(w http.ResponseWriter, r *http.Request) {
		st, _ := s.LastSelfTest()
		writeJSON(w, st)
	})
}

// answer writes v, or err with code.
func answer(w http.ResponseWriter, code int, v any, err error) {
	if err != nil {
		jsonError(w, code, oneline.Join(err).Error())
		return
	}
	writeJSON(w, v)
}

// writeJSON writes v as the answer, never cached.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		jsonError(w, http.StatusInternalServerError, "json.Marshal: "+err.Error())
		return
	}
	header(w)
	w.Write(append(b, '\n'))
}

// jsonError answers {"error": msg} with code; msg is one line.
func jsonError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	header(w)
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func header(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
}
