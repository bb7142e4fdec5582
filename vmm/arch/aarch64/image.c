/* arm64 Image header checks and guest-RAM placement
 * (Documentation/arm64/booting.rst §4 "Call the kernel image"). */
#include "vmm/arch/aarch64/image.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/arch/aarch64/layout.h"

/* booting.rst §4: the header, little endian. */
#define IMAGE_MAGIC_OFF   56
#define IMAGE_MAGIC       0x644d5241U  /* "ARM\x64" */
#define IMAGE_FLAG_BE     0x1ULL       /* flags bit 0: kernel endianness, 1 = big */
/* booting.rst: image_size 0 means a kernel older than 3.17 whose
 * text_offset is 0x80000 and whose size the header does not give. */
#define IMAGE_OLD_TEXT_OFFSET 0x80000ULL

static uint64_t image_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The header of something that is not an Image, named for the error line. */
static const char *image_what(const uint8_t *h, size_t len)
{
	if (len >= 0x206 && !memcmp(h + 0x202, "HdrS", 4))
		return "an x86 bzImage (Documentation/x86/boot.rst header), not an arm64 Image";
	if (len >= 4 && !memcmp(h, "\x7f" "ELF", 4))
		return "an ELF file (a vmlinux): arm64 boots the raw Image (arch/arm64/boot/Image)";
	if (len >= 2 && h[0] == 0x1f && h[1] == 0x8b)
		return "gzip-compressed (a distribution vmlinuz): unpack it to the raw Image first";
	return NULL;
}

int image_parse(const uint8_t *hdr, size_t len, uint64_t file_size, uint64_t ram_base, uint64_t ram_size,
		struct image_info *info, char *err, size_t errlen)
{
	const char *what = image_what(hdr, len);
	uint64_t text_offset, image_size, flags, magic;

	memset(info, 0, sizeof(*info));
	if (what) {
		snprintf(err, errlen, "%s", what);
		return -ENOEXEC;
	}
	if (len < IMAGE_HDR_SIZE || file_size < IMAGE_HDR_SIZE) {
		snprintf(err, errlen, "not an arm64 Image: %llu bytes, shorter than its 64-byte header",
			 (unsigned long long)(file_size < len ? file_size : len));
		return -ENOEXEC;
	}
	magic = image_le64(hdr + IMAGE_MAGIC_OFF) & 0xffffffffU;
	if (magic != IMAGE_MAGIC) {
		snprintf(err, errlen, "not an arm64 Image: no \"ARM\\x64\" magic at offset 56 (found 0x%08llx)",
			 (unsigned long long)magic);
		return -ENOEXEC;
	}
	text_offset = image_le64(hdr + 8);
	image_size = image_le64(hdr + 16);
	flags = image_le64(hdr + 24);
	if (flags & IMAGE_FLAG_BE) {
		snprintf(err, errlen, "a big-endian arm64 Image (header flags bit 0): only little endian is supported");
		return -ENOEXEC;
	}
	if (image_size == 0) {
		text_offset = IMAGE_OLD_TEXT_OFFSET;
		image_size = file_size;
	}
	/* text_offset is below the 2 MiB alignment in every kernel that has
	 * one (0x80000 before 5.8, 0 since); a bigger one is a corrupt header. */
	if (text_offset >= A64_KERNEL_ALIGN || text_offset % 4096) {
		snprintf(err, errlen, "corrupt arm64 Image header: text_offset 0x%llx (must be page aligned, below 2 MiB)",
			 (unsigned long long)text_offset);
		return -ENOEXEC;
	}
	if (image_size < file_size) {
		snprintf(err, errlen, "corrupt arm64 Image header: image_size %llu is smaller than the file (%llu bytes)",
			 (unsigned long long)image_size, (unsigned long long)file_size);
		return -ENOEXEC;
	}
	/* RAM starts 2 MiB aligned (layout.h), so its base is the kernel's base;
	 * the DTB takes the last 2 MiB. */
	if (ram_size < A64_FDT_MAX || image_size > ram_size - A64_FDT_MAX ||
	    text_offset + image_size > ram_size - A64_FDT_MAX) {
		snprintf(err, errlen, "the kernel (%llu MiB with bss) does not fit in %llu MiB of guest RAM",
			 (unsigned long long)((image_size + (1 << 20) - 1) >> 20), (unsigned long long)(ram_size >> 20));
		return -E2BIG;
	}
	info->text_offset = text_offset;
	info->image_size = image_size;
	info->load_addr = ram_base + text_offset;
	return 0;
}

int image_place(const struct image_info *info, uint64_t ram_base, uint64_t ram_size, uint64_t initrd_size,
		uint64_t *fdt_addr, uint64_t *initrd_addr)
{
	uint64_t end = ram_base + ram_size, kernel_end = info->load_addr + info->image_size;
	uint64_t fdt = (end - A64_FDT_MAX) & ~(A64_KERNEL_ALIGN - 1);
	uint64_t pages = (initrd_size + 4095) & ~4095ULL;

	*fdt_addr = fdt;
	*initrd_addr = 0;
	/* The DTB's slot is 2 MiB aligned down from the top, so with RAM not a
	 * multiple of 2 MiB it can fall below what image_parse() allowed the
	 * kernel (found by fuzz_aarch64_image: -m 65). */
	if (fdt < kernel_end)
		return -E2BIG;
	if (initrd_size == 0)
		return 0;
	if (pages < initrd_size || pages > fdt - kernel_end)
		return -E2BIG;
	*initrd_addr = fdt - pages;
	return 0;
}
