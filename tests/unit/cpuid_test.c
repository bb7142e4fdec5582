/* Per-vCPU CPUID: APIC id and topology per vCPU, the hypervisor bit always,
 * the TSC-deadline bit only when KVM emulates it. */
#include <stdlib.h>
#include <string.h>

#include "tests/unit/t.h"
#include "vmm/arch/x86_64/cpuid.h"
#include "vmm/log.h"

#define NENT 4

static struct kvm_cpuid2 *table(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + NENT * sizeof(c->entries[0]));

	c->nent = NENT;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .ebx = 0xff0a0800, .ecx = 0x1, .edx = 1U << 28 };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
	c->entries[2] = (struct kvm_cpuid_entry2){ .function = 0x40000000, .eax = 0x40000001 };
	c->entries[3] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .ecx = 0xf0ff };
	return c;
}

static void leaf1_bits(void)
{
	struct kvm_cpuid2 *c = table();

	cpuid_patch(c, 2, 4, 1);
	CHECK_EQ(c->entries[0].ecx & (1U << 31), 1U << 31);  /* hypervisor */
	CHECK_EQ(c->entries[0].ecx & (1U << 24), 1U << 24);  /* TSC deadline */
	CHECK_EQ(c->entries[0].ecx & 1, 1);                  /* the rest kept */
	CHECK_EQ(c->entries[0].ebx >> 24, 2);                /* APIC id */
	CHECK_EQ((c->entries[0].ebx >> 16) & 0xff, 4);       /* logical CPUs */
	CHECK_EQ(c->entries[0].ebx & 0xffff, 0x0800);
	CHECK_EQ(c->entries[0].edx & (1U << 28), 1U << 28);  /* HTT with 4 CPUs */
	free(c);

	c = table();
	cpuid_patch(c, 0, 1, 0);
	CHECK_EQ(c->entries[0].ecx & (1U << 24), 0);
	CHECK_EQ(c->entries[0].ecx & (1U << 31), 1U << 31);
	CHECK_EQ(c->entries[0].edx & (1U << 28), 0);
	free(c);
}

static void topology(void)
{
	struct kvm_cpuid2 *c = table();

	cpuid_patch(c, 3, 4, 0);
	CHECK_EQ(c->entries[1].eax, 2);      /* x2APIC id bits at the core level */
	CHECK_EQ(c->entries[1].ebx, 4);
	CHECK_EQ(c->entries[1].edx, 3);
	CHECK_EQ(c->entries[3].ecx & 0xff, 3);
	CHECK_EQ((c->entries[3].ecx >> 12) & 0xf, 2);
	CHECK_EQ(c->entries[2].eax, 0x40000001);  /* untouched */
	free(c);
}

int main(void)
{
	t_suite = "cpuid";
	log_level = -1;
	RUN(leaf1_bits);
	RUN(topology);
	return t_done();
}
