/* Shared by smp.c and smp_tramp.S. */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H
/* Free low RAM in vmm's layout (vmm/arch/x86_64/layout.h: zero page 0x7000,
 * page tables 0x9000-0xefff, command line 0x20000); the guest also checks
 * the e820 map says it is RAM. Must be 4 KiB aligned and below 1 MiB. */
#define SMP_TRAMP_ADDR 0x10000
#endif
