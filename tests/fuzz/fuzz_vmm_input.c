/* libFuzzer target: the vmm's parsers of user-supplied input -- the kernel
 * image loaders (ELF vmlinux program headers, bzImage setup header), the
 * initrd placement and the `vmm run` command line.
 *
 * Input: byte 0 selects the parser; for the loaders the rest is the image
 * file (in a memfd), loaded into a 64 MiB test guest memory; for the CLI the
 * rest is NUL-separated argv words. Besides ASan/UBSan, every failure must
 * come with a non-empty one-line error, and a success must describe an entry
 * point inside guest RAM. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/arch/x86_64/loader.h"
#include "vmm/cli.h"
#include "vmm/devices/virtio_blk.h"
#include "vmm/devices/virtio_vsock.h"
#include "vmm/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MEM (64u << 20)

static void fz_check_err(int rc, const char *err)
{
	if (rc < 0 && (!err[0] || strchr(err, '\n')))
		abort();
}

static void fz_loader(const uint8_t *data, size_t size, int initrd)
{
	static uint8_t *mem;
	struct gm gm;
	struct loader_kernel k;
	char err[512] = "";
	int fd, rc;

	if (!mem && !(mem = malloc(FZ_MEM)))
		return;
	gm_init_test(&gm, mem, FZ_MEM);
	fd = memfd_create("fz", 0);
	if (fd < 0)
		return;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return;
	}
	if (!initrd) {
		rc = loader_kernel(&gm, fd, "img", &k, err, sizeof(err));
		fz_check_err(rc, err);
		if (rc == 0 && (!gm_translate(&gm, k.entry, 1) || k.cmdline_max == 0))
			abort();
	} else {
		uint64_t gpa = 0, len = 0;
		memset(&k, 0, sizeof(k));
		/* Kernel end and limit from the first bytes, so placement edges
		 * get explored too. */
		k.end = size >= 4 ? (uint64_t)(data[0] | data[1] << 8) << 12 : 0x100000;
		k.initrd_max = size >= 4 ? ((uint64_t)(data[2] | data[3] << 8) << 12) | 0xfff : 0x37ffffff;
		rc = loader_initrd(&gm, fd, "rd", &k, &gpa, &len, err, sizeof(err));
		fz_check_err(rc, err);
		if (rc == 0 && (gpa < k.end || gpa + len - 1 > k.initrd_max || !gm_translate(&gm, gpa, len)))
			abort();
	}
	close(fd);
}

static void fz_cli(const uint8_t *data, size_t size)
{
	static struct cli c;
	char *buf = malloc(size + 1), *argv[66];
	char err[512] = "";
	int argc = 0, rc;
	size_t i = 0;

	if (!buf)
		return;
	memcpy(buf, data, size);
	buf[size] = 0;
	argv[argc++] = "vmm";
	while (i < size && argc < 65) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	rc = cli_parse(&c, argc, argv, err, sizeof(err));
	fz_check_err(rc, err);
	if (rc == CLI_RUN) {
		const struct blk_opts *b = cli_device_cfg(&c, "virtio-blk");
		const struct vsock_opts *v = cli_device_cfg(&c, "virtio-vsock");
		if (!c.cfg.kernel || c.cfg.vcpus < 1 || c.cfg.vcpus > VMM_MAX_VCPUS || c.cfg.mem_mib < 1 ||
		    !b || b->ndisks > BLK_MAX_DISKS || (b->ndisks > 1 && b->disks[1].root) || !v || v->cid < 3 ||
		    v->cid == UINT32_MAX)
			abort();
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_level = -1;
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fz_loader(data + 1, size - 1, 0);
		break;
	case 1:
		fz_loader(data + 1, size - 1, 1);
		break;
	default:
		fz_cli(data + 1, size - 1);
		break;
	}
	return 0;
}
