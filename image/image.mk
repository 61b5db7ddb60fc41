# The firmware image. The top Makefile includes this file.
#
#   make image                  build/qemu-x86_64/{vmlinuz,initramfs.img,cmdline,kernel.version}
#   make image BOARD=x86_64     the same for an x86-64 router box
#   make images                 every board
#   make disk [BOARD=…]         the image, then build/<board>/tprouter.img, the disk image to flash
#   make disks                  every board's disk image
#
# The kernel and the boot loader are Debian's (apt-get download, unpacked
# with dpkg-deb and cached in build/cache), so a build needs Go, apt's
# package lists (apt-get update), the Debian packages below and no root.
# Boards are defined in board/board.go.

BOARD ?= qemu-x86_64
IMAGE_BOARDS = qemu-x86_64 x86_64

# Debian packages that building and booting images need beyond Go, apt and
# dpkg: QEMU and its UEFI firmware (ovmf) for the harness in qemu/ (tests
# and make demo); mkfs.fat, mtools and mkfs.ext4 to write the disk image;
# sfdisk and sgdisk, with which the tests read its partition table back.
IMAGE_DEBS = qemu-system-x86 ovmf dosfstools mtools e2fsprogs fdisk gdisk

.PHONY: image images disk disks
image:
	go run ./image -board $(BOARD)

images:
	set -e; for b in $(IMAGE_BOARDS); do go run ./image -board $$b; done

disk: deps
	go run ./image -board $(BOARD) -disk

disks: deps
	set -e; for b in $(IMAGE_BOARDS); do go run ./image -board $$b -disk; done
