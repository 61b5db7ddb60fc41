package boot

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseModules(t *testing.T) {
	mods, err := ParseModules(strings.NewReader(`
# board qemu-x86_64
virtio_net
  nf_tables   debug=1  x=2   # trailing comment
button
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Module{{"virtio_net", ""}, {"nf_tables", "debug=1 x=2"}, {"button", ""}}
	if !reflect.DeepEqual(mods, want) {
		t.Errorf("ParseModules = %+v, want %+v", mods, want)
	}
}

// moduleTree writes a module tree with modules.dep dep and a list of
// modules, and returns Modules for them whose loads record into rec.
func moduleTree(t *testing.T, dep, list string, rec *recorder) Modules {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "lib/modules/6.1.0-test")
	os.MkdirAll(dir, 0o755)
	if dep != "" {
		os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/drivers/acpi/button.ko\n"), 0o644)
	sys := filepath.Join(root, "sys/module")
	os.MkdirAll(filepath.Join(sys, "evdev"), 0o755)
	file := filepath.Join(root, "modules")
	os.WriteFile(file, []byte(list), 0o644)
	return Modules{File: file, Dir: dir, SysModule: sys, load: rec.load}
}

// recorder stands in for finit_module: it records each load with its
// parameters, fails the modules in fail, and calls hook first if set.
type recorder struct {
	mu     sync.Mutex
	order  []string
	params map[string]string
	fail   map[string]bool
	hook   func(name string) error
}

func (r *recorder) load(path, params string) error {
	name := modName(path)
	if r.hook != nil {
		if err := r.hook(name); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.order = append(r.order, name)
	if r.params == nil {
		r.params = map[string]string{}
	}
	r.params[name] = params
	if r.fail[name] {
		return errors.New("finit_module: exec format error")
	}
	return nil
}

const nftDep = `kernel/net/netfilter/nf_tables.ko: kernel/lib/libcrc32c.ko
kernel/lib/libcrc32c.ko:
kernel/net/netfilter/nft_tproxy.ko: kernel/net/ipv4/netfilter/nf_tproxy_ipv4.ko kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko kernel/net/netfilter/nf_tables.ko kernel/lib/libcrc32c.ko
kernel/net/ipv4/netfilter/nf_tproxy_ipv4.ko: kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko
kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko:
kernel/drivers/net/virtio_net.ko: kernel/net/core/failover.ko
kernel/net/core/failover.ko:
`

// TestLoadModules: each module loads after its dependencies and once, a
// listed module gets its parameters even when another one needs it
// first, built-ins count as loaded, and a missing module is an error
// naming it that does not stop the others. The names come back in the
// list's order and spelling.
func TestLoadModules(t *testing.T) {
	rec := &recorder{}
	m := moduleTree(t, nftDep, "virtio-net\nnft_tproxy\nnf_tables debug=1\nbutton\nnosuch\nevdev\n", rec)
	loaded, errs := m.Load()
	if want := []string{"virtio-net", "nft_tproxy", "nf_tables", "button", "evdev"}; !reflect.DeepEqual(loaded, want) {
		t.Errorf("loaded %v, want %v", loaded, want)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "module nosuch: not in ") {
		t.Errorf("errors %v, want one for nosuch", errs)
	}
	pos := map[string]int{}
	for i, m := range rec.order {
		if _, dup := pos[m]; dup {
			t.Errorf("%s loaded twice: %v", m, rec.order)
		}
		pos[m] = i
	}
	for _, dep := range [][2]string{
		{"failover", "virtio_net"}, {"nf_defrag_ipv4", "nf_tproxy_ipv4"}, {"nf_tproxy_ipv4", "nft_tproxy"},
		{"nf_tables", "nft_tproxy"}, {"libcrc32c", "nf_tables"},
	} {
		a, okA := pos[dep[0]]
		b, okB := pos[dep[1]]
		if !okA || !okB || a > b {
			t.Errorf("%s must load before %s; order %v", dep[0], dep[1], rec.order)
		}
	}
	if len(rec.order) != 7 {
		t.Errorf("loaded files %v, want 7 (no built-ins)", rec.order)
	}
	if rec.params["nf_tables"] != "debug=1" || rec.params["libcrc32c"] != "" {
		t.Errorf("parameters %v, want debug=1 for nf_tables only", rec.params)
	}
}

// TestLoadModulesConcurrently: modules that do not depend on each other
// load at the same time. Each of the two waits until the other has
// started, which only works when they run concurrently.
func TestLoadModulesConcurrently(t *testing.T) {
	var started sync.WaitGroup
	started.Add(2)
	rec := &recorder{hook: func(name string) error {
		started.Done()
		ok := make(chan struct{})
		go func() { started.Wait(); close(ok) }()
		select {
		case <-ok:
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("the other module did not start loading while this one loaded")
		}
	}}
	m := moduleTree(t, "a.ko:\nb.ko:\n", "a\nb\n", rec)
	if loaded, errs := m.Load(); len(errs) > 0 || len(loaded) != 2 {
		t.Errorf("Load = %v, %v; want a and b loaded at the same time", loaded, errs)
	}
}

// TestLoadDriversInOrder: the drivers file's modules load one after
// another in its order, each with its dependencies, before the modules
// file's, although nothing depends on anything here: a driver that
// started while another still loaded would fail the test.
func TestLoadDriversInOrder(t *testing.T) {
	var busy sync.Mutex
	rec := &recorder{hook: func(name string) error {
		if !busy.TryLock() {
			return errors.New(name + " started while another module loaded")
		}
		time.Sleep(20 * time.Millisecond)
		busy.Unlock()
		return nil
	}}
	m := moduleTree(t, "a.ko:\nb.ko:\nc.ko: d.ko\nd.ko:\n", "a\n", rec)
	m.Drivers = filepath.Join(t.TempDir(), "drivers")
	os.WriteFile(m.Drivers, []byte("c\nb\n"), 0o644)
	loaded, errs := m.Load()
	if len(errs) > 0 || !reflect.DeepEqual(loaded, []string{"c", "b", "a"}) {
		t.Errorf("Load = %v, %v; want c, b, a", loaded, errs)
	}
	if want := []string{"d", "c", "b", "a"}; !reflect.DeepEqual(rec.order, want) {
		t.Errorf("loaded in the order %v, want %v", rec.order, want)
	}
}

// TestLoadModulesFailure: a module whose dependency fails is not loaded
// and its error names the dependency; the others load.
func TestLoadModulesFailure(t *testing.T) {
	rec := &recorder{fail: map[string]bool{"nf_defrag_ipv4": true}}
	m := moduleTree(t, nftDep, "nft_tproxy\nvirtio_net\n", rec)
	loaded, errs := m.Load()
	if !reflect.DeepEqual(loaded, []string{"virtio_net"}) {
		t.Errorf("loaded %v, want virtio_net", loaded)
	}
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "module nft_tproxy: needs ") || !strings.Contains(errs[0].Error(), "needs nf_defrag_ipv4: finit_module") {
		t.Errorf("errors %v, want nft_tproxy's naming nf_defrag_ipv4", errs)
	}
	if slices.Contains(rec.order, "nft_tproxy") || slices.Contains(rec.order, "nf_tproxy_ipv4") {
		t.Errorf("loaded %v: modules whose dependency failed", rec.order)
	}
}

func TestLoadModulesErrors(t *testing.T) {
	root := t.TempDir()
	if loaded, errs := (Modules{File: filepath.Join(root, "none")}).Load(); loaded != nil || errs != nil {
		t.Errorf("without a list: %v %v, want nothing", loaded, errs)
	}
	for _, c := range []struct{ what, dep, want string }{
		{"without modules.dep", "", "modules.dep"},
		{"with a malformed modules.dep", "nf_tables.ko: libcrc32c.ko\ngarbage\n", "modules.dep:2: malformed"},
		{"with a cycle", "a.ko: b.ko\nb.ko: a.ko\nnf_tables.ko: a.ko\n", "dependency cycle"},
	} {
		rec := &recorder{}
		m := moduleTree(t, c.dep, "nf_tables\n", rec)
		done := make(chan []error)
		go func() { _, errs := m.Load(); done <- errs }()
		select {
		case errs := <-done:
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want) {
				t.Errorf("%s: %v, want one error saying %q", c.what, errs, c.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Load hangs", c.what)
		}
		if len(rec.order) > 0 {
			t.Errorf("%s: loaded %v", c.what, rec.order)
		}
	}
}

// TestFinitModule hands the kernel a file that is no module: it refuses,
// and the error names the call and the file. Compressed modules are
// refused before the kernel sees them.
func TestFinitModule(t *testing.T) {
	dir := t.TempDir()
	ko := filepath.Join(dir, "bogus.ko")
	os.WriteFile(ko, []byte("not an ELF file"), 0o644)
	if err := finitModule(ko, ""); err == nil || !strings.Contains(err.Error(), "finit_module("+ko+")") {
		t.Errorf("finitModule(bogus.ko) = %v, want the kernel's refusal", err)
	}
	if err := finitModule(filepath.Join(dir, "x.ko.xz"), ""); err == nil || !strings.Contains(err.Error(), "compressed") {
		t.Errorf("finitModule(x.ko.xz) = %v, want compressed modules refused", err)
	}
}
