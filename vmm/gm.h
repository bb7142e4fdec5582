/* Guest physical memory: the single bounds-checked translator every guest
 * address goes through (house style). RAM is one memfd so the per-device
 * processes of a later issue can map the same pages; on x86_64 RAM above the
 * 32-bit MMIO hole is a second region of the same memfd.
 *
 * Ownership: struct gm owns the memfd and the mapping; gm_destroy frees both.
 * All functions are thread-safe after setup (the layout never changes). */
#ifndef VMM_GM_H
#define VMM_GM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 4

struct gm_region {
	uint64_t gpa;     /* guest physical start */
	uint64_t size;    /* bytes */
	uint8_t *host;    /* host mapping of the region */
	uint64_t fd_off;  /* offset of the region in the memfd */
};

struct gm {
	int fd;                 /* memfd backing all RAM, -1 for test memory */
	uint8_t *map;           /* whole-memfd mapping */
	uint64_t map_size;
	unsigned nregions;
	struct gm_region r[GM_MAX_REGIONS];
};

/* RAM layout for x86_64: [0, hole_start) and, when ram > hole_start,
 * [4 GiB, 4 GiB + ram - hole_start). */
#define GM_HOLE_START 0xC0000000ULL
#define GM_HOLE_END   0x100000000ULL

/* Page backing for guest RAM (--hugepages). Every 4 KiB page the guest
 * touches first costs a nested page fault exit (82% of a boot's exits in
 * the nested benchmark, docs/BENCHMARKS.md); 2 MiB pages cut that 512-fold. */
enum gm_pages {
	GM_PAGES_4K,   /* default: memfd, populated as the guest touches it */
	GM_PAGES_THP,  /* memfd + MADV_HUGEPAGE: transparent huge pages where
			* /sys/kernel/mm/transparent_hugepage/shmem_enabled
			* allows them (advise, within_size, always) */
	GM_PAGES_2M,   /* hugetlb memfd (MFD_HUGE_2MB) from the reserved pool,
			* /proc/sys/vm/nr_hugepages; reserved at mmap, so an empty
			* pool fails here (-ENOMEM) instead of SIGBUS later */
};

/* Create memfd-backed RAM of ram_bytes with the 32-bit hole. -errno;
 * -EINVAL for GM_PAGES_2M when ram_bytes is not a multiple of 2 MiB. */
int gm_create(struct gm *gm, uint64_t ram_bytes, enum gm_pages pages);
/* Whether the host's shmem THP setting lets GM_PAGES_THP take effect. */
bool gm_thp_shmem(void);
/* Wrap caller-owned memory as one region at gpa 0 (unit tests, fuzzing). */
void gm_init_test(struct gm *gm, void *mem, uint64_t size);
void gm_destroy(struct gm *gm);

/* Host pointer for [gpa, gpa+len) if the whole range lies inside one RAM
 * region, else NULL. Overflow-safe; len 0 is valid inside a region.
 * Always inline (-Os would not): it runs for every buffer of every
 * virtqueue chain, and the call cost as much as the checks, plus the
 * caller's spills around it (scripts/bench/blk.sh). Still the one
 * translator: this is its only definition. */
static inline __attribute__((always_inline)) void *gm_translate(const struct gm *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->r[i];
		/* gpa - r->gpa cannot underflow after the first test; the length
		 * test is written so that gpa + len never has to be computed. */
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->host + (gpa - r->gpa);
	}
	return NULL;
}
/* Copy helpers: 0 or -EFAULT when the range is not entirely RAM. */
int gm_read(const struct gm *gm, uint64_t gpa, void *dst, size_t len);
int gm_write(const struct gm *gm, uint64_t gpa, const void *src, size_t len);
/* Total RAM bytes. */
uint64_t gm_ram_size(const struct gm *gm);
#endif
