/* libFuzzer target: register sequences against the virtio-mmio transport
 * (virtio 1.2 §4.2.2, §4.2.3, §3.1) in front of a real device (virtio-rng, or
 * virtio-blk on a memfd) built by the device host, with queue notifications
 * trapped or delivered through ioeventfds and served by the host's worker
 * round, on 64 KiB of guest memory.
 *
 * Input: byte 0 = flags (bit 0: virtio-blk instead of virtio-rng, bit 1:
 * ioeventfds), byte 1 = number of 8-byte operations N, then N operations
 * {op, off_lo, off_hi, len, value[4]}, then the initial guest RAM.
 *   op % 4 = 0/1: read/write of len % 8 + 1 bytes at window offset
 *                 (off_hi bit 7 set: a known register, else off & 0x1ff)
 *   op % 4 = 2:   the host's worker runs once (ready notifies are served)
 *   op % 4 = 3:   the driver stores value at guest address off
 * Checks, besides ASan/UBSan: MagicValue and Version always read right;
 * after any sequence a reset (Status = 0) reads back 0 with every queue
 * disabled and no interrupt pending (§4.2.2.1, §2.4), and a driver that then
 * sets the device up by the book gets one request served (the device
 * recovers whatever the guest did before). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/device.h"
#include "vmm/devices/virtio_blk.h"
#include "vmm/devices/virtio_rng.h"
#include "vmm/log.h"
#include "vmm/virtio_host.h"
#include "vmm/virtio_mmio.h"
#include "vmm/virtq.h"

#define MEM (64u << 10)
#define NWATCH 8
#define BASE 0xd0000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_state {
	struct bus mmio;
	bool ioeventfds;
	int ioev_fd[NWATCH];
	uint64_t ioev_match[NWATCH];
	unsigned nioev;
	struct virtio_host *h;
};

static struct fz_state fz;
/* The devices keep a pointer to this; its region is swapped per run. */
static struct gm gm;
static char disk_path[64];

static int fz_irqfd_new(struct vm *vm, unsigned gsi)
{
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

static int fz_ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, int match, uint64_t dm)
{
	if (!fz.ioeventfds || fz.nioev == NWATCH)
		return -ENOSYS;
	fz.ioev_fd[fz.nioev] = fd;
	fz.ioev_match[fz.nioev++] = dm;
	return 0;
}

static int fz_slot(struct vm *vm, uint64_t *base, uint64_t *size, unsigned *gsi)
{
	*base = 0xd0000000ull;
	*size = VIRTIO_MMIO_WINDOW;
	*gsi = 5;
	return 0;
}

static int fz_cmdline(struct vm *vm, const char *w) { return 0; }
static int fz_publish(struct vm *vm, const struct dev_resource *r) { return 0; }

/* KVM's side of an ioeventfd: a 4-byte QueueNotify write matching a
 * registered datamatch signals that eventfd instead of trapping. */
static bool fz_ioevent(uint64_t off, uint32_t len, uint32_t v)
{
	uint64_t one = 1;

	if (off != VIRTIO_MMIO_QUEUE_NOTIFY || len != 4)
		return false;
	for (unsigned i = 0; i < fz.nioev; i++) {
		if (fz.ioev_match[i] == v) {
			if (write(fz.ioev_fd[i], &one, sizeof(one)) < 0)
				abort();
			return true;
		}
	}
	return false;
}

/* One round of the host's worker over the ready notify eventfds. */
static void fz_loop_once(void)
{
	if (virtio_host_run(fz.h, 0) < 0)
		abort();
}

static uint32_t fz_rd(uint64_t off)
{
	uint32_t v;
	if (bus_read(&fz.mmio, BASE + off, (uint8_t *)&v, 4))
		abort();
	return v;
}

static void fz_wr(uint64_t off, uint32_t v)
{
	if (!fz_ioevent(off, 4, v) && bus_write(&fz.mmio, BASE + off, (const uint8_t *)&v, 4))
		abort();
}

static const uint16_t fz_regs[] = {
	VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_DEVICE_FEATURES, VIRTIO_MMIO_DEVICE_FEATURES_SEL,
	VIRTIO_MMIO_DRIVER_FEATURES, VIRTIO_MMIO_DRIVER_FEATURES_SEL, VIRTIO_MMIO_QUEUE_SEL,
	VIRTIO_MMIO_QUEUE_NUM_MAX, VIRTIO_MMIO_QUEUE_NUM, VIRTIO_MMIO_QUEUE_READY,
	VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_INTERRUPT_ACK,
	VIRTIO_MMIO_STATUS, VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_HIGH,
	VIRTIO_MMIO_QUEUE_DRIVER_LOW, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, VIRTIO_MMIO_QUEUE_DEVICE_LOW,
	VIRTIO_MMIO_QUEUE_DEVICE_HIGH, VIRTIO_MMIO_SHM_SEL, VIRTIO_MMIO_CONFIG_GENERATION,
	VIRTIO_MMIO_CONFIG, VIRTIO_MMIO_CONFIG + 8, VIRTIO_MMIO_WINDOW - 4,
};

static void fz_desc(uint8_t *mem, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };
	memcpy(mem + 16u * i, &d, sizeof(d));
}

/* After a reset, the driver sets the device up by the book (§3.1.1) with
 * one request on queue 0: rng gets 16 writable bytes, blk reads sector 0.
 * Aborts unless the request is used. Rings: desc 0x0, avail 0x1000, used
 * 0x2000, buffers from 0x3000 (the memory is cleared first). */
static void fz_recover(uint8_t *mem, bool is_blk)
{
	const uint32_t ok = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	uint8_t hdr[16] = { VIRTIO_BLK_T_IN };
	uint16_t used_idx;

	memset(mem, 0, MEM);
	if (is_blk) {
		memcpy(mem + 0x3000, hdr, sizeof(hdr));
		fz_desc(mem, 0, 0x3000, 16, VIRTQ_DESC_F_NEXT, 1);
		fz_desc(mem, 1, 0x3100, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
		fz_desc(mem, 2, 0x3400, 1, VIRTQ_DESC_F_WRITE, 0);
		mem[0x3400] = 0xff;
	} else {
		fz_desc(mem, 0, 0x3000, 16, VIRTQ_DESC_F_WRITE, 0);
	}
	mem[0x1002] = 1;  /* avail idx 1, ring[0] = head 0 */
	fz_wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	fz_wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	fz_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fz_wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);  /* VIRTIO_F_VERSION_1 */
	fz_wr(VIRTIO_MMIO_STATUS, ok);
	if (fz_rd(VIRTIO_MMIO_STATUS) != ok)
		abort();
	fz_wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	fz_wr(VIRTIO_MMIO_QUEUE_NUM, 8);
	fz_wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	fz_wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, 0x1000);
	fz_wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0x2000);
	fz_wr(VIRTIO_MMIO_QUEUE_READY, 1);
	fz_wr(VIRTIO_MMIO_STATUS, ok | VIRTIO_STATUS_DRIVER_OK);
	fz_wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	fz_loop_once();
	used_idx = (uint16_t)(mem[0x2002] | mem[0x2003] << 8);
	if (used_idx != 1 || (fz_rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET) ||
	    !(fz_rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_USED) || (is_blk && mem[0x3400] != 0))
		abort();
}

static void fz_init(void)
{
	int fd = memfd_create("fuzz-disk", MFD_CLOEXEC);

	log_level = -1;
	if (fd < 0 || ftruncate(fd, 64 << 10) < 0)
		abort();
	snprintf(disk_path, sizeof(disk_path), "/proc/self/fd/%d", fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The device's ops run here, driven by fz_loop_once: the host's thread
	 * mode without its thread. Jailed (the default since the sandbox) every
	 * activate would go to a device process this harness never starts. */
	static struct vmm_config cfg = { .disable_sandbox = true };
	struct dev_env env = {
		.cfg = &cfg, .gm = &gm, .mmio = &fz.mmio, .irqfd_new = fz_irqfd_new, .ioeventfd = fz_ioeventfd,
		.virtio_slot = fz_slot, .cmdline_add = fz_cmdline, .publish = fz_publish,
	};
	struct blk_opts bo = { .ndisks = 1, .disks = { { .path = disk_path } } };
	struct rng_opts ro = { .on = true };
	void *host;
	bool is_blk;
	size_t nops, body;
	uint8_t *mem;

	if (!disk_path[0])
		fz_init();
	if (size < 2)
		return 0;
	nops = data[1];
	if (size < 2 + 8 * nops)
		nops = (size - 2) / 8;
	body = 2 + 8 * nops;
	memset(&fz, 0, sizeof(fz));
	fz.ioeventfds = data[0] & 2;
	is_blk = data[0] & 1;
	mem = calloc(1, MEM);
	if (!mem)
		abort();
	memcpy(mem, data + body, size - body < MEM ? size - body : MEM);
	gm_init_test(&gm, mem, MEM);
	if (is_blk ? virtio_host_create(&host, &env, &blk_virtio_ops, &bo)
		   : virtio_host_create(&host, &env, &rng_virtio_ops, &ro))
		abort();
	fz.h = virtio_host_instance(host, 0);

	for (size_t i = 0; i < nops; i++) {
		const uint8_t *o = data + 2 + 8 * i;
		uint64_t off = (o[2] & 0x80) ? fz_regs[o[1] % (sizeof(fz_regs) / sizeof(fz_regs[0]))]
					     : (uint64_t)(o[1] | o[2] << 8) & 0x1ff;
		uint32_t len = o[3] % 8 + 1, v;
		uint8_t buf[8];

		memcpy(&v, o + 4, 4);
		memset(buf, 0, sizeof(buf));
		memcpy(buf, o + 4, 4);
		switch (o[0] % 4) {
		case 0:
			bus_read(&fz.mmio, BASE + off, buf, len);
			break;
		case 1:
			if (!fz_ioevent(off, len, v))
				bus_write(&fz.mmio, BASE + off, buf, len);
			break;
		case 2:
			fz_loop_once();
			break;
		case 3:
			off = (uint64_t)(o[1] | o[2] << 8) & (MEM - 4);
			memcpy(mem + off, &v, 4);
			break;
		}
	}
	if (fz_rd(VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC || fz_rd(VIRTIO_MMIO_VERSION) != 2)
		abort();
	fz_wr(VIRTIO_MMIO_STATUS, 0);
	if (fz_rd(VIRTIO_MMIO_STATUS) != 0 || fz_rd(VIRTIO_MMIO_INTERRUPT_STATUS) != 0)
		abort();
	for (uint32_t q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		fz_wr(VIRTIO_MMIO_QUEUE_SEL, q);
		if (fz_rd(VIRTIO_MMIO_QUEUE_READY) != 0)
			abort();
	}
	fz_recover(mem, is_blk);
	fz_wr(VIRTIO_MMIO_STATUS, 0);
	virtio_host_destroy(host);  /* device, transport, irqfd, notify eventfds */
	free(mem);
	return 0;
}
