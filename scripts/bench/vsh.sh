#!/bin/sh
# vsh keystroke round trip (docs/AGENTS.md "vsh"): in one boot of the nested
# L1 machine (docs/E2E.md), boot the vsh appliance (tests/e2e/assets/
# vsh_images.sh) under our vmm, open `vmm sh` on a pseudo-terminal
# (tests/e2e/l1/ptydrive.c) and time N keystrokes from the write on the
# terminal to their echo by the guest's login shell: terminal -> vmm sh ->
# control socket -> vmm -> virtio-vsock -> vshd -> guest PTY -> shell and
# back. For scale, the same measurement against a shell on a local PTY in
# L1. On a host with vmx/svm it runs directly there.
#
#   scripts/bench/vsh.sh [N]       (default 200 keystrokes)
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O=$SRC/$O ;; esac
. "$SRC/tests/e2e/lib/l1.sh"
N=${1:-200}
case "$N" in ''|*[!0-9]*|0) echo "usage: vsh.sh [N]" >&2; exit 2 ;; esac
[ -x "$O/vmm" ] && [ -x "$O/guest/vshd" ] && [ -x "$O/guest/init" ] || e2e_die "build first (make)"
e2e_find_cloud
e2e_tools
e2e_kernel
e2e_rundir bench
assets=$E2E_RUN/assets
mkdir -p "$assets"
O=$O ASSETS=$assets SRC=$SRC E2E_TOOLS=$O/e2e sh "$SRC/tests/e2e/assets/vsh_images.sh" || exit 1

main=$E2E_RUN/main.sh
cat >"$main" <<'EOF2'
S=$WORK/ctl.sock
"$VMM" -k "$KERNEL_BZIMAGE" -r "$ASSETS/vsh/root.sqfs" -s "$S" -m 256 -c 1 \
	-p "console=ttyS0 reboot=k panic=-1 quiet init.app=/bin/sleep init.args=100000" </dev/null >"$WORK/vm.console" 2>&1 &
vmm=$!
i=0
until "$VMM" sh "$S" -- true </dev/null >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 300 ] || { echo "BENCHFAIL vshd did not answer"; tail -20 "$WORK/vm.console"; exit 1; }
	sleep 0.5
done
echo "vshd answered after $i tries"
r=$(ptydrive -t 60 'expect:vsh-e2e# ' "rtt:$N" 'send:exit 0\r' 'exit:0' -- "$VMM" sh "$S") ||
	{ echo "BENCHFAIL vmm sh: $r"; tail -30 "$WORK/vm.console"; }
echo "BENCHRES vsh $r"
echo "BENCHRES local $(ptydrive -t 60 'expect:local# ' "rtt:$N" 'send:exit 0\r' 'exit:0' -- env PS1='local# ' sh)"
"$VMM" stop "$S" >/dev/null 2>&1
wait $vmm
EOF2

if e2e_have_hwvirt; then
	work=$E2E_RUN/work
	mkdir -p "$work"
	(cd "$work" && PATH="$O/e2e:$PATH" VMM=$O/vmm KERNEL_BZIMAGE=$O/kernel/bzImage ASSETS=$assets \
		WORK=$work N=$N sh "$main") 2>&1 | grep -E '^BENCH'
	exit
fi
img=$E2E_RUN/l1
l1_image "$img" || exit 1
cp -r "$assets" "$img/e2e/assets"
cp "$main" "$img/e2e/main.sh"
printf 'N=%s\n' "$N" >>"$img/e2e/env"
echo stream >"$img/e2e/mode"
echo "bench/vsh: booting the nested L1 machine; $N keystrokes through vmm sh, then through a local PTY" >&2
out=$E2E_RUN/console.log
l1_boot "$img" 900 </dev/null | sed -u 's/\r$//' >"$out"
grep -q '^BENCHRES vsh rtt' "$out" || { echo "bench/vsh: no result; L1 console tail:" >&2; tail -n 40 "$out" >&2; exit 1; }
grep '^BENCHRES' "$out" | sed 's/^BENCHRES /  /'
