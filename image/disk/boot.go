package disk

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// clusterSectors makes 2 KiB clusters: on 256 MiB, about 130,000 of them,
// well above FAT32's minimum of 65,525 (mkfs.fat's default of 4 KiB
// would fall below it, and some drivers would take the FAT for FAT16).
const clusterSectors = 4

// makeBoot formats p of img as FAT32 and copies files onto it in order,
// each with the time t, staging them in the new directory stage.
func makeBoot(img string, p Partition, volume uint32, files []file, stage string, t time.Time) error {
	// --invariant pins the label's time and what else mkfs.fat takes
	// from the clock; -i after it sets the volume id it also pins.
	// mkfs.fat rounds the size down to whole tracks of the geometry it
	// guesses from the image file; -g 64/32 makes a track 16 KiB, which
	// the partition's size is a multiple of.
	if _, err := run(nil, "mkfs.fat", "-F", "32", "-s", fmt.Sprint(clusterSectors), "-g", "64/32",
		"-n", BootLabel, "--invariant", "-i", fmt.Sprintf("%08x", volume),
		"-h", fmt.Sprint(p.First), "--offset", fmt.Sprint(p.First),
		img, fmt.Sprint(p.Size()/1024)); err != nil {
		return err
	}
	if err := os.Mkdir(stage, 0o755); err != nil {
		return err
	}
	// mcopy -m gives a file or a directory the time of its source, and
	// copies the sources in the order given; a directory is copied
	// from an empty one, so that no host directory's order leaks in.
	for i, f := range files {
		src := filepath.Join(stage, fmt.Sprint(i))
		var err error
		if f.dir {
			err = os.Mkdir(src, 0o755)
		} else {
			err = os.WriteFile(src, f.data, 0o644)
		}
		if err == nil {
			err = os.Chtimes(src, t, t)
		}
		if err != nil {
			return err
		}
		args := []string{"-m", src, "::" + f.name}
		if f.dir {
			args = append([]string{"-s"}, args...)
		}
		if _, err := mtools("mcopy", img, p.Offset(), args...); err != nil {
			return err
		}
	}
	return nil
}

// ReadFile returns the file name (/cmdline.txt) from the boot partition
// of the disk image img.
func ReadFile(img, name string) ([]byte, error) {
	p, err := bootPartition(img)
	if err != nil {
		return nil, err
	}
	return mtools("mcopy", img, p.Offset(), "::"+name, "-")
}

// WriteFile replaces or creates the file name (/cmdline.txt) on the boot
// partition of the disk image img, which must not be running in a VM. Its
// directory must exist.
func WriteFile(img, name string, data []byte) error {
	p, err := bootPartition(img)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp("", "tprouter-file-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	_, err = mtools("mcopy", img, p.Offset(), "-o", tmp.Name(), "::"+name)
	return err
}

// bootPartition finds the boot partition in img's partition table.
func bootPartition(img string) (Partition, error) {
	f, err := os.Open(img)
	if err != nil {
		return Partition{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Partition{}, err
	}
	t, err := ReadTable(f, fi.Size())
	if err != nil {
		return Partition{}, fmt.Errorf("%s: %w", img, err)
	}
	p, err := t.Find(BootName)
	if err != nil {
		return Partition{}, fmt.Errorf("%s: %w", img, err)
	}
	return p, nil
}

// mtools runs an mtools command on the FAT at offset bytes into img:
// without a user's mtoolsrc, without its geometry checks, with times in
// UTC.
func mtools(prog, img string, offset int64, args ...string) ([]byte, error) {
	args = append([]string{"-i", fmt.Sprintf("%s@@%d", img, offset)}, args...)
	return run([]string{"MTOOLSRC=/dev/null", "MTOOLS_SKIP_CHECK=1", "TZ=UTC"}, prog, args...)
}

// packages names the Debian package of each tool, for the error when it
// is missing.
var packages = map[string]string{
	"mkfs.fat": "dosfstools", "mcopy": "mtools", "mkfs.ext4": "e2fsprogs", "debugfs": "e2fsprogs",
}

// run runs prog with env added to the environment and returns its
// standard output; its error names the command and has its standard
// error.
func run(env []string, prog string, args ...string) ([]byte, error) {
	out, _, err := run2(env, prog, args...)
	return out, err
}

// run2 is run, returning the standard error too.
func run2(env []string, prog string, args ...string) (stdout, stderr []byte, err error) {
	if _, err := exec.LookPath(prog); err != nil {
		return nil, nil, fmt.Errorf("%s not found: install %s (make deps)", prog, packages[prog])
	}
	cmd := exec.Command(prog, args...)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, bytes.TrimSpace(errb.Bytes()))
	}
	return out, errb.Bytes(), nil
}
