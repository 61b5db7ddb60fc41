// Package build makes a bootable tprouter image for a board: the board's
// Debian kernel, and an initramfs holding init and the services (one
// multicall program, /bin/tprouter, that /init and /bin/<service> link
// to), a few u-root commands for a rescue shell, and the kernel modules
// the router needs.
//
// The output directory gets five files:
//
//	vmlinuz         the kernel, as Debian ships it
//	initramfs.img   a newc cpio archive, compressed as the board says
//	cmdline         the board's default kernel command line, one line
//	kernel.version  the kernel release (uname -r), then "package version"
//	version         the image's version (Config.Version), one line, as in
//	                the initramfs's /etc/tprouter/version
//	board           the board's name, one line, as /etc/tprouter/board
//
// The initramfs is compressed as the board says (board.Compression),
// LZ4 or zstd. Measured under QEMU's CPU emulation, which the tests and
// make demo use, for the qemu-x86_64 archive of 17.4 MB
// (initramfs_async=0, the kernel's "Trying to unpack rootfs" to "Freeing
// initrd memory", the best of five boots):
//
//	none     17.4 MB  0.11 s
//	lz4      7.7 MB   0.15 s
//	gzip     6.8 MB   0.35 s
//	zstd -19 5.3 MB   0.39 s
//	xz       4.8 MB   1.54 s
//
// LZ4 unpacks fastest of the compressed formats; zstd is the smallest of
// those that unpack in well under a second.
//
// Inside the initramfs, init finds its modules as it expects them:
// /lib/modules/<release>/ with a modules.dep, and /etc/tprouter/modules,
// one module name per line (every module after its dependencies; init
// loads those that do not depend on each other at the same time).
package builder

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/u-root/mkuimage/cpio"
	"golang.org/x/sys/unix"

	"tprouter/board"
	"tprouter/image/debian"
	"tprouter/image/kmod"
	"tprouter/internal/bundle"
)

// DefaultInit is the Go package built as /init.
const DefaultInit = "tprouter/init"

// Services is the pattern of the service packages; every main package
// that matches is built into the multicall program, as /bin/<name>.
const Services = "tprouter/services/..."

// ModuleList is where init reads the modules to load, and DriverList the
// device drivers among them, which it loads first, one after another.
const (
	ModuleList = "etc/tprouter/modules"
	DriverList = "etc/tprouter/drivers"
)

// Rescue are the u-root commands, built into one busybox binary in /bbin,
// that make a rescue shell on the console useful: look at links, routes,
// processes and logs, and reach the network.
//
// wget and netcat are left out: with crypto/tls and SCTP they would add
// as much as all the others together.
var Rescue = []string{
	"gosh", // the shell, also /bin/sh
	"cat", "cp", "dmesg", "echo", "free", "grep", "insmod", "ip", "kill",
	"ls", "lsmod", "mkdir", "mount", "netstat", "pidof", "ping", "poweroff",
	"ps", "rm", "rmmod", "shutdown", "sleep", "uname", "uptime",
}

// Config says what to build.
type Config struct {
	Board board.Board
	Out   string // output directory, created if needed; default build/<board>
	// Cache keeps downloaded and unpacked kernels and the rescue
	// busybox; default build/cache.
	Cache string
	Init  string // Go package of PID 1; DefaultInit if empty
	// Services are the Go packages built into /bin; nil means every
	// main package matching the Services pattern.
	Services []string
	// Root is the tprouter module's directory, where go build runs and
	// build/ is; found from the working directory if empty.
	Root string
	Logf func(format string, args ...any) // progress; silent if nil
	// Version is the image's version (bundle.Compare orders them),
	// written to /etc/tprouter/version; default DefaultVersion.
	Version string
}

// DefaultVersion is the version of an image built without one.
const DefaultVersion = "0.0.0"

// Result describes what Build made.
type Result struct {
	Out      string // the output directory
	Kernel   *debian.Kernel
	Modules  []string // /etc/tprouter/modules
	Builtin  []string // board modules that are built into the kernel
	Init     string   // package built as /init
	Version  string   // /etc/tprouter/version
	Services []string // packages built into /bin

	Vmlinuz     int64 // bytes
	Initramfs   int64 // compressed
	Compression board.Compression
	CPIO        int64 // uncompressed
	Parts       []Part
}

// Part is the uncompressed size of one piece of the initramfs.
type Part struct {
	Name string // bin/tprouter, bbin/bb, lib/modules, ...
	Size int64
}

// Build builds c.Board into c.Out.
func Build(c Config) (*Result, error) {
	if err := c.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lock(c.Cache)
	if err != nil {
		return nil, err
	}
	defer unlock()
	k, err := debian.Fetch(c.Cache, c.Board.Kernel, c.Logf)
	if err != nil {
		return nil, err
	}
	if err := unpacks(k, c.Board.Initramfs); err != nil {
		return nil, err
	}
	r := &Result{Out: c.Out, Kernel: k, Init: c.Init, Version: c.Version}
	c.Logf("kernel %s (%s %s)", k.Release, k.Package, k.Version)
	base, err := r.modules(c.Board, k)
	if err != nil {
		return nil, err
	}
	base = append(base, cpio.StaticFile(strings.TrimPrefix(bundle.VersionFile, "/"), c.Version+"\n", 0o644),
		cpio.StaticFile(strings.TrimPrefix(bundle.BoardFile, "/"), c.Board.Name+"\n", 0o644))
	r.Services = c.Services
	if r.Services == nil {
		if r.Services, err = mainPackages(c.Root, Services); err != nil {
			return nil, err
		}
	}
	cpioPath := filepath.Join(c.Out, ".initramfs.cpio")
	defer os.Remove(cpioPath)
	if err := buildCPIO(c, base, r.Services, cpioPath); err != nil {
		return nil, err
	}
	if r.Parts, r.CPIO, err = parts(cpioPath); err != nil {
		return nil, err
	}
	r.Compression = orLZ4(c.Board.Initramfs)
	if r.Initramfs, err = compress(cpioPath, filepath.Join(c.Out, "initramfs.img"), r.Compression); err != nil {
		return nil, err
	}
	return r, writeOutputs(c, k, r)
}

// defaults fills in c's empty fields and checks its board.
func (c *Config) defaults() error {
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	if c.Init == "" {
		c.Init = DefaultInit
	}
	if c.Root == "" {
		root, err := ModuleRoot()
		if err != nil {
			return err
		}
		c.Root = root
	}
	if c.Out == "" {
		c.Out = filepath.Join(c.Root, "build", c.Board.Name)
	}
	if c.Cache == "" {
		c.Cache = filepath.Join(c.Root, "build", "cache")
	}
	if c.Version == "" {
		c.Version = DefaultVersion
	}
	if err := bundle.ValidVersion(c.Version); err != nil {
		return err
	}
	return c.Board.Validate()
}

// modules finds the board's modules with their dependencies in k and
// returns their initramfs records, with the lists init loads.
func (r *Result) modules(b board.Board, k *debian.Kernel) ([]cpio.Record, error) {
	tree, err := kmod.Open(k.Modules)
	if err != nil {
		return nil, err
	}
	mods, builtin, err := tree.Closure(b.Modules)
	if err != nil {
		return nil, fmt.Errorf("board %s: %w", b.Name, err)
	}
	r.Builtin = builtin
	recs, err := moduleRecords(tree, k.Release, mods)
	if err != nil {
		return nil, err
	}
	for _, m := range mods {
		r.Modules = append(r.Modules, m.Name)
	}
	return append(recs, cpio.StaticFile(DriverList, strings.Join(b.Drivers, "\n")+"\n", 0o644)), nil
}

// writeOutputs writes the kernel, the command line and the kernel's
// version beside the initramfs.
func writeOutputs(c Config, k *debian.Kernel, r *Result) error {
	var err error
	if r.Vmlinuz, err = copyFile(k.Vmlinuz, filepath.Join(c.Out, "vmlinuz")); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(c.Out, "cmdline"), c.Board.Cmdline()+"\n"); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(c.Out, "version"), c.Version+"\n"); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(c.Out, "board"), c.Board.Name+"\n"); err != nil {
		return err
	}
	version := fmt.Sprintf("%s\n%s %s\n", k.Release, k.Package, k.Version)
	return writeFile(filepath.Join(c.Out, "kernel.version"), version)
}

// moduleRecords returns the initramfs records of the modules: the .ko
// files, modules.dep, modules.builtin (so that init counts a listed
// built-in module as loaded) and the list for init.
func moduleRecords(tree *kmod.Tree, release string, mods []*kmod.Module) ([]cpio.Record, error) {
	dir := path.Join("lib/modules", release)
	var recs []cpio.Record
	var list strings.Builder
	for _, m := range mods {
		b, err := os.ReadFile(filepath.Join(tree.Dir, m.Path))
		if err != nil {
			return nil, err
		}
		recs = append(recs, cpio.StaticFile(path.Join(dir, m.Path), string(b), 0o644))
		fmt.Fprintln(&list, m.Name)
	}
	var dep bytes.Buffer
	if err := kmod.WriteDep(&dep, mods); err != nil {
		return nil, err
	}
	builtin, err := os.ReadFile(filepath.Join(tree.Dir, "modules.builtin"))
	if err != nil {
		return nil, err
	}
	return append(recs,
		cpio.StaticFile(path.Join(dir, "modules.dep"), dep.String(), 0o644),
		cpio.StaticFile(path.Join(dir, "modules.builtin"), string(builtin), 0o644),
		cpio.StaticFile(ModuleList, list.String(), 0o644),
	), nil
}

// baseRecords is the skeleton of the root file system. /dev/console must
// exist before init runs: the kernel opens it as init's stdin, stdout and
// stderr, before init can mount devtmpfs.
var baseRecords = []cpio.Record{
	cpio.Directory("dev", 0o755),
	cpio.CharDev("dev/console", 0o600, 5, 1),
	cpio.CharDev("dev/null", 0o666, 1, 3),
	cpio.Directory("etc", 0o755),
	cpio.Directory("proc", 0o755),
	cpio.Directory("run", 0o755),
	cpio.Directory("sys", 0o755),
	cpio.Directory("tmp", 0o1777),
	cpio.Directory("var/log", 0o755),
}

// mainPackages lists the main packages matching pattern, in root.
func mainPackages(root, pattern string) ([]string, error) {
	cmd := exec.Command("go", "list", "-e", "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, pattern)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %v\n%s", pattern, err, stderr.Bytes())
	}
	return strings.Fields(string(out)), nil
}

// ModuleRoot returns the directory of the tprouter module, searching
// upwards from the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module tprouter\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the tprouter module (no go.mod saying module tprouter above the working directory)")
		}
		dir = parent
	}
}

// parts sums the archive's file sizes by program and module tree.
func parts(cpioPath string) ([]Part, int64, error) {
	f, err := os.Open(cpioPath)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(f))
	if err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", cpioPath, err)
	}
	sums := map[string]int64{}
	var order []string
	for _, r := range recs {
		if r.Mode&cpio.S_IFMT != cpio.S_IFREG || r.FileSize == 0 {
			continue
		}
		name := r.Name
		switch {
		case strings.HasPrefix(name, "lib/modules/"):
			name = "lib/modules"
		case strings.HasPrefix(name, "bin/"), strings.HasPrefix(name, "bbin/"):
		default:
			name = "other"
		}
		if _, ok := sums[name]; !ok {
			order = append(order, name)
		}
		sums[name] += int64(r.FileSize)
	}
	var ps []Part
	for _, n := range order {
		ps = append(ps, Part{n, sums[n]})
	}
	return ps, fi.Size(), nil
}

// lock takes the cache for this process: go test runs packages that build
// images (this one's tests, tprouter/qemu's) in parallel processes, and
// only one may download, unpack or fill in the cache at a time.
func lock(cache string) (unlock func(), err error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(cache, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}

func writeFile(name, content string) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

func copyFile(src, dst string) (int64, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return 0, err
	}
	return int64(len(b)), writeFile(dst, string(b))
}

// Summary is a human-readable account of r, for the end of a build.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kernel     %s (%s %s), %s\n", r.Kernel.Release, r.Kernel.Package, r.Kernel.Version, MiB(r.Vmlinuz))
	fmt.Fprintf(&b, "version    %s\n", r.Version)
	fmt.Fprintf(&b, "init       %s\n", r.Init)
	fmt.Fprintf(&b, "services   %s\n", strings.Join(r.Services, " "))
	fmt.Fprintf(&b, "modules    %d: %s\n", len(r.Modules), strings.Join(r.Modules, " "))
	if len(r.Builtin) > 0 {
		fmt.Fprintf(&b, "built in   %s\n", strings.Join(r.Builtin, " "))
	}
	fmt.Fprintf(&b, "initramfs  %s %s (%s uncompressed:", MiB(r.Initramfs), r.Compression, MiB(r.CPIO))
	for _, p := range r.Parts {
		fmt.Fprintf(&b, " %s %s", p.Name, MiB(p.Size))
	}
	fmt.Fprintf(&b, ")\n")
	return b.String()
}

// MiB formats a size.
func MiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
