/* libFuzzer target: the virtio-9p device (vmm/devices/virtio_9p.c) driven
 * through p9_virtio_ops as the device host drives it (activate,
 * queue_notify again while it asks for a requeue, reset), on guest memory
 * the fuzzer controls, serving a real temporary directory.
 *
 * Input: byte 0 = log2 of the queue size (mod 8: 1..128), byte 1 = flags
 * (bit 0: INDIRECT_DESC, bit 1: EVENT_IDX), bytes 2..5 = chains the driver
 * adds before each of up to 4 further notifications, then the first 64 KiB
 * of guest RAM: descriptor table at 0x0, avail ring at 0x1000, used ring at
 * 0x2000, buffers (requests, reply space) from 0x4000. Writable buffers the
 * main table points below 0x4000 are moved up, so replies never land on
 * the rings and the ring checks stay meaningful.
 *
 * Checks, besides ASan/UBSan: at most one ring's worth of chains used per
 * call; a device that asks to be called again has used a chain; once it
 * reports NEEDS_RESET it uses no more chains; every used length fits the
 * guest memory; and after the input nothing outside the share changed (the
 * secret beside it, the sentinel above it). Corpus: tests/fuzz/corpus/
 * virtio_9p/. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/devices/virtio_9p.h"
#include "tests/fuzz/fuzz_ring.h"
#include "vmm/log.h"
#include "vmm/virtq.h"

#define MEM (64u << 10)
#define DESC 0x0u
#define AVAIL 0x1000u
#define USED 0x2000u
#define DATA 0x4000u
#define ROUNDS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gm gm;
static struct p9dev *dev;
static struct virtio_signal sig = { .irqfd = -1 };
static char top[64], secret[128], sentinel[128];

static void fz_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

static int fz_same(const char *path, const char *text)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t)strlen(text) && !memcmp(buf, text, (size_t)n);
}

static int fz_rm(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP)
		chmod(p, 0700);  /* the fuzzer may chmod directories to 0 */
	return remove(p);
}

static void fz_cleanup(void)
{
	p9dev_close(dev);
	nftw(top, fz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* TOP/share is served; TOP/outside/secret and TOP/sentinel never are. */
static void fz_setup(void)
{
	struct p9dev_share sh = { .dir = "", .tag = "fz", .policy = P9_UID_MAPPED };
	char p[128];
	int d;

	log_level = -1;
	snprintf(top, sizeof(top), "%s/fuzz_virtio_9p.XXXXXX", access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	if (!mkdtemp(top))
		abort();
	snprintf(p, sizeof(p), "%s/share", top);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/outside", top);
	mkdir(p, 0755);
	snprintf(secret, sizeof(secret), "%s/outside/secret", top);
	snprintf(sentinel, sizeof(sentinel), "%s/sentinel", top);
	fz_write(secret, "secret");
	fz_write(sentinel, "sentinel");
	snprintf(p, sizeof(p), "%s/share/f", top);
	fz_write(p, "hello");
	snprintf(p, sizeof(p), "%s/share", top);
	d = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d < 0 || p9dev_open(&dev, &sh, d, false, &gm, &sig) < 0)
		abort();
	close(d);
	atexit(fz_cleanup);
}

static void fz_sanitize(uint8_t *mem, unsigned qsize)
{
	for (unsigned i = 0; i < qsize; i++) {
		struct virtq_desc d;
		memcpy(&d, mem + DESC + 16u * i, sizeof(d));
		if ((d.flags & VIRTQ_DESC_F_WRITE) && d.addr < DATA) {
			d.addr |= DATA;
			memcpy(mem + DESC + 16u * i, &d, sizeof(d));
		}
	}
}

static void fz_notify(const uint8_t *mem, unsigned qsize)
{
	for (unsigned calls = 0;; calls++) {
		uint16_t before = fz_le16(mem, USED + 2), used;
		bool broken = sig.needs_reset;

		sig.requeue = 0;
		p9_virtio_ops.queue_notify(dev, 0);
		used = (uint16_t)(fz_le16(mem, USED + 2) - before);
		if (used > qsize || (broken && used))
			abort();
		for (uint16_t k = 0; k < used; k++) {
			uint32_t len;
			memcpy(&len, mem + USED + 8 + 8u * ((before + k) % qsize), 4);
			if (len > MEM)
				abort();
		}
		if (!sig.requeue)
			break;
		if (!used || calls > 1000)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	struct virtq_config c;
	unsigned qsize;
	uint8_t *mem;

	if (!dev)
		fz_setup();
	if (size < 2 + ROUNDS)
		return 0;
	mem = fz_guest_mem(data, size, 2 + ROUNDS, MEM);
	gm_init_test(&gm, mem, MEM);
	qsize = 1u << (data[0] % 8);
	if (data[1] & 1)
		features |= VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	if (data[1] & 2)
		features |= VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	fz_sanitize(mem, qsize);
	fz_put16(mem, USED + 2, 0);
	c = (struct virtq_config){ .size = (uint16_t)qsize, .ready = true, .desc = DESC, .avail = AVAIL, .used = USED };
	p9_virtio_ops.reset(dev);
	sig.needs_reset = 0;
	if (p9_virtio_ops.activate(dev, features, &c, 1) == 0) {
		fz_notify(mem, qsize);
		for (unsigned r = 0; r < ROUNDS && data[2 + r]; r++) {
			fz_put16(mem, AVAIL + 2, (uint16_t)(fz_le16(mem, AVAIL + 2) + data[2 + r] % 8));
			fz_notify(mem, qsize);
		}
	} else if (qsize <= P9DEV_QUEUE_MAX) {
		abort();
	}
	p9_virtio_ops.reset(dev);
	free(mem);
	if (!fz_same(secret, "secret") || !fz_same(sentinel, "sentinel"))
		abort();
	return 0;
}
