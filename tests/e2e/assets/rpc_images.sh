# Host-side assets for the rpc_* scenarios (Maitred in our init, docs/INIT.md
# "RPC service"):
#   $ASSETS/rpc/root.sqfs   squashfs appliance root: busybox, our
#                           build/guest/init as /sbin/init, the static helper
#                           /bin/vsock_selfconnect (tests/e2e/guest/), and
#                           /bin/marker (prints a console line, then stays
#                           up: the app of a guest that waits for the host),
#                           /etc/not-executable (mode 644)
# arch: x86_64 aarch64
set -eu
. "$SRC/tests/e2e/lib/guestfs.sh"
command -v mksquashfs >/dev/null || { echo "rpc_images: mksquashfs missing (squashfs-tools)" >&2; exit 1; }
[ -x "$O/guest/init" ] || { echo "rpc_images: $O/guest/init not built (make $O/guest/init)" >&2; exit 1; }
[ -x "$E2E_TOOLS/vsock_selfconnect" ] || { echo "rpc_images: $E2E_TOOLS/vsock_selfconnect not built" >&2; exit 1; }
out=$ASSETS/rpc
mkdir -p "$out"
root=$out/root
guestfs_busybox "$root"
cp "$O/guest/init" "$root/sbin/init"
cp "$E2E_TOOLS/vsock_selfconnect" "$root/bin/vsock_selfconnect"
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
printf '#!/bin/sh\necho never run\n' >"$root/etc/not-executable"
chmod 644 "$root/etc/not-executable"
cat >"$root/bin/marker" <<'APP'
#!/bin/sh
echo "E2E-GUEST: app=up"
exec sleep 100000
APP
chmod 755 "$root/bin/marker"
mksquashfs "$root" "$out/root.sqfs" -noappend -quiet -all-root -comp xz >/dev/null
rm -rf "$root"
