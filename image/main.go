// Command image builds a bootable tprouter image for a board: a Debian
// kernel and an initramfs with init, the services and the kernel modules,
// and with -disk the disk image to flash (tprouter/image/disk).
//
//	go run ./image -board qemu-x86_64         # make image
//	go run ./image -board qemu-x86_64 -disk   # make disk
//
// writes build/qemu-x86_64/{vmlinuz,initramfs.img,cmdline,kernel.version,version}
// (and tprouter.img) and prints the image's size. -disk-only writes
// tprouter.img from an image built before. -version sets the image's
// version (default: the last commit's time in UTC, 2026.01.02.030405, or
// 0.0.0 outside git); -keys is the directory of make keys, whose public
// key and password hash the disk image carries for updates.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"tprouter/board"
	"tprouter/image/builder"
	"tprouter/image/debian"
	"tprouter/image/disk"
	"tprouter/init/cmdline"
	"tprouter/internal/bundle"
)

func main() {
	var (
		name     = flag.String("board", "qemu-x86_64", "board to build: "+strings.Join(board.Names(), ", "))
		out      = flag.String("o", "", "output directory (default build/<board> in the module root)")
		cache    = flag.String("cache", "", "package cache (default build/cache in the module root)")
		initPkg  = flag.String("init", builder.DefaultInit, "Go package to build as /init")
		svcs     = flag.String("services", "all", `comma-separated Go packages to build into /bin, "all" for every main package in `+builder.Services+`, "" for none`)
		withDisk = flag.Bool("disk", false, "also write the disk image "+disk.FileName+" into the output directory")
		diskOnly = flag.Bool("disk-only", false, "write only the disk image, from the image already in the output directory")
		version  = flag.String("version", "", "the image's version (default: the last commit's time, UTC, as make's VERSION)")
		keys     = flag.String("keys", defaultKeys(), "directory of the update signing key and password (make keys)")
	)
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("image: ")
	if *version == "" {
		*version = gitVersion()
	}
	c := builder.Config{Out: *out, Cache: *cache, Init: *initPkg, Logf: log.Printf, Version: *version}
	if *svcs != "all" {
		c.Services = []string{}
		if *svcs != "" {
			c.Services = strings.Split(*svcs, ",")
		}
	}
	if err := run(*name, c, *keys, !*diskOnly, *withDisk || *diskOnly); err != nil {
		log.Fatal(err)
	}
}

func run(name string, c builder.Config, keys string, image, withDisk bool) error {
	b, err := board.Get(name)
	if err != nil {
		return err
	}
	c.Board = b
	root, err := builder.ModuleRoot()
	if err != nil {
		return err
	}
	if c.Out == "" {
		c.Out = filepath.Join(root, "build", b.Name)
	}
	if c.Cache == "" {
		c.Cache = filepath.Join(root, "build", "cache")
	}
	if image {
		r, err := builder.Build(c)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %s\n%s", b.Name, r.Out, r.Summary())
	}
	if withDisk {
		return writeDisk(c, keys)
	}
	return nil
}

// writeDisk writes the disk image from the image in c.Out, with the boot
// loader from Debian and the update key and password hash from keys.
func writeDisk(c builder.Config, keys string) error {
	start := time.Now()
	loader, err := debian.Get(c.Cache, disk.LoaderPackage, c.Logf)
	if err != nil {
		return err
	}
	dc := disk.Config{
		Board:   c.Board.Name,
		Image:   c.Out,
		Loader:  filepath.Join(loader.Dir, disk.LoaderPath),
		Cmdline: cmdline.Template(),
	}
	dc.Key, dc.PasswordHash, err = bundle.BootFiles(keys)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Printf("updates    refused by this disk image: no keys in %s (make keys, then make disk and flash again)\n", keys)
	} else if err != nil {
		return err
	}
	r, err := disk.Write(dc)
	if err != nil {
		return err
	}
	fmt.Printf("disk       %s: %s, written in %.1f s\n", r.Out, r.Summary(), time.Since(start).Seconds())
	fmt.Printf("boot       %s %s\n", loader.Name, loader.Version)
	if dc.Key != nil {
		fmt.Printf("updates    signed by %s\n", filepath.Join(keys, bundle.PubFile))
	}
	return nil
}

// defaultKeys is make's KEYS: ~/.config/tprouter.
func defaultKeys() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".config", "tprouter")
}

// gitVersion is make's default VERSION: the last commit's time in UTC,
// or builder.DefaultVersion outside a git work tree.
func gitVersion() string {
	cmd := exec.Command("git", "log", "-1", "--format=%cd", "--date=format-local:%Y.%m.%d.%H%M%S")
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.Output()
	if v := strings.TrimSpace(string(out)); err == nil && v != "" {
		return v
	}
	return builder.DefaultVersion
}
