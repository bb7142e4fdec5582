# virtio-9p under a real guest: `vmm --share DIR:data --share RODIR:rodata,ro`,
# our init mounts both from init.mount= (trans=virtio, cache=none), and
# /bin/p9app (assets/p9_virtio.sh) works on them. Checked on the host: the
# guest read the host's file, its writes, directories, renames, modes and a
# 2.5 MiB copy landed in DIR; nothing outside DIR was read or changed through
# guest-made symlinks (to /, ../.., the host path) or hard links; the
# read-only share refused every write and is unchanged.
# timeout: 300
. "$E2E_LIB/scenario.sh"
S=$WORK/share RO=$WORK/rodir
mkdir -p "$S" "$RO" "$WORK/outside"
echo "from the host" >"$S/fromhost"
echo "SECRET outside the share" >"$WORK/outside/secret"
echo "read only" >"$RO/r"
M="init.mount=data:/mnt/data:9p:trans=virtio,version=9p2000.L,cache=none"
vmm_run rw -k "$KERNEL_BZIMAGE" -r "$ASSETS/p9v/root.sqfs" --share "$S:data" --share "$RO:rodata,ro" \
	-p "$GUEST_PARAMS $M init.mount=rodata:/mnt/ro:9p:trans=virtio,version=9p2000.L init.app=/bin/p9app init.args=\"rw $WORK\""
expect_line rw '^E2E-GUEST: app=done'
expect_rc rw 0
v() { guest_value rw "$1"; }
[ "$(v mounts)" = "data:/mnt/data,rodata:/mnt/ro," ] || fail "9p mounts in the guest: '$(v mounts)'"
[ "$(sed -n 's/^E2E-GUEST: fromhost=//p' "$WORK/rw.console" | tr -d '\r')" = "from the host" ] ||
	fail "the guest read '$(v fromhost)' from the host's file"
bad=$(grep '^E2E-GUEST: ' "$WORK/rw.console" | tr -d '\r' | grep -E '=fail')
[ -z "$bad" ] || fail "failed checks: $bad"
for c in mkdir rename chmod bigcopy mknod_dev_refused; do [ "$(v $c)" = ok ] || fail "check $c: '$(v $c)'"; done
[ "$(cat "$S/dir/moved")" = "guest wrote this" ] || fail "dir/moved on the host: '$(cat "$S/dir/moved" 2>&1)'"
[ ! -e "$S/fromguest" ] || fail "fromguest still on the host after the guest's rename"
[ "$(stat -c %a "$S/dir/moved")" = 750 ] || fail "mode on the host $(stat -c %a "$S/dir/moved"), want 750"
[ -d "$S/dir/sub" ] || fail "dir/sub not created on the host"
[ "$(sha256sum <"$S/big" | cut -d' ' -f1)" = "$(v big_sha)" ] || fail "big on the host differs from what the guest wrote"
[ ! -e "$S/nul" ] || fail "a device node was created on the host"
# Containment: the guest saw no byte of the secret, the outside is unchanged,
# the links are stored as the guest wrote them (never resolved by the host).
[ "$(v leaked)" = 0 ] || fail "the guest read the secret outside the share $(v leaked) times"
[ "$(cat "$WORK/outside/secret")" = "SECRET outside the share" ] || fail "the secret outside the share was changed"
[ "$(ls "$WORK/outside")" = secret ] || fail "files appeared outside the share: $(ls "$WORK/outside" | tr '\n' ' ')"
[ "$(readlink "$S/to_upup")" = ../.. ] || fail "to_upup on the host: '$(readlink "$S/to_upup")'"
[ "$(v links)" = "../..,../outside" ] || fail "links as the guest reads them: '$(v links)'"
# A hard link of a guest-made symlink is that symlink (linkat without
# AT_SYMLINK_FOLLOW), never the secret's inode. (The host following it is
# the host's business: docs/P9.md "Known limits".)
[ ! -e "$S/hardlink" ] || [ "$(stat -c %i "$S/hardlink")" != "$(stat -c %i "$WORK/outside/secret")" ] ||
	fail "a hard link in the share is the secret's inode"
[ ! -e "$S/hardlink" ] || [ -L "$S/hardlink" ] || fail "hardlink in the share is not the guest's symlink"
echo "rw share: guest writes checked on the host; no escape"

vmm_run ro -k "$KERNEL_BZIMAGE" -r "$ASSETS/p9v/root.sqfs" --share "$S:data" --share "$RO:rodata,ro" \
	-p "$GUEST_PARAMS $M init.mount=rodata:/mnt/ro:9p:trans=virtio,version=9p2000.L init.app=/bin/p9app init.args=ro"
expect_line ro '^E2E-GUEST: app=done'
expect_rc ro 0
[ "$(guest_value ro ro_read)" = read ] || fail "ro share read: '$(guest_value ro ro_read)'"
for c in ro_write_refused ro_create_refused ro_unlink_refused ro_mkdir_refused; do
	[ "$(guest_value ro $c)" = ok ] || fail "check $c: '$(guest_value ro $c)'"
done
[ "$(guest_value ro ro_errno)" = Read-only_file_system ] || fail "ro refusal: '$(guest_value ro ro_errno)', want EROFS"
[ "$(ls "$RO")" = r ] && [ "$(cat "$RO/r")" = "read only" ] || fail "the read-only share changed: $(ls "$RO" | tr '\n' ' ')"
echo "ro share: every write refused with EROFS, the host directory unchanged"
