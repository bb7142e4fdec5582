/* Per-vCPU CPUID from KVM_GET_SUPPORTED_CPUID: APIC id and topology, and the
 * hypervisor bit (CPUID.1:ECX[31]) without which Linux never reads leaf
 * 0x40000000, finds no kvmclock and stalls calibrating the PIT under nesting. */
#ifndef VMM_X86_CPUID_H
#define VMM_X86_CPUID_H
#include <linux/kvm.h>

/* Rewrite entries in place for vCPU cpu of ncpus; tsc_deadline: advertise
 * the LAPIC's TSC-deadline mode (CPUID.1:ECX[24]), so Linux neither
 * calibrates the LAPIC timer nor sets up the PIT. */
void cpuid_patch(struct kvm_cpuid2 *c, unsigned cpu, unsigned ncpus, int tsc_deadline);
#endif
