// Command image builds a bootable tprouter image for a board: a Debian
// kernel and an initramfs with init, the services and the kernel modules.
//
//	go run ./image -board qemu-x86_64
//
// writes build/qemu-x86_64/{vmlinuz,initramfs.img,cmdline,kernel.version}
// and prints the image's size.
package main

import (
	"flag"
	"fmt"
	"log"
	"strings"

	"tprouter/board"
	"tprouter/image/builder"
)

func main() {
	var (
		name    = flag.String("board", "qemu-x86_64", "board to build: "+strings.Join(board.Names(), ", "))
		out     = flag.String("o", "", "output directory (default build/<board> in the module root)")
		cache   = flag.String("cache", "", "kernel package cache (default build/cache in the module root)")
		initPkg = flag.String("init", builder.DefaultInit, "Go package to build as /init")
		svcs    = flag.String("services", "all", `comma-separated Go packages to build into /bin, "all" for every main package in `+builder.Services+`, "" for none`)
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
	if err := run(*name, c); err != nil {
		log.Fatal(err)
	}
}

func run(name string, c builder.Config) error {
	b, err := board.Get(name)
	if err != nil {
		return err
	}
	c.Board = b
	r, err := builder.Build(c)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s\n%s", b.Name, r.Out, r.Summary())
	return nil
}
