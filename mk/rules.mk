# Objects of the release build live under build/obj/release, of the asan build under
# build/obj/asan, mirroring the source tree.
OBJ_R := $(BUILD)/obj/release
OBJ_A := $(BUILD)/obj/asan
BINS :=

# $(call sysinc_rule,DIR,MULTIARCH): the include directory of links for one target; only asm/
# differs between architectures (linux-libc-dev:<arch> puts it under /usr/include/MULTIARCH).
define sysinc_rule
$(1)/.stamp:
	@mkdir -p $(1)/protobuf-c
	@for d in linux asm-generic mtd; do ln -sfn /usr/include/$$$$d $(1)/$$$$d; done
	@ln -sfn /usr/include/$(2)/asm $(1)/asm
	@cp /usr/include/protobuf-c/protobuf-c.h $(1)/protobuf-c/protobuf-c.h
	@touch $$@
endef
$(eval $(call sysinc_rule,$(SYSINC),x86_64-linux-gnu))

$(OBJ_R)/%.o: %.c $(SYSINC)/.stamp | protocol-gen
	@mkdir -p $(@D)
	$(CC_RELEASE) $(CPPFLAGS_ALL) $(CFLAGS_RELEASE) -MMD -MP -c $< -o $@

$(OBJ_A)/%.o: %.c $(SYSINC)/.stamp | protocol-gen
	@mkdir -p $(@D)
	$(CC_ASAN) $(CPPFLAGS_ALL) $(CFLAGS_ASAN) -MMD -MP -c $< -o $@

# Generated sources compile like any other (build/gen/x.c -> build/obj/*/build/gen/x.o).
$(OBJ_R)/$(GEN)/%.o: $(GEN)/%.c $(SYSINC)/.stamp
	@mkdir -p $(@D)
	$(CC_RELEASE) $(CPPFLAGS_ALL) $(CFLAGS_RELEASE) -Wno-unused-parameter -c $< -o $@
$(OBJ_A)/$(GEN)/%.o: $(GEN)/%.c $(SYSINC)/.stamp
	@mkdir -p $(@D)
	$(CC_ASAN) $(CPPFLAGS_ALL) $(CFLAGS_ASAN) -c $< -o $@

# $(call objs_r,SOURCES) / $(call objs_a,SOURCES)
objs_r = $(patsubst %.c,$(OBJ_R)/%.o,$(1))
objs_a = $(patsubst %.c,$(OBJ_A)/%.o,$(1))

COMMON_SRCS := $(wildcard common/*.c)

# Objects reached only through pattern rules are intermediate: keep them, or every run deletes
# and rebuilds them.
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
