# Host-side asset for the p9_client scenario: $ASSETS/p9/initramfs.cpio.gz,
# a busybox guest holding $O/p9serve (the p9 library over a unix socket) and
# p9check (tests/e2e/guest/p9check.c). Its /init serves guest tmpfs
# directories with p9serve, mounts them with the Linux v9fs client
# (trans=unix, version=9p2000.L; cache=none, then loose, then mmap), works
# on them through the mount, checks each result on the served directory
# itself, and reports "E2E-GUEST: KEY=ok" (or KEY=fail:detail) lines. This
# tests the library against the real client before the virtio-9p device
# exists; the appliance kernel has CONFIG_NET_9P_FD (default with NET_9P).
set -eu
. "$SRC/tests/e2e/lib/guestfs.sh"
[ -x "$O/p9serve" ] || { echo "p9_guest: $O/p9serve not built (run make)"; exit 1; }
root=$ASSETS/p9/root
guestfs_busybox "$root"
cp "$O/p9serve" "$root/bin/p9serve"
cp "$E2E_TOOLS/p9check" "$root/bin/p9check"
cat >"$root/init" <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
echo "E2E-GUEST: init=started"
r() { echo "E2E-GUEST: $1=$2"; }
# check NAME COMMAND...: KEY=ok when the command succeeds
# (killed after 60 s: a 9p request the server never answers must not hang
# the guest, and v9fs waits are killable)
check() { n=$1; shift; if timeout -s KILL 60 "$@" >/tmp/check.out 2>&1; then r "$n" ok; else r "$n" "fail:$(tr '\n ' '__' </tmp/check.out | head -c 200)"; fi; }
S=/tmp/share A=/mnt/a
mkdir -p $S /tmp/ro /mnt/a /mnt/b /mnt/c
echo "read only" >/tmp/ro/r
p9serve -s /tmp/9p.sock -u 1000:1000 sh=$S ro=/tmp/ro:ro 2>/tmp/p9serve.err &
srv=$!
i=0; while [ ! -S /tmp/9p.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
O9="trans=unix,version=9p2000.L"
check mount_none mount -t 9p -o $O9,aname=sh,cache=none /tmp/9p.sock $A

echo hello >$A/f
check write_guest_to_host grep -qx hello $S/f
echo host >$S/h
check read_host_in_guest grep -qx host $A/h
dd if=/dev/urandom of=/tmp/big bs=65536 count=40 2>/dev/null
cp /tmp/big $A/big
check big_host cmp /tmp/big $S/big
check big_guest cmp /tmp/big $A/big
check mkdir sh -c "mkdir $A/d && [ -d $S/d ]"
check readdir sh -c "[ \"\$(ls $A | tr '\n' ' ')\" = 'big d f h ' ]"
check rename sh -c "mv $A/f $A/d/g && [ -f $S/d/g ] && [ ! -e $S/f ] && grep -qx hello $A/d/g"
check symlink sh -c "ln -s tgt/x $A/l && [ \"\$(readlink $A/l)\" = tgt/x ] && [ \"\$(readlink $S/l)\" = tgt/x ]"
check link sh -c "ln $A/h $A/h2 && [ \"\$(stat -c %h $S/h)\" = 2 ] && grep -qx host $A/h2"
check chmod sh -c "chmod 640 $A/h && [ \"\$(stat -c %a $S/h)\" = 640 ] && [ \"\$(stat -c %a $A/h)\" = 640 ]"
check utimes sh -c "touch -d '2020-01-02 03:04:05' $A/h && [ \"\$(stat -c %Y $S/h)\" = \"\$(stat -c %Y $A/h)\" ] && [ \"\$(date -d @\$(stat -c %Y $S/h) +%Y)\" = 2020 ]"
check truncate sh -c "truncate -s 2 $A/h && [ \"\$(stat -c %s $S/h)\" = 2 ] && [ \"\$(stat -c %s $A/h)\" = 2 ]"
check append sh -c "echo more >>$A/d/g && [ \"\$(cat $S/d/g | tr '\n' ' ')\" = 'hello more ' ]"
check mkfifo sh -c "mkfifo $A/p && [ -p $S/p ] && [ -p $A/p ]"
check mknod_dev_refused sh -c "! mknod $A/nul c 1 3 && [ ! -e $S/nul ]"
check owner_mapped sh -c "[ \"\$(stat -c %u:%g $A/h)\" = 1000:1000 ]"
check chown_refused sh -c "! chown 0:0 $A/h"
check statfs sh -c "df $A | grep -q $A"
check lock p9check lock $A/h
check unlink sh -c "rm $A/h2 $A/l $A/p && [ ! -e $S/h2 ] && [ ! -L $S/l ]"
check rmdir sh -c "rm -r $A/d && [ ! -e $S/d ]"
check many sh -c "for i in \$(seq 1 300); do : >$A/m\$i || exit 1; done; [ \$(ls $A | grep -c '^m') = 300 ] && rm $A/m* && [ \$(ls $S | grep -c '^m') = 0 ]"
check umount_none umount $A

check mount_ro mount -t 9p -o $O9,aname=ro /tmp/9p.sock /mnt/b
check ro_read grep -qx "read only" /mnt/b/r
check ro_write_refused sh -c "! echo x >>/mnt/b/r && ! touch /mnt/b/new && ! rm /mnt/b/r && grep -qx 'read only' /tmp/ro/r"
check mount_root mount -t 9p -o $O9 /tmp/9p.sock /mnt/c
check root_lists_grants sh -c "[ \"\$(ls /mnt/c | tr '\n' ' ')\" = 'ro sh ' ]"
check root_readonly sh -c "! mkdir /mnt/c/x"
check root_to_share grep -qx "read only" /mnt/c/ro/r
umount /mnt/b; umount /mnt/c

check mount_loose mount -t 9p -o $O9,aname=sh,cache=loose /tmp/9p.sock $A
check loose_rw sh -c "cp /tmp/big $A/big2 && sync && cmp /tmp/big $S/big2 && cmp /tmp/big $A/big2"
check loose_mmap p9check mmap $A/mm1
umount $A
check mount_mmap mount -t 9p -o $O9,aname=sh,cache=mmap /tmp/9p.sock $A
check mmap_shared p9check mmap $A/mm2
check mmap_on_host sh -c "cmp $A/mm2 $S/mm2"
umount $A
check server_alive kill -0 $srv
echo "E2E-GUEST: p9serve_err=$(tr '\n ' '__' </tmp/p9serve.err | head -c 200)"
echo "E2E-GUEST: init=done"
reboot -f
INIT
chmod 755 "$root/init"
"$SRC/scripts/mkinitramfs.sh" "$root" "$ASSETS/p9/initramfs.cpio.gz"
rm -rf "$root"
