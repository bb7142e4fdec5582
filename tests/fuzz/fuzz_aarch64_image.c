/* libFuzzer target: the arm64 Image header parser and placement
 * (vmm/arch/aarch64/image.c) on any bytes as the first bytes of a kernel
 * file. Input: bytes 0-7 = the file size (little endian, mod 4 GiB), byte 8
 * = RAM in MiB (mod 256, 0 -> 1), then the header bytes.
 *
 * Checks, besides ASan/UBSan: an accepted Image lies inside RAM with the
 * DTB's 2 MiB free above it, is loaded at the 2 MiB aligned RAM base plus
 * a text_offset below 2 MiB; a refused one says why; placement keeps the
 * initrd between the kernel's end and the DTB. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/arch/aarch64/image.h"
#include "vmm/arch/aarch64/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_info in;
	uint64_t file_size = 0, ram, fdt, initrd;
	char err[256] = "";

	if (size < 9)
		return 0;
	for (int i = 7; i >= 0; i--)
		file_size = file_size << 8 | data[i];
	file_size &= 0xffffffffULL;
	ram = (uint64_t)(data[8] ? data[8] : 1) << 20;
	if (image_parse(data + 9, size - 9, file_size, A64_RAM_BASE, ram, &in, err, sizeof(err))) {
		if (!err[0])
			abort();
		return 0;
	}
	if (in.text_offset >= A64_KERNEL_ALIGN || in.load_addr != A64_RAM_BASE + in.text_offset ||
	    in.load_addr + in.image_size > A64_RAM_BASE + ram - A64_FDT_MAX || in.image_size < file_size)
		abort();
	if (image_place(&in, A64_RAM_BASE, ram, file_size, &fdt, &initrd) == 0 &&
	    (fdt < in.load_addr + in.image_size ||
	     (file_size && (initrd < in.load_addr + in.image_size || initrd + file_size > fdt))))
		abort();
	return 0;
}
