#include "vmm/gm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <linux/memfd.h>  /* MFD_HUGE_2MB: musl has only MFD_HUGETLB */
#include <sys/mman.h>
#include <unistd.h>

int gm_create(struct gm *gm, uint64_t ram_bytes, enum gm_pages pages)
{
	uint64_t low;

	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
	if (ram_bytes == 0 || ram_bytes > (1ULL << 40) ||
	    (pages == GM_PAGES_2M && ram_bytes % (2ULL << 20)))
		return -EINVAL;
	gm->fd = memfd_create("appvm-ram", MFD_CLOEXEC |
			      (pages == GM_PAGES_2M ? MFD_HUGETLB | MFD_HUGE_2MB : 0));
	if (gm->fd < 0)
		return -errno;
	if (ftruncate(gm->fd, (off_t)ram_bytes) < 0)
		goto fail;
	/* MAP_NORESERVE: 4 KiB pages are only populated as the guest touches
	 * them. Not for hugetlb: without a reservation an empty pool would
	 * SIGBUS the VMM at the guest's first touch. */
	gm->map = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE,
		       MAP_SHARED | (pages == GM_PAGES_2M ? 0 : MAP_NORESERVE), gm->fd, 0);
	if (gm->map == MAP_FAILED) {
		gm->map = NULL;
		goto fail;
	}
	gm->map_size = ram_bytes;
	/* Advice only: where shmem THP is off the kernel ignores it. */
	if (pages == GM_PAGES_THP)
		(void)madvise(gm->map, ram_bytes, MADV_HUGEPAGE);
	low = ram_bytes < GM_HOLE_START ? ram_bytes : GM_HOLE_START;
	gm->r[0] = (struct gm_region){ .gpa = 0, .size = low, .host = gm->map, .fd_off = 0 };
	gm->nregions = 1;
	if (ram_bytes > low) {
		gm->r[1] = (struct gm_region){ .gpa = GM_HOLE_END, .size = ram_bytes - low,
					       .host = gm->map + low, .fd_off = low };
		gm->nregions = 2;
	}
	return 0;
fail:
	{
		int e = -errno;
		gm_destroy(gm);
		return e;
	}
}

bool gm_thp_shmem(void)
{
	char b[128] = "";
	int fd = open("/sys/kernel/mm/transparent_hugepage/shmem_enabled", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		(void)!read(fd, b, sizeof(b) - 1);
		close(fd);
	}
	/* The active value is bracketed: "always within_size [advise] never deny force". */
	return strstr(b, "[advise]") || strstr(b, "[within_size]") || strstr(b, "[always]") || strstr(b, "[force]");
}

void gm_init_test(struct gm *gm, void *mem, uint64_t size)
{
	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
	gm->r[0] = (struct gm_region){ .gpa = 0, .size = size, .host = mem, .fd_off = 0 };
	gm->nregions = 1;
}

void gm_destroy(struct gm *gm)
{
	if (gm->map)
		munmap(gm->map, gm->map_size);
	if (gm->fd >= 0)
		close(gm->fd);
	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
}

int gm_read(const struct gm *gm, uint64_t gpa, void *dst, size_t len)
{
	void *p = gm_translate(gm, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gm_write(const struct gm *gm, uint64_t gpa, const void *src, size_t len)
{
	void *p = gm_translate(gm, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

uint64_t gm_ram_size(const struct gm *gm)
{
	uint64_t t = 0;
	for (unsigned i = 0; i < gm->nregions; i++)
		t += gm->r[i].size;
	return t;
}
