# Host-side assets for the agent_* scenarios (guest agents, docs/AGENTS.md):
#   $ASSETS/agent/root.sqfs   squashfs appliance root: busybox, our
#                             build/guest/init as /sbin/init, the agents
#                             /sbin/vm_syslog and /sbin/crash_collector,
#                             /bin/crashme (tests/e2e/guest/crashme.c) and
#                             /bin/marker (a console line, then stays up)
set -eu
. "$SRC/tests/e2e/lib/guestfs.sh"
command -v mksquashfs >/dev/null || { echo "agent_images: mksquashfs missing (squashfs-tools)" >&2; exit 1; }
for b in init vm_syslog; do
	[ -x "$O/guest/$b" ] || { echo "agent_images: $O/guest/$b not built (make $O/guest/$b)" >&2; exit 1; }
done
out=$ASSETS/agent
mkdir -p "$out"
root=$out/root
guestfs_busybox "$root"
cp "$O/guest/init" "$root/sbin/init"
cp "$O/guest/vm_syslog" "$root/sbin/vm_syslog"
[ ! -x "$O/guest/crash_collector" ] || cp "$O/guest/crash_collector" "$root/sbin/crash_collector"
[ ! -x "$E2E_TOOLS/crashme" ] || cp "$E2E_TOOLS/crashme" "$root/bin/crashme"
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
cat >"$root/bin/marker" <<'APP'
#!/bin/sh
echo "E2E-GUEST: app=up"
exec sleep 100000
APP
chmod 755 "$root/bin/marker"
mksquashfs "$root" "$out/root.sqfs" -noappend -quiet -all-root -comp xz >/dev/null
rm -rf "$root"
