// Package kmod picks kernel modules and their dependencies out of a
// kernel's module tree and writes the modules.dep that init reads at boot
// (tprouter/init/boot) to load them.
//
// Debian's kernel packages ship no modules.dep (depmod runs when the
// package is installed), so it is made here from each module's .modinfo
// section, with debug/elf, instead of requiring depmod on the build
// machine.
package kmod

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Tree is a kernel's module directory, lib/modules/<release>.
type Tree struct {
	Dir     string
	paths   map[string]string // module name → path relative to Dir
	builtin map[string]bool

	aliases map[string][]string // alias → module names; read when first needed
}

// Module is one loadable module.
type Module struct {
	Name    string   // nf_tables
	Path    string   // kernel/net/netfilter/nf_tables.ko, relative to Tree.Dir
	Depends []string // modules it needs loaded first (modinfo depends=)
}

// Name normalizes a module or file name the way the kernel does: without
// directory and .ko, with "_" for "-".
func Name(s string) string {
	s = strings.TrimSuffix(filepath.Base(s), ".ko")
	return strings.ReplaceAll(s, "-", "_")
}

// Open indexes the modules under dir and reads its modules.builtin.
func Open(dir string) (*Tree, error) {
	t := &Tree{Dir: dir, paths: map[string]string{}, builtin: map[string]bool{}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch name := d.Name(); {
		case strings.HasSuffix(name, ".ko.xz"), strings.HasSuffix(name, ".ko.zst"), strings.HasSuffix(name, ".ko.gz"):
			return fmt.Errorf("%s: compressed modules are not supported", path)
		case strings.HasSuffix(name, ".ko"):
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			t.paths[Name(name)] = rel
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(t.paths) == 0 {
		return nil, fmt.Errorf("%s: no .ko files", dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, "modules.builtin"))
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Fields(string(b)) {
		t.builtin[Name(line)] = true
	}
	return t, nil
}

// Builtin reports whether module name is built into the kernel.
func (t *Tree) Builtin(name string) bool { return t.builtin[Name(name)] }

// Module reads the module called name.
func (t *Tree) Module(name string) (*Module, error) {
	rel, ok := t.paths[Name(name)]
	if !ok {
		return nil, fmt.Errorf("module %s: not in %s", name, t.Dir)
	}
	info, err := Modinfo(filepath.Join(t.Dir, rel))
	if err != nil {
		return nil, err
	}
	m := &Module{Name: Name(name), Path: rel}
	for _, d := range strings.Split(info["depends"], ",") {
		if d != "" {
			m.Depends = append(m.Depends, Name(d))
		}
	}
	// softdep=pre: modules are wanted before this one: r8169 wants its
	// PHY driver (realtek), libcrc32c the crc32c algorithm, which it
	// otherwise asks the kernel to load on demand, and there is no
	// modprobe to do that. They become ordinary dependencies.
	for _, f := range strings.Fields(info["softdep"]) {
		if f == "pre:" {
			continue
		}
		if f == "post:" {
			break
		}
		deps, err := t.resolve(f)
		if err != nil {
			return nil, err
		}
		m.Depends = append(m.Depends, deps...)
	}
	return m, nil
}

// resolve returns the modules that provide name, a module name or an alias
// (crc32c), as modprobe would find them: none if the kernel has it built
// in or nothing provides it.
func (t *Tree) resolve(name string) ([]string, error) {
	if _, ok := t.paths[Name(name)]; ok {
		return []string{Name(name)}, nil
	}
	if t.Builtin(name) {
		return nil, nil
	}
	if t.aliases == nil {
		if err := t.readAliases(); err != nil {
			return nil, err
		}
	}
	var mods []string
	for _, m := range t.aliases[name] {
		if t.builtin[m] {
			return nil, nil
		}
		mods = append(mods, m)
	}
	slices.Sort(mods)
	return mods, nil
}

// readAliases reads the alias= entries of every module and of the built-in
// ones (modules.builtin.modinfo: "module.key=value", NUL-separated).
func (t *Tree) readAliases() error {
	t.aliases = map[string][]string{}
	for name, rel := range t.paths {
		info, err := Modinfo(filepath.Join(t.Dir, rel))
		if err != nil {
			return err
		}
		for _, a := range strings.Fields(info["alias"]) {
			t.aliases[a] = append(t.aliases[a], name)
		}
	}
	b, err := os.ReadFile(filepath.Join(t.Dir, "modules.builtin.modinfo"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		k, a, ok := strings.Cut(string(kv), "=")
		mod, key, ok2 := strings.Cut(k, ".")
		if ok && ok2 && key == "alias" {
			t.builtin[Name(mod)] = true
			t.aliases[a] = append(t.aliases[a], Name(mod))
		}
	}
	return nil
}

// Modinfo returns the key=value pairs of a module's .modinfo section.
// Repeated keys (softdep, alias) are joined with a space.
func Modinfo(path string) (map[string]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("elf.Open(%s): %w", path, err)
	}
	defer f.Close()
	s := f.Section(".modinfo")
	if s == nil {
		return nil, fmt.Errorf("%s: no .modinfo section", path)
	}
	data, err := s.Data()
	if err != nil {
		return nil, fmt.Errorf("%s: reading .modinfo: %w", path, err)
	}
	info := map[string]string{}
	for _, kv := range bytes.Split(data, []byte{0}) {
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok {
			continue
		}
		if old, dup := info[k]; dup {
			v = old + " " + v
		}
		info[k] = v
	}
	return info, nil
}

// Closure returns the modules named in names together with everything they
// depend on, ordered so that each module comes after its dependencies:
// loading them one by one in this order works. Names of built-in modules
// are returned in builtin and need no loading.
func (t *Tree) Closure(names []string) (mods []*Module, builtin []string, err error) {
	var roots []string
	for _, n := range names {
		if _, ok := t.paths[Name(n)]; !ok && t.Builtin(n) {
			builtin = append(builtin, Name(n))
			continue
		}
		roots = append(roots, n)
	}
	mods, err = order(roots, t.Module)
	return mods, builtin, err
}

// order walks the dependency graph from roots depth first and returns the
// modules in post-order: dependencies first, then the modules in roots'
// order. read is Tree.Module; tests pass a table.
func order(roots []string, read func(string) (*Module, error)) ([]*Module, error) {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var out []*Module
	var visit func(name string, from []string) error
	visit = func(name string, from []string) error {
		name = Name(name)
		switch state[name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("module dependency cycle: %s → %s", strings.Join(from, " → "), name)
		}
		state[name] = visiting
		m, err := read(name)
		if err != nil {
			if len(from) > 0 {
				return fmt.Errorf("%w (needed by %s)", err, from[len(from)-1])
			}
			return err
		}
		for _, d := range m.Depends {
			if err := visit(d, append(from, name)); err != nil {
				return err
			}
		}
		state[name] = done
		out = append(out, m)
		return nil
	}
	for _, r := range roots {
		if err := visit(r, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// WriteDep writes mods in the format of depmod's modules.dep: one line per
// module, "path: dep-path dep-path ...", listing every module it needs,
// directly or not, so that loading the list from its end backwards works.
// mods must be closed under Depends and in Closure's order.
func WriteDep(w io.Writer, mods []*Module) error {
	byName := map[string]*Module{}
	for _, m := range mods {
		byName[m.Name] = m
	}
	bw := bufio.NewWriter(w)
	for _, m := range mods {
		// As depmod writes it, a module without dependencies has its
		// ":" too.
		fmt.Fprintf(bw, "%s:", m.Path)
		deps, err := transitive(m, byName)
		if err != nil {
			return err
		}
		for i := len(deps) - 1; i >= 0; i-- {
			fmt.Fprintf(bw, " %s", deps[i].Path)
		}
		fmt.Fprintln(bw)
	}
	return bw.Flush()
}

// transitive returns all modules m needs, dependencies before dependents.
func transitive(m *Module, byName map[string]*Module) ([]*Module, error) {
	deps, err := order(m.Depends, func(name string) (*Module, error) {
		d, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("module %s: dependency %s is not in the list", m.Name, name)
		}
		return d, nil
	})
	return deps, err
}
