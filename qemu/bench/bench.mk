# qemu/bench/bench.mk: the benchmark of tprouter's proxy against direct
# forwarding, HAProxy and Squid (qemu/bench), included by the top Makefile
# (or run alone: make -f qemu/bench/bench.mk bench, from the repository
# root, as root).
#
#   make bench                               the full run, 15-20 minutes
#   make bench BENCH_FLAGS=-quick            a 1-round smoke run
#   make bench BENCH_FLAGS=-profile          plus pprof profiles of tprouter
#
# It prints a markdown table and writes build/bench/results.json and
# build/bench/table.md (for README.md); `go run ./qemu/bench -h` lists the
# flags.

# Included before the includer's first target, this file must not make
# bench the default goal: remember the includer's and restore it below.
ifneq ($(words $(MAKEFILE_LIST)),1)
_bench_default_goal := $(.DEFAULT_GOAL)
endif

GO ?= go

# Debian packages the benchmark needs, all of them, so that make bench
# works on a fresh machine: the namespace lab's ip(8), ss(8) and nft(8),
# the CA certificates Go's module downloads need, the load generator, the
# origin server and the other proxies. TestBenchQuick needs wrk and nginx.
# The TLS workloads need nothing more: their origin and load generator
# are the bench program itself. (squid-openssl, which could peek and
# splice, is not among them: it replaces squid, see qemu/bench/tls.go.)
BENCH_DEBS := iproute2 nftables ca-certificates wrk nginx-light haproxy squid

BENCH_FLAGS ?=

.PHONY: bench bench-deps

bench: bench-deps
	$(GO) run ./qemu/bench $(BENCH_FLAGS)

# bench-deps installs the missing packages without leaving nginx, HAProxy
# or Squid running system-wide (see install-debs.sh).
bench-deps:
	@sh qemu/bench/install-debs.sh $(BENCH_DEBS)

# The top Makefile's deps (make test) installs them the same way first.
deps: bench-deps

ifneq ($(words $(MAKEFILE_LIST)),1)
.DEFAULT_GOAL := $(_bench_default_goal)
endif
