# The machine scenarios run in offers a working /dev/kvm: API version 12,
# KVM_CREATE_VM and KVM_CREATE_VCPU succeed (tests/e2e/l1/kvmcheck.c). Every
# other scenario depends on this; when it fails, look here first.
# timeout: 60
[ -c /dev/kvm ] || { echo "/dev/kvm is not a character device"; ls -l /dev/kvm; exit 1; }
kvmcheck
