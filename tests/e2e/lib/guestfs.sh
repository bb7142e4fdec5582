# Helpers for host-side asset scripts (tests/e2e/assets/*.sh), sourced:
#   . "$SRC/tests/e2e/lib/guestfs.sh"
#
# guestfs_busybox DIR: a minimal guest root in DIR: /bin/busybox (static,
# from busybox-static; E2E_BUSYBOX, the arm64 one for E2E_ARCH=aarch64) with every applet linked, the e2e guest helpers from
# $E2E_TOOLS (portw), and the usual empty mount points. Add an /init and pack
# it with "$SRC/scripts/mkinitramfs.sh DIR OUT.cpio.gz" (which adds
# /dev/console).
guestfs_busybox() {
	rm -rf "$1"
	mkdir -p "$1/bin" "$1/sbin" "$1/proc" "$1/sys" "$1/dev" "$1/tmp" "$1/run" "$1/mnt" "$1/etc" || return 1
	cp "${E2E_BUSYBOX:-/bin/busybox}" "$1/bin/busybox" || return 1
	if [ "${E2E_ARCH:-x86_64}" = aarch64 ]; then
		_apps=$(qemu-aarch64-static "$E2E_BUSYBOX" --list)
	else
		_apps=$(/bin/busybox --list)
	fi
	for app in $_apps; do
		[ "$app" = busybox ] || ln -s busybox "$1/bin/$app"
	done
	cp "$E2E_TOOLS/portw" "$1/bin/portw"
}

# guestfs_cloud_modules DIR MODULE...: copy the Debian cloud kernel's MODULEs
# and their dependencies ($CLOUD_MODDIR, modprobe --show-depends) into
# DIR/lib/modules/, and list them in load order in DIR/lib/modules/order for
# an /init that insmods them one by one.
guestfs_cloud_modules() {
	_root=$1; shift
	_kver=$(basename "$CLOUD_MODDIR")
	mkdir -p "$_root/lib/modules" || return 1
	: >"$_root/lib/modules/order"
	for _m in "$@"; do
		for _p in $(modprobe -S "$_kver" --show-depends "$_m" | awk '$1 == "insmod" { print $2 }'); do
			_b=$(basename "$_p")
			grep -qx "$_b" "$_root/lib/modules/order" && continue
			cp "$_p" "$_root/lib/modules/$_b" || return 1
			echo "$_b" >>"$_root/lib/modules/order"
		done
	done
}
