/* Intel MultiProcessor Specification 1.4 tables: how a kernel without ACPI
 * finds every vCPU's local APIC, the IOAPIC and the ISA interrupt routing. */
#ifndef VMM_X86_MPTABLE_H
#define VMM_X86_MPTABLE_H
#include <stddef.h>
#include <stdint.h>

#include "vmm/gm.h"

/* Bytes the floating pointer + configuration table take for ncpus. */
size_t mptable_size(unsigned ncpus);
/* Write the tables at gpa (floating pointer first, config table after it).
 * cpu_signature/cpu_features: CPUID.1 EAX/EDX for the processor entries.
 * -EINVAL for 0 or too many CPUs, -ENOMEM if gpa is not RAM. */
int mptable_write(const struct gm *gm, uint64_t gpa, unsigned ncpus, uint32_t cpu_signature,
		  uint32_t cpu_features);
#endif
