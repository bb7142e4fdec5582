#!/bin/sh
# The control socket (-s) and the host-side control commands, with a tiny
# guest that halts forever (tests/guests/halt.elf) on this host's /dev/kvm,
# or in the nested L1 machine without a working one (tests/native/lib/kvm.sh).
# timeout: 300
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
VMM=$O/vmm
G=$O/guests/halt.elf
. tests/native/lib/kvm.sh
native_kvm_enter vmm_control
if [ ! -x "$VMM" ]; then
	echo "FAIL vmm_control/build_guest: $VMM is not built (run make)"
	exit 1
fi
native_build vmm_control build_guest tests/guests/build.mk "$G" || exit 1
pid=
t=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$t"' EXIT INT TERM
sock=$t/ctl.sock
ok() { echo "PASS vmm_control/$1"; }
bad() { echo "FAIL vmm_control/$1: $2"; }

"$VMM" -k "$G" -s "$sock" --serial none -c 2 -m 64 2>"$t/vmm.err" &
pid=$!
i=0; while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done

out=$("$VMM" status "$sock" 2>&1); rc=$?
case "$out" in
*'"state":"running"'*'"vcpus":2'*'"mem_mib":64'*) [ $rc -eq 0 ] && ok status_json || bad status_json "rc=$rc" ;;
*) bad status_json "rc=$rc out=$out" ;;
esac

# SIGUSR2: vmm logs its devices' state (virtio transport, queues, vsock
# connections), every vCPU its registers, and the VM runs on.
kill -USR2 $pid
i=0; while ! { grep -q "virtio-vsock: queue 2" "$t/vmm.err" && grep -q "virtio-rng: queue 0" "$t/vmm.err" &&
	grep -q "vcpu0: mp_state" "$t/vmm.err" && grep -q "vcpu1: mp_state" "$t/vmm.err"; } && [ $i -lt 50 ]; do
	sleep 0.1; i=$((i+1))
done
if grep -q "SIGUSR2: state of" "$t/vmm.err" && grep -q "virtio-vsock: cid 3 active 0" "$t/vmm.err" &&
   grep -q "virtio-vsock: queue 0: not set up" "$t/vmm.err" && grep -q "virtio-vsock: mmio 0x" "$t/vmm.err" &&
   grep -q "virtio-rng: queue 0: not set up" "$t/vmm.err" && grep -q "vcpu0: rip=0x" "$t/vmm.err" &&
   grep -q "vcpu1: mp_state" "$t/vmm.err" &&
   "$VMM" status "$sock" >/dev/null 2>&1; then ok sigusr2_dump
else bad sigusr2_dump "$(cat "$t/vmm.err")"; fi

"$VMM" -k "$G" -s "$sock" --serial none 2>"$t/second.err"; rc=$?
if [ $rc -eq 2 ] && grep -q "another VM is using this control socket" "$t/second.err"; then ok socket_in_use_refused
else bad socket_in_use_refused "rc=$rc $(cat "$t/second.err")"; fi

"$VMM" exec "$sock" -- uname -r >"$t/exec.out" 2>&1; rc=$?
if [ $rc -eq 5 ] && grep -q "8888" "$t/exec.out"; then ok exec_without_guest_service
else bad exec_without_guest_service "rc=$rc $(cat "$t/exec.out")"; fi

"$VMM" status "$sock" extra >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok usage_error || bad usage_error "rc=$rc"

"$VMM" stop "$sock"; rc=$?
wait $pid; vrc=$?
if [ $rc -eq 0 ] && [ $vrc -eq 0 ] && [ ! -e "$sock" ]; then ok stop_ends_vm
else bad stop_ends_vm "stop rc=$rc vmm rc=$vrc socket left: $(ls "$sock" 2>&1)"; fi

"$VMM" status "$sock" 2>"$t/nosock.err"; rc=$?
if [ $rc -eq 3 ] && grep -q "no such control socket" "$t/nosock.err"; then ok no_such_socket
else bad no_such_socket "rc=$rc"; fi

# A socket file nobody listens on: a VM that died without cleaning up
# (SIGKILL leaves vmm no chance to unlink it).
"$VMM" -k "$G" -s "$sock" --serial none 2>/dev/null &
pid=$!
i=0; while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
kill -KILL $pid; wait $pid 2>/dev/null
"$VMM" status "$sock" 2>"$t/stale.err"; rc=$?
if [ $rc -eq 4 ] && grep -q "not running" "$t/stale.err"; then ok vm_not_running
else bad vm_not_running "rc=$rc $(cat "$t/stale.err")"; fi

# ...and a new VM takes the stale path over.
"$VMM" -k "$G" -s "$sock" --serial none 2>/dev/null &
pid=$!
i=0; while ! "$VMM" status "$sock" >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
kill -TERM $pid; wait $pid; vrc=$?
if [ $i -lt 100 ] && [ $vrc -eq 0 ]; then ok stale_socket_replaced_and_sigterm
else bad stale_socket_replaced_and_sigterm "tries=$i vmm rc=$vrc"; fi
exit 0
