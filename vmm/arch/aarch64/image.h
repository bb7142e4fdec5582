/* The arm64 Linux Image header (Documentation/arm64/booting.rst §4) and
 * where the Image, initrd and DTB go in guest RAM. No KVM: the unit tests
 * and the fuzz target run it on any host. */
#ifndef VMM_AARCH64_IMAGE_H
#define VMM_AARCH64_IMAGE_H
#include <stddef.h>
#include <stdint.h>

#define IMAGE_HDR_SIZE 64

struct image_info {
	uint64_t text_offset;   /* from the 2 MiB aligned base */
	uint64_t image_size;    /* bytes the kernel occupies, bss included */
	uint64_t load_addr;     /* guest physical address of the Image */
};

/* Check the first len bytes of a file of file_size bytes as an arm64
 * Image and place it in RAM [ram_base, ram_base + ram_size). Returns 0 with
 * *info filled, or -ENOEXEC (not an Image: bad magic, an x86 bzImage, an
 * ELF or gzip file, a big-endian kernel) / -E2BIG (does not fit in RAM),
 * with one line in err saying what is wrong (without the file name). */
int image_parse(const uint8_t *hdr, size_t len, uint64_t file_size, uint64_t ram_base, uint64_t ram_size,
		struct image_info *info, char *err, size_t errlen);

/* Where the DTB and the initrd go: the DTB in the last 2 MiB of RAM
 * (aligned), the initrd right below it, page aligned, both above the
 * kernel's image_size. 0, or -E2BIG when initrd_size does not fit. */
int image_place(const struct image_info *info, uint64_t ram_base, uint64_t ram_size, uint64_t initrd_size,
		uint64_t *fdt_addr, uint64_t *initrd_addr);
#endif
