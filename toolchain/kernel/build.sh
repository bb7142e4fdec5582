#!/bin/sh
# Build the appliance guest kernel (vmlinux + bzImage) from Debian's
# linux-source-6.1, tinyconfig + appliance.config. The result is cached
# outside the build dir, keyed by the fragment, this script and the source
# package version, so repeated runs (and CI on the same machine) reuse it.
#
#   toolchain/kernel/build.sh OUTDIR     -> OUTDIR/vmlinux, OUTDIR/bzImage
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR}
tarball=/usr/src/linux-source-6.1.tar.xz
[ -r "$tarball" ] || { echo "kernel: $tarball missing (run scripts/setup-deps.sh)" >&2; exit 1; }
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$( (cat "$here/appliance.config" "$here/build.sh"; echo "$srcver") | sha256sum | cut -c1-16)
cache=${APPVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/appvm}/kernel-$key
mkdir -p "$out"
if [ -f "$cache/bzImage" ] && [ -f "$cache/vmlinux" ]; then
	ln -f "$cache/vmlinux" "$out/vmlinux" 2>/dev/null || cp "$cache/vmlinux" "$out/vmlinux"
	ln -f "$cache/bzImage" "$out/bzImage" 2>/dev/null || cp "$cache/bzImage" "$out/bzImage"
	exit 0
fi
mkdir -p "$cache"
# One builder at a time per cache key.
exec 9>"$cache/.lock"
flock 9
if [ ! -f "$cache/bzImage" ]; then
	work=$cache/src
	if [ ! -f "$work/Makefile" ]; then
		echo "kernel: unpacking $tarball" >&2
		rm -rf "$work" "$cache/unpack"; mkdir -p "$cache/unpack"
		tar -C "$cache/unpack" -xf "$tarball"
		mv "$cache/unpack/linux-source-6.1" "$work"; rmdir "$cache/unpack"
	fi
	start=$(date +%s)
	echo "kernel: configuring (tinyconfig + appliance.config)" >&2
	make -C "$work" -s ARCH=x86_64 tinyconfig >/dev/null
	( cd "$work" && KCONFIG_CONFIG=.config ./scripts/kconfig/merge_config.sh -m -O . .config "$here/appliance.config" >/dev/null )
	make -C "$work" -s ARCH=x86_64 olddefconfig >/dev/null
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
	done < "$here/appliance.config"
	[ $bad -eq 0 ] || { echo "kernel: config verification failed" >&2; exit 1; }
	echo "kernel: building vmlinux + bzImage (make -j$(nproc))" >&2
	make -C "$work" -s ARCH=x86_64 -j"$(nproc)" vmlinux bzImage >"$cache/build.log" 2>&1 || { tail -30 "$cache/build.log" >&2; exit 1; }
	end=$(date +%s)
	cp "$work/.config" "$cache/config"
	cp "$work/vmlinux" "$cache/vmlinux.tmp" && mv "$cache/vmlinux.tmp" "$cache/vmlinux"
	cp "$work/arch/x86/boot/bzImage" "$cache/bzImage.tmp" && mv "$cache/bzImage.tmp" "$cache/bzImage"
	echo "$((end - start))" > "$cache/build-seconds"
	echo "kernel: built in $((end - start)) s" >&2
	# Keep the cache small: the object tree is not needed any more, nor are
	# kernels built from an older fragment.
	rm -rf "$work"
	for old in "${cache%/*}"/kernel-*; do
		[ "$old" = "$cache" ] || rm -rf "$old"
	done
fi
ln -f "$cache/vmlinux" "$out/vmlinux" 2>/dev/null || cp "$cache/vmlinux" "$out/vmlinux"
ln -f "$cache/bzImage" "$out/bzImage" 2>/dev/null || cp "$cache/bzImage" "$out/bzImage"
