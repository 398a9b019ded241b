# Two builds of every C program:
#  - release: musl-gcc, static, -Os, stripped, into build/bin (what ships in the guest);
#  - asan: glibc gcc with AddressSanitizer + UBSan, into build/asan/bin (what the tests run).
BUILD := build
GEN := $(BUILD)/gen
CC_RELEASE ?= musl-gcc
CC_ASAN ?= gcc

# musl-gcc does not search /usr/include, so kernel UAPI headers and protobuf-c.h (from Debian's
# libprotobuf-c-dev; only its declarations are used, the runtime is ours) are exposed through
# a small include directory of links.
SYSINC := $(BUILD)/sysinclude

WARN := -Wall -Wextra -Werror -Wno-unused-parameter
CPPFLAGS_ALL := -std=c11 -D_GNU_SOURCE -I. -Icommon -Iprotocol -Iprotocol/ttrpc -I$(GEN) -I$(SYSINC)
CFLAGS_RELEASE := $(WARN) -Os -g0 -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables \
                  -fstack-protector-strong
LDFLAGS_RELEASE := -static -Wl,--gc-sections -s
CFLAGS_ASAN := $(WARN) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS_ASAN := -fsanitize=address,undefined -pthread

SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH
