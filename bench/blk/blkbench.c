/* virtio-blk device model benchmark (scripts/bench/blk.sh).
 *
 * Drives the real device (vmm/devices/virtio_blk.c, release objects) through
 * synthetic split rings in a plain memory buffer standing in for guest RAM,
 * against an image file (tmpfs by default, so the page cache is the disk),
 * and compares it in the same run with plain pread/pwrite of the same sizes
 * at the same offsets on the same file. Rounds alternate the two, so drift
 * in the host (another build on a 2-core machine) hits both alike; the
 * fastest round of each is reported.
 *
 * What one "device" request costs here: the avail-ring entry the driver
 * side writes, virtq_pop (chain walk, translation), request decoding, the
 * copy to or from the mapped image (what vmm does for a regular file), the
 * status byte, virtq_push; interrupts are not wired (irqfd -1),
 * notifications are direct queue_notify calls, one per batch. The same
 * device with pread/pwrite instead of the mapping (what it does for a block
 * device, or an image it could not map) is measured too.
 *
 *   blkbench [-d DIR] [-m FILE_MIB] [-r ROUNDS] [-b BATCH]
 * Exit: 0, 1 on a failed request or setup, 2 on bad arguments. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/devices/virtio_blk.h"
#include "vmm/gm.h"
#include "vmm/log.h"
#include "vmm/virtio.h"
#include "vmm/virtq.h"

#define QSIZE 256u
#define MAX_BATCH (QSIZE / 3u)     /* three descriptors per request */
#define G_DESC 0x1000u
#define G_AVAIL 0x2000u
#define G_USED 0x3000u
#define G_HDR 0x4000u              /* 16 bytes per request */
#define G_STATUS 0x5000u           /* 1 byte per request */
#define G_DATA 0x10000u
#define MAX_REQ (64u * 1024u)
#define GMEM (G_DATA + MAX_BATCH * MAX_REQ)

struct bench {
	const char *path;
	int fd;                    /* plain pread/pwrite side */
	uint64_t file_bytes;
	uint8_t *mem;              /* "guest RAM" */
	struct gm gm;
	struct blk_dev *blk;
	uint16_t avail_idx, used_seen;
	unsigned batch;
	struct virtio_signal sig;
};

struct result {
	double wall_s, cpu_s;
};

static double now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void put16(uint8_t *p, uint16_t v) { v = htole16(v); memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }

/* Offset of request k of a run: sequential, or a fixed pseudo-random
 * sequence (xorshift) of size-aligned offsets; the same for both sides. */
static uint64_t bench_off(const struct bench *bn, uint64_t k, uint32_t size, int random)
{
	uint64_t slots = bn->file_bytes / size;

	if (!random)
		return (k % slots) * size;
	k = k * 0x9E3779B97F4A7C15ull + 1;
	k ^= k >> 31;
	k *= 0xBF58476D1CE4E5B9ull;
	k ^= k >> 27;
	return (k % slots) * size;
}

/* The descriptor table never changes: request i of a batch is the chain
 * 3i -> 3i+1 -> 3i+2 (header, data, status). Only the data direction
 * differs between reads and writes. */
static void bench_ring_layout(struct bench *bn, uint32_t size, int write)
{
	for (unsigned i = 0; i < bn->batch; i++) {
		uint8_t *d = bn->mem + G_DESC + 16u * 3 * i;
		put64(d, G_HDR + 16u * i);
		put32(d + 8, 16);
		put16(d + 12, VIRTQ_DESC_F_NEXT);
		put16(d + 14, (uint16_t)(3 * i + 1));
		d += 16;
		put64(d, G_DATA + (uint64_t)MAX_REQ * i);
		put32(d + 8, size);
		put16(d + 12, (uint16_t)(VIRTQ_DESC_F_NEXT | (write ? 0 : VIRTQ_DESC_F_WRITE)));
		put16(d + 14, (uint16_t)(3 * i + 2));
		d += 16;
		put64(d, G_STATUS + i);
		put32(d + 8, 1);
		put16(d + 12, VIRTQ_DESC_F_WRITE);
		put16(d + 14, 0);
	}
}

static int bench_activate(struct bench *bn)
{
	struct virtq_config q = { .size = QSIZE, .ready = true, .desc = G_DESC, .avail = G_AVAIL, .used = G_USED };

	blk_virtio_ops.reset(bn->blk);
	memset(bn->mem, 0, G_DATA);
	bn->avail_idx = bn->used_seen = 0;
	return blk_virtio_ops.activate(bn->blk, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH),
				       &q, 1);
}

/* nreq requests of size bytes through the device, batch at a time. */
static int bench_device(struct bench *bn, uint64_t nreq, uint32_t size, int write, int random,
			struct result *res)
{
	double w0, c0;

	if (bench_activate(bn) < 0) {
		fprintf(stderr, "blkbench: activating the queue failed\n");
		return -1;
	}
	bench_ring_layout(bn, size, write);
	w0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	for (uint64_t k = 0; k < nreq;) {
		unsigned n = nreq - k < bn->batch ? (unsigned)(nreq - k) : bn->batch;
		uint16_t used;

		for (unsigned i = 0; i < n; i++) {
			uint8_t *h = bn->mem + G_HDR + 16u * i;
			put32(h, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN);
			put64(h + 8, bench_off(bn, k + i, size, random) / 512);
			bn->mem[G_STATUS + i] = 0xff;
			put16(bn->mem + G_AVAIL + 4 + 2u * (bn->avail_idx % QSIZE), (uint16_t)(3 * i));
			bn->avail_idx++;
		}
		__atomic_store_n((uint16_t *)(void *)(bn->mem + G_AVAIL + 2), htole16(bn->avail_idx),
				 __ATOMIC_RELEASE);
		blk_virtio_ops.queue_notify(bn->blk, 0);
		memcpy(&used, bn->mem + G_USED + 2, 2);
		used = le16toh(used);
		if ((uint16_t)(used - bn->used_seen) != n) {
			fprintf(stderr, "blkbench: device completed %u of %u requests\n",
				(unsigned)(uint16_t)(used - bn->used_seen), n);
			return -1;
		}
		bn->used_seen = used;
		for (unsigned i = 0; i < n; i++) {
			if (bn->mem[G_STATUS + i] != VIRTIO_BLK_S_OK) {
				fprintf(stderr, "blkbench: request %llu: status %u\n",
					(unsigned long long)(k + i), bn->mem[G_STATUS + i]);
				return -1;
			}
		}
		k += n;
	}
	res->wall_s = now(CLOCK_MONOTONIC) - w0;
	res->cpu_s = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	return 0;
}

/* The same requests as plain pread/pwrite into the same buffers. */
static int bench_plain(struct bench *bn, uint64_t nreq, uint32_t size, int write, int random,
		       struct result *res)
{
	double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);

	for (uint64_t k = 0; k < nreq;) {
		unsigned n = nreq - k < bn->batch ? (unsigned)(nreq - k) : bn->batch;
		for (unsigned i = 0; i < n; i++) {
			uint8_t *buf = bn->mem + G_DATA + (uint64_t)MAX_REQ * i;
			off_t off = (off_t)bench_off(bn, k + i, size, random);
			ssize_t r = write ? pwrite(bn->fd, buf, size, off) : pread(bn->fd, buf, size, off);
			if (r != (ssize_t)size) {
				fprintf(stderr, "blkbench: plain %s at %lld: %s\n", write ? "pwrite" : "pread",
					(long long)off, r < 0 ? strerror(errno) : "short transfer");
				return -1;
			}
		}
		k += n;
	}
	res->wall_s = now(CLOCK_MONOTONIC) - w0;
	res->cpu_s = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	return 0;
}

/* A backend that transfers nothing: what is left is the device model's own
 * cost per request (ring walk, decoding, status, used ring). */
static ssize_t null_rw(int fd, const struct iovec *iov, int n, off_t off)
{
	ssize_t t = 0;

	for (int i = 0; i < n; i++)
		t += (ssize_t)iov[i].iov_len;
	return t;
}

static int null_sync(int fd) { return 0; }
static int null_fallocate(int fd, int mode, off_t off, off_t len) { return 0; }

static const struct blk_backend null_backend = {
	.preadv = null_rw, .pwritev = null_rw, .fdatasync = null_sync, .fallocate = null_fallocate,
};

/* The device's syscall path, as vmm/devices/virtio_blk.c's own backend:
 * pread/pwrite for one buffer. */
static ssize_t sys_preadv(int fd, const struct iovec *iov, int n, off_t off)
{
	return n == 1 ? pread(fd, iov->iov_base, iov->iov_len, off) : preadv(fd, iov, n, off);
}

static ssize_t sys_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	return n == 1 ? pwrite(fd, iov->iov_base, iov->iov_len, off) : pwritev(fd, iov, n, off);
}

static int sys_fallocate(int fd, int mode, off_t off, off_t len) { return fallocate(fd, mode, off, len); }

static const struct blk_backend syscall_backend = {
	.preadv = sys_preadv, .pwritev = sys_pwritev, .fdatasync = fdatasync, .fallocate = sys_fallocate,
};

struct workload {
	const char *name;
	uint32_t size;
	int write, random;
	uint64_t bytes;       /* per run */
	int cold;             /* each device run on a fresh device: nothing of the image mapped yet */
};

/* A fresh device: its image mapped anew, nothing of it faulted in yet. */
static int bench_reopen(struct bench *bn)
{
	blk_close(bn->blk);
	bn->blk = NULL;
	return blk_open(&bn->blk, bn->path, false, 0, &bn->gm, &bn->sig);
}

static int bench_workload(struct bench *bn, const struct workload *w, unsigned rounds)
{
	uint64_t nreq = w->bytes / w->size;
	struct result best_d = { 1e9, 1e9 }, best_s = { 1e9, 1e9 }, best_p = { 1e9, 1e9 }, best_a = { 1e9, 1e9 }, r;

	for (unsigned i = 0; i < rounds; i++) {
		/* Alternate which side goes first in a round. A second plain run
		 * per round (A/A) shows how far apart two identical runs land
		 * on this machine: the noise floor of the ratios. Last, the
		 * device on its syscall path. */
		for (int side = 0; side < 4; side++) {
			int dev = side == 3 || (side < 2 && (int)((i + (unsigned)side) & 1));
			if (w->cold && dev && bench_reopen(bn) < 0)
				return -1;
			blk_set_backend(bn->blk, side == 3 ? &syscall_backend : NULL);
			if ((dev ? bench_device : bench_plain)(bn, nreq, w->size, w->write, w->random, &r) < 0)
				return -1;
			struct result *b = side == 3 ? &best_s : side == 2 ? &best_a : dev ? &best_d : &best_p;
			if (r.wall_s < b->wall_s)
				b->wall_s = r.wall_s;
			if (r.cpu_s < b->cpu_s)
				b->cpu_s = r.cpu_s;
		}
	}
	/* The device model alone, with I/O that costs nothing. */
	struct result best_n = { 1e9, 1e9 };
	blk_set_backend(bn->blk, &null_backend);
	for (unsigned i = 0; i < rounds; i++) {
		if (bench_device(bn, nreq, w->size, w->write, w->random, &r) < 0)
			return -1;
		if (r.cpu_s < best_n.cpu_s)
			best_n.cpu_s = r.cpu_s;
	}
	blk_set_backend(bn->blk, NULL);

	double mib = (double)w->bytes / (1024.0 * 1024.0);
	if (w->size >= 65536)
		printf("blk: %-21s wall: device %6.0f MiB/s, plain %6.0f MiB/s: %5.1f%%; CPU-time ratio %5.1f%% (target >= 95%%)\n",
		       w->name, mib / best_d.wall_s, mib / best_p.wall_s, 100.0 * best_p.wall_s / best_d.wall_s,
		       100.0 * best_p.cpu_s / best_d.cpu_s);
	else
		printf("blk: %-21s wall: device %6.0f kreq/s, plain %6.0f kreq/s: %5.1f%%; CPU-time ratio %5.1f%% (target >= 95%%)\n",
		       w->name, nreq / best_d.wall_s / 1e3, nreq / best_p.wall_s / 1e3,
		       100.0 * best_p.wall_s / best_d.wall_s, 100.0 * best_p.cpu_s / best_d.cpu_s);
	printf("blk: %-21s CPU per request: device %.3f us, plain %.3f us; device model alone (no I/O) %.3f us\n",
	       w->name, best_d.cpu_s / nreq * 1e6, best_p.cpu_s / nreq * 1e6, best_n.cpu_s / nreq * 1e6);
	printf("blk: %-21s device with pread/pwrite instead of the mapping: CPU %.3f us per request, %5.1f%% of plain\n",
	       w->name, best_s.cpu_s / nreq * 1e6, 100.0 * best_p.cpu_s / best_s.cpu_s);
	printf("blk: %-21s noise floor (plain vs plain, A/A): wall %5.1f%%, CPU time %5.1f%%\n", w->name,
	       100.0 * best_p.wall_s / best_a.wall_s, 100.0 * best_p.cpu_s / best_a.cpu_s);
	return 0;
}

static int bench_parse(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || end == s || *end || *out < min || *out > max ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *dir = "/dev/shm";
	unsigned long mib = 256, rounds = 15, batch = 32, v;
	struct bench bn = { .fd = -1 };
	char path[4096];
	int c, rc = 1;

	while ((c = getopt(argc, argv, "d:m:r:b:")) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'm':
			if (bench_parse(optarg, 16, 65536, &v)) goto usage;
			mib = v;
			break;
		case 'r':
			if (bench_parse(optarg, 1, 1000, &v)) goto usage;
			rounds = v;
			break;
		case 'b':
			if (bench_parse(optarg, 1, MAX_BATCH, &v)) goto usage;
			batch = v;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	bn.batch = (unsigned)batch;
	bn.file_bytes = (uint64_t)mib << 20;
	snprintf(path, sizeof(path), "%s/appvm-blkbench.XXXXXX", dir);
	bn.fd = mkstemp(path);
	if (bn.fd < 0) {
		fprintf(stderr, "blkbench: cannot create a file in %s: %s\n", dir, strerror(errno));
		return 1;
	}
	bn.path = path;
	bn.mem = aligned_alloc(4096, GMEM);
	if (!bn.mem) {
		fprintf(stderr, "blkbench: out of memory\n");
		goto out;
	}
	/* Fill the image (all pages present: reads never hit holes). */
	for (uint64_t off = 0; off < bn.file_bytes; off += MAX_REQ) {
		for (unsigned i = 0; i < MAX_REQ; i += 8)
			put64(bn.mem + G_DATA + i, off + i);
		if (pwrite(bn.fd, bn.mem + G_DATA, MAX_REQ, (off_t)off) != MAX_REQ) {
			fprintf(stderr, "blkbench: filling %s: %s\n", path, strerror(errno));
			goto out;
		}
	}
	gm_init_test(&bn.gm, bn.mem, GMEM);
	if ((bn.sig.irqfd = -1, blk_open(&bn.blk, path, false, 0, &bn.gm, &bn.sig)) < 0)
		goto out;

	printf("blk: image %s, %lu MiB; queue %u, %lu requests per notify, fastest of %lu rounds\n",
	       path, mib, QSIZE, batch, rounds);
	const struct workload ws[] = {
		{ "64K sequential read", 65536, 0, 0, 256ull << 20, 0 },
		{ "64K sequential write", 65536, 1, 0, 256ull << 20, 0 },
		{ "4K random read", 4096, 0, 1, 64ull << 20, 0 },
		{ "4K random write", 4096, 1, 1, 64ull << 20, 0 },
		{ "4K random read, cold", 4096, 0, 1, 64ull << 20, 1 },
		{ "4K random write, cold", 4096, 1, 1, 64ull << 20, 1 },
	};
	for (size_t i = 0; i < sizeof(ws) / sizeof(ws[0]); i++)
		if (bench_workload(&bn, &ws[i], (unsigned)rounds) < 0)
			goto out;
	rc = 0;
out:
	blk_close(bn.blk);
	if (bn.fd >= 0)
		close(bn.fd);
	unlink(path);
	free(bn.mem);
	return rc;
usage:
	fprintf(stderr, "usage: blkbench [-d DIR] [-m FILE_MIB 16..65536] [-r ROUNDS 1..1000] [-b BATCH 1..%u]\n",
		MAX_BATCH);
	return 2;
}
