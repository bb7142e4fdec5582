/* kvmcheck: open /dev/kvm, check KVM_GET_API_VERSION is 12 (api.rst 4.1)
 * and that KVM_CREATE_VM and KVM_CREATE_VCPU succeed. Prints one line and
 * exits 0 on success, 1 naming the failing step otherwise. Used by the e2e
 * scenario that proves the nested L1 machine really offers KVM. */
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

int main(void)
{
	int kvm, vm, vcpu, api;

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
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	printf("kvmcheck: api %d, vm and vcpu created\n", api);
	close(vcpu);
	close(vm);
	close(kvm);
	return 0;
}
