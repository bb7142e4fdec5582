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

# guestfs_demo OUT.sqfs: the demo appliance's read-only root (scripts/demo.sh;
# scripts/bench/nested.sh times its boot): busybox, our guest init as
# /sbin/init, a service, and the application /bin/demo (init.app=), which
# reports what it sees and exits 0. Needs O (the build dir) and mksquashfs.
guestfs_demo() {
	_root=$1.root
	guestfs_busybox "$_root" || return 1
	mkdir -p "$_root/etc/init/services" || return 1
	cp "$O/guest/init" "$_root/sbin/init" || return 1
	cat >"$_root/etc/init/services/10-heartbeat.conf" <<'EOF'
# A service init starts before the application (services go in name order).
exec=/bin/sh
args=-c 'echo "heartbeat service: pid $$, started by init"'
EOF
	cat >"$_root/bin/demo" <<'EOF'
#!/bin/sh
echo
echo "================ appvm demo appliance ================"
echo "kernel    $(uname -s) $(uname -r) $(uname -m), $(uname -v)"
echo "init      PID 1 is $(tr '\0' ' ' </proc/1/cmdline); this app is pid $$ on host $(hostname)"
echo "root      $(awk '$2 == "/" { print $1, $3, $4 }' /proc/mounts | tail -n 1)"
echo "cpus      $(grep -c '^processor' /proc/cpuinfo) online: $(cat /sys/devices/system/cpu/online)"
echo "memory    $(awk '/^MemTotal/ { printf "%d MiB total", $2 / 1024 } /^MemFree/ { printf ", %d MiB free", $2 / 1024 }' /proc/meminfo)"
echo "clock     $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource), RTC says $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
devs=
for d in /sys/bus/virtio/devices/*; do
	[ -e "$d/device" ] || continue
	case $(cat "$d/device") in
	0x0001) n=net ;; 0x0002) n=block ;; 0x0003) n=console ;; 0x0004) n=rng ;;
	0x0005) n=balloon ;; 0x0009) n=9p ;; 0x0013) n=vsock ;; *) n="id $(cat "$d/device")" ;;
	esac
	devs="$devs${devs:+, }$n"
done
echo "virtio    ${devs:-none} (virtio-mmio)"
echo "entropy   $(head -c 8 /dev/hwrng 2>/dev/null | od -An -tx1 | tr -d ' \n') from /dev/hwrng"
echo "write /   $(touch /probe 2>&1 | sed 's/^touch: //')"
echo "cmdline   $(cat /proc/cmdline)"
echo "uptime    $(cut -d' ' -f1 /proc/uptime) s since the guest kernel started"
echo "======================================================"
echo "demo: the app exits 0; init powers off and vmm exits with the app's status"
EOF
	chmod 755 "$_root/bin/demo"
	mksquashfs "$_root" "$1" -comp xz -noappend -all-root -quiet >/dev/null || return 1
	rm -rf "$_root"
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
