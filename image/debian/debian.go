// Package debian fetches Debian packages and unpacks them into a cache,
// using only apt-cache, apt-get download and dpkg-deb: nothing is installed
// on the build machine, and nothing needs root. The image takes its kernel
// and its boot loader (systemd-boot-efi) from Debian this way.
//
// A board names a meta package such as linux-image-cloud-amd64, whose one
// dependency is the current kernel (linux-image-6.1.0-56-cloud-amd64); the
// ABI number in that name changes with every security update, so it is
// resolved at build time. Other packages are taken in apt's candidate
// version. Each resolution is remembered in the cache, so a build without
// network (or without apt lists) reuses the last package.
package debian

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Package is an unpacked Debian package.
type Package struct {
	Name    string // systemd-boot-efi
	Version string // Debian package version: 252.39-1~deb12u2
	Dir     string // the unpacked package: Dir/usr/lib/...
}

// Kernel is an unpacked kernel package.
type Kernel struct {
	Package string // linux-image-6.1.0-56-cloud-amd64
	Version string // Debian package version: 6.1.192-2
	Release string // what uname -r says: 6.1.0-56-cloud-amd64

	Dir     string // the unpacked package
	Vmlinuz string // Dir/boot/vmlinuz-<Release>
	Modules string // Dir/lib/modules/<Release>
}

// Logf receives progress messages.
type Logf func(format string, args ...any)

// Fetch returns the kernel that meta currently depends on, unpacked under
// cache, as Get does for a package.
func Fetch(cache, meta string, logf Logf) (*Kernel, error) {
	p, err := get(cache, meta, Resolve, logf)
	if err != nil {
		return nil, err
	}
	return kernel(p)
}

// Get returns the candidate version of the package name, unpacked under
// cache. It downloads and unpacks the package only when cache does not
// already hold it. When the package cannot be resolved or downloaded
// (offline, no apt lists), it falls back to the version that the last
// successful Get of name found, if that is still in cache. Processes that
// get the same name take turns.
func Get(cache, name string, logf Logf) (*Package, error) {
	return get(cache, name, func(name string) (string, error) { return name, nil }, logf)
}

// get is Get with resolve mapping name to the package to fetch.
func get(cache, name string, resolve func(string) (string, error), logf Logf) (*Package, error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lock(filepath.Join(cache, name+".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	memo := filepath.Join(cache, name+".resolved")
	p, err := fetch(cache, name, resolve, logf)
	if err == nil {
		return p, os.WriteFile(memo, []byte(p.Name+" "+p.Version+"\n"), 0o644)
	}
	b, merr := os.ReadFile(memo)
	if merr != nil {
		return nil, err
	}
	pkg, version, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	p, uerr := unpacked(cache, pkg, version)
	if uerr != nil {
		return nil, err
	}
	logf("%v\nusing the cached %s %s instead", err, pkg, version)
	return p, nil
}

func fetch(cache, name string, resolve func(string) (string, error), logf Logf) (*Package, error) {
	pkg, err := resolve(name)
	if err != nil {
		return nil, err
	}
	version, err := field(pkg, "Version")
	if err != nil {
		return nil, err
	}
	if p, err := unpacked(cache, pkg, version); err == nil {
		return p, nil
	}
	deb := filepath.Join(cache, debName(pkg, version))
	if _, err := os.Stat(deb); err != nil {
		logf("downloading %s %s", pkg, version)
		if err := download(cache, pkg, version); err != nil {
			return nil, err
		}
	}
	dir := unpackDir(cache, pkg, version)
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	logf("unpacking %s", filepath.Base(deb))
	if out, err := exec.Command("dpkg-deb", "-x", deb, tmp).CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("dpkg-deb -x %s %s: %v\n%s", deb, tmp, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	return unpacked(cache, pkg, version)
}

// Resolve returns the kernel package that the meta package depends on:
// the first dependency whose name starts with linux-image-.
func Resolve(meta string) (string, error) {
	out, err := aptCache("depends", meta)
	if err != nil {
		return "", err
	}
	if dep := kernelDep(out); dep != "" {
		return dep, nil
	}
	return "", fmt.Errorf("apt-cache depends %s: no linux-image-* dependency in:\n%s", meta, out)
}

// kernelDep returns the first linux-image-* dependency in the output of
// apt-cache depends, or "".
func kernelDep(out []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		dep, ok := strings.CutPrefix(strings.TrimLeft(sc.Text(), " |"), "Depends: ")
		if ok && strings.HasPrefix(dep, "linux-image-") {
			return dep
		}
	}
	return ""
}

// field returns a field of the candidate version of pkg from apt-cache show.
func field(pkg, name string) (string, error) {
	out, err := aptCache("show", "--no-all-versions", pkg)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+": "); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("apt-cache show %s: no %s field", pkg, name)
}

func aptCache(args ...string) ([]byte, error) {
	cmd := exec.Command("apt-cache", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || len(out) == 0 {
		return nil, fmt.Errorf("apt-cache %s: %v: %s (run apt-get update first?)",
			strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

func download(dir, pkg, version string) error {
	args := []string{"download", pkg + "=" + version}
	if os.Geteuid() == 0 {
		// apt drops root for downloads to _apt, which may not be
		// allowed to write to dir; the download is not run as a
		// package manager transaction, so keep root.
		args = append([]string{"-o", "APT::Sandbox::User=root"}, args...)
	}
	cmd := exec.Command("apt-get", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return nil
}

// debName is the file name apt-get download gives a package. Epochs
// ("1:2.3") are written %3a in file names.
func debName(pkg, version string) string {
	return pkg + "_" + strings.ReplaceAll(version, ":", "%3a") + "_amd64.deb"
}

func unpackDir(cache, pkg, version string) string {
	return filepath.Join(cache, pkg+"_"+version)
}

// unpacked returns the package unpacked in cache, or an error if it is not
// there: fetch renames the directory into place once it is complete.
func unpacked(cache, pkg, version string) (*Package, error) {
	dir := unpackDir(cache, pkg, version)
	if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	return &Package{Name: pkg, Version: version, Dir: dir}, nil
}

// kernel returns the kernel in the unpacked package p.
func kernel(p *Package) (*Kernel, error) {
	mods, err := filepath.Glob(filepath.Join(p.Dir, "lib/modules/*"))
	if err != nil {
		return nil, err
	}
	if len(mods) != 1 {
		return nil, fmt.Errorf("%s: want one directory in lib/modules, have %d", p.Dir, len(mods))
	}
	release := filepath.Base(mods[0])
	k := &Kernel{
		Package: p.Name,
		Version: p.Version,
		Release: release,
		Dir:     p.Dir,
		Vmlinuz: filepath.Join(p.Dir, "boot", "vmlinuz-"+release),
		Modules: mods[0],
	}
	if _, err := os.Stat(k.Vmlinuz); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no boot/vmlinuz-%s", p.Dir, release)
	}
	return k, nil
}

// lock takes the file name for this process until unlock: test processes
// of several packages build images at once, and only one may download or
// unpack a package into the cache at a time.
func lock(name string) (unlock func(), err error) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("flock %s: %w", name, err)
	}
	return func() { f.Close() }, nil
}
