package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tprouter/internal/bundle"
)

// router is a stand-in for a router's status server: it takes a PUT
// /update, then answers GET /version from phases, one per poll: "old",
// "down", "new" (self-test passed), "failing" (the new version before its
// self-test fails) and "rolled" (the old version after a rollback).
type router struct {
	t        *testing.T
	password string
	status   int // of PUT /update
	phases   []string

	mu   sync.Mutex
	got  []byte
	poll int
}

func (r *router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	phase := "old"
	if r.got != nil {
		phase = r.phases[min(r.poll, len(r.phases)-1)]
	}
	switch {
	case req.Method == http.MethodPut && req.URL.Path == "/update":
		if user, pw, ok := req.BasicAuth(); !ok || user != "tprouter" || pw != r.password {
			http.Error(w, "update: wrong password", http.StatusUnauthorized)
			return
		}
		if r.status != http.StatusOK {
			http.Error(w, "update: version 1 is not newer than the running 2: add ?force=1 / FORCE=1", r.status)
			return
		}
		r.got = readAll(r.t, req)
		w.Write([]byte("update: version 2 written to slot b; rebooting\n"))
	case req.URL.Path == "/version":
		r.poll++
		switch phase {
		case "down":
			http.Error(w, "booting", http.StatusServiceUnavailable)
		case "new", "failing":
			w.Write([]byte("version 2\nslot b\n"))
		case "old":
			w.Write([]byte("version 1\nslot a\n"))
		case "rolled":
			w.Write([]byte("version 1\nslot a\nrolled back: version 2 in slot b failed its self-test 3 times: proxy-listen\n"))
		}
	case req.URL.Path == "/selftest":
		w.Write([]byte(`{"ok":` + map[bool]string{true: "true", false: "false"}[phase == "new"] + `,"results":[{"check":"kernel","ok":true}]}`))
	default:
		http.NotFound(w, req)
	}
}

func readAll(t *testing.T, req *http.Request) []byte {
	var b bytes.Buffer
	if _, err := b.ReadFrom(req.Body); err != nil {
		t.Error(err)
	}
	return b.Bytes()
}

func testPush(t *testing.T, r *router, force bool) (string, error) {
	t.Helper()
	srv := httptest.NewServer(r)
	defer srv.Close()
	var out bytes.Buffer
	p := &pusher{base: srv.URL, password: "secret", out: &out, poll: time.Millisecond, settle: time.Hour, wait: 5 * time.Second}
	err := p.push([]byte("the bundle"), "2", force)
	t.Logf("%s", out.String())
	return out.String(), err
}

func TestPush(t *testing.T) {
	r := &router{t: t, password: "secret", status: http.StatusOK, phases: []string{"old", "old", "down", "down", "failing", "new"}}
	out, err := testPush(t, r, false)
	if err != nil || !strings.Contains(out, "running version 2 (updated)\n") {
		t.Errorf("push: %v\n%s", err, out)
	}
	if string(r.got) != "the bundle" {
		t.Errorf("the router got %q", r.got)
	}
}

func TestPushRolledBack(t *testing.T) {
	r := &router{t: t, password: "secret", status: http.StatusOK,
		phases: []string{"old", "down", "failing", "down", "failing", "down", "rolled"}}
	_, err := testPush(t, r, false)
	want := "running version 1: the update to 2 was rolled back: version 2 in slot b failed its self-test 3 times: proxy-listen"
	if err == nil || err.Error() != want {
		t.Errorf("push: %v, want %q", err, want)
	}
}

func TestPushRefused(t *testing.T) {
	r := &router{t: t, password: "secret", status: http.StatusConflict}
	if _, err := testPush(t, r, false); err == nil || !strings.Contains(err.Error(), "409 Conflict: update: version 1 is not newer") {
		t.Errorf("push: %v", err)
	}
	r = &router{t: t, password: "other", status: http.StatusOK}
	if _, err := testPush(t, r, false); err == nil || !strings.Contains(err.Error(), "refused the password") {
		t.Errorf("push with a wrong password: %v", err)
	}
}

func TestPushNeverBack(t *testing.T) {
	r := &router{t: t, password: "secret", status: http.StatusOK, phases: []string{"down"}}
	if _, err := testPush(t, r, false); err == nil || !strings.Contains(err.Error(), "did not come back") {
		t.Errorf("push: %v", err)
	}
}

// TestBundle signs a stand-in image directory and reads the bundle back.
func TestBundle(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	if err := keysCmd([]string{"-dir", keys}); err != nil {
		t.Fatal(err)
	}
	image := filepath.Join(t.TempDir(), "qemu-x86_64")
	os.Mkdir(image, 0o755)
	for name, data := range map[string]string{"vmlinuz": "MZ k", "initramfs.img": "initramfs", "cmdline": "console=ttyS0\n", "version": "2026.01.02.030405\n"} {
		if err := os.WriteFile(filepath.Join(image, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := bundleCmd([]string{"-image", image, "-keys", keys}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(image, "update.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	key, _ := bundle.SigningKey(keys)
	pub, _, _ := bundle.BootFiles(keys)
	pk, err := bundle.ParsePublicKey(pub)
	if err != nil || !pk.Equal(key.Public()) {
		t.Fatal("signing.pub is not signing.key's", err)
	}
	b, err := bundle.Read(f, 1<<20, pk)
	if err != nil {
		t.Fatal(err)
	}
	if m := b.Manifest; m.Board != "qemu-x86_64" || m.Version != "2026.01.02.030405" || m.Options != "console=ttyS0" || string(b.Files["initramfs.img"]) != "initramfs" {
		t.Errorf("manifest %+v", m)
	}
	if baseURL("192.168.1.1") != "http://192.168.1.1:9090" || baseURL("fd00::1") != "http://[fd00::1]:9090" || baseURL("r:80") != "http://r:80" {
		t.Error("baseURL", baseURL("192.168.1.1"), baseURL("fd00::1"))
	}
}
