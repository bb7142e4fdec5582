#include "vmm/arch/x86_64/cpuid.h"

static unsigned cpuid_order(unsigned n)
{
	unsigned o = 0;

	while ((1U << o) < n)
		o++;
	return o;
}

void cpuid_patch(struct kvm_cpuid2 *c, unsigned cpu, unsigned ncpus, int tsc_deadline)
{
	unsigned order = cpuid_order(ncpus);

	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			/* EBX[31:24] initial APIC id, [23:16] logical processors
			 * per package (valid with EDX.HTT). */
			e->ebx = (e->ebx & 0x0000ffff) | (cpu << 24) | ((ncpus & 0xff) << 16);
			if (ncpus > 1)
				e->edx |= 1U << 28;
			else
				e->edx &= ~(1U << 28);
			e->ecx |= 1U << 31;  /* hypervisor present */
			if (tsc_deadline)
				e->ecx |= 1U << 24;
			break;
		case 4:
			/* Intel deterministic cache leaf: EAX[31:26] cores - 1,
			 * [25:14] threads sharing - 1: one core per vCPU, unshared. */
			e->eax &= 0x3fff;
			e->eax |= (ncpus - 1) << 26;
			break;
		case 0xb:
		case 0x1f:
			/* Extended topology: SMT level of 1 thread, core level of
			 * ncpus; EDX the x2APIC id. */
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1U << 8) | 0;
			} else if (e->index == 1) {
				e->eax = order;
				e->ebx = ncpus;
				e->ecx = (2U << 8) | 1;
			} else {
				e->eax = 0;
				e->ebx = 0;
				e->ecx = e->index;
			}
			e->edx = cpu;
			break;
		case 0x80000008:
			/* AMD: ECX[7:0] cores - 1, [15:12] APIC id size. */
			e->ecx = (e->ecx & ~0xf0ffU) | (ncpus - 1) | (order << 12);
			break;
		default:
			break;
		}
	}
}
