/* kvmcheck: open /dev/kvm, check KVM_GET_API_VERSION is 12 (api.rst 4.1)
 * and that KVM_CREATE_VM and KVM_CREATE_VCPU succeed. Prints one line and
 * exits 0 on success, 1 naming the failing step otherwise. Used by the e2e
 * scenario that proves the nested L1 machine really offers KVM.
 *
 * kvmcheck --hold: the same, with an in-kernel irqchip, and then keeps the
 * VM until killed. L1's /init runs it for the whole run: while one VM with
 * a (never enabled) local APIC exists, KVM's static keys (preempt notifiers
 * in __schedule, apic_sw_disabled) stay enabled, so L1's kernel does not
 * live-patch its text with int3 breakpoints each time a scenario's vmm
 * creates or destroys a VM. Under QEMU's multi-threaded TCG that patching
 * wedged L1 every few dozen VMs: both vCPUs looping through asm_exc_int3 /
 * exc_int3 / native_irq_return_iret at the same __schedule address with
 * interrupts off (register samples in build/e2e/l1-postmortem.log,
 * docs/E2E.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

static int fail(const char *what)
{
	printf("kvmcheck: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	int kvm, vm, vcpu, api;
	int hold = argc == 2 && strcmp(argv[1], "--hold") == 0;

	if (argc > 1 && !hold) {
		fprintf(stderr, "kvmcheck: unknown argument '%s' (usage: kvmcheck [--hold])\n", argv[1]);
		return 2;
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		printf("kvmcheck: KVM_GET_API_VERSION returned %d, want %d\n", api, KVM_API_VERSION);
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	/* The irqchip first: a vCPU created after it gets an in-kernel local
	 * APIC (api.rst 4.24), software-disabled until its guest enables it. */
	if (hold && ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail("KVM_CREATE_IRQCHIP");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	printf("kvmcheck: api %d, vm and vcpu created%s\n", api, hold ? "; holding them" : "");
	if (hold) {
		fflush(stdout);
		for (;;)
			pause();
	}
	close(vcpu);
	close(vm);
	close(kvm);
	return 0;
}
