# Objects of the release build live under build/obj/release, of the asan build under
# build/obj/asan, mirroring the source tree.
OBJ_R := $(BUILD)/obj/release
OBJ_A := $(BUILD)/obj/asan
BINS :=

$(SYSINC)/.stamp:
	@mkdir -p $(SYSINC)/protobuf-c
	@for d in linux asm-generic mtd; do ln -sfn /usr/include/$$d $(SYSINC)/$$d; done
	@ln -sfn /usr/include/x86_64-linux-gnu/asm $(SYSINC)/asm
	@cp /usr/include/protobuf-c/protobuf-c.h $(SYSINC)/protobuf-c/protobuf-c.h
	@touch $@

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
