// Command image builds a bootable tprouter image for a board: a Debian
// kernel and an initramfs with init, the services and the kernel modules,
// and with -disk the disk image to flash (tprouter/image/disk).
//
//	go run ./image -board qemu-x86_64         # make image
//	go run ./image -board qemu-x86_64 -disk   # make disk
//
// writes build/qemu-x86_64/{vmlinuz,initramfs.img,cmdline,kernel.version}
// (and tprouter.img) and prints the image's size. -disk-only writes
// tprouter.img from an image built before.
package main

import (
	"flag"
	"fmt"
	"log"
	"path/filepath"
	"strings"
	"time"

	"tprouter/board"
	"tprouter/image/builder"
	"tprouter/image/debian"
	"tprouter/image/disk"
	"tprouter/init/cmdline"
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
	)
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("image: ")
	c := builder.Config{Out: *out, Cache: *cache, Init: *initPkg, Logf: log.Printf}
	if *svcs != "all" {
		c.Services = []string{}
		if *svcs != "" {
			c.Services = strings.Split(*svcs, ",")
		}
	}
	if err := run(*name, c, !*diskOnly, *withDisk || *diskOnly); err != nil {
		log.Fatal(err)
	}
}

func run(name string, c builder.Config, image, withDisk bool) error {
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
		return writeDisk(c)
	}
	return nil
}

// writeDisk writes the disk image from the image in c.Out, with the boot
// loader from Debian.
func writeDisk(c builder.Config) error {
	start := time.Now()
	loader, err := debian.Get(c.Cache, disk.LoaderPackage, c.Logf)
	if err != nil {
		return err
	}
	r, err := disk.Write(disk.Config{
		Board:   c.Board.Name,
		Image:   c.Out,
		Loader:  filepath.Join(loader.Dir, disk.LoaderPath),
		Cmdline: cmdline.Template(),
	})
	if err != nil {
		return err
	}
	fmt.Printf("disk       %s: %s, written in %.1f s\n", r.Out, r.Summary(), time.Since(start).Seconds())
	fmt.Printf("boot       %s %s\n", loader.Name, loader.Version)
	return nil
}
