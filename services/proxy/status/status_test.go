package status

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tprouter/services/proxy/accesslog"
)

func TestHandler(t *testing.T) {
	log := accesslog.New(nil, 10)
	defer log.Close()
	log.Write(&accesslog.Entry{Time: time.Unix(1764100000, 0), Code: "TCP_MISS", Status: 200, Hier: "HIER_NONE"})
	h := Handler(func(w io.Writer) error {
		_, err := io.WriteString(w, "x_total 1\n")
		return err
	}, log)
	for path, want := range map[string]string{
		"/metrics":    "x_total 1\n",
		"/access.log": "1764100000.000      0 - TCP_MISS/200 0 - - - HIER_NONE/- -\n",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 || rec.Body.String() != want {
			t.Errorf("GET %s: %d %q, want %q", path, rec.Code, rec.Body.String(), want)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/nope", nil))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "not found") {
		t.Errorf("GET /nope: %d", rec.Code)
	}
}
