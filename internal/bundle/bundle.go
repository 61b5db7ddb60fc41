package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// The archive's entries.
const (
	ManifestName = "manifest.json"
	SigName      = "manifest.sig"
	Vmlinuz      = "vmlinuz"
	Initramfs    = "initramfs.img"
)

// Payload are the files a bundle carries, in the archive's order.
var Payload = []string{Vmlinuz, Initramfs}

// MaxManifest bounds manifest.json.
const MaxManifest = 64 << 10

// Manifest describes a bundle; it is signed.
type Manifest struct {
	Board   string    `json:"board"`
	Version string    `json:"version"`
	Built   time.Time `json:"built"`
	// Options is the board's kernel command line, the loader entry's
	// options line.
	Options string `json:"options"`
	Files   []File `json:"files"`
}

// File is one payload file of a bundle.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
}

// Bundle is a bundle read and verified by Read.
type Bundle struct {
	Manifest Manifest
	Files    map[string][]byte // by name: vmlinuz, initramfs.img
}

// Write writes the bundle of files (exactly the Payload names) described
// by m, filling in m.Files, signed with key. The same inputs give the
// same bytes.
func Write(w io.Writer, key ed25519.PrivateKey, m Manifest, files map[string][]byte) error {
	if len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("bundle.Write: no ed25519 private key (%d bytes)", len(key))
	}
	if len(files) != len(Payload) {
		return fmt.Errorf("bundle.Write: want the files %v, have %d files", Payload, len(files))
	}
	m.Files = nil
	for _, name := range Payload {
		data, ok := files[name]
		if !ok {
			return fmt.Errorf("bundle.Write: no %s", name)
		}
		sum := sha256.Sum256(data)
		m.Files = append(m.Files, File{Name: name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
	}
	if err := m.validate(); err != nil {
		return fmt.Errorf("bundle.Write: %w", err)
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	manifest = append(manifest, '\n')
	tw := tar.NewWriter(w)
	entries := append([]string{ManifestName, SigName}, Payload...)
	data := map[string][]byte{ManifestName: manifest, SigName: ed25519.Sign(key, manifest)}
	for _, name := range entries {
		b, ok := data[name]
		if !ok {
			b = files[name]
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(b)),
			ModTime: m.Built.UTC().Truncate(time.Second), Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("bundle.Write: %s: %w", name, err)
		}
		if _, err := io.Copy(tw, bytes.NewReader(b)); err != nil {
			return fmt.Errorf("bundle.Write: %s: %w", name, err)
		}
	}
	return tw.Close()
}
