# The firmware image. The top Makefile includes this file.
#
#   make image                  build/qemu-x86_64/{vmlinuz,initramfs.img,cmdline,kernel.version}
#   make image BOARD=x86_64     the same for an x86-64 router box
#   make images                 every board
#
# The kernel is Debian's (apt-get download, unpacked with dpkg-deb and
# cached in build/cache), so a build needs Go, apt's package lists
# (apt-get update) and no root. Boards are defined in board/board.go.

BOARD ?= qemu-x86_64
IMAGE_BOARDS = qemu-x86_64 x86_64

# Debian packages that building and booting images need beyond Go, apt and
# dpkg: QEMU for the harness in qemu/ (tests and make demo).
IMAGE_DEBS = qemu-system-x86

.PHONY: image images
image:
	go run ./image -board $(BOARD)

images:
	set -e; for b in $(IMAGE_BOARDS); do go run ./image -board $$b; done
