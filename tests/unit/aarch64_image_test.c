/* vmm/arch/aarch64/image.c: the arm64 Image header (booting.rst §4) and
 * where the kernel, initrd and DTB land. No KVM. */
#include <errno.h>
#include <string.h>

#include "tests/unit/t.h"
#include "vmm/arch/aarch64/image.h"
#include "vmm/arch/aarch64/layout.h"

#define RAM (256ULL << 20)

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A header as arch/arm64/kernel/head.S writes it. */
static void hdr_make(uint8_t *h, size_t len, uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
	memset(h, 0, len);
	put64(h + 8, text_offset);
	put64(h + 16, image_size);
	put64(h + 24, flags);
	memcpy(h + 56, "ARM\x64", 4);
}

static void image_valid(void)
{
	uint8_t h[0x210];
	struct image_info in;
	char err[256];

	hdr_make(h, sizeof(h), 0, 20 << 20, 0xa);
	CHECK_EQ(image_parse(h, sizeof(h), 15 << 20, A64_RAM_BASE, RAM, &in, err, sizeof(err)), 0);
	CHECK_EQ(in.load_addr, A64_RAM_BASE);
	CHECK_EQ(in.image_size, 20 << 20);
	/* A pre-5.8 kernel: text_offset 0x80000 from the 2 MiB base. */
	hdr_make(h, sizeof(h), 0x80000, 20 << 20, 0xa);
	CHECK_EQ(image_parse(h, sizeof(h), 15 << 20, A64_RAM_BASE, RAM, &in, err, sizeof(err)), 0);
	CHECK_EQ(in.load_addr, A64_RAM_BASE + 0x80000);
	/* image_size 0: a kernel before 3.17, text_offset 0x80000 assumed. */
	hdr_make(h, sizeof(h), 0, 0, 0);
	CHECK_EQ(image_parse(h, sizeof(h), 9 << 20, A64_RAM_BASE, RAM, &in, err, sizeof(err)), 0);
	CHECK_EQ(in.load_addr, A64_RAM_BASE + 0x80000);
	CHECK_EQ(in.image_size, 9 << 20);
}

static void image_rejects(void)
{
	uint8_t h[0x210];
	struct image_info in;
	char err[256];

	/* No magic. */
	hdr_make(h, sizeof(h), 0, 20 << 20, 0);
	h[57] = 'X';
	CHECK_EQ(image_parse(h, sizeof(h), 15 << 20, A64_RAM_BASE, RAM, &in, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "magic at offset 56"));
	/* An x86 bzImage ("HdrS" at 0x202, boot.rst). */
	memset(h, 0, sizeof(h));
	memcpy(h + 0x202, "HdrS", 4);
	CHECK_EQ(image_parse(h, sizeof(h), 15 << 20, A64_RAM_BASE, RAM, &in, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "x86 bzImage"));
	/* ELF and gzip. */
	memset(h, 0, sizeof(h));
	memcpy(h, "\x7f" "ELF", 4);
	CHECK_EQ(image_parse(h, sizeof(h), 15 << 20, A64_RAM_BASE, RAM, &in, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "ELF"));
	memset(h, 0, sizeof(h));
	h[0] = 0x1f;
	h[1] = 0x8b;
	CHECK_EQ(image_parse(h, sizeof(h), 15 << 20, A64_RAM_BASE, RAM, &in, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "gzip"));
	/* Big endian. */
	hdr_make(h, sizeof(h), 0, 20 << 20, 1);
	CHECK_EQ(image_parse(h, sizeof(h), 15 << 20, A64_RAM_BASE, RAM, &in, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "big-endian"));
	/* Corrupt text_offset, image_size smaller than the file, short file. */
	hdr_make(h, sizeof(h), 0x200000, 20 << 20, 0);
	CHECK_EQ(image_parse(h, sizeof(h), 15 << 20, A64_RAM_BASE, RAM, &in, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "text_offset"));
	hdr_make(h, sizeof(h), 0, 1 << 20, 0);
	CHECK_EQ(image_parse(h, sizeof(h), 15 << 20, A64_RAM_BASE, RAM, &in, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "image_size"));
	hdr_make(h, sizeof(h), 0, 20 << 20, 0);
	CHECK_EQ(image_parse(h, 40, 40, A64_RAM_BASE, RAM, &in, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "64-byte header"));
	/* Too big for RAM (the last 2 MiB are the DTB's); tiny RAM. */
	hdr_make(h, sizeof(h), 0, RAM - (1 << 20), 0);
	CHECK_EQ(image_parse(h, sizeof(h), 15 << 20, A64_RAM_BASE, RAM, &in, err, sizeof(err)), -E2BIG);
	CHECK(strstr(err, "does not fit"));
	hdr_make(h, sizeof(h), 0, 64, 0);
	CHECK_EQ(image_parse(h, sizeof(h), 64, A64_RAM_BASE, 1 << 20, &in, err, sizeof(err)), -E2BIG);
}

static void image_placement(void)
{
	struct image_info in = { .text_offset = 0, .image_size = 20 << 20, .load_addr = A64_RAM_BASE };
	uint64_t fdt, initrd;

	CHECK_EQ(image_place(&in, A64_RAM_BASE, RAM, 0, &fdt, &initrd), 0);
	CHECK_EQ(fdt, A64_RAM_BASE + RAM - A64_FDT_MAX);
	CHECK_EQ(fdt % A64_KERNEL_ALIGN, 0);
	CHECK_EQ(initrd, 0);
	CHECK_EQ(image_place(&in, A64_RAM_BASE, RAM, 5000, &fdt, &initrd), 0);
	CHECK_EQ(initrd, fdt - 8192);
	/* Exactly what is left between the kernel's end and the DTB fits;
	 * one page more does not. */
	uint64_t room = fdt - (A64_RAM_BASE + (20 << 20));
	CHECK_EQ(image_place(&in, A64_RAM_BASE, RAM, room, &fdt, &initrd), 0);
	CHECK_EQ(initrd, A64_RAM_BASE + (20 << 20));
	CHECK_EQ(image_place(&in, A64_RAM_BASE, RAM, room + 1, &fdt, &initrd), -E2BIG);
	CHECK_EQ(image_place(&in, A64_RAM_BASE, RAM, UINT64_MAX, &fdt, &initrd), -E2BIG);
}

int main(void)
{
	t_suite = "aarch64_image";
	RUN(image_valid);
	RUN(image_rejects);
	RUN(image_placement);
	return t_done();
}
