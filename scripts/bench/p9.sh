#!/bin/sh
# p9 library benchmark (bench/p9/p9_bench.c): sequential write/read MiB/s
# and create+stat+unlink files/s through p9_handle() against the same work
# done with direct system calls, on tmpfs (/dev/shm) so that the server's
# own cost is what differs. Numbers for docs/BENCHMARKS.md; never enforced.
#
#   scripts/bench/p9.sh      MIB=256 FILES=20000 ROUNDS=5 O=build
set -u
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
make -s "$O/bench/p9_bench" || exit 1
base=/dev/shm
[ -w "$base" ] || base=${TMPDIR:-/tmp}
dir=$(mktemp -d "$base/p9bench.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT INT TERM
echo "-- p9: library vs direct syscalls in $base"
"$O/bench/p9_bench" "$dir" "${MIB:-256}" "${FILES:-20000}" "${ROUNDS:-5}"
