package boot

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// depTree is a module tree's modules.dep and modules.builtin, by module
// name.
type depTree struct {
	dir     string
	path    map[string]string   // the module's file, relative to dir
	deps    map[string][]string // the modules it needs loaded first
	builtin map[string]bool
}

// readDep reads dir's modules.dep, in depmod's format ("path: dep-path
// ..."), and modules.builtin, which may be missing.
func readDep(dir string) (*depTree, error) {
	name := filepath.Join(dir, "modules.dep")
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w (the image must ship /lib/modules/$(uname -r)/modules.dep)", err)
	}
	defer f.Close()
	t := &depTree{dir: dir, path: map[string]string{}, deps: map[string][]string{}, builtin: map[string]bool{}}
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		if strings.TrimSpace(s.Text()) == "" {
			continue
		}
		mod, deps, ok := strings.Cut(s.Text(), ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: malformed modules.dep line %q, want \"path: dependency-path ...\"", name, n, s.Text())
		}
		mod = strings.TrimSpace(mod)
		m := modName(mod)
		t.path[m] = mod
		for _, d := range strings.Fields(deps) {
			t.deps[m] = append(t.deps[m], modName(d))
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return t, t.readBuiltin()
}

func (t *depTree) readBuiltin() error {
	b, err := os.ReadFile(filepath.Join(t.dir, "modules.builtin"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, p := range strings.Fields(string(b)) {
		t.builtin[modName(p)] = true
	}
	return nil
}

// acyclic returns an error naming a dependency cycle among nodes, which
// would leave their loads waiting for each other forever.
func (t *depTree) acyclic(nodes map[string]*node) error {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("modules.dep has a dependency cycle: %s → %s", strings.Join(path, " → "), name)
		}
		state[name] = visiting
		for _, d := range t.deps[name] {
			if err := visit(d, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = done
		return nil
	}
	for name := range nodes {
		if err := visit(name, nil); err != nil {
			return err
		}
	}
	return nil
}

// modName normalizes a module or file name the way the kernel does:
// without directory and .ko (compressed or not), with "_" for "-".
func modName(s string) string {
	s = filepath.Base(s)
	if i := strings.Index(s, ".ko"); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, "-", "_")
}
