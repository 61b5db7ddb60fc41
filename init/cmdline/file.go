package cmdline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"tprouter/init/config"
)

// FileName is the configuration file at the root of the boot partition.
//
// Its format is the kernel command line's tprouter.* keys, separated by
// spaces or new lines, quoted as on the command line within a line; '#'
// starts a comment to the end of the line (no value contains one). Lines
// may end in CRLF, and a UTF-8 byte order mark is skipped, as editors on
// other systems write them. Anything else in it is reported: the kernel
// never sees this file, so its own parameters belong on the boot loader's
// command line.
const FileName = "cmdline.txt"

// maxFileSize bounds what ReadFile reads: a configuration is a few
// hundred bytes, and a file a thousand times that is not one.
const maxFileSize = 64 << 10

// ReadFile reads FileName in dir, the mounted boot partition. A missing
// file is an empty one: the disk image ships one, but a user may delete
// it.
func ReadFile(dir string) (string, error) {
	f, err := os.Open(filepath.Join(dir, FileName))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	if len(b) > maxFileSize {
		return "", fmt.Errorf("%s is larger than %d KiB: not a configuration, not read", f.Name(), maxFileSize>>10)
	}
	return string(b), nil
}

// fileParams splits the text of FileName into its settings, each with
// its line, and reports what in it is not a tprouter.* key.
func fileParams(text string) ([]setting, []config.Problem) {
	var ss []setting
	var probs []config.Problem
	text = strings.TrimPrefix(text, "\ufeff")
	for i, line := range strings.Split(text, "\n") {
		line, _, _ = strings.Cut(line, "#")
		src := config.Source{File: FileName, Line: i + 1}
		for _, p := range Fields(line) {
			if !isOurs(p.Key) {
				probs = append(probs, config.Problem{Source: src, Key: p.Key, Value: p.Value,
					Why:   "not a tprouter.* key: the kernel does not read " + FileName + "; its own parameters go on the boot loader's options line",
					Using: "ignored"})
				continue
			}
			ss = append(ss, setting{Param: p, Source: src})
		}
	}
	return ss, probs
}

// The domain lists at the root of the boot partition, next to FileName.
// The proxy reads them (-deny-file, -allow-file): init only checks that
// they are there.
const (
	DenyFileName  = "deny.txt"
	AllowFileName = "allow.txt"
)

// ListFiles fills in c's DenyFile and AllowFile with the lists that dir,
// the mounted boot partition, holds ("" for none): regular files only,
// so that a directory of that name is not handed to the proxy.
func ListFiles(c *config.Config, dir string) {
	find := func(name string) string {
		if dir == "" {
			return ""
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			return ""
		}
		return p
	}
	c.Proxy.DenyFile, c.Proxy.AllowFile = find(DenyFileName), find(AllowFileName)
}
