#include "vmm/arch/x86_64/bootparams.h"

#include <errno.h>
#include <string.h>

#include "vmm/arch/x86_64/layout.h"

int bootparams_e820(const struct gm *gm, struct boot_e820_entry *tab, unsigned max)
{
	unsigned n = 0;

#define E820_ADD(a, s, t) do { \
		if (n >= max) return -ENOSPC; \
		tab[n].addr = (a); tab[n].size = (s); tab[n].type = (t); n++; } while (0)
	/* Base memory up to the EBDA, where the MP table lives. */
	E820_ADD(0, X86_EBDA_START, 1 /* E820_TYPE_RAM */);
	E820_ADD(X86_EBDA_START, X86_BASE_RAM_END - X86_EBDA_START, 2 /* E820_TYPE_RESERVED */);
	/* The BIOS area with the ACPI tables: reserved, as firmware leaves it. */
	E820_ADD(X86_ACPI_ADDR, X86_HIMEM_START - X86_ACPI_ADDR, 2 /* E820_TYPE_RESERVED */);
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->r[i];
		uint64_t start = r->gpa < X86_HIMEM_START ? X86_HIMEM_START : r->gpa;
		if (r->gpa + r->size <= start)
			continue;
		E820_ADD(start, r->gpa + r->size - start, 1 /* E820_TYPE_RAM */);
	}
#undef E820_ADD
	return (int)n;
}

int bootparams_write(const struct gm *gm, const struct loader_kernel *k, const char *cmdline,
		     uint64_t initrd_gpa, uint64_t initrd_size)
{
	struct boot_params *bp = gm_translate(gm, X86_ZERO_PAGE, sizeof(*bp));
	size_t clen = strlen(cmdline);
	char *cl;
	int n;

	if (clen > k->cmdline_max)
		return -E2BIG;
	cl = gm_translate(gm, X86_CMDLINE_ADDR, clen + 1);
	if (!bp || !cl)
		return -ENOMEM;
	memcpy(cl, cmdline, clen + 1);

	memset(bp, 0, sizeof(*bp));
	if (k->bzimage) {
		bp->hdr = k->hdr;
	} else {
		/* An ELF vmlinux has no header to copy: give the fields the
		 * kernel reads on the 64-bit path (boot.rst "Details of Header Fields"). */
		bp->hdr.boot_flag = 0xaa55;
		bp->hdr.header = 0x53726448;  /* "HdrS" */
		bp->hdr.version = 0x020f;
		bp->hdr.kernel_alignment = 0x1000000;
		bp->hdr.cmdline_size = k->cmdline_max;
		bp->hdr.initrd_addr_max = (uint32_t)k->initrd_max;
	}
	bp->hdr.type_of_loader = 0xff;  /* undefined loader */
	bp->hdr.loadflags |= CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.vid_mode = 0xffff;      /* "normal" */
	bp->hdr.cmd_line_ptr = (uint32_t)X86_CMDLINE_ADDR;
	bp->ext_cmd_line_ptr = 0;
	bp->hdr.ramdisk_image = (uint32_t)initrd_gpa;
	bp->hdr.ramdisk_size = (uint32_t)initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(initrd_gpa >> 32);
	bp->ext_ramdisk_size = (uint32_t)(initrd_size >> 32);
	n = bootparams_e820(gm, bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE);
	if (n < 0)
		return n;
	bp->e820_entries = (uint8_t)n;
	return 0;
}
