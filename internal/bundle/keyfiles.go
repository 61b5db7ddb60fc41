package bundle

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// CreateKeys makes the keys directory's missing files (KeyFile, PubFile,
// PasswordFile) and returns the names of those it made. It never replaces
// a file: a missing public key is derived from the signing key there.
func CreateKeys(dir string) (created []string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	keyPath := filepath.Join(dir, KeyFile)
	text, err := os.ReadFile(keyPath)
	var key ed25519.PrivateKey
	switch {
	case err == nil:
		if key, err = ParsePrivateKey(text); err != nil {
			return nil, fmt.Errorf("%s: %w", keyPath, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		if _, key, err = ed25519.GenerateKey(rand.Reader); err != nil {
			return nil, err
		}
		if text, err = MarshalPrivateKey(key); err != nil {
			return nil, err
		}
		if err := createFile(keyPath, text, 0o600); err != nil {
			return nil, err
		}
		created = append(created, keyPath)
	default:
		return nil, err
	}
	comment := fmt.Sprintf("tprouter update signing key, %s, made %s", KeyFile, time.Now().UTC().Format(time.DateOnly))
	more := []struct {
		name string
		data func() []byte
		mode fs.FileMode
	}{
		{PubFile, func() []byte { return MarshalPublicKey(key.Public().(ed25519.PublicKey), comment) }, 0o644},
		{PasswordFile, func() []byte { return []byte(NewPassword() + "\n") }, 0o600},
	}
	for _, f := range more {
		p := filepath.Join(dir, f.name)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if err := createFile(p, f.data(), f.mode); err != nil {
			return created, err
		}
		created = append(created, p)
	}
	return created, nil
}

// createFile writes a new file, failing if it exists.
func createFile(name string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
	}
	return err
}

// BootFiles reads the keys directory and returns what the disk image's
// boot partition carries: the public key file (BootKey) and the
// password's hash (BootPasswordHash). An error wraps fs.ErrNotExist when
// a file is missing.
func BootFiles(dir string) (pub, passwordHash []byte, err error) {
	pub, err = os.ReadFile(filepath.Join(dir, PubFile))
	if err != nil {
		return nil, nil, err
	}
	if _, err := ParsePublicKey(pub); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, PubFile), err)
	}
	pw, err := os.ReadFile(filepath.Join(dir, PasswordFile))
	if err != nil {
		return nil, nil, err
	}
	if len(pw) == 0 {
		return nil, nil, fmt.Errorf("%s is empty (delete it and make keys)", filepath.Join(dir, PasswordFile))
	}
	return pub, HashPassword(string(pw)), nil
}

// SigningKey reads the keys directory's signing key.
func SigningKey(dir string) (ed25519.PrivateKey, error) {
	p := filepath.Join(dir, KeyFile)
	text, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("%w (make keys, or -keys the directory with %s)", err, KeyFile)
	}
	key, err := ParsePrivateKey(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return key, nil
}
