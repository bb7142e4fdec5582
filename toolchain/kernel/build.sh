#!/bin/sh
# Build the appliance guest kernel from Debian's linux-source-6.1,
# tinyconfig + appliance.config + appliance-ARCH.config. The result is cached
# outside the build dir, keyed by the fragments, this script, the
# architecture and the source package version, so repeated runs (and CI on
# the same machine) reuse it.
#
#   toolchain/kernel/build.sh OUTDIR [x86_64]  -> OUTDIR/vmlinux, OUTDIR/bzImage
#   toolchain/kernel/build.sh OUTDIR aarch64   -> OUTDIR/vmlinux, OUTDIR/Image
#                                                 (cross-built, aarch64-linux-gnu-)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR [x86_64|aarch64]}
arch=${2:-x86_64}
case "$arch" in
x86_64) karch=x86_64; cross=; image=bzImage; imgpath=arch/x86/boot/bzImage; prefix=kernel- ;;
aarch64) karch=arm64; cross=aarch64-linux-gnu-; image=Image; imgpath=arch/arm64/boot/Image; prefix=kernel-aarch64- ;;
*) echo "kernel: unknown architecture '$arch' (x86_64 or aarch64)" >&2; exit 2 ;;
esac
frags="$here/appliance.config $here/appliance-$arch.config"
tarball=/usr/src/linux-source-6.1.tar.xz
[ -r "$tarball" ] || { echo "kernel: $tarball missing (run scripts/setup-deps.sh)" >&2; exit 1; }
[ -z "$cross" ] || command -v "${cross}gcc" >/dev/null ||
	{ echo "kernel: ${cross}gcc missing (run scripts/setup-deps.sh)" >&2; exit 1; }
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
# shellcheck disable=SC2086 # $frags: two paths without blanks
key=$( (cat $frags "$here/build.sh"; echo "$arch $srcver") | sha256sum | cut -c1-16)
cache=${APPVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/appvm}/$prefix$key
kmake() { make -C "$work" -s ARCH=$karch ${cross:+CROSS_COMPILE=$cross} "$@"; }
publish() {
	for f in vmlinux $image; do
		ln -f "$cache/$f" "$out/$f" 2>/dev/null || cp "$cache/$f" "$out/$f"
	done
}
mkdir -p "$out"
if [ -f "$cache/$image" ] && [ -f "$cache/vmlinux" ]; then
	publish
	exit 0
fi
mkdir -p "$cache"
# One builder at a time per cache key.
exec 9>"$cache/.lock"
flock 9
if [ ! -f "$cache/$image" ]; then
	work=$cache/src
	if [ ! -f "$work/Makefile" ]; then
		echo "kernel: unpacking $tarball" >&2
		rm -rf "$work" "$cache/unpack"; mkdir -p "$cache/unpack"
		tar -C "$cache/unpack" -xf "$tarball"
		mv "$cache/unpack/linux-source-6.1" "$work"; rmdir "$cache/unpack"
	fi
	start=$(date +%s)
	echo "kernel: configuring $arch (tinyconfig + appliance.config + appliance-$arch.config)" >&2
	kmake tinyconfig >/dev/null
	# shellcheck disable=SC2086
	( cd "$work" && ARCH=$karch KCONFIG_CONFIG=.config ./scripts/kconfig/merge_config.sh -m -O . .config $frags >/dev/null )
	kmake olddefconfig >/dev/null
	# Every requested option must have survived olddefconfig's dependency pass.
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qx "$line" "$work/.config" || { echo "kernel: $line requested but final .config has: $(grep "^${line%%=*}=" "$work/.config" || echo "${line%%=*} unset")" >&2; bad=1; } ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }; opt=${opt%% *}
			if grep -q "^$opt=" "$work/.config"; then echo "kernel: $opt must be off but is $(grep "^$opt=" "$work/.config")" >&2; bad=1; fi ;;
		esac
	done <<FRAGS
$(cat $frags)
FRAGS
	[ $bad -eq 0 ] || { echo "kernel: config verification failed" >&2; exit 1; }
	echo "kernel: building $arch vmlinux + $image (make -j$(nproc))" >&2
	kmake -j"$(nproc)" vmlinux $image >"$cache/build.log" 2>&1 || { tail -30 "$cache/build.log" >&2; exit 1; }
	end=$(date +%s)
	cp "$work/.config" "$cache/config"
	cp "$work/vmlinux" "$cache/vmlinux.tmp" && mv "$cache/vmlinux.tmp" "$cache/vmlinux"
	cp "$work/$imgpath" "$cache/$image.tmp" && mv "$cache/$image.tmp" "$cache/$image"
	echo "$((end - start))" > "$cache/build-seconds"
	echo "kernel: built in $((end - start)) s" >&2
	# Keep the cache small: the object tree is not needed any more, nor are
	# kernels of this architecture built from an older fragment (the
	# x86_64 keys are plain hex, the arm64 ones carry "aarch64-").
	rm -rf "$work"
	for old in "${cache%/*}/$prefix"*; do
		case "${old##*/$prefix}" in *-*) continue ;; esac
		[ "$old" = "$cache" ] || rm -rf "$old"
	done
fi
publish
