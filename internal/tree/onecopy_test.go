package tree

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// oneCopy maps a line that gives a helper away to the one package that
// may hold it. Each of these was written two or three times before.
var oneCopy = []struct{ sign, home, what string }{
	{"!#$%&'*+-.^_`|~", "internal/ascii", "RFC 9110 token characters (ascii.IsTchar, ascii.IsToken)"},
	{"'a' - 'A'", "internal/ascii", "ASCII case folding (ascii.Lower, ascii.EqualFold)"},
	{"0x80 >> (", "init/config", "setting a prefix's host bits (config.LastAddr)"},
}

// TestOneCopy fails when one of those helpers is written again outside
// its package (tests aside).
func TestOneCopy(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (d.Name() == "build" || strings.HasPrefix(d.Name(), ".")) && path != root:
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go"):
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dir, _ := filepath.Rel(root, filepath.Dir(path))
		for _, h := range oneCopy {
			if filepath.ToSlash(dir) != h.home && strings.Contains(string(b), h.sign) {
				t.Errorf("%s writes %s again: use %s", path, h.what, h.home)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
