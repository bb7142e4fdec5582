/* Kernel/initrd loaders on crafted images and on the real kernels
 * (appliance vmlinux + bzImage from build/kernel, the Debian cloud bzImage). */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lzma.h>

#include "tests/unit/t.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/arch/x86_64/loader.h"

#define MEM (64ULL << 20)
static uint8_t *mem;
static struct gm gm;
static char err[512];

static int memfile(const void *data, size_t len)
{
	int fd = memfd_create("img", 0);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	return fd;
}

static int load_buf(const void *data, size_t len, struct loader_kernel *k)
{
	int fd = memfile(data, len), rc;
	err[0] = 0;
	rc = loader_kernel(&gm, fd, "img", k, err, sizeof(err));
	close(fd);
	return rc;
}

/* A minimal ELF64 vmlinux: one PT_LOAD of payload at paddr. */
static size_t make_elf(uint8_t *buf, uint64_t paddr, uint64_t entry, const void *payload, size_t plen,
		       uint64_t memsz)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));
	size_t off = sizeof(*eh) + sizeof(*ph);

	memset(buf, 0, off);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = entry;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	ph->p_type = PT_LOAD;
	ph->p_offset = off;
	ph->p_paddr = ph->p_vaddr = paddr;
	ph->p_filesz = plen;
	ph->p_memsz = memsz;
	memcpy(buf + off, payload, plen);
	return off + plen;
}

static void elf_loads_segment_and_zero_fills(void)
{
	uint8_t buf[4096];
	struct loader_kernel k;
	size_t n = make_elf(buf, 0x200000, 0x200010, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 26, 4096);

	memset(mem + 0x200000, 0xee, 8192);
	CHECK_EQ(load_buf(buf, n, &k), 0);
	CHECK_EQ(k.entry, 0x200010);
	CHECK_EQ(k.bzimage, 0);
	CHECK(!memcmp(mem + 0x200000, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 26));
	CHECK_EQ(mem[0x200000 + 26], 0);
	CHECK_EQ(mem[0x200000 + 4095], 0);
	CHECK_EQ(mem[0x200000 + 4096], 0xee);
	CHECK_EQ(k.end, 0x201000);
}

static void elf_rejects_bad_headers(void)
{
	uint8_t buf[4096];
	struct loader_kernel k;
	size_t n = make_elf(buf, 0x200000, 0x200000, "x", 1, 16);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));

	eh->e_machine = EM_AARCH64;
	CHECK_EQ(load_buf(buf, n, &k), -ENOEXEC);
	CHECK(strstr(err, "img: ") == err && strstr(err, "not x86_64"));
	eh->e_machine = EM_X86_64;
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	CHECK_EQ(load_buf(buf, n, &k), -ENOEXEC);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_type = ET_DYN;
	CHECK_EQ(load_buf(buf, n, &k), -ENOEXEC);
	eh->e_type = ET_EXEC;
	eh->e_phnum = 0;
	CHECK_EQ(load_buf(buf, n, &k), -ENOEXEC);
	eh->e_phnum = 1;
	/* entry outside the segment */
	eh->e_entry = 0x900000;
	CHECK_EQ(load_buf(buf, n, &k), -ENOEXEC);
	CHECK(strstr(err, "entry point") != NULL);
	eh->e_entry = 0x200000;
	/* segment below 1 MiB would clobber the zero page */
	ph->p_paddr = 0x7000;
	eh->e_entry = 0x7000;
	CHECK_EQ(load_buf(buf, n, &k), -ENOEXEC);
	ph->p_paddr = 0x200000;
	eh->e_entry = 0x200000;
	/* filesz > memsz */
	ph->p_filesz = 32;
	ph->p_memsz = 16;
	CHECK_EQ(load_buf(buf, n, &k), -ENOEXEC);
	ph->p_filesz = 1;
	CHECK_EQ(load_buf(buf, n, &k), 0);
}

static void elf_truncated(void)
{
	uint8_t buf[4096];
	struct loader_kernel k;
	size_t n = make_elf(buf, 0x200000, 0x200000, "0123456789", 10, 10);

	CHECK_EQ(load_buf(buf, n - 5, &k), -ENOEXEC);
	CHECK(strstr(err, "truncated") != NULL);
	CHECK_EQ(load_buf(buf, 40, &k), -ENOEXEC);
	CHECK(strstr(err, "truncated") != NULL);
	CHECK_EQ(load_buf(buf, sizeof(Elf64_Ehdr) + 8, &k), -ENOEXEC);
}

static void elf_too_big_for_ram(void)
{
	uint8_t buf[4096];
	struct loader_kernel k;
	size_t n = make_elf(buf, MEM - 4096, MEM - 4096, "x", 1, 8192);

	CHECK_EQ(load_buf(buf, n, &k), -ENOMEM);
	CHECK(strstr(err, "raise -m") != NULL);
	/* Wrapping address must not pass the translator. */
	n = make_elf(buf, 0xfffffffffffff000ULL, 0xfffffffffffff000ULL, "x", 1, 0x2000);
	CHECK_EQ(load_buf(buf, n, &k), -ENOMEM);
}

static void wrong_magic(void)
{
	uint8_t buf[8192];
	struct loader_kernel k;

	memset(buf, 0x41, sizeof(buf));
	CHECK_EQ(load_buf(buf, sizeof(buf), &k), -ENOEXEC);
	CHECK(strstr(err, "bad magic") != NULL);
	CHECK_EQ(load_buf(buf, 2, &k), -ENOEXEC);
	CHECK_EQ(load_buf(buf, 0, &k), -ENOEXEC);
}

/* A crafted bzImage: setup sectors + protected-mode payload. */
static size_t make_bz(uint8_t *buf, size_t cap, uint16_t version, uint16_t xlf, uint32_t init_size, size_t pm)
{
	size_t setup = 5 * 512;  /* setup_sects = 4 */
	struct setup_header *h = (struct setup_header *)(buf + 0x1f1);

	memset(buf, 0, cap);
	h->setup_sects = 4;
	h->boot_flag = 0xaa55;
	buf[0x200] = 0xeb;
	buf[0x201] = 0x6a;  /* jump: header runs to 0x26c */
	memcpy(&h->header, "HdrS", 4);
	h->version = version;
	h->loadflags = 0x01;
	h->syssize = (uint32_t)(pm / 16);
	h->initrd_addr_max = 0x7fffffff;
	h->xloadflags = xlf;
	h->cmdline_size = 2047;
	h->init_size = init_size;
	for (size_t i = 0; i < pm; i++)
		buf[setup + i] = (uint8_t)(i * 7);
	return setup + pm;
}

static void bzimage_crafted(void)
{
	static uint8_t buf[1 << 16];
	struct loader_kernel k;
	size_t n = make_bz(buf, sizeof(buf), 0x020f, XLF_KERNEL_64, 0x10000, 4096);

	CHECK_EQ(load_buf(buf, n, &k), 0);
	CHECK_EQ(k.bzimage, 1);
	CHECK_EQ(k.entry, 0x100200);
	CHECK_EQ(k.cmdline_max, 2047);
	CHECK_EQ(k.initrd_max, 0x7fffffff);
	CHECK(!memcmp(mem + 0x100000, buf + 5 * 512, 4096));
	CHECK_EQ(k.end, 0x110000);
	CHECK(!memcmp(&k.hdr.header, "HdrS", 4));
}

/* A bzImage whose payload is an xz-packed ELF vmlinux, packed as the kernel
 * build does (xz with CRC32, then the unpacked size, le32). */
static size_t make_bz_xz(uint8_t *buf, size_t cap, int relocatable, int corrupt)
{
	static uint8_t elf[8192];
	struct setup_header *h = (struct setup_header *)(buf + 0x1f1);
	size_t elen = make_elf(elf, 0x1000000, 0x1000000, "VMLINUX-SEGMENT", 15, 0x3000);
	size_t n = make_bz(buf, cap, 0x020f, XLF_KERNEL_64, 0x10000, 16384), pos = 0;
	uint8_t *pl = buf + 5 * 512 + 0x200;

	if (lzma_easy_buffer_encode(1, LZMA_CHECK_CRC32, NULL, elf, elen, pl, &pos, 8000) != LZMA_OK)
		abort();
	for (int i = 0; i < 4; i++)
		pl[pos++] = (uint8_t)(elen >> (8 * i));
	if (corrupt)
		pl[pos / 2] ^= 0x10;
	h->payload_offset = 0x200;
	h->payload_length = (uint32_t)pos;
	h->relocatable_kernel = (uint8_t)relocatable;
	return n;
}

static void bzimage_xz_payload_unpacked(void)
{
	static uint8_t buf[1 << 16];
	struct loader_kernel k;
	size_t n = make_bz_xz(buf, sizeof(buf), 0, 0);

	memset(mem + 0x1000000, 0xee, 0x4000);
	CHECK_EQ(load_buf(buf, n, &k), 0);
	/* Entered at the vmlinux's entry, its segment in place, bss zeroed;
	 * the zero page still gets the bzImage's header. */
	CHECK_EQ(k.entry, 0x1000000);
	CHECK(!memcmp(mem + 0x1000000, "VMLINUX-SEGMENT", 15));
	CHECK_EQ(mem[0x1000000 + 0x2fff], 0);
	CHECK_EQ(mem[0x1000000 + 0x3000], 0xee);
	CHECK_EQ(k.end, 0x1003000);
	CHECK_EQ(k.bzimage, 1);
	CHECK_EQ(k.cmdline_max, 2047);
	CHECK(!memcmp(&k.hdr.header, "HdrS", 4));

	/* A relocatable kernel keeps its own decompressor (and KASLR). */
	n = make_bz_xz(buf, sizeof(buf), 1, 0);
	CHECK_EQ(load_buf(buf, n, &k), 0);
	CHECK_EQ(k.entry, 0x100200);

	/* A corrupt payload is bad input, named as such. */
	n = make_bz_xz(buf, sizeof(buf), 0, 1);
	CHECK_EQ(load_buf(buf, n, &k), -ENOEXEC);
	CHECK(strstr(err, "img: compressed kernel payload: corrupt") == err);

	/* payload fields pointing past the image: not unpacked, not read. */
	n = make_bz_xz(buf, sizeof(buf), 0, 0);
	((struct setup_header *)(buf + 0x1f1))->payload_length = 0xfffff000;
	CHECK_EQ(load_buf(buf, n, &k), 0);
	CHECK_EQ(k.entry, 0x100200);
}

static void bzimage_old_protocol_and_flags(void)
{
	static uint8_t buf[1 << 16];
	struct loader_kernel k;
	size_t n = make_bz(buf, sizeof(buf), 0x020a, XLF_KERNEL_64, 0x10000, 4096);

	CHECK_EQ(load_buf(buf, n, &k), -EPROTONOSUPPORT);
	CHECK(strstr(err, "2.10") != NULL);
	n = make_bz(buf, sizeof(buf), 0x020f, 0, 0x10000, 4096);
	CHECK_EQ(load_buf(buf, n, &k), -ENOEXEC);
	CHECK(strstr(err, "64-bit") != NULL);
}

static void bzimage_truncated_and_oversize(void)
{
	static uint8_t buf[1 << 16];
	struct loader_kernel k;
	size_t n = make_bz(buf, sizeof(buf), 0x020f, XLF_KERNEL_64, 0x10000, 8192);

	CHECK_EQ(load_buf(buf, n - 4096, &k), -ENOEXEC);
	CHECK(strstr(err, "truncated") != NULL);
	CHECK_EQ(load_buf(buf, 5 * 512, &k), -ENOEXEC);
	n = make_bz(buf, sizeof(buf), 0x020f, XLF_KERNEL_64, (uint32_t)MEM, 4096);
	CHECK_EQ(load_buf(buf, n, &k), -ENOMEM);
	CHECK(strstr(err, "raise -m") != NULL);
}

static void initrd_placement(void)
{
	uint8_t buf[4096];
	struct loader_kernel k = { .end = 0x2000000, .initrd_max = 0x37ffffff };
	uint64_t gpa = 0, size = 0;
	int fd;

	memset(buf, 0x5a, sizeof(buf));
	fd = memfile(buf, 1000);
	CHECK_EQ(loader_initrd(&gm, fd, "rd", &k, &gpa, &size, err, sizeof(err)), 0);
	CHECK_EQ(size, 1000);
	CHECK_EQ(gpa & 0xfff, 0);
	CHECK(gpa + size <= MEM);
	CHECK(gpa >= k.end);
	CHECK_EQ(mem[gpa], 0x5a);
	CHECK_EQ(mem[gpa + 999], 0x5a);
	/* initrd_addr_max below RAM end bounds the placement. */
	k.initrd_max = 0x2fffff;
	k.end = 0x100000;
	CHECK_EQ(loader_initrd(&gm, fd, "rd", &k, &gpa, &size, err, sizeof(err)), 0);
	CHECK(gpa + size <= 0x300000);
	/* no room between kernel and the limit */
	k.end = 0x2ff800;
	CHECK_EQ(loader_initrd(&gm, fd, "rd", &k, &gpa, &size, err, sizeof(err)), -ENOMEM);
	CHECK(strstr(err, "rd: ") == err);
	close(fd);
	fd = memfile(buf, 0);
	k.end = 0x100000;
	CHECK_EQ(loader_initrd(&gm, fd, "rd", &k, &gpa, &size, err, sizeof(err)), -EINVAL);
	close(fd);
}

static int load_path(const char *path, struct loader_kernel *k, uint64_t limit)
{
	int fd = open(path, O_RDONLY), rc;
	struct stat st;
	if (fd < 0)
		return -errno;
	fstat(fd, &st);
	(void)limit;
	rc = loader_kernel(&gm, fd, path, k, err, sizeof(err));
	close(fd);
	return rc;
}

static const char *kdir(void)
{
	const char *o = getenv("O");
	static char buf[256];
	snprintf(buf, sizeof(buf), "%s/kernel", o ? o : "build");
	return buf;
}

static void real_appliance_kernels(void)
{
	char p[300];
	struct loader_kernel k;

	snprintf(p, sizeof(p), "%s/vmlinux", kdir());
	CHECK_EQ(load_path(p, &k, 0), 0);
	CHECK_EQ(k.bzimage, 0);
	CHECK_EQ(k.entry, 0x1000000);  /* phys_startup_64 */
	/* The bzImage's xz payload unpacked by vmm is that same vmlinux. */
	{
		static uint8_t text[1 << 20];
		memcpy(text, mem + 0x1000000, sizeof(text));
		memset(mem + 0x1000000, 0, sizeof(text));
		snprintf(p, sizeof(p), "%s/bzImage", kdir());
		CHECK_EQ(load_path(p, &k, 0), 0);
		CHECK_EQ(k.bzimage, 1);
		CHECK(k.hdr.version >= 0x020f);
		CHECK(k.hdr.init_size > 0);
		CHECK_EQ(k.entry, 0x1000000);
		CHECK(!memcmp(text, mem + 0x1000000, sizeof(text)));
	}
}

static void real_cloud_kernel(void)
{
	DIR *d = opendir("/boot");
	struct dirent *e;
	char p[512] = "";
	struct loader_kernel k;

	CHECK(d != NULL);
	if (!d)
		return;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vmlinuz-", 8) && strstr(e->d_name, "cloud"))
			snprintf(p, sizeof(p), "/boot/%s", e->d_name);
	closedir(d);
	CHECK(p[0] != 0);
	CHECK_EQ(load_path(p, &k, 0), 0);
	CHECK_EQ(k.bzimage, 1);
	CHECK(k.hdr.xloadflags & XLF_KERNEL_64);
	/* Truncated copy of the real kernel is refused. */
	{
		int in = open(p, O_RDONLY), out;
		static uint8_t big[1 << 20];
		ssize_t n = read(in, big, sizeof(big));
		close(in);
		out = memfile(big, (size_t)n);
		CHECK_EQ(loader_kernel(&gm, out, "cut", &k, err, sizeof(err)), -ENOEXEC);
		CHECK(strstr(err, "truncated") != NULL);
		close(out);
	}
	/* 16 MiB of RAM cannot hold its decompression footprint. */
	{
		struct gm small;
		int fd = open(p, O_RDONLY);
		gm_init_test(&small, mem, 16ULL << 20);
		CHECK_EQ(loader_kernel(&small, fd, p, &k, err, sizeof(err)), -ENOMEM);
		close(fd);
	}
}

int main(void)
{
	t_suite = "loader";
	mem = calloc(1, MEM);
	gm_init_test(&gm, mem, MEM);
	RUN(elf_loads_segment_and_zero_fills);
	RUN(elf_rejects_bad_headers);
	RUN(elf_truncated);
	RUN(elf_too_big_for_ram);
	RUN(wrong_magic);
	RUN(bzimage_crafted);
	RUN(bzimage_xz_payload_unpacked);
	RUN(bzimage_old_protocol_and_flags);
	RUN(bzimage_truncated_and_oversize);
	RUN(initrd_placement);
	RUN(real_appliance_kernels);
	RUN(real_cloud_kernel);
	free(mem);
	return t_done();
}
