package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"tprouter/board"
	"tprouter/internal/bundle"
)

func bundleCmd(args []string) error {
	fs := flag.NewFlagSet("bundle", flag.ExitOnError)
	image := fs.String("image", "", "the image's directory, build/<board> (make image)")
	keys := fs.String("keys", defaultKeys(), "keys directory (make keys)")
	out := fs.String("o", "", "the bundle (default <image>/update.tar)")
	fs.Parse(args)
	if *image == "" {
		return fmt.Errorf("-image build/<board> is needed")
	}
	if *out == "" {
		*out = filepath.Join(*image, "update.tar")
	}
	key, err := bundle.SigningKey(*keys)
	if err != nil {
		return err
	}
	m, files, err := readImage(*image)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := bundle.Write(&b, key, m, files); err != nil {
		return err
	}
	tmp := *out + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		return err
	}
	fmt.Printf("bundle   %s: %s version %s, %.1f MiB, signed by %s\n", *out, m.Board, m.Version,
		float64(b.Len())/(1<<20), filepath.Join(*keys, bundle.PubFile))
	return nil
}

// readImage reads the builder's output directory dir, build/<board>.
func readImage(dir string) (bundle.Manifest, map[string][]byte, error) {
	var m bundle.Manifest
	name := filepath.Base(filepath.Clean(dir)) // an image from before the board file
	if text, err := os.ReadFile(filepath.Join(dir, "board")); err == nil {
		name = strings.TrimSpace(string(text))
	}
	b, err := board.Get(name)
	if err != nil {
		return m, nil, fmt.Errorf("%s: not a board's image directory (build/<board>): %w", dir, err)
	}
	read := func(name string) ([]byte, error) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("%w (build the image first: make image BOARD=%s)", err, b.Name)
		}
		return data, nil
	}
	files := map[string][]byte{}
	for _, name := range bundle.Payload {
		if files[name], err = read(name); err != nil {
			return m, nil, err
		}
	}
	cmdline, err := read("cmdline")
	if err != nil {
		return m, nil, err
	}
	version, err := read("version")
	if err != nil {
		return m, nil, err
	}
	fi, err := os.Stat(filepath.Join(dir, bundle.Initramfs))
	if err != nil {
		return m, nil, err
	}
	m = bundle.Manifest{Board: b.Name, Version: strings.TrimSpace(string(version)),
		Built: fi.ModTime().UTC().Truncate(1e9), Options: strings.TrimSpace(string(cmdline))}
	return m, files, nil
}
