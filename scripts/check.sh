#!/bin/sh
# The README's test command: install dependencies, build, run every test.
set -e
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh
exec make -j"$(nproc)" check
