# The firmware image. The top Makefile includes this file.
#
#   make image                  build/qemu-x86_64/{vmlinuz,initramfs.img,cmdline,kernel.version}
#   make image BOARD=x86_64     the same for an x86-64 router box
#   make images                 every board
#   make disk [BOARD=…]         the image, then build/<board>/tprouter.img, the disk image to flash
#   make disks                  every board's disk image
#   make keys                   the update signing key and password in $(KEYS), once
#   make update-bundle [BOARD=…] [VERSION=…]
#                               the image, then build/<board>/update.tar, signed
#   make update ROUTER=<address> [FORCE=1]
#                               the bundle, uploaded to the router, which reboots
#                               into it; waits and prints the version running
#
# VERSION is the image's version (/etc/tprouter/version, the loader entry's
# version): by default the last commit's time in UTC, 2026.01.02.030405,
# "0.0.0" outside git. A router takes only a newer version (FORCE=1 to
# install another). KEYS holds signing.key, signing.pub and update.password
# (never in the repository); make disk puts the public key and the
# password's hash on the boot partition, so a router takes bundles signed
# by that key only.
#
# The kernel and the boot loader are Debian's (apt-get download, unpacked
# with dpkg-deb and cached in build/cache), so a build needs Go, apt's
# package lists (apt-get update), the Debian packages below and no root.
# Boards are defined in board/board.go.

BOARD ?= qemu-x86_64
IMAGE_BOARDS = qemu-x86_64 x86_64
KEYS ?= $(HOME)/.config/tprouter
VERSION ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y.%m.%d.%H%M%S 2>/dev/null || echo 0.0.0)
ROUTER ?=
FORCE ?=

# Debian packages that building and booting images need beyond Go, apt and
# dpkg: QEMU and its UEFI firmware (ovmf) for the harness in qemu/ (tests
# and make demo); mkfs.fat, mtools and mkfs.ext4 to write the disk image;
# sfdisk and sgdisk, with which the tests read its partition table back.
IMAGE_DEBS = qemu-system-x86 ovmf dosfstools mtools e2fsprogs fdisk gdisk

.PHONY: image images disk disks keys update-bundle update
image:
	go run ./image -board $(BOARD) -version $(VERSION)

images:
	set -e; for b in $(IMAGE_BOARDS); do go run ./image -board $$b -version $(VERSION); done

disk: deps keys
	go run ./image -board $(BOARD) -disk -version $(VERSION) -keys $(KEYS)

disks: deps keys
	set -e; for b in $(IMAGE_BOARDS); do go run ./image -board $$b -disk -version $(VERSION) -keys $(KEYS); done

# keys makes what is missing in $(KEYS) and never replaces a file.
keys:
	go run ./image/update keys -dir $(KEYS)

update-bundle: image
	go run ./image/update bundle -image build/$(BOARD) -keys $(KEYS) -o build/$(BOARD)/update.tar

update: update-bundle
	@test -n "$(ROUTER)" || { echo "make update: ROUTER=<the router's LAN address> is needed" >&2; exit 1; }
	go run ./image/update push -router $(ROUTER) -bundle build/$(BOARD)/update.tar -keys $(KEYS) $(if $(FORCE),-force)
