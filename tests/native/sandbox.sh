#!/bin/sh
# Escape suite from inside real device processes: $O/e2e/sandbox-escape
# (tests/native/sandbox_escape.c, a test-only build) spawns each attempt
# with sandbox_spawn() under the virtio_blk policy. Needs root (CI runs as
# root); the e2e scenario sandbox_escape runs the same binary in the nested
# L1 machine, whose / is rootfs.
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
[ "$(id -u)" -eq 0 ] || { echo "SKIP native/sandbox_escape/all: needs root"; exit 0; }
[ -x "$O/e2e/sandbox-escape" ] || { echo "FAIL native/sandbox_escape/all: $O/e2e/sandbox-escape is not built (run make)"; exit 1; }
# The device processes' death lines ("vmm: device virtio-blk (pid N) died:
# ...") go to stderr; the verdicts are on stdout.
exec "$O/e2e/sandbox-escape" 2>/dev/null
