#!/bin/sh
# Sandbox benchmarks (numbers for docs/BENCHMARKS.md; targets printed, never
# enforced):
#  1. BPF instructions executed per allowed syscall for a 100-syscall
#     allow-list, our compiler vs libseccomp's program for the same rules
#     (both run in the test tree's interpreter)  target <= ceil(log2 n) + 6
#  2. time to create and enter a full jail (user, pid, mount, net, ipc, uts,
#     cgroup namespaces, tmpfs root with binds, rlimit, seccomp) with
#     jail_fork() and jail_run(), vs a plain fork   target <= 2 ms
#  3. device processes (vmm/sandbox.c): sandbox_spawn() start-up and
#     sandbox_kill() cost, private RSS of a device process and its reaper
#
#   scripts/bench/jail.sh        RUNS=N (default 300) O=build
# As root the timed runs get nice -10, like scripts/bench/vmm.sh.
set -u
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
RUNS=${RUNS:-300}

make -s "$O/san/tests/seccomp_diff_test" "$O/bench/jail-bench" "$O/bench/sandbox-bench" || exit 1
echo "-- seccomp-bpf: instructions per syscall"
"$O/san/tests/seccomp_diff_test" --bench || exit 1
echo "-- jail: create + enter"
if [ "$(id -u)" -ne 0 ]; then
	echo "jail: not root, namespaces unavailable: skipped"
	exit 0
fi
nice -n -10 "$O/bench/jail-bench" "$RUNS" || exit 1
echo "-- device processes: spawn, kill, private memory"
nice -n -10 "$O/bench/sandbox-bench" "$RUNS" 2>/dev/null || exit 1
