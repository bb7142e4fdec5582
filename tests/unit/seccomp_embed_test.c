/* The Makefile rule that embeds a compiled policy ($(O)/gen/policy/X.policy.h,
 * seccomp-bpf/build.mk): the array built by build/host/seccomp-bpfc at build
 * time must be instruction for instruction what the library compiles from
 * the same file at run time, and must load into the kernel's checker rules. */
#include "policy/tests/golden/seccomp/allow_list.policy.h"
#include "policy/tests/golden/seccomp/kvm_ioctls.policy.h"
#include "seccomp-bpf/scbpf.h"
#include "seccomp-bpf/scbpf_bpf.h"
#include "seccomp-bpf/scbpf_policy.h"
#include "tests/unit/t.h"
#include <linux/audit.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/syscall.h>

static void same_as_runtime(const char *path, const struct sock_filter *emb, unsigned short len)
{
	static struct sock_filter prog[SCBPF_MAX_INSNS];
	struct scbpf_policy p;
	struct scbpf_policy_err err;
	size_t bad;

	scbpf_policy_init(&p);
	CHECK_EQ(scbpf_policy_parse_file(&p, path, NULL, NULL, &err), 0);
	int n = scbpf_compile(&p, prog, SCBPF_MAX_INSNS, &err);
	CHECK_EQ(n, len);
	CHECK(n == len && memcmp(prog, emb, sizeof(*emb) * len) == 0);
	CHECK_EQ(scbpf_interp_check(emb, len, &bad), 0);
	scbpf_policy_free(&p);
}

static void test_allow_list(void)
{
	struct seccomp_data d = { .nr = SYS_futex, .arch = AUDIT_ARCH_X86_64 };

	same_as_runtime("tests/golden/seccomp/allow_list.policy", tests_golden_seccomp_allow_list_policy,
			tests_golden_seccomp_allow_list_policy_len);
	CHECK_EQ(scbpf_interp_run(tests_golden_seccomp_allow_list_policy, tests_golden_seccomp_allow_list_policy_len,
				  &d, NULL), SECCOMP_RET_ALLOW);
	d.nr = SYS_openat;
	CHECK_EQ(scbpf_interp_run(tests_golden_seccomp_allow_list_policy, tests_golden_seccomp_allow_list_policy_len,
				  &d, NULL), SECCOMP_RET_KILL_PROCESS);
}

static void test_kvm_ioctls(void)
{
	struct seccomp_data d = { .nr = SYS_ioctl, .arch = AUDIT_ARCH_X86_64, .args = { 5, KVM_RUN } };

	same_as_runtime("tests/golden/seccomp/kvm_ioctls.policy", tests_golden_seccomp_kvm_ioctls_policy,
			tests_golden_seccomp_kvm_ioctls_policy_len);
	CHECK_EQ(scbpf_interp_run(tests_golden_seccomp_kvm_ioctls_policy, tests_golden_seccomp_kvm_ioctls_policy_len,
				  &d, NULL), SECCOMP_RET_ALLOW);
	d.args[1] = KVM_CREATE_VM;
	CHECK_EQ(scbpf_interp_run(tests_golden_seccomp_kvm_ioctls_policy, tests_golden_seccomp_kvm_ioctls_policy_len,
				  &d, NULL), SECCOMP_RET_KILL_PROCESS);
}

int main(void)
{
	t_suite = "seccomp_embed";
	RUN(test_allow_list);
	RUN(test_kvm_ioctls);
	return t_done();
}
