#!/bin/sh
# The tiny test guests against the bare KVM probe (bench/probe/probe.c): the
# same cases as kvm_guests.sh minus the vmm-only options. When these pass and
# kvm_guests fails, the fault is in vmm, not in the guest. Without a working
# /dev/kvm it runs in the nested L1 machine (tests/native/lib/kvm.sh).
# timeout: 600
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
. tests/native/lib/kvm.sh
native_kvm_enter kvm_probe
native_build kvm_probe build_probe bench/probe/build.mk "$O/bench/probe" || exit 1
VMM=$O/bench/probe KVM_SUITE=kvm_probe KVM_GUESTS_BASIC=1 exec tests/native/kvm_guests.sh
