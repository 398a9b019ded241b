# kata-guest: the guest side of Kata Containers in C.
#   make            binaries, kernel, initrd and disk image into build/
#   make check      install missing dependencies, build, run every test (what .ci/run calls)
#   make run CMD=…  install missing dependencies, build, boot the default guest and run CMD
#   make bench      benchmarks
#   make guest-aarch64  the aarch64 guest (cross-built) into build/aarch64/
#   make man        man pages into build/man/ (part of make all)
#   make install DESTDIR= PREFIX=/usr
#   make check-package  Debian packages: build twice, compare, lintian, install, run, purge
# Each component adds its own rules in its *.mk file.

.DEFAULT_GOAL := all
SHELL := /bin/bash
PREFIX ?= /usr
DESTDIR ?=

include mk/toolchain.mk
include mk/rules.mk
include mk/version.mk
include protocol/protocol.mk
include agent/agent.mk
include init/init.mk
include host-tools/host-tools.mk
include kernel/kernel.mk
include rootfs-builder/rootfs.mk
include image/image.mk
include mk/aarch64.mk
include tests/tests.mk
include bench/bench.mk
include man/man.mk

.PHONY: all bins deps check check-package test run bench install install-files clean format

bins: $(BINS)
all: bins guest man

deps:
	@scripts/install-deps.sh

# The README's test command: dependencies, build, every suite, one summary line.
check: deps
	@$(MAKE) --no-print-directory test

# Not part of check: it rebuilds everything, the kernel included, twice.
check-package:
	@scripts/check-package.sh

CMD ?= uname -a
run: deps
	@$(MAKE) --no-print-directory bins guest
	build/bin/kata-host run -- $(CMD)

install: all
	@$(MAKE) --no-print-directory install-files

# What install copies, without remaking anything first (tests/unit/debian-package.sh).
# The static agent and init (for building other images) are programs: libexec, not share.
install-files: install-man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/kata-containers \
	  $(DESTDIR)$(PREFIX)/libexec/kata-guest
	install -m 0755 build/bin/kata-host $(DESTDIR)$(PREFIX)/bin/kata-host
	install -m 0755 build/bin/containerd-shim-kata-guest-v2 $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 build/bin/kata-agent build/bin/kata-init $(DESTDIR)$(PREFIX)/libexec/kata-guest/
	install -m 0644 $(GUEST_FILES) $(DESTDIR)$(PREFIX)/share/kata-containers/

clean:
	rm -rf build

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
