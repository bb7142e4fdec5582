# Host-side assets for the agent_* scenarios (guest agents, docs/AGENTS.md):
#   $ASSETS/agent/root.sqfs   squashfs appliance root: busybox, our
#                             build/guest/init as /sbin/init, the agents
#                             /sbin/vm_syslog and /sbin/crash_collector,
#                             /bin/crashme (tests/e2e/guest/crashme.c) and
#                             /bin/marker (a console line, then stays up)
#   $ASSETS/agent/crashme.build-id   its GNU build-id (hex)
#   $ASSETS/agent/breakpad/   Breakpad's minidump_stackwalk/minidump_dump and
#                             their libraries, when $E2E_BREAKPAD_DIR (default
#                             the npm package unpacked under /work/peers) has them
set -eu
. "$SRC/tests/e2e/lib/guestfs.sh"
command -v mksquashfs >/dev/null || { echo "agent_images: mksquashfs missing (squashfs-tools)" >&2; exit 1; }
for b in init vm_syslog crash_collector; do
	[ -x "$O/guest/$b" ] || { echo "agent_images: $O/guest/$b not built (make $O/guest/$b)" >&2; exit 1; }
done
out=$ASSETS/agent
mkdir -p "$out"
root=$out/root
guestfs_busybox "$root"
cp "$O/guest/init" "$root/sbin/init"
cp "$O/guest/vm_syslog" "$root/sbin/vm_syslog"
cp "$O/guest/crash_collector" "$root/sbin/crash_collector"
[ -x "$E2E_TOOLS/crashme" ] || { echo "agent_images: $E2E_TOOLS/crashme not built" >&2; exit 1; }
cp "$E2E_TOOLS/crashme" "$root/bin/crashme"
# The build-id the crash report must name (readelf: binutils).
readelf -n "$E2E_TOOLS/crashme" | sed -n 's/.*Build ID: *\([0-9a-f]*\).*/\1/p' >"$out/crashme.build-id"
# An independent minidump reader: Breakpad's minidump_stackwalk and
# minidump_dump as shipped prebuilt in the npm package `minidump`
# (scripts/setup-deps.sh unpacks it into the cache, outside the tree), with
# the glibc libraries they load, run in L1 through the dynamic loader.
bp=${E2E_BREAKPAD_DIR:-${APPVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/appvm}/minidump-0.26.0/package/bin/linux-x64}
if [ -x "$bp/minidump_stackwalk" ]; then
	mkdir -p "$out/breakpad"
	cp "$bp/minidump_stackwalk" "$bp/minidump_dump" "$out/breakpad/"
	for l in $(ldd "$bp/minidump_stackwalk" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do
		cp -L "$l" "$out/breakpad/"
	done
fi
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
cat >"$root/bin/marker" <<'APP'
#!/bin/sh
echo "E2E-GUEST: app=up"
exec sleep 100000
APP
chmod 755 "$root/bin/marker"
mksquashfs "$root" "$out/root.sqfs" -noappend -quiet -all-root -comp xz >/dev/null
rm -rf "$root"
