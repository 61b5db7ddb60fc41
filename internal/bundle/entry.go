package bundle

import "fmt"

// SortKey is the sort-key of every tprouter loader entry.
const SortKey = "tprouter"

// Entry is the loader entry of a slot (a Boot Loader Specification type
// #1 entry): its kernel and initramfs, booted with options, with the sort
// key and the version that make systemd-boot boot the newest slot first
// (see the package documentation).
func Entry(board, slot, version, options string) string {
	return fmt.Sprintf("title   tprouter %s (slot %s)\nsort-key %s\nversion %s\nlinux   /tprouter/%s/vmlinuz\ninitrd  /tprouter/%s/initramfs.img\noptions %s\n",
		board, slot, SortKey, version, slot, slot, options)
}
