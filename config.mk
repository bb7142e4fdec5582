# Local build configuration: override anything here (or on the make command
# line) instead of editing the Makefile.

# Output directory (out of tree).
O ?= build
# Static release toolchain (Debian musl-tools).
MUSL_CC ?= musl-gcc
# Host compiler for build-time tools.
HOST_CC ?= gcc
# Sanitizer and fuzz builds (unit tests run under ASan/UBSan).
SAN_CC ?= clang
SAN_FLAGS ?= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_FLAGS ?= -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer
# Extra user flags, kept apart from ours.
CFLAGS ?=
LDFLAGS ?=
