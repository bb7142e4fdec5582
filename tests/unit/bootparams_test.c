/* Zero page, e820 and MP table builders. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/t.h"
#include "vmm/arch/x86_64/bootparams.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/arch/x86_64/mptable.h"

static void e820_small_ram(void)
{
	struct gm gm;
	struct boot_e820_entry t[8];
	int n;

	gm_init_test(&gm, (void *)0x1000, 256ULL << 20);  /* never dereferenced */
	n = bootparams_e820(&gm, t, 8);
	CHECK_EQ(n, 4);
	CHECK_EQ(t[0].addr, 0);
	CHECK_EQ(t[0].size, 0x9fc00);
	CHECK_EQ(t[0].type, 1);
	CHECK_EQ(t[1].addr, 0x9fc00);
	CHECK_EQ(t[1].type, 2);
	CHECK_EQ(t[2].addr, 0xe0000);
	CHECK_EQ(t[2].size, 0x20000);
	CHECK_EQ(t[2].type, 2);
	CHECK_EQ(t[3].addr, 0x100000);
	CHECK_EQ(t[3].size, (256ULL << 20) - 0x100000);
	CHECK_EQ(t[3].type, 1);
	CHECK_EQ(bootparams_e820(&gm, t, 2), -ENOSPC);
}

static void e820_above_hole(void)
{
	struct gm gm;
	struct boot_e820_entry t[8];
	int n;

	/* 3.5 GiB: 3 GiB low, 512 MiB from 4 GiB. Built by hand as gm_create does. */
	memset(&gm, 0, sizeof(gm));
	gm.nregions = 2;
	gm.r[0] = (struct gm_region){ .gpa = 0, .size = GM_HOLE_START };
	gm.r[1] = (struct gm_region){ .gpa = GM_HOLE_END, .size = 512ULL << 20 };
	n = bootparams_e820(&gm, t, 8);
	CHECK_EQ(n, 5);
	CHECK_EQ(t[3].addr, 0x100000);
	CHECK_EQ(t[3].addr + t[3].size, GM_HOLE_START);
	CHECK_EQ(t[4].addr, GM_HOLE_END);
	CHECK_EQ(t[4].size, 512ULL << 20);
	/* No RAM entry may overlap the MMIO hole, the IOAPIC or the LAPIC. */
	for (int i = 0; i < n; i++)
		if (t[i].type == 1)
			CHECK(t[i].addr >= GM_HOLE_END || t[i].addr + t[i].size <= GM_HOLE_START);
}

static void gm_create_layout(void)
{
	struct gm gm;

	CHECK_EQ(gm_create(&gm, 3584ULL << 20, GM_PAGES_4K), 0);
	CHECK_EQ(gm.nregions, 2);
	CHECK_EQ(gm.r[1].gpa, GM_HOLE_END);
	CHECK_EQ(gm_ram_size(&gm), 3584ULL << 20);
	CHECK(gm_translate(&gm, GM_HOLE_START - 4, 4) != NULL);
	CHECK(gm_translate(&gm, GM_HOLE_START - 4, 8) == NULL);  /* straddles into the hole */
	CHECK(gm_translate(&gm, GM_HOLE_START, 1) == NULL);
	CHECK(gm_translate(&gm, GM_HOLE_END, 1) != NULL);
	CHECK(gm_translate(&gm, GM_HOLE_END + (512ULL << 20), 1) == NULL);
	CHECK(gm_translate(&gm, ~0ULL, 2) == NULL);
	CHECK(gm_translate(&gm, 0, ~0ULL) == NULL);
	gm_destroy(&gm);
	CHECK_EQ(gm_create(&gm, 0, GM_PAGES_4K), -EINVAL);
}

/* Free 2 MiB pages in the host's hugetlb pool (/proc/meminfo). */
static long hugepages_free(void)
{
	char line[128];
	long n = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

/* --hugepages: 2M needs whole 2 MiB pages and takes them from the pool at
 * creation (an empty pool is -ENOMEM here, never a SIGBUS at first touch);
 * thp is advice on an ordinary memfd. */
static void gm_create_hugepages(void)
{
	struct gm gm;
	int rc;

	CHECK_EQ(gm_create(&gm, 3ULL << 20, GM_PAGES_2M), -EINVAL);
	rc = gm_create(&gm, 4ULL << 20, GM_PAGES_2M);
	CHECK_EQ(rc, hugepages_free() >= 2 ? 0 : -ENOMEM);
	if (rc == 0) {
		memset(gm.map, 0xab, 4ULL << 20);
		gm_destroy(&gm);
	}
	CHECK_EQ(gm_create(&gm, 4ULL << 20, GM_PAGES_THP), 0);
	memset(gm.map, 0xab, 4ULL << 20);
	CHECK(gm_translate(&gm, (4ULL << 20) - 1, 1) != NULL);
	gm_destroy(&gm);
}

static void zero_page_elf(void)
{
	static uint8_t mem[4 << 20];
	struct gm gm;
	struct loader_kernel k = { .bzimage = 0, .cmdline_max = 4095, .initrd_max = 0x37ffffff };
	struct boot_params *bp = (struct boot_params *)(mem + X86_ZERO_PAGE);
	const char *cl = "console=ttyS0 root=/dev/vda";

	gm_init_test(&gm, mem, sizeof(mem));
	memset(mem, 0xcc, sizeof(mem));
	CHECK_EQ(bootparams_write(&gm, &k, cl, 0x800000, 12345), 0);
	CHECK_EQ(bp->hdr.boot_flag, 0xaa55);
	CHECK(!memcmp(&bp->hdr.header, "HdrS", 4));
	CHECK_EQ(bp->hdr.type_of_loader, 0xff);
	CHECK_EQ(bp->hdr.cmd_line_ptr, X86_CMDLINE_ADDR);
	CHECK(!strcmp((char *)mem + X86_CMDLINE_ADDR, cl));
	CHECK_EQ(bp->hdr.ramdisk_image, 0x800000);
	CHECK_EQ(bp->hdr.ramdisk_size, 12345);
	CHECK_EQ(bp->e820_entries, 4);
	CHECK_EQ(bp->e820_table[3].addr, 0x100000);
	CHECK_EQ(bp->screen_info.orig_video_isVGA, 0);  /* zeroed, not 0xcc */
}

static void zero_page_bzimage_keeps_header(void)
{
	static uint8_t mem[1 << 20];
	struct gm gm;
	struct loader_kernel k = { .bzimage = 1, .cmdline_max = 10, .initrd_max = 0x7fffffff };
	struct boot_params *bp = (struct boot_params *)(mem + X86_ZERO_PAGE);

	gm_init_test(&gm, mem, sizeof(mem));
	k.hdr.version = 0x020f;
	k.hdr.init_size = 0x123000;
	k.hdr.loadflags = 1;
	CHECK_EQ(bootparams_write(&gm, &k, "short", 0, 0), 0);
	CHECK_EQ(bp->hdr.version, 0x020f);
	CHECK_EQ(bp->hdr.init_size, 0x123000);
	CHECK_EQ(bp->hdr.loadflags & 0x81, 0x81);  /* LOADED_HIGH kept, CAN_USE_HEAP added */
	CHECK_EQ(bootparams_write(&gm, &k, "much too long", 0, 0), -E2BIG);
	/* zero page outside RAM */
	gm_init_test(&gm, mem, 0x1000);
	CHECK_EQ(bootparams_write(&gm, &k, "x", 0, 0), -ENOMEM);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

static void mptable_contents(void)
{
	static uint8_t mem[1 << 20];
	struct gm gm;
	uint8_t *fp = mem + X86_MPTABLE_ADDR, *conf, *e;
	uint32_t physptr;
	uint16_t len, count;
	unsigned cpus = 0, bsp = 0, ioapic = 0, ints = 0, lints = 0;

	gm_init_test(&gm, mem, sizeof(mem));
	CHECK_EQ(mptable_write(&gm, X86_MPTABLE_ADDR, 4, 0x600, 0x201), 0);
	CHECK(!memcmp(fp, "_MP_", 4));
	CHECK_EQ(sum(fp, 16), 0);
	memcpy(&physptr, fp + 4, 4);
	CHECK_EQ(physptr, X86_MPTABLE_ADDR + 16);
	conf = mem + physptr;
	CHECK(!memcmp(conf, "PCMP", 4));
	memcpy(&len, conf + 4, 2);
	memcpy(&count, conf + 34, 2);
	CHECK_EQ(sum(conf, len), 0);
	CHECK(X86_MPTABLE_ADDR + mptable_size(4) <= X86_BASE_RAM_END);
	CHECK_EQ(16 + len, mptable_size(4));
	e = conf + 44;
	for (unsigned i = 0; i < count; i++) {
		switch (e[0]) {
		case 0:
			CHECK_EQ(e[1], cpus);  /* APIC ids 0..n-1 in order */
			if (e[3] & 2)
				bsp++;
			cpus++;
			e += 20;
			break;
		case 1:
			CHECK(!memcmp(e + 2, "ISA", 3));
			e += 8;
			break;
		case 2:
			CHECK_EQ(e[1], 4);
			ioapic++;
			e += 8;
			break;
		case 3:
			CHECK_EQ(e[5], e[7]);  /* ISA irq n -> pin n, as KVM routes GSIs */
			ints++;
			e += 8;
			break;
		case 4:
			lints++;
			e += 8;
			break;
		default:
			CHECK(0);
			return;
		}
	}
	CHECK_EQ(e - conf, len);
	CHECK_EQ(cpus, 4);
	CHECK_EQ(bsp, 1);
	CHECK_EQ(ioapic, 1);
	CHECK_EQ(ints, 24);
	CHECK_EQ(lints, 2);
	CHECK_EQ(mptable_write(&gm, X86_MPTABLE_ADDR, 0, 0, 0), -EINVAL);
	CHECK_EQ(mptable_write(&gm, sizeof(mem) - 16, 1, 0, 0), -ENOMEM);
	CHECK(X86_MPTABLE_ADDR + mptable_size(16) <= X86_BASE_RAM_END);
}

int main(void)
{
	t_suite = "bootparams";
	RUN(e820_small_ram);
	RUN(e820_above_hole);
	RUN(gm_create_layout);
	RUN(gm_create_hugepages);
	RUN(zero_page_elf);
	RUN(zero_page_bzimage_keeps_header);
	RUN(mptable_contents);
	return t_done();
}
