#!/bin/sh
# Guest agents (docs/AGENTS.md): vm_syslog -> vmm's log endpoint, the real
# agent loop and endpoint on this host joined by a unix socket
# (bench/agents/syslog_bench.c): sustained records/s with 0 lost, and the
# latency from a /dev/log send to the line in the host file (p50/p99). Also
# the agents' stripped sizes (target < 100 KiB each).
#   scripts/bench/agents.sh [N [latency_samples]]
set -u
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
make -s "$O/bench/syslog_bench" "$O/guest/vm_syslog" "$O/guest/crash_collector" || exit 1
for b in vm_syslog crash_collector; do
	strip -o "$O/bench/$b.stripped" "$O/guest/$b" || exit 1
	echo "$b: $(wc -c <"$O/bench/$b.stripped") bytes stripped (static musl)"
done
if [ "$(id -u)" = 0 ]; then
	exec nice -n -10 "$O/bench/syslog_bench" "$@"
fi
exec "$O/bench/syslog_bench" "$@"
