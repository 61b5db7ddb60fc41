// Package bundle: STUB written by slots so that init/update builds before
// the real package lands. Drop this file at merge.
package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

type Manifest struct {
	Board, Version string
	Built          time.Time
	Options        string
	Files          []File
}

type File struct {
	Name   string
	Size   int64
	SHA256 string
}

type Bundle struct {
	Manifest Manifest
	Files    map[string][]byte
}

var names = []string{"vmlinuz", "initramfs.img"}

func Write(w io.Writer, key ed25519.PrivateKey, m Manifest, files map[string][]byte) error {
	m.Files = nil
	for _, n := range names {
		sum := sha256.Sum256(files[n])
		m.Files = append(m.Files, File{Name: n, Size: int64(len(files[n])), SHA256: hex.EncodeToString(sum[:])})
	}
	mj, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	add := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b))}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := add("manifest.json", mj); err != nil {
		return err
	}
	if err := add("manifest.sig", ed25519.Sign(key, mj)); err != nil {
		return err
	}
	for _, n := range names {
		if err := add(n, files[n]); err != nil {
			return err
		}
	}
	return tw.Close()
}

func Read(r io.Reader, maxSize int64, pub ed25519.PublicKey) (*Bundle, error) {
	tr := tar.NewReader(io.LimitReader(r, maxSize+1))
	got := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("bundle: %s: %w", h.Name, err)
		}
		got[h.Name] = b
	}
	var m Manifest
	if err := json.Unmarshal(got["manifest.json"], &m); err != nil {
		return nil, fmt.Errorf("bundle: manifest.json: %w", err)
	}
	if !ed25519.Verify(pub, got["manifest.json"], got["manifest.sig"]) {
		return nil, errors.New("bundle: bad signature")
	}
	b := &Bundle{Manifest: m, Files: map[string][]byte{}}
	for _, f := range m.Files {
		sum := sha256.Sum256(got[f.Name])
		if hex.EncodeToString(sum[:]) != f.SHA256 {
			return nil, fmt.Errorf("bundle: %s: hash mismatch", f.Name)
		}
		b.Files[f.Name] = got[f.Name]
	}
	return b, nil
}

func (b *Bundle) Check(board, running string, force bool) error {
	if b.Manifest.Board != board {
		return fmt.Errorf("bundle for board %s, this is %s", b.Manifest.Board, board)
	}
	if !force && Compare(b.Manifest.Version, running) <= 0 {
		return fmt.Errorf("version %s is not newer than %s", b.Manifest.Version, running)
	}
	return nil
}

func Compare(a, b string) int {
	sep := func(r rune) bool { return r == '.' || r == '-' }
	fa, fb := strings.FieldsFunc(a, sep), strings.FieldsFunc(b, sep)
	for i := 0; i < len(fa) || i < len(fb); i++ {
		if i >= len(fa) {
			return -1
		}
		if i >= len(fb) {
			return 1
		}
		na, ea := strconv.Atoi(fa[i])
		nb, eb := strconv.Atoi(fb[i])
		if ea == nil && eb == nil {
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
			continue
		}
		if c := strings.Compare(fa[i], fb[i]); c != 0 {
			return c
		}
	}
	return 0
}

func Entry(board, slot, version, options string) string {
	return fmt.Sprintf("title tprouter %s (%s, slot %s)\nsort-key tprouter\nversion %s\nlinux /tprouter/%s/vmlinuz\ninitrd /tprouter/%s/initramfs.img\noptions %s\n",
		version, board, slot, version, slot, slot, options)
}

func ParsePublicKey(text []byte) (ed25519.PublicKey, error) {
	f := strings.Fields(string(text))
	if len(f) < 2 || f[0] != "ed25519" {
		return nil, errors.New("key: want \"ed25519 <base64>\"")
	}
	b, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("key: bad base64 key")
	}
	return ed25519.PublicKey(b), nil
}

func MarshalPublicKey(pub ed25519.PublicKey) []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "ed25519 %s tprouter\n", base64.StdEncoding.EncodeToString(pub))
	return buf.Bytes()
}
