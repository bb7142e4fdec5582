#!/bin/sh
# The tiny test guests against the bare KVM probe (bench/probe/probe.c): the
# same cases as kvm_guests.sh minus the vmm-only options. When these pass and
# kvm_guests fails, the fault is in vmm, not in the guest.
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
if ! make -s -f bench/probe/build.mk O="$O" bench-probe; then
	echo "FAIL kvm_probe/build: bench/probe did not build"
	exit 1
fi
VMM=$O/bench/probe KVM_SUITE=kvm_probe KVM_GUESTS_BASIC=1 exec tests/native/kvm_guests.sh
