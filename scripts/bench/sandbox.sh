#!/bin/sh
# Sandbox cost (issue 11, docs/SANDBOX.md): in one boot of the nested L1
# machine (docs/E2E.md), RUNS rounds of the same workloads under vmm with
# its virtio devices in jailed processes (the default, "sandbox") and with
# --disable-sandbox ("threads"), interleaved, alternating which goes first:
#   blk    a guest reads and writes 16 MiB of /dev/vdb with O_DIRECT at 4 KiB
#          and 64 KiB blocks (e2e.blk=bench of tests/e2e/assets/blk_images.sh),
#          MiB/s from the guest's clock
#   vsock  32 MiB host->guest and guest->host over one connection
#          (tests/e2e/guest/vsock_stream.c), MiB/s as the host side reports
#   rss    private memory (Private_Clean + Private_Dirty of smaps_rollup) of
#          each device process and of vmm, with a vsock guest running
#   spawn  vmm's own "device process started in N us" per device (sandbox)
#   ctxsw  a round trip (two switches) between two processes ("sandbox") and two
#          threads ("threads") pinned to one CPU (tests/e2e/l1/ctxsw.c), in
#          L1 and, for comparison, on this host: what a wake-up between a
#          device and vmm costs in each mode, apart from any device code
# and prints medians with the sandbox/threads ratio. Exec -> guest /init for
# both is scripts/bench/nested.sh with
#   BENCH_VMMS=vmm BENCH_EXTRA="threads=$O/vmm:--disable-sandbox".
# Numbers go to docs/BENCHMARKS.md by hand; targets are printed, never
# enforced.
#
#   scripts/bench/sandbox.sh [RUNS]      (default 3)
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O=$SRC/$O ;; esac
. "$SRC/tests/e2e/lib/l1.sh"
RUNS=${1:-3}
case "$RUNS" in ''|*[!0-9]*|0) echo "usage: sandbox.sh [RUNS]" >&2; exit 2 ;; esac
command -v qemu-system-x86_64 >/dev/null || e2e_die "qemu-system-x86_64 missing (scripts/setup-deps.sh)"
[ -x "$O/vmm" ] || e2e_die "$O/vmm not built (make)"
e2e_find_cloud
e2e_tools
e2e_kernel
e2e_rundir bench
assets=$E2E_RUN/assets
e2e_assets "$assets" blk_images vsock_guest || exit 1

main=$E2E_RUN/main.sh
cat >"$main" <<'EOF'
P="console=ttyS0 reboot=k panic=-1 quiet"
S=$BIN/e2e/vsock_stream
N=33554432
D=$WORK/disk.img
V=$WORK/v.sock
dd if=/dev/zero of="$D" bs=1048576 count=16 2>/dev/null
opts() { [ "$1" = threads ] && echo --disable-sandbox; }
blk() {
	"$VMM" $(opts "$1") -v -v -k "$KERNEL_VMLINUX" -r "$ASSETS/blk/root.sqfs" -d "$D" \
		-p "$P e2e.blk=bench" </dev/null >"$WORK/b.console" 2>"$WORK/b.err"
	tr -d '\r' <"$WORK/b.console" | sed -n "s/^E2E-GUEST: bench_\([a-z]*_[0-9]*\)=\([0-9.]*\)\$/RES $1 blk_\1 \2/p"
	sed -n "s/^vmm: \(.*\): device process started in \([0-9]*\) us\$/SPAWN \1 \2/p" "$WORK/b.err" | tr ' ' _ |
		sed 's/^SPAWN_\(.*\)_\([0-9]*\)$/RES sandbox spawn_us_\1 \2/'
}
rss() { awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
vsock() {
	rm -f "$V"
	"$VMM" $(opts "$1") -v -v -k "$KERNEL_BZIMAGE" -i "$ASSETS/vsock/initramfs.cpio.gz" -m 512 --vsock "$V" \
		-p "$P" </dev/null >"$WORK/v.console" 2>"$WORK/v.err" &
	vmm=$!
	w=0
	while ! grep -q 'E2E-GUEST: init=ready' "$WORK/v.console" && [ $w -lt 1200 ]; do sleep 0.1; w=$((w + 1)); done
	e2e-timeout 300 "$S" hsend "$V" 5000 "$N" | sed -n "s/.*(\([0-9.]*\) MiB\/s).*/RES $1 vsock_h2g \1/p"
	e2e-timeout 300 "$S" hrecv "$V" 5000 "$N" | sed -n "s/.*(\([0-9.]*\) MiB\/s).*/RES $1 vsock_g2h \1/p"
	echo "RES $1 rss_kib_vmm $(rss "$vmm")"
	sed -n 's/^vmm: device \(.*\): pid \([0-9]*\) (reaper [0-9]*)$/\1 \2/p' "$WORK/v.err" | while read -r name pid; do
		echo "RES $1 rss_kib_$(echo "$name" | tr ' -' __) $(rss "$pid")"
	done
	e2e-timeout 60 "$S" hquit "$V" 5000 >/dev/null 2>&1
	wait "$vmm"
}
i=0
while [ $i -lt "$RUNS" ]; do
	if [ $((i % 2)) = 0 ]; then set -- sandbox threads; else set -- threads sandbox; fi
	for m; do blk "$m"; vsock "$m"; done
	"$BIN/e2e/ctxsw" | awk -F'[ =]' '$1 == "thread_ns" { print "RES threads ctxsw_ns " $2; print "RES sandbox ctxsw_ns " $4 }'
	i=$((i + 1))
done
EOF

img=$E2E_RUN/l1
l1_image "$img" || exit 1
cp -r "$assets" "$img/e2e/assets"
cp "$main" "$img/e2e/main.sh"
printf 'RUNS=%s\n' "$RUNS" >>"$img/e2e/env"
echo stream >"$img/e2e/mode"
echo "bench/sandbox: on this host: $("$O/e2e/ctxsw")" >&2
echo "bench/sandbox: booting the nested L1 machine; $RUNS rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
out=$E2E_RUN/console.log
l1_boot "$img" $((900 + RUNS * 600)) </dev/null | sed -u 's/\r$//' | tee "$out" | grep --line-buffered '^RES ' >&2
echo "bench/sandbox: $(date -u +%Y-%m-%dT%H:%MZ), $(uname -m), $(nproc) cores, commit $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null)"
awk '
$1 == "RES" { k = $3; m = $2; v[m, k, ++n[m, k]] = $4; if (!(k in seen)) { seen[k] = 1; order[++nk] = k } }
function med(m, k,   c, i, j, t, a) {
	c = n[m, k]; if (!c) return ""
	for (i = 1; i <= c; i++) a[i] = v[m, k, i] + 0
	for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
}
END {
	printf "%-32s %12s %12s %8s\n", "median of runs", "sandbox", "threads", "ratio"
	for (i = 1; i <= nk; i++) {
		k = order[i]; s = med("sandbox", k); t = med("threads", k)
		r = (s != "" && t != "" && t > 0) ? sprintf("%.1f%%", 100 * s / t) : "-"
		printf "%-32s %12s %12s %8s\n", k, s == "" ? "-" : s, t == "" ? "-" : t, r
	}
}' "$out"
