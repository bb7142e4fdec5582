#!/bin/sh
# Install every Debian package the build, the demo and the tests need.
# Idempotent and quiet when everything is already present.
set -eu
PKGS="make gcc musl-tools linux-libc-dev clang llvm lld libclang-rt-14-dev \
libfdt-dev liblzma-dev nanopb libnanopb-dev protobuf-compiler python3-protobuf \
linux-source-6.1 flex bison bc libelf-dev libssl-dev xz-utils zstd cpio kmod \
qemu-system-x86 busybox-static linux-image-cloud-amd64 \
squashfs-tools e2fsprogs file libseccomp-dev binutils acpica-tools stress-ng"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup-deps: installing:$missing" >&2
	if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq >/dev/null
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Test-only, from the npm registry: Breakpad's minidump_stackwalk and
# minidump_dump, shipped prebuilt in the npm package `minidump`: the
# independent reader the agent_crash scenario checks our minidumps with.
# Unpacked into the cache outside the tree (tests/e2e/assets/agent_images.sh
# finds it there); never part of a build.
bp=${APPVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/appvm}/minidump-0.26.0
if [ ! -x "$bp/package/bin/linux-x64/minidump_stackwalk" ]; then
	command -v npm >/dev/null || { echo "setup-deps: npm missing (needed for the minidump test tool)" >&2; exit 1; }
	echo "setup-deps: fetching the npm package minidump@0.26.0 into $bp" >&2
	rm -rf "$bp.tmp" && mkdir -p "$bp.tmp"
	( cd "$bp.tmp" && npm pack --silent minidump@0.26.0 >/dev/null && tar xzf minidump-0.26.0.tgz ) ||
		{ echo "setup-deps: npm pack minidump@0.26.0 failed" >&2; exit 1; }
	rm -rf "$bp" && mv "$bp.tmp" "$bp"
fi
