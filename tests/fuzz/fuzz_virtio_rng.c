/* libFuzzer target: the virtio-rng device (virtio 1.2 §5.4) driven through
 * rng_virtio_ops as the transport drives it (activate, queue_notify again
 * while it asks for a requeue, reset), on guest memory the fuzzer controls.
 *
 * Input: byte 0 = log2 of the queue size (mod 8: 1..128; 128 is more than the
 * device offers and must be refused), byte 1 = flags (bit 0: INDIRECT_DESC,
 * bit 1: EVENT_IDX negotiated), bytes 2..9 = how many chains the driver adds
 * before each of up to 8 further notifications, then the first 64 KiB of
 * guest RAM: descriptor table at 0x0, avail ring at 0x1000, used ring at
 * 0x2000, buffers from 0x4000. Writable buffers the main table points below
 * 0x4000 are moved up, so the device's random bytes never land on the rings
 * and the ring checks below stay meaningful (indirect tables are not
 * rewritten: with INDIRECT only the memory-safety checks apply).
 *
 * Checks, besides ASan/UBSan: a device that asks to be called again has
 * used at least one chain; at most one ring's worth is used per call; once
 * the device reports NEEDS_RESET it uses no more chains; with EVENT_IDX, a
 * call that ends without a requeue leaves avail_event at the driver's avail
 * index (vring_need_event, §2.7.10: otherwise the driver never notifies
 * again and its next request stalls). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/devices/virtio_rng.h"
#include "tests/fuzz/fuzz_ring.h"
#include "vmm/log.h"
#include "vmm/virtq.h"

#define MEM (64u << 10)
#define DESC 0x0u
#define AVAIL 0x1000u
#define USED 0x2000u
#define DATA 0x4000u
#define ROUNDS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The device keeps a pointer to this; its region is swapped per run. */
static struct gm gm;
static struct rng_dev *rng;
static struct virtio_signal rng_sig = { .irqfd = -1 };  /* the device host's */

/* Keep the main table's writable buffers off the rings (see above). */
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

/* One notification as the transport serves it: queue_notify again while
 * the device asks for it. Aborts when a check above fails. */
static void fz_notify(const uint8_t *mem, unsigned qsize, bool check_event)
{
	struct virtio_signal *sig = &rng_sig;

	for (unsigned calls = 0;; calls++) {
		uint16_t before = fz_le16(mem, USED + 2), used;
		bool broken = sig->needs_reset;

		sig->requeue = 0;
		rng_virtio_ops.queue_notify(rng, 0);
		used = (uint16_t)(fz_le16(mem, USED + 2) - before);
		if (used > qsize || (broken && used))
			abort();
		if (!sig->requeue)
			break;
		if (!used || calls > 1000)
			abort();
	}
	if (check_event && !sig->needs_reset &&
	    fz_le16(mem, USED + 4 + 8u * qsize) != fz_le16(mem, AVAIL + 2))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtq_config c;
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	unsigned qsize;
	uint8_t *mem;

	if (!rng) {
		log_level = -1;
		if (rng_open(&rng, &gm, &rng_sig) < 0)
			abort();
	}
	if (size < 2 + ROUNDS)
		return 0;
	mem = fz_guest_mem(data, size, 2 + ROUNDS, MEM);
	gm_init_test(&gm, mem, MEM);
	qsize = 1u << (data[0] % 8);
	if (data[1] & 1)
		features |= VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	if (data[1] & 2)
		features |= VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	fz_sanitize(mem, qsize < 128 ? qsize : 128);
	fz_put16(mem, USED + 2, 0);  /* the driver starts the used ring at 0 */
	c = (struct virtq_config){ .size = (uint16_t)qsize, .ready = true,
				   .desc = DESC, .avail = AVAIL, .used = USED };
	rng_virtio_ops.reset(rng);
	rng_sig.needs_reset = 0;
	if (rng_virtio_ops.activate(rng, features, &c, 1) == 0) {
		bool check = (features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX)) &&
			     !(features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC));
		fz_notify(mem, qsize, check);
		/* The driver adds more chains (whatever the table holds there)
		 * and notifies again. */
		for (unsigned r = 0; r < ROUNDS && data[2 + r]; r++) {
			fz_put16(mem, AVAIL + 2, (uint16_t)(fz_le16(mem, AVAIL + 2) + data[2 + r] % 8));
			fz_notify(mem, qsize, check);
		}
	} else if (qsize <= 64) {
		/* Only a queue larger than offered (or one the translator
		 * refuses: every ring here lies inside RAM) may fail. */
		abort();
	}
	rng_virtio_ops.reset(rng);
	free(mem);
	return 0;
}
