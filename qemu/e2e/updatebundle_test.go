package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tprouter/internal/ascii"
	"tprouter/internal/bundle"
	"tprouter/qemu"
	"tprouter/qemu/lab"
)

// TestUpdate's bundles, good and bad, and its uploads.

// bundle makes the bundle of the image in dir with the host command, as
// make update-bundle does, signed with the run's key.
func (u *updateRun) bundle(t *testing.T, dir, name string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	qemu.GoRun(t, "./image/update", "bundle", "-image", dir, "-keys", u.keys, "-o", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// push runs make update's client, `image/update push`, from the lab
// client on the LAN with the run's keys, in the background: it uploads
// body, then waits for the router to come back. The function returned
// waits for it and returns what it printed.
func (u *updateRun) push(t *testing.T, body []byte) func() (string, error) {
	t.Helper()
	dir := t.TempDir()
	bin, file := filepath.Join(dir, "update"), filepath.Join(dir, "update.tar")
	if out, err := exec.Command("go", "build", "-o", bin, "tprouter/image/update").CombinedOutput(); err != nil {
		t.Fatalf("go build tprouter/image/update: %v\n%s", err, out)
	}
	if err := os.WriteFile(file, body, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := u.l.Client.Command(bin, "push", "-router", lab.RouterLANv4.Addr().String(), "-bundle", file, "-keys", u.keys, "-wait", "4m")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return func() (string, error) {
		err := cmd.Wait()
		return out.String(), err
	}
}

// craft makes a bundle of the image in dir with the manifest's board and
// version set by the test, signed with key.
func craft(t *testing.T, key ed25519.PrivateKey, board, version, dir string) []byte {
	t.Helper()
	files := map[string][]byte{}
	for _, f := range append([]string{"cmdline"}, bundle.Payload...) {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = b
	}
	options := strings.TrimSpace(string(files["cmdline"]))
	delete(files, "cmdline")
	return write(t, key, bundle.Manifest{Board: board, Version: version, Options: options}, files)
}

// small makes a bundle of a few KiB whose files boot nothing, for the
// refusals: a bundle the router stops reading early fits in the sockets'
// buffers, so that the client reads the answer instead of failing to
// write the rest.
func small(t *testing.T, key ed25519.PrivateKey, board, version string) []byte {
	t.Helper()
	files := map[string][]byte{}
	for _, f := range bundle.Payload {
		files[f] = bytes.Repeat([]byte("not a "+f+"\n"), 256)
	}
	return write(t, key, bundle.Manifest{Board: board, Version: version, Options: "console=ttyS0"}, files)
}

// write is bundle.Write into memory, built now.
func write(t *testing.T, key ed25519.PrivateKey, m bundle.Manifest, files map[string][]byte) []byte {
	t.Helper()
	m.Built = time.Now().UTC().Truncate(time.Second)
	var buf bytes.Buffer
	if err := bundle.Write(&buf, key, m, files); err != nil {
		t.Fatalf("bundle.Write: %v", err)
	}
	return buf.Bytes()
}

// unsigned returns b without its manifest.sig.
func unsigned(t *testing.T, b []byte) []byte {
	t.Helper()
	r := tar.NewReader(bytes.NewReader(b))
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the bundle: %v", err)
		}
		if h.Name == bundle.SigName {
			continue
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tryPut uploads body to PUT /update from the lab client, with the
// password when auth, and returns the answer. Writing a slot under
// emulation takes a while, hence the long timeout.
func (u *updateRun) tryPut(body io.Reader, auth, force bool) (int, string, error) {
	url := statusURL + "/update"
	if force {
		url += "?force=1"
	}
	req, err := http.NewRequest(http.MethodPut, url, body)
	if err != nil {
		return 0, "", err
	}
	if auth {
		req.SetBasicAuth("tprouter", u.password)
	}
	c := u.l.Client.HTTPClient()
	c.Timeout = 3 * time.Minute
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("PUT %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// put is tryPut that fails t on a transport error.
func (u *updateRun) put(t *testing.T, body io.Reader, auth, force bool) (int, string) {
	t.Helper()
	code, text, err := u.tryPut(body, auth, force)
	if err != nil {
		t.Fatal(err)
	}
	return code, text
}

// refusals: each bad upload gets its 4xx and a line that names the
// problem, the router keeps intercepting, and the update port is closed
// to the WAN.
func (u *updateRun) refusals(t *testing.T) {
	good := small(t, u.key, updateBoard, "2")
	cases := []struct {
		name string
		body []byte
		auth bool
		code int
		want []string // the answer has one of these (case folded)
	}{
		{"NoPassword", good, false, 401, []string{"password", "auth"}},
		{"Unsigned", unsigned(t, good), true, 400, []string{"manifest.sig", "signature", "signed"}},
		{"OtherKey", small(t, otherKey(t), updateBoard, "2"), true, 400, []string{"signature", "signed", "key"}},
		{"Truncated", good[:len(good)/2], true, 400, []string{"truncated", "unexpected eof", "missing", "short"}},
		{"WrongBoard", small(t, u.key, wrongBoard, "2"), true, 400, []string{"board"}},
		{"TooOld", small(t, u.key, updateBoard, "0.9"), true, 409, []string{"newer", "older", "force"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := u.put(t, bytes.NewReader(c.body), c.auth, false)
			t.Logf("%d %s", code, strings.TrimSpace(body))
			if code != c.code {
				t.Errorf("PUT /update: %d, want %d", code, c.code)
			}
			if !containsAnyFold(body, c.want) {
				t.Errorf("the answer %q has none of %q", body, c.want)
			}
			u.stillServes(t)
		})
	}
	t.Run("WANClosed", func(t *testing.T) {
		addrs := []netip.Addr{lab.RouterWANv4.Addr(), lab.RouterWANv6.Addr(), lab.RouterLANv4.Addr(), lab.RouterLANv6.Addr()}
		if open := acceptors(u.l.Server, addrs, []uint16{9090}); len(open) > 0 {
			t.Errorf("from the WAN, the update port accepted a connection on %v", open)
		}
	})
	u.expectRunning(t, "1", "a")
}

// containsAnyFold reports whether s has one of subs (lower case), with
// s's ASCII letters folded.
func containsAnyFold(s string, subs []string) bool {
	b := []byte(s)
	for i := range b {
		b[i] = ascii.Lower(b[i])
	}
	for _, sub := range subs {
		if bytes.Contains(b, []byte(sub)) {
			return true
		}
	}
	return false
}
