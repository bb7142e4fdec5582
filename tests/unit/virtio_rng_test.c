/* virtio-rng (virtio 1.2 §5.4): writable buffers come back filled from
 * getrandom, capped per request; malformed rings put it in NEEDS_RESET. */
#include <string.h>

#include "tests/unit/t.h"
#include "tests/unit/virtq_fake.h"
#include "vmm/devices/virtio_rng.h"
#include "vmm/log.h"

static struct fake_ring r;
static struct rng_dev *g;
static struct virtio_signal sig;  /* the device host's, here the test's */

static void start(void)
{
	struct virtq_config c;

	fr_init(&r, 8);
	sig = (struct virtio_signal){ .irqfd = -1 };
	CHECK_EQ(rng_open(&g, &r.gm, &sig), 0);
	c = fr_config(&r);
	CHECK_EQ(rng_virtio_ops.activate(g, VIRTIO_BIT(VIRTIO_F_VERSION_1), &c, 1), 0);
}

static void stop(void)
{
	rng_close(g);
	fr_free(&r);
}

static unsigned zero_bytes(const uint8_t *p, size_t n)
{
	unsigned z = 0;
	for (size_t i = 0; i < n; i++)
		z += !p[i];
	return z;
}

static void fills_buffers(void)
{
	uint32_t id, len;

	start();
	CHECK_EQ(rng_virtio_ops.device_id, 4);
	fr_desc(&r, 0, FR_DATA, 64, VIRTQ_DESC_F_WRITE, 0);
	fr_desc(&r, 1, FR_DATA + 0x100, 32, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	fr_desc(&r, 2, FR_DATA + 0x200, 32, VIRTQ_DESC_F_WRITE, 0);
	fr_avail(&r, 0);
	fr_avail(&r, 1);
	rng_virtio_ops.queue_notify(g, 0);
	CHECK_EQ(fr_used_idx(&r), 2);
	fr_used(&r, 0, &id, &len);
	CHECK_EQ(id, 0);
	CHECK_EQ(len, 64);
	fr_used(&r, 1, &id, &len);
	CHECK_EQ(id, 1);
	CHECK_EQ(len, 64);
	/* 64 random bytes with more than 16 zeros: p < 1e-10. */
	CHECK(zero_bytes(r.mem + FR_DATA, 64) < 16);
	CHECK(zero_bytes(r.mem + FR_DATA + 0x200, 32) < 12);
	/* Two requests never see the same bytes. */
	CHECK(memcmp(r.mem + FR_DATA, r.mem + FR_DATA + 0x100, 32) != 0);
	/* A full ring (8, the per-call budget) is served in one call and no
	 * second call is asked for. */
	for (unsigned i = 0; i < 8; i++)
		fr_avail(&r, 0);
	rng_virtio_ops.queue_notify(g, 0);
	CHECK_EQ(fr_used_idx(&r), 10);
	CHECK_EQ(sig.requeue, 0u);
	/* Bytes outside the buffers are untouched. */
	CHECK_EQ(zero_bytes(r.mem + FR_DATA + 64, 0x100 - 64), 0x100 - 64);
	CHECK(sig.isr & VIRTIO_ISR_USED);
	stop();
}

static void capped_and_readable_skipped(void)
{
	uint32_t id, len;

	start();
	/* A readable buffer first (not for us), then 200 KiB writable. */
	fr_desc(&r, 0, FR_DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	fr_desc(&r, 1, FR_DATA + 0x1000, 200 << 10, VIRTQ_DESC_F_WRITE, 0);
	fr_avail(&r, 0);
	rng_virtio_ops.queue_notify(g, 0);
	fr_used(&r, 0, &id, &len);
	CHECK_EQ(len, RNG_MAX_PER_REQ);
	CHECK_EQ(zero_bytes(r.mem + FR_DATA, 16), 16);
	CHECK(zero_bytes(r.mem + FR_DATA + 0x1000 + RNG_MAX_PER_REQ - 64, 64) < 16);
	CHECK_EQ(zero_bytes(r.mem + FR_DATA + 0x1000 + RNG_MAX_PER_REQ, 4096), 4096);
	stop();
}

/* EVENT_IDX: a notification bringing exactly the budget (a ring's worth)
 * must leave avail_event re-armed, or a driver following vring_need_event
 * never notifies for its next request (§2.7.10). */
static void event_idx_full_ring(void)
{
	struct virtq_config c;

	fr_init(&r, 8);
	sig = (struct virtio_signal){ .irqfd = -1 };
	CHECK_EQ(rng_open(&g, &r.gm, &sig), 0);
	c = fr_config(&r);
	CHECK_EQ(rng_virtio_ops.activate(g, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
					 VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX), &c, 1), 0);
	fr_desc(&r, 0, FR_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	for (unsigned round = 0; round < 3; round++) {
		bool notified = false;
		for (unsigned i = 0; i < 8; i++)
			notified |= fr_avail_notify(&r, 0);
		CHECK(notified);
		rng_virtio_ops.queue_notify(g, 0);
		CHECK_EQ(fr_used_idx(&r), 8 * (round + 1));
	}
	CHECK_EQ(sig.requeue, 0u);
	stop();
}

static void hostile_ring(void)
{
	start();
	fr_desc(&r, 0, FR_MEM - 8, 64, VIRTQ_DESC_F_WRITE, 0);
	fr_avail(&r, 0);
	rng_virtio_ops.queue_notify(g, 0);
	CHECK_EQ(fr_used_idx(&r), 0);
	CHECK_EQ(sig.needs_reset, 1);
	CHECK(sig.isr & VIRTIO_ISR_CONFIG);
	/* Reset + activate: usable again. */
	rng_virtio_ops.reset(g);
	sig.needs_reset = 0;
	struct virtq_config c = fr_config(&r);
	fr_set_avail_idx(&r, 0);
	CHECK_EQ(rng_virtio_ops.activate(g, VIRTIO_BIT(VIRTIO_F_VERSION_1), &c, 1), 0);
	fr_desc(&r, 0, FR_DATA, 8, VIRTQ_DESC_F_WRITE, 0);
	fr_avail(&r, 0);
	rng_virtio_ops.queue_notify(g, 0);
	CHECK_EQ(fr_used_idx(&r), 1);
	/* A queue size above its QueueNumMax is refused at activation. */
	c.size = 128;
	CHECK(rng_virtio_ops.activate(g, VIRTIO_BIT(VIRTIO_F_VERSION_1), &c, 1) < 0);
	stop();
}

int main(void)
{
	t_suite = "virtio_rng";
	log_level = -1;
	RUN(fills_buffers);
	RUN(capped_and_readable_skipped);
	RUN(event_idx_full_ring);
	RUN(hostile_ring);
	return t_done();
}
