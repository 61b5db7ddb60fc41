// Package debian fetches a Debian kernel package and unpacks it into a
// cache, using only apt-cache, apt-get download and dpkg-deb: nothing is
// installed on the build machine, and nothing needs root.
//
// A board names a meta package such as linux-image-cloud-amd64, whose one
// dependency is the current kernel (linux-image-6.1.0-56-cloud-amd64); the
// ABI number in that name changes with every security update, so it is
// resolved at build time. Each resolution is remembered in the cache, so a
// build without network (or without apt lists) reuses the last kernel.
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
)

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
// cache. It downloads and unpacks the package only when cache does not
// already hold it. When the package cannot be resolved or downloaded
// (offline, no apt lists), it falls back to the kernel that the last
// successful Fetch of meta resolved to, if that is still in cache.
func Fetch(cache, meta string, logf Logf) (*Kernel, error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	memo := filepath.Join(cache, meta+".resolved")
	k, err := fetch(cache, meta, logf)
	if err == nil {
		return k, os.WriteFile(memo, []byte(k.Package+" "+k.Version+"\n"), 0o644)
	}
	b, merr := os.ReadFile(memo)
	if merr != nil {
		return nil, err
	}
	pkg, version, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	k, uerr := unpacked(cache, pkg, version)
	if uerr != nil {
		return nil, err
	}
	logf("%v\nusing the cached %s %s instead", err, pkg, version)
	return k, nil
}

func fetch(cache, meta string, logf Logf) (*Kernel, error) {
	pkg, err := Resolve(meta)
	if err != nil {
		return nil, err
	}
	version, err := field(pkg, "Version")
	if err != nil {
		return nil, err
	}
	if k, err := unpacked(cache, pkg, version); err == nil {
		return k, nil
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

// unpacked returns the kernel unpacked in cache, or an error if it is not
// there (completely).
func unpacked(cache, pkg, version string) (*Kernel, error) {
	dir := unpackDir(cache, pkg, version)
	mods, err := filepath.Glob(filepath.Join(dir, "lib/modules/*"))
	if err != nil {
		return nil, err
	}
	if len(mods) != 1 {
		return nil, fmt.Errorf("%s: want one directory in lib/modules, have %d", dir, len(mods))
	}
	release := filepath.Base(mods[0])
	k := &Kernel{
		Package: pkg,
		Version: version,
		Release: release,
		Dir:     dir,
		Vmlinuz: filepath.Join(dir, "boot", "vmlinuz-"+release),
		Modules: mods[0],
	}
	if _, err := os.Stat(k.Vmlinuz); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no boot/vmlinuz-%s", dir, release)
	}
	return k, nil
}
