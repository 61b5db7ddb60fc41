package update

import (
	"bytes"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func (r *rig) put(t *testing.T, from, pass, query string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("PUT", "/update"+query, bytes.NewReader(body))
	req.RemoteAddr = from
	if pass != "" {
		req.SetBasicAuth(User, pass)
	}
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, req)
	return rec
}

const lan = "192.168.1.10:40000"

func TestUpdate(t *testing.T) {
	r := newRig(t, "tprouter-a.conf", map[string]string{"tprouter-a.conf": "2"})
	rec := r.put(t, lan, password, "", r.bundleFor(t, "pc", "3"))
	if rec.Code != 200 || rec.Body.String() != "update: version 3 written to slot b; rebooting\n" {
		t.Fatalf("%d %q", rec.Code, rec.Body.String())
	}
	select {
	case why := <-r.reboots:
		t.Logf("reboot: %s", why)
	case <-time.After(5 * time.Second):
		t.Fatal("no reboot")
	}
	if _, err := os.Stat(filepath.Join(r.entries(), "tprouter-b+3.conf")); err != nil {
		t.Error(err)
	}
	// Until the reboot, no other update.
	if rec := r.put(t, lan, password, "", r.bundleFor(t, "pc", "4")); rec.Code != http.StatusConflict {
		t.Errorf("a second update: %d %q", rec.Code, rec.Body.String())
	}
}

// TestRefused: every refusal has its status, one line, and leaves the
// boot partition as it was.
func TestRefused(t *testing.T) {
	r := newRig(t, "tprouter-a.conf", map[string]string{"tprouter-a.conf": "2"})
	good := r.bundleFor(t, "pc", "3")
	other := newRig(t, "tprouter-a.conf", nil).bundleFor(t, "pc", "3") // another key
	truncated := good[:len(good)/2]
	for _, c := range []struct {
		name, from, pass, query string
		body                    []byte
		code                    int
		msg                     string
	}{
		{"wan", "203.0.113.9:1234", password, "", good, 403, "only from the LAN"},
		{"wan6", "[2001:db8::1]:1234", password, "", good, 403, "only from the LAN"},
		{"no password", lan, "", "", good, 401, "wrong or missing password"},
		{"wrong password", lan, "hunter2", "", good, 401, "wrong or missing password"},
		{"wrong key", lan, password, "", other, 400, "signed by another key"},
		{"truncated", lan, password, "", truncated, 400, "update: "},
		{"garbage", lan, password, "", []byte("not a tar file at all"), 400, "update: "},
		{"wrong board", lan, password, "", r.bundleFor(t, "rpi", "3"), 400, "board"},
		{"not newer", lan, password, "", r.bundleFor(t, "pc", "2"), 409, "not newer"},
		{"older", lan, password, "", r.bundleFor(t, "pc", "1.9"), 409, "not newer"},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			before := tree(t, r.Boot)
			rec := r.put(t, c.from, c.pass, c.query, c.body)
			if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.msg) || strings.Count(rec.Body.String(), "\n") != 1 {
				t.Errorf("%d %q, want %d with %q", rec.Code, rec.Body.String(), c.code, c.msg)
			}
			if c.code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if !maps.Equal(before, tree(t, r.Boot)) || len(r.reboots) != 0 {
				t.Error("a refused update changed the boot partition or rebooted")
			}
		})
	}
	// Force takes an older version.
	if rec := r.put(t, lan, password, "?force=1", r.bundleFor(t, "pc", "1.9")); rec.Code != 200 {
		t.Errorf("force: %d %q", rec.Code, rec.Body.String())
	}
}

func TestUpdatesOff(t *testing.T) {
	r := newRig(t, "tprouter-a.conf", map[string]string{"tprouter-a.conf": "2"})
	os.Remove(filepath.Join(r.Boot, "update/password.sha256"))
	rec := r.put(t, lan, password, "", r.bundleFor(t, "pc", "3"))
	if rec.Code != 503 || rec.Body.String() != "updates are off: no /update/password.sha256 on the boot partition: make keys, then make disk and reflash\n" {
		t.Errorf("%d %q", rec.Code, rec.Body.String())
	}
	r = newRig(t, "", map[string]string{"tprouter-a.conf": "2"})
	if rec := r.put(t, lan, password, "", r.bundleFor(t, "pc", "3")); rec.Code != 503 || !strings.Contains(rec.Body.String(), "running slot") {
		t.Errorf("no LoaderEntrySelected: %d %q", rec.Code, rec.Body.String())
	}
}

func TestTooLarge(t *testing.T) {
	r := newRig(t, "tprouter-a.conf", map[string]string{"tprouter-a.conf": "2"})
	good := r.bundleFor(t, "pc", "3")
	r.maxSize = int64(len(good)) / 2
	// Without a Content-Length: found while reading.
	req := httptest.NewRequest("PUT", "/update", struct{ *bytes.Reader }{bytes.NewReader(good)})
	req.ContentLength = -1
	req.RemoteAddr = lan
	req.SetBasicAuth(User, password)
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Errorf("streamed: %d %q", rec.Code, rec.Body.String())
	}
	// With one: before reading.
	if rec := r.put(t, lan, password, "", good); rec.Code != 413 {
		t.Errorf("Content-Length: %d %q", rec.Code, rec.Body.String())
	}
}

func TestBusy(t *testing.T) {
	r := newRig(t, "tprouter-a.conf", map[string]string{"tprouter-a.conf": "2"})
	entered, release := make(chan bool), make(chan bool)
	r.interrupt = func(step string) error {
		if step == "old entries removed" {
			entered <- true
			<-release
		}
		return nil
	}
	done := make(chan int)
	go func() { done <- r.put(t, lan, password, "", r.bundleFor(t, "pc", "3")).Code }()
	<-entered
	if rec := r.put(t, lan, password, "", r.bundleFor(t, "pc", "4")); rec.Code != 409 || !strings.Contains(rec.Body.String(), "another update") {
		t.Errorf("while busy: %d %q", rec.Code, rec.Body.String())
	}
	close(release)
	if code := <-done; code != 200 {
		t.Errorf("first update: %d", code)
	}
}

// TestWriteFails: a failed write says so, and the next update may try.
func TestWriteFails(t *testing.T) {
	r := newRig(t, "tprouter-a.conf", map[string]string{"tprouter-a.conf": "2"})
	r.Remount = func(string, bool) error { return os.ErrPermission }
	if rec := r.put(t, lan, password, "", r.bundleFor(t, "pc", "3")); rec.Code != 500 || !strings.Contains(rec.Body.String(), "the running slot a is untouched") {
		t.Errorf("%d %q", rec.Code, rec.Body.String())
	}
	if !r.busy.CompareAndSwap(false, true) {
		t.Error("still busy after a failed write")
	}
}
