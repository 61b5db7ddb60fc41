package update

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"tprouter/internal/bundle"
)

const password = "correct horse battery"

// rig is an Updater on temporary directories: a boot partition with
// slot a (version 2) running, keys and a password, and fakes.
type rig struct {
	*Updater
	key      ed25519.PrivateKey
	mu       sync.Mutex
	logs     []string
	remounts []bool
	reboots  chan string
}

func newRig(t *testing.T, selected string, entries map[string]string) *rig {
	t.Helper()
	boot, perm, vars := t.TempDir(), t.TempDir(), t.TempDir()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	sum := sha256.Sum256([]byte(password))
	write(t, filepath.Join(boot, "update/key.pub"), string(bundle.MarshalPublicKey(pub, "test")))
	write(t, filepath.Join(boot, "update/password.sha256"), hex.EncodeToString(sum[:])+"\n")
	for _, s := range Slots {
		write(t, filepath.Join(boot, "tprouter", s, "vmlinuz"), "kernel "+s)
		write(t, filepath.Join(boot, "tprouter", s, "initramfs.img"), "initramfs "+s)
	}
	for name, version := range entries {
		e, _ := parseEntry(name)
		write(t, filepath.Join(boot, "loader/entries", name), bundle.Entry("pc", e.slot, version, "console=ttyS0"))
	}
	write(t, filepath.Join(vars, "LoaderEntrySelected-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"), string(efiString(selected)))
	r := &rig{key: key, reboots: make(chan string, 4)}
	r.Updater = &Updater{
		Boot: boot, Perm: perm, Board: "pc", Version: "2", EFIVars: vars,
		LAN: func() []netip.Prefix {
			return []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("fd00::/64")}
		},
		Log: func(f string, a ...any) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.logs = append(r.logs, fmt.Sprintf(f, a...))
		},
		Reboot: func(why string) { r.reboots <- why },
		Remount: func(dir string, rw bool) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.remounts = append(r.remounts, rw)
			return nil
		},
	}
	return r
}

// efiString is a string variable as efivarfs shows it.
func efiString(s string) []byte {
	b := []byte{7, 0, 0, 0}
	for _, c := range utf16.Encode([]rune(s + "\x00")) {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// bundleFor makes a signed bundle.
func (r *rig) bundleFor(t *testing.T, board, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	m := bundle.Manifest{Board: board, Version: version, Built: time.Now(), Options: "console=ttyS0 panic=10"}
	files := map[string][]byte{"vmlinuz": []byte("kernel " + version), "initramfs.img": []byte("initramfs " + version)}
	if err := bundle.Write(&buf, r.key, m, files); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (r *rig) read(t *testing.T) *bundle.Bundle {
	t.Helper()
	b, err := bundle.Read(bytes.NewReader(r.bundleFor(t, "pc", "3")), MaxBundle, r.key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (r *rig) logged(sub string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.logs {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// tree is every file under dir with its contents.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			m[rel] = string(b)
		}
		return nil
	})
	return m
}

// slotFiles is what of tree belongs to slot: its files and entries.
func slotFiles(all map[string]string, slot string) map[string]string {
	m := map[string]string{}
	for k, v := range all {
		if strings.HasPrefix(k, "tprouter/"+slot+"/") || strings.HasPrefix(k, "loader/entries/tprouter-"+slot) {
			m[k] = v
		}
	}
	return m
}
