# Local build configuration: override anything here (or on the make command
# line) instead of editing the Makefile.

# Target architecture: x86_64 (the default) or aarch64, cross-built with
# Debian's aarch64-linux-gnu-gcc against musl-dev:arm64 through musl's own
# specs file (the arm64 musl-gcc; docs/ARM64.md). Each architecture builds
# into its own output directory.
ARCH ?= x86_64
ifeq ($(ARCH),aarch64)
O ?= build-aarch64
MUSL_CC ?= aarch64-linux-gnu-gcc -specs /usr/lib/aarch64-linux-musl/musl-gcc.specs
endif
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
