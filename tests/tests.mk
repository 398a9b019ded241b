# `make test`: build what the suites need (components add prerequisites to test-deps), then
# run every suite through tests/run, which prints one summary line "N passed, N failed, N skipped".
.PHONY: test test-deps
test-deps: bins

test: test-deps
	@tests/run
-include agent/linux/linux.mk
-include tests/fuzz/fuzz.mk

# The JSON parser (common/json.c) on its own.
$(BUILD)/asan/tests/test-json: $(call objs_a,tests/unit/test-json.c tests/tap.c) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@
test-deps: $(BUILD)/asan/tests/test-json

# The OCI JSON converter's test sends its result through the agent's config.json writer.
$(BUILD)/asan/tests/test-host-oci-json: $(call objs_a,agent/spec-json.c agent/linux/json-out.c)
