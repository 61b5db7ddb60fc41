package boot

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/u-root/u-root/pkg/kmodule"
)

// ModulesFile is where the image lists the board's kernel modules.
//
// The format is that of /etc/modules: one module per line, by name
// (nf_tables; '-' and '_' are the same), optionally followed by its
// parameters (`name key=value ...`). '#' starts a comment; blank lines are
// ignored. Modules are loaded in the file's order, each after its
// dependencies, which come from modules.dep in
// /lib/modules/$(uname -r)/ (the image generates it with depmod). A module
// built into the kernel (modules.builtin, or already in /sys/module) counts
// as loaded. Without the file no module is loaded: a kernel with
// everything built in needs none.
//
// List every module the router uses directly, not only the drivers:
// there is no modprobe in the image, so the kernel cannot load
// nft_tproxy, nft_socket, nft_chain_nat and the like on demand when a
// rule needs them.
const ModulesFile = "/etc/tprouter/modules"

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
	// Probe are kmodule's options; the zero value is the running kernel.
	Probe kmodule.ProbeOpts
	// SysModule is /sys/module, where built-in modules without an entry
	// in modules.builtin show up.
	SysModule string
}

// Load loads every module in the file with its dependencies. It returns
// the names it loaded or found loaded, and an error for each one it could
// not load; one failing module does not stop the others.
func (m Modules) Load() (loaded []string, errs []error) {
	f, err := os.Open(m.File)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, []error{err}
	}
	defer f.Close()
	mods, err := ParseModules(f)
	if err != nil {
		return nil, []error{fmt.Errorf("%s: %w", m.File, err)}
	}
	if len(mods) == 0 {
		return nil, nil
	}
	p, err := newProber(m.Probe)
	if err != nil {
		return nil, []error{err}
	}
	for _, mod := range mods {
		if err := probe(p, mod); err != nil {
			if m.builtin(mod.Name) {
				loaded = append(loaded, mod.Name)
				continue
			}
			errs = append(errs, fmt.Errorf("module %s: %w", mod.Name, err))
			continue
		}
		loaded = append(loaded, mod.Name)
	}
	return loaded, errs
}

// newProber reads modules.dep once for all modules. kmodule panics on a
// malformed line (one without ':'); PID 1 turns that into an error.
func newProber(opts kmodule.ProbeOpts) (p *kmodule.Prober, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kmodule.NewProber: malformed modules.dep: %v", r)
		}
	}()
	if p, err = kmodule.NewProber(opts); err != nil {
		return nil, fmt.Errorf("kmodule.NewProber: %w (the image must ship /lib/modules/$(uname -r)/modules.dep)", err)
	}
	return p, nil
}

func probe(p *kmodule.Prober, mod Module) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kmodule: panic: %v", r)
		}
	}()
	return p.Probe(mod.Name, mod.Params)
}

// builtin reports whether the kernel has the module without a file: it
// shows up in /sys/module (built-in modules with parameters do, and so
// does one loaded before init ran).
func (m Modules) builtin(name string) bool {
	if m.SysModule == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(m.SysModule, strings.ReplaceAll(name, "-", "_")))
	return err == nil
}
