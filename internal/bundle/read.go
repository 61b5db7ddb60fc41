package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// ErrSignature is the error (wrapped) of a bundle whose signature does not
// verify with the router's key.
var ErrSignature = errors.New("signed by another key: this router trusts the key on its boot partition (" +
	BootKey + "); sign with that key or reflash")

// Read reads a bundle from r, at most maxSize bytes of it, and verifies
// it with pub: the signature first, then every file's size and hash. The
// errors say what is wrong with the bundle and what to do.
func Read(r io.Reader, maxSize int64, pub ed25519.PublicKey) (*Bundle, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("bundle: no ed25519 public key to check the signature with (%d bytes)", len(pub))
	}
	lr := &limitReader{r: bufio.NewReader(r), n: maxSize, max: maxSize}
	tr := tar.NewReader(lr)
	manifest, err := entry(tr, lr, ManifestName, MaxManifest)
	if err != nil {
		return nil, err
	}
	sig, err := entry(tr, lr, SigName, ed25519.SignatureSize)
	if err != nil {
		return nil, err
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, manifest, sig) {
		return nil, ErrSignature
	}
	var m Manifest
	d := json.NewDecoder(bytes.NewReader(manifest))
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("bundle: %s: %v (signed, but not a manifest this router reads: build the bundle with this version's tools)", ManifestName, err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("bundle: %s: %w", ManifestName, err)
	}
	var total int64
	for _, f := range m.Files {
		total += f.Size
	}
	if total > maxSize {
		return nil, fmt.Errorf("bundle: too large: its files have %d bytes, this router takes at most %d", total, maxSize)
	}
	b := &Bundle{Manifest: m, Files: map[string][]byte{}}
	for range m.Files {
		if err := b.readFile(tr, lr); err != nil {
			return nil, err
		}
	}
	if h, err := tr.Next(); err == nil {
		return nil, fmt.Errorf("bundle: unexpected entry %q after the files (build the bundle with make update-bundle)", h.Name)
	} else if err != io.EOF {
		return nil, readErr(lr, "the end of the archive", err)
	}
	if err := trailing(lr); err != nil {
		return nil, err
	}
	// archive/tar takes an end of input for the end of the archive: the
	// padding of the last file and the two zero blocks after it must
	// have been there.
	if got, want := lr.max-lr.n, archiveSize(len(manifest), len(sig), m.Files); got < want {
		return nil, fmt.Errorf("bundle: truncated: %d bytes, a complete archive has at least %d (upload the whole file again)", got, want)
	}
	return b, nil
}

// archiveSize is the smallest size of a tar archive of the manifest, the
// signature and the files: a header and whole blocks for each, and two
// zero blocks.
func archiveSize(manifest, sig int, files []File) int64 {
	blocks := func(n int64) int64 { return 512 + (n+511)/512*512 }
	n := blocks(int64(manifest)) + blocks(int64(sig)) + 1024
	for _, f := range files {
		n += blocks(f.Size)
	}
	return n
}

// entry reads the next entry, which must be the regular file name of at
// most max bytes.
func entry(tr *tar.Reader, lr *limitReader, name string, max int64) ([]byte, error) {
	h, err := tr.Next()
	if err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("bundle: truncated: no %s (not an update bundle? make update-bundle writes one)", name)
		}
		return nil, readErr(lr, name, err)
	}
	if h.Name != name || h.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("bundle: unsigned: the archive starts with %q, not %s (sign it: make update-bundle)", h.Name, name)
	}
	if h.Size > max {
		return nil, fmt.Errorf("bundle: %s has %d bytes, at most %d expected", name, h.Size, max)
	}
	b, err := io.ReadAll(io.LimitReader(tr, max))
	if err != nil {
		return nil, readErr(lr, name, err)
	}
	return b, nil
}

// readFile reads the next payload file, checking it against the manifest.
func (b *Bundle) readFile(tr *tar.Reader, lr *limitReader) error {
	h, err := tr.Next()
	if err == io.EOF {
		var missing []string
		for _, f := range b.Manifest.Files {
			if _, ok := b.Files[f.Name]; !ok {
				missing = append(missing, f.Name)
			}
		}
		return fmt.Errorf("bundle: truncated: %v missing", missing)
	}
	if err != nil {
		return readErr(lr, "a file", err)
	}
	i := slices.IndexFunc(b.Manifest.Files, func(f File) bool { return f.Name == h.Name })
	switch {
	case i < 0:
		return fmt.Errorf("bundle: entry %q is not in the manifest", h.Name)
	case b.Files[h.Name] != nil:
		return fmt.Errorf("bundle: %s comes twice", h.Name)
	case h.Typeflag != tar.TypeReg:
		return fmt.Errorf("bundle: %s is not a regular file", h.Name)
	}
	f := b.Manifest.Files[i]
	if h.Size != f.Size {
		return fmt.Errorf("bundle: %s has %d bytes, the manifest says %d (file edited after signing: rebuild the bundle)", f.Name, h.Size, f.Size)
	}
	var buf bytes.Buffer
	buf.Grow(int(min(f.Size, 1<<20)))
	if _, err := io.CopyN(&buf, tr, f.Size); err != nil {
		return readErr(lr, f.Name, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	if hex.EncodeToString(sum[:]) != f.SHA256 {
		return fmt.Errorf("bundle: %s does not match its SHA-256 in the manifest (file edited after signing, or damaged in transit: rebuild and upload again)", f.Name)
	}
	b.Files[f.Name] = buf.Bytes()
	return nil
}

// trailing checks that nothing but zero padding follows the archive.
func trailing(lr *limitReader) error {
	var buf [4096]byte
	for {
		n, err := lr.Read(buf[:])
		if bytes.ContainsFunc(buf[:n], func(r rune) bool { return r != 0 }) {
			return errors.New("bundle: trailing junk after the archive (damaged, or not written by make update-bundle)")
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return readErr(lr, "the end of the archive", err)
		}
	}
}

// readErr describes an error reading what.
func readErr(lr *limitReader, what string, err error) error {
	switch {
	case lr.over:
		return fmt.Errorf("bundle: too large: more than %d bytes (at %s)", lr.max, what)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("bundle: truncated: the upload ended in %s (upload the whole file again)", what)
	}
	return fmt.Errorf("bundle: reading %s: %w", what, err)
}

// limitReader reads at most max bytes (n left) and says whether r had
// more.
type limitReader struct {
	r      io.Reader
	n, max int64
	over   bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.over = true
			return 0, fmt.Errorf("more than %d bytes", l.max)
		}
		if err != nil && err != io.EOF {
			return 0, err // the caller's own limit (http.MaxBytesReader)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
