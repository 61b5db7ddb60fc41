package bundle

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Check refuses b for a router of board running version running: a
// bundle for another board, or one whose version is not newer (unless
// force).
func (b *Bundle) Check(board, running string, force bool) error {
	m := b.Manifest
	if m.Board != board {
		return fmt.Errorf("bundle: for board %s, this router is %s (make update-bundle BOARD=%s)", m.Board, board, board)
	}
	if !force && Compare(m.Version, running) <= 0 {
		return fmt.Errorf("bundle: version %s is not newer than the running %s: add ?force=1 / FORCE=1 to install it anyway", m.Version, running)
	}
	return nil
}

// Compare compares the versions a and b, -1, 0 or +1: field by field on
// "." and "-", numerically where both fields are numbers, by bytes
// otherwise; a version that is a prefix of the other is older.
func Compare(a, b string) int {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' })
	}
	fa, fb := split(a), split(b)
	for i := 0; i < len(fa) && i < len(fb); i++ {
		if c := compareField(fa[i], fb[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(fa) < len(fb):
		return -1
	case len(fa) > len(fb):
		return 1
	}
	return strings.Compare(a, b) // 1.2 and 1-2: equal fields, still an order
}

// compareField compares two fields, numerically when both are digits
// (of any length: leading zeros dropped, then the longer is larger).
func compareField(a, b string) int {
	if digits(a) && digits(b) {
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if c := len(a) - len(b); c != 0 {
			return max(-1, min(1, c))
		}
	}
	return strings.Compare(a, b)
}

func digits(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

var versionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+~_-]{0,63}$`)

// ValidVersion says whether v can be a version: 1 to 64 letters, digits
// and ".+~_-", starting with a letter or digit (it goes into a loader
// entry and /etc/tprouter/version as one word).
func ValidVersion(v string) error {
	if !versionRE.MatchString(v) {
		return fmt.Errorf("version %q: want 1 to 64 letters, digits and .+~_- (like 2026.01.02.030405)", v)
	}
	return nil
}

// validate checks a manifest's fields.
func (m *Manifest) validate() error {
	switch {
	case m.Board == "" || strings.ContainsAny(m.Board, " \t\r\n"):
		return fmt.Errorf("board %q: want a board name", m.Board)
	case m.Options == "" || strings.ContainsAny(m.Options, "\r\n"):
		return fmt.Errorf("options %q: want the kernel command line on one line", m.Options)
	case len(m.Files) != len(Payload):
		return fmt.Errorf("%d files, want %v", len(m.Files), Payload)
	}
	if err := ValidVersion(m.Version); err != nil {
		return err
	}
	for i, f := range m.Files {
		if f.Name != Payload[i] {
			return fmt.Errorf("file %d is %q, want %s", i, f.Name, Payload[i])
		}
		if f.Size < 0 || len(f.SHA256) != 64 || strings.Trim(f.SHA256, "0123456789abcdef") != "" {
			return fmt.Errorf("file %s: size %d and sha256 %q: want a size and a hex SHA-256", f.Name, f.Size, f.SHA256)
		}
		if slices.IndexFunc(m.Files[:i], func(g File) bool { return g.Name == f.Name }) >= 0 {
			return errors.New("file " + f.Name + " listed twice")
		}
	}
	return nil
}
