package boot

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// ModulesFile is where the image lists the board's kernel modules.
//
// The format is that of /etc/modules: one module per line, by name
// (nf_tables; '-' and '_' are the same), optionally followed by its
// parameters (`name key=value ...`). '#' starts a comment; blank lines are
// ignored. Every module is loaded after its dependencies, which come from
// modules.dep in /lib/modules/$(uname -r)/ (the image generates it);
// modules that do not depend on each other load at the same time. A module
// built into the kernel (modules.builtin, or already in /sys/module) counts
// as loaded. Without the file no module is loaded: a kernel with
// everything built in needs none.
//
// List every module the router uses directly, not only the drivers:
// there is no modprobe in the image, so the kernel cannot load
// nft_tproxy, nft_socket, nft_chain_nat and the like on demand when a
// rule needs them.
const ModulesFile = "/etc/tprouter/modules"

// DriversFile lists, in the same format, the device drivers among the
// modules (NICs, disks). They load one after another, each with its
// dependencies, in the file's order and before the others: the kernel
// names NICs (eth0, eth1) and disks in the order its drivers find them,
// and two drivers that load at once race for the names, so that eth0
// and eth1 could swap from one boot to the next.
const DriversFile = "/etc/tprouter/drivers"

// Module is one line of a modules file.
type Module struct {
	Name   string
	Params string // space-separated key=value, passed to the module
}

// ParseModules reads the modules file format.
func ParseModules(r io.Reader) ([]Module, error) {
	var mods []Module
	s := bufio.NewScanner(r)
	for s.Scan() {
		line, _, _ := strings.Cut(s.Text(), "#")
		name, params, _ := strings.Cut(strings.TrimSpace(line), " ")
		if name == "" {
			continue
		}
		mods = append(mods, Module{Name: name, Params: strings.Join(strings.Fields(params), " ")})
	}
	return mods, s.Err()
}

// Modules loads the kernel modules that a modules file lists.
type Modules struct {
	// File is the list, normally ModulesFile.
	File string
	// Drivers is the list of device drivers, normally DriversFile; ""
	// or a missing file: none.
	Drivers string
	// Dir is the module tree, with modules.dep, modules.builtin and the
	// .ko files; default /lib/modules/$(uname -r).
	Dir string
	// SysModule is /sys/module, where loaded modules and built-in ones
	// without an entry in modules.builtin show up; "": not looked at.
	SysModule string

	// load loads one module file; nil is finit_module(2). A test seam.
	load func(path, params string) error
}

// Load loads every module in the file with its dependencies, each as soon
// as its dependencies are in, after the drivers of the Drivers file, one
// at a time. It returns the names it loaded or found loaded, in the
// files' order, and an error for each one it could not load; one failing
// module does not stop the others.
func (m Modules) Load() (loaded []string, errs []error) {
	drivers, err := readModules(m.Drivers)
	if err != nil {
		return nil, []error{err}
	}
	mods, err := readModules(m.File)
	if err != nil {
		return nil, []error{err}
	}
	if len(drivers)+len(mods) == 0 {
		return nil, nil
	}
	dir, err := m.dir()
	if err != nil {
		return nil, []error{err}
	}
	t, err := readDep(dir)
	if err != nil {
		return nil, []error{err}
	}
	if m.load == nil {
		m.load = finitModule
	}
	var results []error
	for _, d := range drivers {
		results = append(results, m.loadAll(t, []Module{d})...)
	}
	results = append(results, m.loadAll(t, mods)...)
	for i, mod := range append(drivers, mods...) {
		if err := results[i]; err != nil && !m.inSys(mod.Name) {
			errs = append(errs, fmt.Errorf("module %s: %w", mod.Name, err))
			continue
		}
		if !slices.Contains(loaded, mod.Name) {
			loaded = append(loaded, mod.Name)
		}
	}
	return loaded, errs
}

// readModules reads a modules file; "" or a missing file lists none.
func readModules(name string) ([]Module, error) {
	if name == "" {
		return nil, nil
	}
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	mods, err := ParseModules(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return mods, nil
}

func (m Modules) dir() (string, error) {
	if m.Dir != "" {
		return m.Dir, nil
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", fmt.Errorf("uname: %w", err)
	}
	return filepath.Join("/lib/modules", unix.ByteSliceToString(u.Release[:])), nil
}

// node is one module to load and, once done is closed, how that went.
type node struct {
	name string
	done chan struct{}
	err  error
}

// loadAll loads mods and their dependencies, each module in a goroutine
// that waits for those of its dependencies, and returns each listed
// module's error.
func (m Modules) loadAll(t *depTree, mods []Module) []error {
	params := map[string]string{}
	for _, mod := range mods {
		params[modName(mod.Name)] = mod.Params
	}
	nodes := map[string]*node{}
	var add func(name string)
	add = func(name string) {
		if nodes[name] != nil {
			return
		}
		nodes[name] = &node{name: name, done: make(chan struct{})}
		for _, d := range t.deps[name] {
			add(d)
		}
	}
	for _, mod := range mods {
		add(modName(mod.Name))
	}
	results := make([]error, len(mods))
	if err := t.acyclic(nodes); err != nil {
		for i := range results {
			results[i] = err
		}
		return results
	}
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() { m.loadNode(t, n, nodes, params[n.name]) })
	}
	wg.Wait()
	for i, mod := range mods {
		results[i] = nodes[modName(mod.Name)].err
	}
	return results
}

// loadNode waits for n's dependencies, then loads n unless one of them
// failed or the kernel already has it.
func (m Modules) loadNode(t *depTree, n *node, nodes map[string]*node, params string) {
	defer close(n.done)
	for _, d := range t.deps[n.name] {
		dep := nodes[d]
		<-dep.done
		if dep.err != nil {
			n.err = fmt.Errorf("needs %s: %w", d, dep.err)
			return
		}
	}
	switch {
	case t.builtin[n.name] || m.inSys(n.name):
	case t.path[n.name] == "":
		n.err = fmt.Errorf("not in %s", filepath.Join(t.dir, "modules.dep"))
	default:
		n.err = m.load(filepath.Join(t.dir, t.path[n.name]), params)
	}
}

// inSys reports whether the kernel has module name loaded or built in:
// it shows up in /sys/module (built-in modules with parameters do, and so
// does one loaded before init ran).
func (m Modules) inSys(name string) bool {
	if m.SysModule == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(m.SysModule, modName(name)))
	return err == nil
}

// finitModule loads the module file path with params. A module that is
// already loaded is no error.
func finitModule(path, params string) error {
	if ext := filepath.Ext(path); ext != ".ko" {
		return fmt.Errorf("%s: compressed modules (%s) are not supported: the image ships them uncompressed", path, ext)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	err = unix.FinitModule(int(f.Fd()), params, 0)
	if errors.Is(err, unix.ENOSYS) { // a kernel without finit_module(2)
		var b []byte
		if b, err = io.ReadAll(f); err == nil {
			err = unix.InitModule(b, params)
		}
	}
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("finit_module(%s): %w", path, err)
	}
	return nil
}
