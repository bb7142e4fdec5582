#!/bin/sh
# Install every Debian package the build, the demo and the tests need.
# Idempotent and quiet when everything is already present.
set -eu
PKGS="make gcc musl-tools linux-libc-dev clang llvm lld libclang-rt-14-dev \
libfdt-dev liblzma-dev nanopb libnanopb-dev protobuf-compiler python3-protobuf \
linux-source-6.1 flex bison bc libelf-dev libssl-dev xz-utils zstd cpio kmod \
qemu-system-x86 busybox-static linux-image-cloud-amd64 \
squashfs-tools e2fsprogs file libseccomp-dev binutils acpica-tools"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "setup-deps: installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
