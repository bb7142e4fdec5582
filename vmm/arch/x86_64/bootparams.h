/* The zero page (struct boot_params) and the e820 map it carries
 * (Documentation/x86/zero-page.rst, boot.rst). */
#ifndef VMM_X86_BOOTPARAMS_H
#define VMM_X86_BOOTPARAMS_H
#include <stdint.h>
#include <asm/bootparam.h>

#include "vmm/arch/x86_64/loader.h"
#include "vmm/gm.h"

/* Fill tab with the guest's memory map: low RAM below the EBDA, the
 * EBDA/MP-table area reserved, RAM from 1 MiB, and RAM above 4 GiB when the
 * layout has it. Returns the number of entries, or -ENOSPC. */
int bootparams_e820(const struct gm *gm, struct boot_e820_entry *tab, unsigned max);
/* Write the command line and the zero page into guest memory. cmdline must
 * fit k->cmdline_max (-E2BIG). */
int bootparams_write(const struct gm *gm, const struct loader_kernel *k, const char *cmdline,
		     uint64_t initrd_gpa, uint64_t initrd_size);
#endif
