package status

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"tprouter/services/proxy/accesslog"
	"tprouter/services/proxy/top"
)

func TestHandler(t *testing.T) {
	log := accesslog.New(nil, 10)
	defer log.Close()
	log.Write(&accesslog.Entry{Time: time.Unix(1764100000, 0), Code: "TCP_MISS", Status: 200, Hier: "HIER_NONE"})
	h := Handler(func(w io.Writer) error {
		_, err := io.WriteString(w, "x_total 1\n")
		return err
	}, log, nil)
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

// TestTop: /top is the counter's snapshot as JSON, and an empty one
// without a counter.
func TestTop(t *testing.T) {
	tc := top.New()
	tc.Add([]byte("example.com"), netip.MustParseAddr("192.0.2.7"), 1234)
	for tc, want := range map[*top.Counter]string{
		nil: `{"window_seconds":300,"hosts":[],"clients":[]}` + "\n",
		tc:  `{"window_seconds":300,"hosts":[{"name":"example.com","count":1,"bytes":1234}],"clients":[{"name":"192.0.2.7","count":1,"bytes":1234}]}` + "\n",
	} {
		rec := httptest.NewRecorder()
		Handler(nil, nil, tc).ServeHTTP(rec, httptest.NewRequest("GET", "/top", nil))
		if rec.Code != 200 || rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("GET /top: %d %q %q, want %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String(), want)
		}
		var v top.Top
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Error(err)
		}
	}
}
