package update

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"tprouter/init/internal/oneline"
	"tprouter/internal/bundle"
)

// MaxBundle bounds an update bundle's size.
const MaxBundle = 256 << 20

// User is the basic auth user name for PUT /update.
const User = "tprouter"

// uploadTime bounds reading a bundle and writing it: longer than the
// status endpoint's own write timeout, for a slow LAN and a slow disk.
const uploadTime = 10 * time.Minute

// Handler serves PUT /update: a bundle from the LAN, with the password,
// for this board and newer than the running version (or ?force=1), is
// written to the slot that is not running; then the router reboots.
func (u *Updater) Handler() http.Handler {
	return http.HandlerFunc(u.serveUpdate)
}

func (u *Updater) serveUpdate(w http.ResponseWriter, r *http.Request) {
	if code, msg := u.admit(r); code != 0 {
		u.refuse(w, r, code, msg)
		return
	}
	if !u.busy.CompareAndSwap(false, true) {
		u.refuse(w, r, http.StatusConflict, "update: another update is being written (or the router is rebooting into one): try again in a minute")
		return
	}
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(uploadTime))
	rc.SetWriteDeadline(time.Now().Add(uploadTime))
	version, slot, code, msg := u.apply(w, r)
	if code != http.StatusOK {
		u.busy.Store(false)
		u.refuse(w, r, code, msg)
		return
	}
	text := fmt.Sprintf("update: version %s written to slot %s; rebooting\n", version, slot)
	u.Log("%s", strings.TrimSuffix(text, "\n"))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(text)))
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(text))
	rc.Flush()
	// After the handler returns, so that the answer is complete.
	go u.Reboot(fmt.Sprintf("update: version %s in slot %s", version, slot))
}

// refuse answers code with one line, and logs it.
func (u *Updater) refuse(w http.ResponseWriter, r *http.Request, code int, msg string) {
	u.Log("update from %s refused (%d): %s", r.RemoteAddr, code, msg)
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="tprouter update", charset="UTF-8"`)
	}
	http.Error(w, msg, code)
}

// admit checks where the request comes from and its password: 0 when
// it may go on.
func (u *Updater) admit(r *http.Request) (int, string) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || u.LAN == nil || !inLAN(ap.Addr().Unmap(), u.LAN()) {
		return http.StatusForbidden, "update: only from the LAN (" + r.RemoteAddr + " is not in a LAN prefix)"
	}
	want, err := u.passwordHash()
	if err != nil {
		return http.StatusServiceUnavailable, err.Error()
	}
	user, pass, ok := r.BasicAuth()
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(User)) == 1
	if passOK := bundle.CheckPassword(want, pass); !ok || !userOK || !passOK {
		return http.StatusUnauthorized, "update: wrong or missing password (user " + User + ", the password made by make keys)"
	}
	return 0, ""
}

func inLAN(a netip.Addr, lan []netip.Prefix) bool {
	for _, p := range lan {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// passwordHash reads /boot/update/password.sha256.
func (u *Updater) passwordHash() ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(u.Boot, bundle.BootPasswordHash))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("updates are off: no /update/password.sha256 on the boot partition: make keys, then make disk and reflash")
	}
	if err != nil {
		return nil, fmt.Errorf("updates are off: reading /update/password.sha256 on the boot partition: %v", err)
	}
	if h, err := hex.DecodeString(strings.TrimSpace(string(b))); err != nil || len(h) != sha256.Size {
		return nil, errors.New("updates are off: /update/password.sha256 on the boot partition is not a hex SHA-256: make keys, then make disk and reflash")
	}
	return b, nil
}

// apply reads, checks and writes the bundle in r's body: the version
// and slot written, or the status and message to refuse with.
func (u *Updater) apply(w http.ResponseWriter, r *http.Request) (version, slot string, code int, msg string) {
	running, _, why := u.Running()
	if running == "" {
		return "", "", http.StatusServiceUnavailable, "updates are off: cannot tell the running slot: " + why
	}
	limit := u.maxBundle()
	if r.ContentLength > limit {
		return "", "", http.StatusRequestEntityTooLarge, fmt.Sprintf("update: the bundle is %d bytes, more than the %d a bundle may have", r.ContentLength, limit)
	}
	pub, err := u.publicKey()
	if err != nil {
		return "", "", http.StatusServiceUnavailable, err.Error()
	}
	b, err := bundle.Read(http.MaxBytesReader(w, r.Body, limit), limit, pub)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return "", "", http.StatusRequestEntityTooLarge, fmt.Sprintf("update: the bundle is more than the %d bytes a bundle may have", limit)
	case err != nil:
		return "", "", http.StatusBadRequest, "update: " + oneLine(err)
	}
	m := b.Manifest
	if err := b.Check(u.Board, u.Version, r.URL.Query().Get("force") == "1"); err != nil {
		code := http.StatusConflict
		if m.Board != u.Board {
			code = http.StatusBadRequest
		}
		return "", "", code, "update: " + oneLine(err)
	}
	slot = other(running)
	u.Log("update: writing version %s to slot %s (running version %s in slot %s)", m.Version, slot, u.Version, running)
	if err := u.writeSlot(slot, running, b); err != nil {
		return "", "", http.StatusInternalServerError, fmt.Sprintf("update: writing slot %s: %s; the running slot %s is untouched", slot, oneLine(err), running)
	}
	return m.Version, slot, http.StatusOK, ""
}

func (u *Updater) maxBundle() int64 {
	if u.maxSize > 0 {
		return u.maxSize
	}
	return MaxBundle
}

// publicKey reads /boot/update/key.pub.
func (u *Updater) publicKey() (ed25519.PublicKey, error) {
	b, err := os.ReadFile(filepath.Join(u.Boot, bundle.BootKey))
	if err != nil {
		return nil, fmt.Errorf("updates are off: reading /update/key.pub on the boot partition: %v: make keys, then make disk and reflash", err)
	}
	pub, err := bundle.ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("updates are off: /update/key.pub on the boot partition: %v: make keys, then make disk and reflash", err)
	}
	return pub, nil
}

func oneLine(err error) string { return oneline.Join(err).Error() }
