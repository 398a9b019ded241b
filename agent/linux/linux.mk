# agent/linux: the container library (linked into kata-agent through agent/*.mk's wildcard)
# and its own tests: the spec-conversion unit test and spawn-run, the driver of the
# integration suite tests/integration/spawn.bats.
LINUX_SRCS := $(wildcard agent/linux/*.c)
LINUX_TEST_LIBS_A := $(call objs_a,$(LINUX_SRCS)) $(LIBPROTOCOL_A)

build/asan/tests/test-linux-spec: $(call objs_a,tests/unit/test-linux-spec.c tests/tap.c) $(LINUX_TEST_LIBS_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

build/asan/tests/test-linux-seccomp: $(call objs_a,tests/unit/test-linux-seccomp.c tests/tap.c) $(LINUX_TEST_LIBS_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

build/asan/tests-bin/spawn-run: $(call objs_a,tests/tools/spawn-run.c) $(LINUX_TEST_LIBS_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

# Release flavour of the library, so that both compilers check every file.
.PHONY: linux-lib linux-test-deps
linux-lib: $(call objs_r,$(LINUX_SRCS))
linux-test-deps: linux-lib build/asan/tests/test-linux-spec build/asan/tests/test-linux-seccomp \
                 build/asan/tests-bin/spawn-run
test-deps: linux-test-deps

# The same driver built like the shipped agent (musl, static): spawn-musl.bats runs the
# integration suite against it.
build/tests-bin/spawn-run: $(call objs_r,tests/tools/spawn-run.c $(LINUX_SRCS)) $(LIBPROTOCOL_R)
	@mkdir -p $(@D)
	$(CC_RELEASE) $(LDFLAGS_RELEASE) $^ -o $@
linux-test-deps: build/tests-bin/spawn-run

# seccomp's syscall-name tables, from the build machine's kernel headers.
$(GEN)/syscall-names.h: agent/linux/gen-syscall-names.sh
	@mkdir -p $(@D)
	sh $< >$@.tmp && [ $$(grep -c '{"' $@.tmp) -gt 500 ] && mv $@.tmp $@
$(call objs_r,agent/linux/seccomp.c) $(call objs_a,agent/linux/seccomp.c): $(GEN)/syscall-names.h
