package bundle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Files in the keys directory ($(KEYS), ~/.config/tprouter).
const (
	KeyFile      = "signing.key"     // PEM PKCS#8, 0600
	PubFile      = "signing.pub"     // "ed25519 <base64>"
	PasswordFile = "update.password" // 24 characters, 0600
)

// Files on the router's boot partition.
const (
	BootKey          = "/update/key.pub"
	BootPasswordHash = "/update/password.sha256"
)

// VersionFile is the image's version in the initramfs, one line;
// BoardFile its board's name: an update must be for that board.
const (
	VersionFile = "/etc/tprouter/version"
	BoardFile   = "/etc/tprouter/board"
)

// MarshalPublicKey is the public key file: "ed25519 <base64>" and a
// comment line.
func MarshalPublicKey(pub ed25519.PublicKey, comment string) []byte {
	return fmt.Appendf(nil, "ed25519 %s\n# %s\n", base64.StdEncoding.EncodeToString(pub), comment)
}

// ParsePublicKey reads a public key file: one line "ed25519 <base64>",
// besides empty lines and comment lines starting with #.
func ParsePublicKey(text []byte) (ed25519.PublicKey, error) {
	var key ed25519.PublicKey
	for line := range strings.Lines(string(text)) {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if key != nil {
			return nil, errors.New("public key: more than one key line (want one \"ed25519 <base64>\" line)")
		}
		b, err := base64.StdEncoding.DecodeString(f[len(f)-1])
		if f[0] != "ed25519" || len(f) != 2 || err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("public key: %.40q is not \"ed25519 <base64 of 32 bytes>\" (make keys writes %s)", strings.TrimSpace(line), PubFile)
		}
		key = b
	}
	if key == nil {
		return nil, errors.New("public key: no \"ed25519 <base64>\" line (make keys writes " + PubFile + ")")
	}
	return key, nil
}

// MarshalPrivateKey is the private key file, PEM "PRIVATE KEY" (PKCS#8).
func MarshalPrivateKey(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKey reads a private key file.
func ParsePrivateKey(text []byte) (ed25519.PrivateKey, error) {
	b, _ := pem.Decode(text)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, errors.New("signing key: no PEM \"PRIVATE KEY\" block (make keys writes " + KeyFile + ")")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key: a %T, not ed25519", k)
	}
	return key, nil
}

// NewPassword returns a random password of 24 letters and digits.
func NewPassword() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 24)
	for i := range b {
		var r [1]byte
		for {
			rand.Read(r[:])
			if int(r[0]) < 256/len(alphabet)*len(alphabet) { // no modulo bias
				break
			}
		}
		b[i] = alphabet[int(r[0])%len(alphabet)]
	}
	return string(b)
}

// HashPassword is the password hash file of password: its hex SHA-256,
// one line. Surrounding white space (a newline in the file) is not part
// of the password.
func HashPassword(password string) []byte {
	sum := sha256.Sum256([]byte(strings.TrimSpace(password)))
	return []byte(hex.EncodeToString(sum[:]) + "\n")
}

// CheckPassword says, in constant time, whether password matches the
// password hash file hashFile.
func CheckPassword(hashFile []byte, password string) bool {
	want := bytes.TrimSpace(hashFile)
	got := bytes.TrimSpace(HashPassword(password))
	return len(want) == len(got) && subtle.ConstantTimeCompare(want, got) == 1
}
