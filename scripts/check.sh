#!/bin/sh
# The README's test command: install dependencies, build everything (release
# binaries, sanitizer unit tests, fuzzers, the appliance kernel), run every
# test suite. The last line is always "N passed, N failed".
cd "$(dirname "$0")/.." || exit 1
./scripts/setup-deps.sh || { echo "setup-deps failed"; echo "0 passed, 1 failed"; exit 1; }
make -j"$(nproc)" check-build || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
# The arm64 cross build, for the nested arm64 machine's scenarios (docs/ARM64.md).
make -j"$(nproc)" ARCH=aarch64 || { echo "arm64 build failed"; echo "0 passed, 1 failed"; exit 1; }
O=${O:-build} exec tests/run-all
