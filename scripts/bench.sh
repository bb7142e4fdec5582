#!/bin/sh
# `make bench`: run every scripts/bench/*.sh in name order and print all
# their output. Each part owns its own script (scripts/bench/<part>.sh) and
# prints its own numbers; docs/BENCHMARKS.md records them by hand.
# Benchmarks print numbers, they never pass or fail on a target; a script
# that cannot run (exit status != 0) is reported and the rest still run.
cd "$(dirname "$0")/.." || exit 1
O=${O:-build}
export O
rc=0
for b in scripts/bench/*.sh; do
	[ -f "$b" ] || continue
	name=$(basename "$b" .sh)
	echo "== bench: $name"
	sh "$b"
	st=$?
	if [ $st -ne 0 ]; then
		echo "== bench: $name could not run (exit status $st)"
		rc=1
	fi
done
exit $rc
