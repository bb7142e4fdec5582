#!/bin/sh
# virtio-vsock device-model throughput with synthetic rings vs a plain unix
# socket (bench/vsock/vsock_bench.c), target >= 80% of the plain socket.
# Built here like the release vmm (static musl, -Os) from the same sources;
# both sides of the comparison live in one binary.
#
#   scripts/bench/vsock.sh [MiB [rx_buf_bytes]]     (defaults 512 4096)
#   O=build  MUSL_CC=musl-gcc
set -u
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
CC=${MUSL_CC:-musl-gcc}
out=$O/bench/vsock_bench
mkdir -p "$O/bench"
make -s "$O/uapi/.stamp" || exit 1
$CC -std=gnu11 -Os -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -I. -isystem "$O/uapi" -static \
	-o "$out" bench/vsock/vsock_bench.c vmm/devices/virtio_vsock.c vmm/virtq.c vmm/virtio_mmio.c vmm/dev_option.c \
	vmm/gm.c vmm/log.c vmm/bus.c -lpthread || exit 1
# As root, nice the run so a build alongside (2-core machines) disturbs less.
if [ "$(id -u)" = 0 ]; then
	exec nice -n -10 "$out" "$@"
fi
exec "$out" "$@"
