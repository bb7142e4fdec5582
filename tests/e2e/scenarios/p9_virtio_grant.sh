# Run-time grants (seneschal's model) through the control socket. The VM has
# a share whose root starts empty (`--share :grants`, first, so the default
# tag of `vmm share`) mounted at /mnt/root, and a directory share "data".
# While the guest waits, `vmm share SOCK DIR late` grants a directory: it
# appears as /mnt/root/late, the guest reads the host's file and writes one
# back (checked on the host); `vmm unshare SOCK late` revokes it: it leaves
# the listing and a file the guest kept open reads as stale.
# Also the commands' errors: unknown tag, a file as HOSTDIR, a name granted
# twice, revoking an unknown name.
# timeout: 240
. "$E2E_LIB/scenario.sh"
mkdir -p "$WORK/s" "$WORK/late"
echo "granted at run time" >"$WORK/late/granted"
: >"$WORK/file"
C=$WORK/ctl
M=":9p:trans=virtio,version=9p2000.L,cache=none"
"$VMM" -s "$C" -k "$KERNEL_BZIMAGE" -r "$ASSETS/p9v/root.sqfs" --share ":grants" --share "$WORK/s:data" \
	-p "$GUEST_PARAMS init.mount=grants:/mnt/root$M init.mount=data:/mnt/data$M init.app=/bin/p9app init.args=grant" \
	</dev/null >"$WORK/g.console" 2>"$WORK/g.err" &
pid=$!
# wait_line REGEX: up to 120 s for the guest to print it.
wait_line() {
	i=0
	while ! grep -qE "$1" "$WORK/g.console"; do
		kill -0 $pid 2>/dev/null || fail "vmm ended before the guest printed '$1'"
		i=$((i + 1)); [ $i -lt 1200 ] || { kill $pid; fail "no '$1' within 120 s"; }
		sleep 0.1
	done
}
wait_line '^E2E-GUEST: waiting=grant'
"$VMM" share "$C" --tag nosuch "$WORK/late" late 2>"$WORK/e1"; rc=$?
[ $rc = 1 ] && grep -q "no virtio-9p share with tag 'nosuch'" "$WORK/e1" || fail "share to an unknown tag: exit $rc, '$(cat "$WORK/e1")'"
"$VMM" share "$C" "$WORK/file" late 2>"$WORK/e2"; rc=$?
[ $rc = 2 ] && grep -q "not a directory" "$WORK/e2" || fail "share of a file: exit $rc, '$(cat "$WORK/e2")'"
"$VMM" share "$C" "$WORK/late" late || fail "vmm share failed"
"$VMM" share "$C" "$WORK/s" late 2>"$WORK/e3"; rc=$?
[ $rc = 1 ] && grep -q "already granted" "$WORK/e3" || fail "second grant of 'late': exit $rc, '$(cat "$WORK/e3")'"
wait_line '^E2E-GUEST: waiting=revoke'
[ "$(cat "$WORK/late/back" 2>&1)" = "from guest" ] || fail "the guest's write to the grant: '$(cat "$WORK/late/back" 2>&1)'"
"$VMM" unshare "$C" late || fail "vmm unshare failed"
"$VMM" unshare "$C" late 2>"$WORK/e4"; rc=$?
[ $rc = 1 ] && grep -q "no grant by that name" "$WORK/e4" || fail "second unshare: exit $rc, '$(cat "$WORK/e4")'"
i=0
while kill -0 $pid 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 1200 ] || { kill $pid; fail "the guest did not finish"; }
	sleep 0.1
done
wait $pid; RC=$?
expect_rc g 0
expect_line g '^E2E-GUEST: app=done'
v() { guest_value g "$1"; }
[ "$(sed -n 's/^E2E-GUEST: late_content=//p' "$WORK/g.console" | tr -d '\r')" = "granted at run time" ] ||
	fail "the guest read '$(v late_content)' from the grant"
[ "$(v late_written)" = 0 ] || fail "the guest could not write into the grant"
[ "$(v root_before)" = "" ] || fail "the grants root was not empty at boot: '$(v root_before)'"
[ "$(v root_during)" = "late," ] || fail "the grants root lists '$(v root_during)' while granted"
[ "$(v root_after)" = "" ] || fail "the grants root lists '$(v root_after)' after unshare"
case "$(v after_revoke)" in *Stale*) ;; *) fail "after unshare an open file reads '$(v after_revoke)', want a stale handle" ;; esac
[ "$(v late_gone)" = ok ] || fail "the revoked grant is still readable: $(v late_gone)"
echo "grant appeared at run time, was written from the guest, and went stale when revoked"
