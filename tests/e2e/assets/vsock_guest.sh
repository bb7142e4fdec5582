# Host-side asset for the vsock_* scenarios: $ASSETS/vsock/initramfs.cpio.gz,
# a busybox guest with vsock_stream (tests/e2e/guest/vsock_stream.c). Its
# /init serves vsock port 5000 (sink 'R', source 'W', echo 'E', quit 'Q'),
# and, when the command line asks, first tries a host port nobody listens on
# (vsock_e2e.refuse=PORT, expects a reset) and streams to a host port
# (vsock_e2e.send=PORT:BYTES, compares the host's checksum), reporting
# "E2E-GUEST: KEY=VALUE" lines. It ends when the host sends 'Q' (reset).
set -eu
. "$SRC/tests/e2e/lib/guestfs.sh"
root=$ASSETS/vsock/root
guestfs_busybox "$root"
cp "$E2E_TOOLS/vsock_stream" "$root/bin/vsock_stream"
cat >"$root/init" <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev || mknod /dev/null c 1 3
echo "E2E-GUEST: init=started"
vsock_stream serve 5000 &
send= refuse=
for a in $(cat /proc/cmdline); do
	case $a in
	vsock_e2e.send=*) send=${a#vsock_e2e.send=} ;;
	vsock_e2e.refuse=*) refuse=${a#vsock_e2e.refuse=} ;;
	esac
done
if [ -n "$refuse" ]; then
	if vsock_stream gconnect "$refuse"; then r=refused; else r=failed; fi
	echo "E2E-GUEST: gconnect=$r"
fi
if [ -n "$send" ]; then
	if vsock_stream gsend "${send%%:*}" "${send#*:}"; then r=ok; else r=failed; fi
	echo "E2E-GUEST: gsend=$r"
fi
echo "E2E-GUEST: init=ready"
while :; do sleep 3600; done
INIT
chmod 755 "$root/init"
"$SRC/scripts/mkinitramfs.sh" "$root" "$ASSETS/vsock/initramfs.cpio.gz"
rm -rf "$root"
