#!/bin/sh
# virtio-blk device model benchmark (numbers for docs/BENCHMARKS.md): the
# release objects of virtio_blk.c/virtq.c (static musl, -Os, as in vmm)
# driven natively through synthetic split rings against a file in tmpfs,
# compared in the same run with plain pread/pwrite of the same sizes at the
# same offsets: 64 KiB sequential read/write throughput and 4 KiB random
# read/write request rate (target >= 95% of plain), CPU per request; the
# device serves a regular file from its mapping, and is measured on its
# pread/pwrite path (block devices) too.
# No KVM needed. Targets are printed, never enforced.
#
#   scripts/bench/blk.sh      O=build BLKBENCH_ARGS="-m 256 -r 5 -b 32"
# As root the timed runs get nice -10 (a build alongside disturbs less).
set -u
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
MUSL_CC=${MUSL_CC:-musl-gcc}
OBJS="vmm/devices/virtio_blk vmm/virtio_mmio vmm/virtq vmm/dev_option vmm/gm vmm/log vmm/bus vmm/mapio"
objs=""
for o in $OBJS; do objs="$objs $O/obj/$o.o"; done
# shellcheck disable=SC2086
make -s O="$O" $objs || { echo "blk: building the device objects failed"; exit 1; }
mkdir -p "$O/bench"
$MUSL_CC -std=gnu11 -O2 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -I. -isystem "$O/uapi" \
	-static -o "$O/bench/blkbench" bench/blk/blkbench.c $objs -lpthread ||
	{ echo "blk: building bench/blk/blkbench.c failed"; exit 1; }
dir=/dev/shm
[ -d "$dir" ] && [ -w "$dir" ] || dir=${TMPDIR:-/tmp}
NICE=
[ "$(id -u)" -eq 0 ] && NICE="nice -n -10"
# shellcheck disable=SC2086
$NICE "$O/bench/blkbench" -d "$dir" ${BLKBENCH_ARGS:-}
