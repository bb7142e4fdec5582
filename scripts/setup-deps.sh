#!/bin/sh
# Install every Debian package the build, the demo and the tests need.
# Idempotent and quiet when everything is already present.
set -eu
PKGS="make gcc musl-tools linux-libc-dev clang llvm lld libclang-rt-14-dev \
libfdt-dev liblzma-dev nanopb libnanopb-dev protobuf-compiler python3-protobuf \
linux-source-6.1 flex bison bc libelf-dev libssl-dev xz-utils zstd cpio kmod \
qemu-system-x86 busybox-static linux-image-cloud-amd64 \
squashfs-tools e2fsprogs file libseccomp-dev binutils acpica-tools stress-ng iperf3"
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
# deps_install PKG...: the ones not installed yet, quietly.
deps_install() {
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	echo "setup-deps: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq >/dev/null
	# shellcheck disable=SC2086 # package names
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
# shellcheck disable=SC2086
deps_install $PKGS

# arm64 (docs/ARM64.md): `make ARCH=aarch64` cross-builds with the cross gcc
# against arm64 musl and nanopb from Debian's arm64 archive (multiarch,
# Multi-Arch: same packages only); qemu-system-arm runs the nested arm64 L1
# machine, qemu-user-static runs arm64 binaries on the host (the policy
# compiler's constants), dtc checks the device tree in unit tests.
ARM64_PKGS="gcc-aarch64-linux-gnu musl-dev:arm64 linux-libc-dev:arm64 \
libnanopb-dev:arm64 device-tree-compiler qemu-system-arm qemu-user-static"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	echo "setup-deps: adding the arm64 architecture (dpkg multiarch)" >&2
	$SUDO dpkg --add-architecture arm64
	$SUDO apt-get update -qq >/dev/null
fi
# shellcheck disable=SC2086
deps_install $ARM64_PKGS
# Packages whose arm64 build would replace the host's (not Multi-Arch: same:
# libfdt-dev, busybox-static, which the unit tests and the x86 L1 use) or
# install into the host's /boot (the arm64 cloud kernel for the arm64 L1)
# are never installed: their .debs are unpacked into the cache, which
# `make ARCH=aarch64` (libfdt.a) and tests/e2e/run (ARCH=aarch64: busybox,
# the L1 kernel) read.
arm64=${APPVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/appvm}/arm64
kpkg=$(apt-cache depends linux-image-cloud-arm64:arm64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -n 1)
[ -n "$kpkg" ] || { echo "setup-deps: cannot resolve linux-image-cloud-arm64:arm64" >&2; exit 1; }
for p in libfdt-dev busybox-static "$kpkg"; do
	[ -f "$arm64/$p.ok" ] && continue
	echo "setup-deps: unpacking $p:arm64 into $arm64" >&2
	rm -rf "$arm64/tmp" && mkdir -p "$arm64/tmp" && chmod 755 "$arm64/tmp"
	( cd "$arm64/tmp" && apt-get download -q "$p:arm64" >/dev/null 2>&1 && dpkg-deb -x "$p"_*_arm64.deb .. ) ||
		{ echo "setup-deps: apt-get download $p:arm64 failed" >&2; exit 1; }
	rm -rf "$arm64/tmp" && touch "$arm64/$p.ok"
done

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
