# One version for every program, the man pages and packages: the VERSION file. The commit is
# `git describe` at build time ("unknown" outside a git checkout; KATA_COMMIT= overrides it,
# e.g. for a build from a release tarball). Nothing time-dependent goes in, so two builds of
# one commit embed the same bytes (tests/unit/initrd-repro.sh).
VERSION := $(shell cat VERSION)
KATA_COMMIT ?= $(shell git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)

# Rewritten only when its text changes: a new commit recompiles the few files that print it.
$(GEN)/version.h: FORCE
	@mkdir -p $(@D)
	@printf '#pragma once\n#define KATA_VERSION "%s"\n#define KATA_COMMIT "%s"\n' \
	  '$(VERSION)' '$(KATA_COMMIT)' >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

.PHONY: FORCE
FORCE:
