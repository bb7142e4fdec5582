/* Kernel and initrd loaders (Documentation/x86/boot.rst). They read straight
 * from the file into guest memory (no copy of the image in the VMM's heap)
 * and check every segment against RAM through gm_translate. */
#ifndef VMM_X86_LOADER_H
#define VMM_X86_LOADER_H
#include <stddef.h>
#include <stdint.h>
#include <asm/bootparam.h>

#include "vmm/gm.h"

struct loader_kernel {
	uint64_t entry;            /* 64-bit entry, guest physical */
	uint64_t end;              /* first byte after the kernel's memory footprint */
	int bzimage;               /* 1: bzImage (hdr valid), 0: ELF vmlinux */
	struct setup_header hdr;   /* bzImage's setup header as the file has it */
	uint32_t cmdline_max;      /* longest command line the kernel takes, without NUL */
	uint64_t initrd_max;       /* highest address the initrd may end at (inclusive) */
};

/* Load an ELF64 vmlinux or a bzImage from fd. 0, or -ENOEXEC (not a kernel /
 * corrupt), -EPROTONOSUPPORT (old boot protocol), -ENOMEM (does not fit in
 * RAM), -EIO / -errno (read failure); err gets "PATH: reason". */
int loader_kernel(const struct gm *gm, int fd, const char *path, struct loader_kernel *k,
		  char *err, size_t errlen);
/* Load an initrd at the highest page-aligned address below k->initrd_max and
 * the end of low RAM, above the kernel. -ENOMEM if it does not fit. */
int loader_initrd(const struct gm *gm, int fd, const char *path, const struct loader_kernel *k,
		  uint64_t *gpa, uint64_t *size, char *err, size_t errlen);
#endif
