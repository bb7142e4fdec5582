#!/bin/sh
# guest-init benchmarks (issue 5), natively: the real build/guest/init as
# PID 1 in fresh PID/mount/UTS/net/IPC namespaces over a scratch tmpfs root
# (tests/native/init/lib.sh), no VM, no module loads.
#   exec->app   CLOCK_MONOTONIC from just before execve("/sbin/init") (the
#               launcher, tests/native/init/launch.c) to the first line of
#               the app's main() (tests/native/init/stamp.c): init's whole
#               boot path -- signal setup, mounts, command line, lo, services
#               dir, spawn of the app. Target <= 3 ms.
#   RSS         PID 1's VmRSS / VmHWM read by the app while init runs
#               (/proc/1/status). Target <= 400 KiB.
#   size        build/guest/init stripped (strip -s on a copy). Target
#               <= 150 KiB.
# Prints numbers only; never passes or fails on a target. Needs root.
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
RUNS=${INIT_BENCH_RUNS:-30}
T_SUITE=bench/init
. tests/native/init/lib.sh
[ "$(id -u)" -eq 0 ] || { echo "bench/init: needs root (namespaces)"; exit 1; }
[ -x "$INIT_BIN" ] || { echo "bench/init: $INIT_BIN not built (make $O/guest/init)"; exit 1; }

W=$(mktemp -d /tmp/appvm-init-bench.XXXXXX) || exit 1
R=
trap 'root_free; case "$W" in /tmp/appvm-init-bench.*) rm -rf --one-file-system "$W" ;; esac' EXIT INT TERM
make -s "$O/uapi/.stamp" >/dev/null 2>&1
for h in launch stamp; do
	${MUSL_CC:-musl-gcc} -std=gnu11 -O2 -static -isystem "$O/uapi" -o "$W/$h" "tests/native/init/$h.c" ||
		{ echo "bench/init: building $h failed"; exit 1; }
done

size=$(stat -c %s "$INIT_BIN")
cp "$INIT_BIN" "$W/init.stripped"
strip -s "$W/init.stripped"
ssize=$(stat -c %s "$W/init.stripped")
echo "init size: $size bytes as built, $ssize bytes stripped ($(awk "BEGIN { printf \"%.1f\", $ssize / 1024 }") KiB; target <= 150 KiB)"

root_new "$W/r" 'init.app=/bin/stamp init.loglevel=3' || { echo "bench/init: scratch root failed"; exit 1; }
cp "$W/stamp" "$R/bin/stamp"
: >"$W/us"
: >"$W/rss"
: >"$W/hwm"
i=0
bad=0
while [ $i -lt "$RUNS" ]; do
	rm -f "$R/out/t0" "$R/out/t1" "$R/out/rss"
	readers_start
	nice -n -5 "$W/launch" "$R"
	rc=$?
	readers_stop
	if [ $rc -ne 130 ] || [ ! -s "$R/out/t0" ] || [ ! -s "$R/out/t1" ]; then
		bad=$((bad + 1))
		[ $bad -gt 3 ] && { echo "bench/init: runs fail (status $rc); init log:"; cat "$R.kmsg"; exit 1; }
		continue
	fi
	echo $(( ($(cat "$R/out/t1") - $(cat "$R/out/t0")) / 1000 )) >>"$W/us"
	awk '$1 == "VmRSS:" { print $2 }' "$R/out/rss" >>"$W/rss"
	awk '$1 == "VmHWM:" { print $2 }' "$R/out/rss" >>"$W/hwm"
	i=$((i + 1))
done
stats() { sort -n "$1" | awk '{ v[NR] = $1 } END { printf "min %s, median %s, max %s", v[1], v[int((NR + 1) / 2)], v[NR] }'; }
echo "init exec -> app exec: $(stats "$W/us") us over $RUNS runs (target <= 3000 us)"
echo "init RSS at app start: VmRSS $(stats "$W/rss") KiB; VmHWM $(stats "$W/hwm") KiB (target <= 400 KiB)"
