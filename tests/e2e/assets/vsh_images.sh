# Host-side assets for the vsh scenario (docs/AGENTS.md "vsh"):
#   $ASSETS/vsh/root.sqfs   squashfs appliance root: busybox, our
#                           build/guest/init as /sbin/init and
#                           build/guest/vshd as /sbin/vshd (init starts it
#                           under vmm), /etc/profile setting a prompt (read
#                           only by a login shell), /bin/vsock_selfconnect
# arch: x86_64 aarch64
set -eu
. "$SRC/tests/e2e/lib/guestfs.sh"
command -v mksquashfs >/dev/null || { echo "vsh_images: mksquashfs missing (squashfs-tools)" >&2; exit 1; }
for f in "$O/guest/init" "$O/guest/vshd" "$E2E_TOOLS/vsock_selfconnect"; do
	[ -x "$f" ] || { echo "vsh_images: $f not built" >&2; exit 1; }
done
out=$ASSETS/vsh
mkdir -p "$out"
root=$out/root
guestfs_busybox "$root"
cp "$O/guest/init" "$root/sbin/init"
cp "$O/guest/vshd" "$root/sbin/vshd"
cp "$E2E_TOOLS/vsock_selfconnect" "$root/bin/vsock_selfconnect"
mkdir -p "$root/root"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "PS1='vsh-e2e# '" >"$root/etc/profile"
mksquashfs "$root" "$out/root.sqfs" -noappend -quiet -all-root -comp xz >/dev/null
rm -rf "$root"
