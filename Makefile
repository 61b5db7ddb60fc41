# tprouter: `make demo` shows the router intercepting HTTP, `make test` runs
# every test. Both install the Debian packages they need when missing, so
# they work on a fresh Debian machine with Go (run them as root).

GO    ?= go
BOARD ?= qemu-x86_64

# Debian packages the tests need: ip(8) and nft(8) to build and inspect the
# namespace lab, promtool (prometheus) to lint /metrics, and what
# image/image.mk adds for images and QEMU.
TEST_DEBS := iproute2 nftables ca-certificates prometheus rsyslog chromium kea-dhcp6-server
DEBS = $(sort $(TEST_DEBS) $(IMAGE_DEBS))

.PHONY: all deps test vet demo demo-disk clean

all: test

include image/image.mk
include qemu/bench/bench.mk

# deps installs the Debian packages that are missing (apt-get needs root).
deps:
	@missing=""; for p in $(DEBS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then \
		echo "apt has no package lists (the image build resolves the kernel with apt-cache): apt-get update"; \
		[ "$$(id -u)" = 0 ] && apt-get update -qq; \
	fi; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install:$$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# vet also checks formatting and import grouping: the standard library,
# then other modules, then tprouter's own packages (goimports -local, a
# tool of go.mod).
vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || { echo "gofmt: files above need formatting (gofmt -w)" >&2; exit 1; }
	@test -z "$$($(GO) tool goimports -local tprouter -l . | tee /dev/stderr)" || { echo "goimports: files above group their imports wrongly ($(GO) tool goimports -local tprouter -w <file>)" >&2; exit 1; }

# test runs every test. Tests that need root or kernel features fail under
# CI=true when those are missing and skip with the reason elsewhere.
test: deps vet
	$(GO) test -count=1 -timeout 40m ./...

# demo boots the router image in QEMU between a client and a server in
# network namespaces and shows interception until Ctrl-C.
demo: deps image
	$(GO) run ./qemu/demo -image build/$(BOARD)

# demo-disk is the demo with the disk image to flash (make disk), booted
# under UEFI as a router box boots it.
demo-disk: deps disk
	$(GO) run ./qemu/demo -disk build/$(BOARD)/tprouter.img

clean:
	rm -rf build
