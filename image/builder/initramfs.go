package builder

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/u-root/gobusybox/src/pkg/golang"
	"github.com/u-root/mkuimage/cpio"
	"github.com/u-root/mkuimage/uimage"
	"github.com/u-root/mkuimage/uimage/initramfs"
	"github.com/u-root/uio/llog"
)

// goEnv is the build environment of everything in the image: static
// binaries (there is no libc in the image) for the boards' amd64.
var goEnv = []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"}

// buildCPIO builds the Go programs and writes the uncompressed archive:
// the rescue busybox, init and the services in /bin (one program and its
// links), /init, and records.
func buildCPIO(c Config, records []cpio.Record, services []string, out string) error {
	tmp, err := os.MkdirTemp("", "tprouter-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	l := llog.New(slog.LevelWarn, c.Logf)

	bb, err := rescue(c, l, tmp)
	if err != nil {
		return err
	}
	f, err := os.Open(bb)
	if err != nil {
		return err
	}
	defer f.Close() // the archive's records read their contents from f
	base, err := cpio.ArchiveFromReader(cpio.Newc.Reader(f))
	if err != nil {
		return fmt.Errorf("reading %s: %w", bb, err)
	}
	for _, r := range append(baseRecords, records...) {
		if err := base.WriteRecord(r); err != nil {
			return err
		}
	}

	// init and the services are one program, built with go build rather
	// than uimage's binary builder, which passes -a and so recompiles the
	// standard library for every program on every build (minutes instead
	// of seconds).
	pkgs := append([]string{c.Init}, services...)
	c.Logf("building %s into /bin/%s", strings.Join(pkgs, ", "), Multicall)
	gen := filepath.Join(tmp, "multicall")
	bin := filepath.Join(tmp, Multicall)
	if err := buildMulticall(c.Root, gen, bin, pkgs); err != nil {
		return err
	}
	mods := []uimage.Modifier{
		uimage.WithTempDir(tmp),
		uimage.WithBaseArchive(base),
		uimage.WithSkipLDD(),
		uimage.WithFiles(bin + ":bin/" + Multicall),
		uimage.WithInit("/bin/" + path.Base(c.Init)),
		uimage.WithOutput(rootWriter{out}),
	}
	for _, p := range pkgs {
		mods = append(mods, uimage.WithSymlink("bin/"+path.Base(p), "/bin/"+Multicall))
	}
	if err := uimage.Create(l, mods...); err != nil {
		return fmt.Errorf("uimage.Create(init %s, services %v): %w", c.Init, services, err)
	}
	return nil
}

// goBuild runs go build with args, writing the program to out, stripped
// and without file system paths, like u-root's builds.
func goBuild(root, out string, args ...string) error {
	args = append([]string{"build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out}, args...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), goEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s go %s: %v\n%s", strings.Join(goEnv, " "), strings.Join(args, " "), err, out)
	}
	return nil
}

// rescue returns a cpio archive with the Rescue commands in a busybox,
// /bbin/bb, and /bin/sh. Building it takes a minute (gobusybox rebuilds
// everything it compiles), so the archive is kept in the cache, named by
// what goes into it.
//
// The commands are built inside u-root's own module, at the version
// tprouter requires, with the dependency versions u-root was released
// with: tprouter's go.mod then needs none of their dependencies (gosh's
// line editor, ls's number formatting, ...).
func rescue(c Config, l *llog.Logger, tmp string) (string, error) {
	uroot, err := moduleDir(c.Root, "github.com/u-root/u-root")
	if err != nil {
		return "", err
	}
	goVersion, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	// goshliner: line editing with peterh/liner, which works on a
	// serial console, instead of the much larger bubbline.
	tags := []string{"goshliner"}
	key := fmt.Sprintf("%s\n%s\n%s\n%s\n%s", uroot, strings.Join(Rescue, " "), strings.Join(tags, ","), goVersion, goEnv)
	cached := filepath.Join(c.Cache, fmt.Sprintf("rescue-%.12x.cpio", sha256.Sum256([]byte(key))))
	if _, err := os.Stat(cached); err == nil {
		return cached, nil
	}

	var cmds []string
	for _, cmd := range Rescue {
		cmds = append(cmds, "github.com/u-root/u-root/cmds/core/"+cmd)
	}
	c.Logf("building %d rescue commands (%s)", len(cmds), filepath.Base(uroot))
	env := golang.Default(golang.DisableCGO(), golang.WithGOOS("linux"), golang.WithGOARCH("amd64"),
		golang.WithWorkingDir(uroot), golang.WithBuildTag(tags...))
	out := filepath.Join(tmp, "rescue.cpio")
	err = uimage.Create(l,
		uimage.WithReplaceEnv(env),
		uimage.WithTempDir(tmp),
		uimage.WithBusyboxCommands(cmds...),
		uimage.WithShell("gosh"),
		uimage.WithCPIOOutput(out),
	)
	if err != nil {
		return "", fmt.Errorf("uimage.Create(busybox %v): %w", Rescue, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return "", err
	}
	return cached, writeFile(cached, string(b))
}

// rootWriter writes a cpio file whose root directory is world-searchable.
// uimage records the root with the mode of its temporary build directory,
// 0700, which would leave the services, running as their own users, unable
// to exec anything in /bin.
type rootWriter struct{ path string }

func (w rootWriter) OpenWriter() (initramfs.Writer, error) {
	iw, err := (&initramfs.CPIOFile{Path: w.path}).OpenWriter()
	return rootFixer{iw}, err
}

type rootFixer struct{ initramfs.Writer }

func (f rootFixer) WriteRecord(r cpio.Record) error {
	if r.Name == "." {
		r.Mode = cpio.S_IFDIR | 0o755
	}
	return f.Writer.WriteRecord(r)
}

// moduleDir returns the directory of module mod as required by the module
// in root, downloading it if needed.
func moduleDir(root, mod string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", mod)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %v", mod, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory in %s", mod, out)
	}
	return m.Dir, nil
}
