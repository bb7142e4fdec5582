# The p9 library under the real Linux v9fs client: in an appliance guest,
# p9serve (unix socket) serves tmpfs directories that the guest mounts with
# trans=unix,version=9p2000.L and cache=none/loose/mmap; every file
# operation's result is checked on the served directory (assets/p9_guest.sh).
# timeout: 420
. "$E2E_LIB/scenario.sh"
# Own timeout below the scenario's, so a hang still shows the console tail.
e2e-timeout 330 "$VMM" -k "$KERNEL_BZIMAGE" -i "$ASSETS/p9/initramfs.cpio.gz" -m 512 -p "$GUEST_PARAMS" \
	</dev/null >"$WORK/g.console" 2>"$WORK/g.err"
RC=$?
[ "$RC" != 124 ] || fail "guest still running after 330 s"
expect_line g '^E2E-GUEST: init=done'
expect_rc g 0
bad=$(grep '^E2E-GUEST: ' "$WORK/g.console" | tr -d '\r' | grep -vE '=(ok|started|done)$' | grep -v 'p9serve_err=$')
[ -z "$bad" ] || fail "$(printf 'failed checks:\n%s' "$bad")"
n=$(grep -c '^E2E-GUEST: .*=ok' "$WORK/g.console")
[ "$n" -ge 38 ] || fail "only $n checks reported ok"
echo "$n checks ok"
