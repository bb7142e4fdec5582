/* The split-ring walker on hand-built rings, friendly and hostile
 * (virtio 1.2 §2.7). Every hostile case must end with the queue broken
 * (the device then reports NEEDS_RESET) or the request refused -- never a
 * crash or an access outside the malloc'd guest memory (ASan). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "tests/unit/t.h"
#include "tests/unit/virtq_fake.h"
#include "vmm/log.h"
#include "vmm/virtq.h"

#define N 8
#define F_NEXT VIRTQ_DESC_F_NEXT
#define F_WRITE VIRTQ_DESC_F_WRITE
#define F_IND VIRTQ_DESC_F_INDIRECT

static struct fake_ring r;
static struct virtq vq;
static struct virtq_chain ch;

static void setup(bool indirect)
{
	struct virtq_config c;

	fr_init(&r, N);
	c = fr_config(&r);
	CHECK_EQ(virtq_setup(&vq, &r.gm, "test queue", &c, 256, indirect), 0);
}

/* One hostile ring: pop fails, the queue stays broken, nothing was used. */
static void expect_broken(void)
{
	CHECK_EQ(virtq_pop(&vq, &ch), -EIO);
	CHECK(vq.broken);
	CHECK_EQ(virtq_pop(&vq, &ch), -EIO);
	CHECK_EQ(fr_used_idx(&r), 0);
}

static void simple_chain(void)
{
	uint32_t id, len;

	setup(false);
	CHECK_EQ(virtq_pop(&vq, &ch), 0);  /* empty */
	fr_desc(&r, 3, FR_DATA, 16, F_NEXT, 5);
	fr_desc(&r, 5, FR_DATA + 0x100, 512, F_NEXT | F_WRITE, 1);
	fr_desc(&r, 1, FR_DATA + 0x400, 1, F_WRITE, 0);
	fr_avail(&r, 3);
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK_EQ(ch.head, 3);
	CHECK_EQ(ch.nout, 1);
	CHECK_EQ(ch.nin, 2);
	CHECK_EQ(ch.out_len, 16);
	CHECK_EQ(ch.in_len, 513);
	CHECK(ch.seg[0].host == r.mem + FR_DATA);
	CHECK(ch.seg[1].host == r.mem + FR_DATA + 0x100);
	CHECK(ch.seg[2].host == r.mem + FR_DATA + 0x400);
	CHECK_EQ(virtq_pop(&vq, &ch), 0);
	virtq_push(&vq, 3, 513);
	CHECK_EQ(fr_used_idx(&r), 1);
	fr_used(&r, 0, &id, &len);
	CHECK_EQ(id, 3);
	CHECK_EQ(len, 513);
	CHECK(virtq_should_signal(&vq));
	CHECK(!virtq_should_signal(&vq));  /* nothing new pushed */
	fr_free(&r);
}

/* virtq_fill/virtq_flush (what virtio-net needs for one frame's buffers,
 * §5.1.6.4.2): filled elements stay invisible (used->idx unchanged) until
 * one flush publishes them all, and they land where pushes would have
 * put them, across the ring's wrap. */
static void fill_then_flush(void)
{
	uint32_t id, len;

	setup(false);
	for (unsigned i = 0; i < N - 2; i++)
		virtq_push(&vq, 0, 1);                 /* used idx N - 2: the next fills wrap */
	CHECK(virtq_should_signal(&vq));
	virtq_fill(&vq, 0, 5, 100);
	virtq_fill(&vq, 1, 6, 200);
	virtq_fill(&vq, 2, 7, 300);
	virtq_fill(&vq, N, 1, 1);                  /* k >= size: ignored */
	CHECK_EQ(fr_used_idx(&r), N - 2);          /* nothing published yet */
	CHECK(!virtq_should_signal(&vq));
	virtq_flush(&vq, 3);
	CHECK_EQ(fr_used_idx(&r), N + 1);
	for (unsigned k = 0; k < 3; k++) {
		fr_used(&r, N - 2 + k, &id, &len);
		CHECK_EQ(id, 5 + k);
		CHECK_EQ(len, 100 * (k + 1));
	}
	CHECK(virtq_should_signal(&vq));
	virtq_flush(&vq, 0);                       /* nothing */
	CHECK_EQ(fr_used_idx(&r), N + 1);
	CHECK(!virtq_should_signal(&vq));
	fr_free(&r);
}

static void has_avail(void)
{
	struct virtq unset;

	setup(false);
	CHECK(!virtq_has_avail(&vq));
	fr_desc(&r, 0, FR_DATA, 8, F_WRITE, 0);
	fr_avail(&r, 0);
	fr_avail(&r, 0);
	CHECK(virtq_has_avail(&vq));
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK(virtq_has_avail(&vq));
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK(!virtq_has_avail(&vq));
	/* A broken queue offers nothing, whatever the ring says. */
	fr_desc(&r, 1, FR_DATA, 8, F_WRITE | F_NEXT, 1);
	fr_avail(&r, 1);
	CHECK(virtq_has_avail(&vq));
	CHECK_EQ(virtq_pop(&vq, &ch), -EIO);
	CHECK(!virtq_has_avail(&vq));
	memset(&unset, 0, sizeof(unset));
	CHECK(!virtq_has_avail(&unset));
	fr_free(&r);
}

static uint16_t used_get_avail_event(void)
{
	uint16_t v;
	memcpy(&v, r.mem + FR_USED + 4 + 8 * N, 2);
	return v;
}

static void avail_set_used_event(uint16_t v)
{
	memcpy(r.mem + FR_AVAIL + 4 + 2 * N, &v, 2);
}

/* §2.7.10: with EVENT_IDX an interrupt is due only when used->idx moves
 * past the driver's used_event; NO_INTERRUPT no longer counts. */
static void event_idx_interrupts(void)
{
	setup(false);
	virtq_set_event_idx(&vq, true);
	fr_desc(&r, 0, FR_DATA, 8, F_WRITE, 0);
	fr_avail_flags(&r, VIRTQ_AVAIL_F_NO_INTERRUPT);  /* ignored with EVENT_IDX */
	avail_set_used_event(0);
	virtq_push(&vq, 0, 8);                 /* used 0 -> 1 crosses event 0 */
	CHECK(virtq_should_signal(&vq));
	virtq_push(&vq, 0, 8);                 /* 1 -> 2: event 0 already passed */
	CHECK(!virtq_should_signal(&vq));
	avail_set_used_event(4);
	virtq_push(&vq, 0, 8);                 /* 2 -> 3 */
	virtq_push(&vq, 0, 8);                 /* 3 -> 4: not past 4 yet */
	CHECK(!virtq_should_signal(&vq));
	virtq_push(&vq, 0, 8);                 /* 4 -> 5 crosses 4 */
	CHECK(virtq_should_signal(&vq));
	/* Wrap-around of the 16-bit indices. */
	vq.used_idx = vq.signalled_used = 0xfffe;
	avail_set_used_event(0xffff);
	virtq_push(&vq, 0, 8);                 /* 0xfffe -> 0xffff */
	CHECK(!virtq_should_signal(&vq));
	virtq_push(&vq, 0, 8);                 /* 0xffff -> 0: crosses 0xffff */
	CHECK(virtq_should_signal(&vq));
	fr_free(&r);
}

/* virtq_arm_notify publishes avail_event = our position (§2.7.7) and
 * reports chains that arrived meanwhile. */
static void event_idx_arm_notify(void)
{
	setup(false);
	virtq_set_event_idx(&vq, true);
	memset(r.mem + FR_USED + 4 + 8 * N, 0xaa, 2);
	CHECK(!virtq_arm_notify(&vq));
	CHECK_EQ(used_get_avail_event(), 0);
	fr_desc(&r, 0, FR_DATA, 8, F_WRITE, 0);
	fr_avail(&r, 0);
	fr_avail(&r, 0);
	CHECK(virtq_arm_notify(&vq));          /* two waiting */
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK(!virtq_arm_notify(&vq));
	CHECK_EQ(used_get_avail_event(), 2);
	fr_free(&r);

	/* Without EVENT_IDX the used ring's tail is not ours to write. */
	setup(false);
	memset(r.mem + FR_USED + 4 + 8 * N, 0xaa, 2);
	CHECK(!virtq_arm_notify(&vq));
	CHECK_EQ(used_get_avail_event(), 0xaaaa);
	fr_free(&r);
}

/* A device may stop popping at any chain (its per-notification budget
 * ends, it stalls on host work): wherever it stops, a driver following
 * vring_need_event must still notify for its next chain (§2.7.10). So every
 * pop publishes avail_event, and a full ring served without ever finding
 * it empty leaves no stale avail_event behind. */
static void event_idx_pop_publishes(void)
{
	setup(false);
	virtq_set_event_idx(&vq, true);
	fr_desc(&r, 0, FR_DATA, 8, F_WRITE, 0);
	CHECK(fr_avail_notify(&r, 0));         /* avail_event 0: the first notifies */
	for (unsigned i = 1; i < N; i++)
		CHECK(!fr_avail_notify(&r, 0)); /* already notified for these */
	for (unsigned i = 0; i < N; i++) {
		CHECK_EQ(virtq_pop(&vq, &ch), 1);
		virtq_push(&vq, 0, 8);
	}
	/* The device stops here without looking at an empty ring. */
	CHECK_EQ(used_get_avail_event(), N);
	CHECK(fr_avail_notify(&r, 0));
	/* Stopping in the middle: the chains still waiting are the device's
	 * to come back for (requeue), so the driver need not notify again. */
	CHECK(!fr_avail_notify(&r, 0));
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK_EQ(used_get_avail_event(), N + 1);
	CHECK(virtq_arm_notify(&vq));          /* one still waiting */
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK(fr_avail_notify(&r, 0));
	fr_free(&r);

	/* Without EVENT_IDX pops leave the used ring's tail alone. */
	setup(false);
	memset(r.mem + FR_USED + 4 + 8 * N, 0xaa, 2);
	fr_desc(&r, 0, FR_DATA, 8, F_WRITE, 0);
	fr_avail(&r, 0);
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK_EQ(used_get_avail_event(), 0xaaaa);
	fr_free(&r);
}

/* ---- virtq_serve: the drain loop every device shares ---- */
static unsigned serve_calls, serve_add_at;
static int serve_ret;

static int serve_handle(void *dev, const struct virtq_chain *c, uint32_t *written)
{
	/* The driver keeps adding while we serve (another vCPU). */
	if (++serve_calls == serve_add_at)
		fr_avail(&r, 0);
	*written = 3;
	return serve_ret;
}

static void serve_setup(struct virtio_signal *s)
{
	setup(false);
	*s = (struct virtio_signal){ .irqfd = -1 };
	serve_calls = serve_add_at = 0;
	serve_ret = 0;
	fr_desc(&r, 0, FR_DATA, 8, F_WRITE, 0);
}

/* One ring's worth per call; when the budget ends with chains waiting,
 * avail_event is still brought up to date (a stale one leaves an EVENT_IDX
 * driver never notifying again) and the host is asked to call again. */
static void serve_budget_rearms_event_idx(void)
{
	struct virtio_signal s;
	uint32_t id, len;

	serve_setup(&s);
	virtq_set_event_idx(&vq, true);
	for (unsigned i = 0; i < N; i++)
		fr_avail(&r, 0);
	serve_add_at = 3;  /* a ninth chain arrives mid-batch */
	CHECK_EQ(virtq_serve(&vq, 2, &s, &ch, serve_handle, NULL), 0);
	CHECK_EQ(serve_calls, N);
	CHECK_EQ(fr_used_idx(&r), N);
	fr_used(&r, 0, &id, &len);
	CHECK_EQ(len, 3);
	CHECK_EQ(used_get_avail_event(), N);
	CHECK_EQ(s.requeue, 1u << 2);
	CHECK(s.isr & VIRTIO_ISR_USED);  /* used_event 0 was crossed */
	/* Called again: the last chain, then armed past it, no requeue. */
	s.requeue = 0;
	CHECK_EQ(virtq_serve(&vq, 2, &s, &ch, serve_handle, NULL), 0);
	CHECK_EQ(serve_calls, N + 1);
	CHECK_EQ(used_get_avail_event(), N + 1);
	CHECK_EQ(s.requeue, 0u);
	/* Nothing waiting: nothing popped, nothing asked. */
	CHECK_EQ(virtq_serve(&vq, 2, &s, &ch, serve_handle, NULL), 0);
	CHECK_EQ(serve_calls, N + 1);
	CHECK_EQ(s.requeue, 0u);
	fr_free(&r);
}

static void serve_stop_and_broken(void)
{
	struct virtio_signal s;

	/* 1: a budget of the device's own is spent; what it took went
	 * back, and the host is asked to come back for the rest. */
	serve_setup(&s);
	fr_avail(&r, 0);
	fr_avail(&r, 0);
	serve_ret = 1;
	CHECK_EQ(virtq_serve(&vq, 3, &s, &ch, serve_handle, NULL), 0);
	CHECK_EQ(serve_calls, 1);
	CHECK_EQ(fr_used_idx(&r), 1);
	CHECK_EQ(s.needs_reset, 0u);
	CHECK_EQ(s.requeue, 1u << 3);
	fr_free(&r);
	/* <0: a confused driver: the chain goes back, the queue is broken
	 * and DEVICE_NEEDS_RESET is signalled. */
	serve_setup(&s);
	fr_avail(&r, 0);
	fr_avail(&r, 0);
	serve_ret = -EIO;
	CHECK_EQ(virtq_serve(&vq, 0, &s, &ch, serve_handle, NULL), -EIO);
	CHECK_EQ(serve_calls, 1);
	CHECK_EQ(fr_used_idx(&r), 1);
	CHECK(vq.broken);
	CHECK_EQ(s.needs_reset, 1u);
	CHECK(s.isr & VIRTIO_ISR_CONFIG);
	fr_free(&r);
	/* A malformed ring: nothing handled, needs reset. */
	serve_setup(&s);
	fr_avail(&r, 200);  /* head out of range */
	CHECK_EQ(virtq_serve(&vq, 0, &s, &ch, serve_handle, NULL), -EIO);
	CHECK_EQ(serve_calls, 0);
	CHECK_EQ(s.needs_reset, 1u);
	fr_free(&r);
}

static void no_interrupt_flag(void)
{
	setup(false);
	fr_desc(&r, 0, FR_DATA, 8, F_WRITE, 0);
	fr_avail(&r, 0);
	fr_avail_flags(&r, VIRTQ_AVAIL_F_NO_INTERRUPT);
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	virtq_push(&vq, 0, 8);
	CHECK(!virtq_should_signal(&vq));
	fr_free(&r);
}

static void full_length_chain_ok(void)
{
	setup(false);
	for (uint16_t i = 0; i < N; i++)
		fr_desc(&r, i, FR_DATA + 64u * i, 64, i + 1 < N ? F_NEXT : 0, (uint16_t)(i + 1));
	fr_avail(&r, 0);
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK_EQ(ch.nout, N);
	CHECK_EQ(ch.out_len, 64 * N);
	fr_free(&r);
}

static void descriptor_loop(void)
{
	setup(false);
	fr_desc(&r, 0, FR_DATA, 16, F_NEXT, 1);
	fr_desc(&r, 1, FR_DATA, 16, F_NEXT, 0);
	fr_avail(&r, 0);
	expect_broken();
	fr_free(&r);
}

static void self_loop(void)
{
	setup(false);
	fr_desc(&r, 2, FR_DATA, 16, F_NEXT, 2);
	fr_avail(&r, 2);
	expect_broken();
	fr_free(&r);
}

static void chain_longer_than_queue(void)
{
	/* Every descriptor chained, the last pointing back to the first:
	 * N + 1 descriptors would be walked. */
	setup(false);
	for (uint16_t i = 0; i < N; i++)
		fr_desc(&r, i, FR_DATA, 16, F_NEXT, (uint16_t)((i + 1) % N));
	fr_avail(&r, 0);
	expect_broken();
	fr_free(&r);
}

static void next_out_of_range(void)
{
	setup(false);
	fr_desc(&r, 0, FR_DATA, 16, F_NEXT, N);
	fr_avail(&r, 0);
	expect_broken();
	fr_free(&r);
}

static void head_out_of_range(void)
{
	setup(false);
	fr_avail(&r, 0xffff);
	expect_broken();
	fr_free(&r);
}

static void buffer_outside_ram(void)
{
	setup(false);
	fr_desc(&r, 0, 0x100000000ull, 16, 0, 0);
	fr_avail(&r, 0);
	expect_broken();
	fr_free(&r);
}

static void buffer_address_wraps(void)
{
	setup(false);
	fr_desc(&r, 0, UINT64_MAX - 15, 64, 0, 0);
	fr_avail(&r, 0);
	expect_broken();
	fr_free(&r);
}

static void length_past_end_of_ram(void)
{
	setup(false);
	fr_desc(&r, 0, FR_MEM - 100, 101, F_WRITE, 0);
	fr_avail(&r, 0);
	expect_broken();
	fr_free(&r);

	/* Exactly to the end is fine. */
	setup(false);
	fr_desc(&r, 0, FR_MEM - 100, 100, F_WRITE, 0);
	fr_avail(&r, 0);
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK(ch.seg[0].host == r.mem + FR_MEM - 100);
	fr_free(&r);

	/* A 4 GiB - 1 length from inside RAM. */
	setup(false);
	fr_desc(&r, 0, FR_DATA, UINT32_MAX, F_WRITE, 0);
	fr_avail(&r, 0);
	expect_broken();
	fr_free(&r);
}

static void indirect_not_negotiated(void)
{
	setup(false);
	fr_desc_in(&r, FR_DATA, 0, FR_DATA + 0x1000, 16, 0, 0);
	fr_desc(&r, 0, FR_DATA, 16, F_IND, 0);
	fr_avail(&r, 0);
	expect_broken();
	fr_free(&r);
}

static void indirect_ok(void)
{
	setup(true);
	/* Table of 3 at FR_DATA: out 16, in 512, in 1, chained out of order. */
	fr_desc_in(&r, FR_DATA, 0, FR_DATA + 0x1000, 16, F_NEXT, 2);
	fr_desc_in(&r, FR_DATA, 2, FR_DATA + 0x2000, 512, F_NEXT | F_WRITE, 1);
	fr_desc_in(&r, FR_DATA, 1, FR_DATA + 0x3000, 1, F_WRITE, 0);
	fr_desc(&r, 4, FR_DATA, 48, F_IND, 0);
	fr_avail(&r, 4);
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK_EQ(ch.head, 4);
	CHECK_EQ(ch.nout, 1);
	CHECK_EQ(ch.nin, 2);
	CHECK_EQ(ch.in_len, 513);
	CHECK(ch.seg[1].host == r.mem + FR_DATA + 0x2000);
	fr_free(&r);
}

static void indirect_after_direct_ok(void)
{
	setup(true);
	fr_desc_in(&r, FR_DATA, 0, FR_DATA + 0x2000, 512, F_WRITE, 0);
	fr_desc(&r, 0, FR_DATA + 0x1000, 16, F_NEXT, 1);
	fr_desc(&r, 1, FR_DATA, 16, F_IND, 0);
	fr_avail(&r, 0);
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK_EQ(ch.nout, 1);
	CHECK_EQ(ch.nin, 1);
	fr_free(&r);
}

static void indirect_nested(void)
{
	setup(true);
	fr_desc_in(&r, FR_DATA + 0x100, 0, FR_DATA + 0x1000, 16, 0, 0);
	fr_desc_in(&r, FR_DATA, 0, FR_DATA + 0x100, 16, F_IND, 0);
	fr_desc(&r, 0, FR_DATA, 16, F_IND, 0);
	fr_avail(&r, 0);
	expect_broken();
	fr_free(&r);
}

static void indirect_with_next(void)
{
	setup(true);
	fr_desc_in(&r, FR_DATA, 0, FR_DATA + 0x1000, 16, 0, 0);
	fr_desc(&r, 0, FR_DATA, 16, F_IND | F_NEXT, 1);
	fr_desc(&r, 1, FR_DATA + 0x1000, 16, 0, 0);
	fr_avail(&r, 0);
	expect_broken();
	fr_free(&r);
}

static void indirect_bad_lengths(void)
{
	static const uint32_t lens[] = { 0, 8, 24, 16 * (VIRTQ_MAX_SIZE + 1) };
	for (unsigned k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		setup(true);
		fr_desc(&r, 0, FR_DATA, lens[k], F_IND, 0);
		fr_avail(&r, 0);
		expect_broken();
		fr_free(&r);
	}
}

static void indirect_table_outside_ram(void)
{
	setup(true);
	fr_desc(&r, 0, FR_MEM - 16, 32, F_IND, 0);
	fr_avail(&r, 0);
	expect_broken();
	fr_free(&r);
}

static void indirect_loop(void)
{
	setup(true);
	fr_desc_in(&r, FR_DATA, 0, FR_DATA + 0x1000, 16, F_NEXT, 1);
	fr_desc_in(&r, FR_DATA, 1, FR_DATA + 0x1000, 16, F_NEXT, 0);
	fr_desc(&r, 0, FR_DATA, 32, F_IND, 0);
	fr_avail(&r, 0);
	expect_broken();
	fr_free(&r);
}

static void indirect_next_out_of_table(void)
{
	setup(true);
	fr_desc_in(&r, FR_DATA, 0, FR_DATA + 0x1000, 16, F_NEXT, 2);  /* table has 2 */
	fr_desc(&r, 0, FR_DATA, 32, F_IND, 0);
	fr_avail(&r, 0);
	expect_broken();
	fr_free(&r);
}

static void zero_length_buffers(void)
{
	/* Allowed by the walker (the device decides what a request means). */
	setup(false);
	fr_desc(&r, 0, FR_DATA, 0, F_NEXT, 1);
	fr_desc(&r, 1, FR_DATA, 0, F_WRITE, 0);
	fr_avail(&r, 0);
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK_EQ(ch.out_len, 0);
	CHECK_EQ(ch.in_len, 0);
	CHECK_EQ(ch.nout + ch.nin, 2);
	/* Nothing to copy from or into them. */
	uint8_t b[4] = { 1, 2, 3, 4 };
	CHECK_EQ(virtq_chain_read(&ch, 0, b, 4), 0);
	CHECK_EQ(virtq_chain_write(&ch, 0, b, 4), 0);
	fr_free(&r);

	/* A zero-length buffer outside RAM is still outside RAM. */
	setup(false);
	fr_desc(&r, 0, 0x7fff00000000ull, 0, 0, 0);
	fr_avail(&r, 0);
	expect_broken();
	fr_free(&r);
}

static void readable_after_writable(void)
{
	setup(false);
	fr_desc(&r, 0, FR_DATA, 16, F_WRITE | F_NEXT, 1);
	fr_desc(&r, 1, FR_DATA, 16, 0, 0);
	fr_avail(&r, 0);
	expect_broken();
	fr_free(&r);
}

static void avail_idx_jump(void)
{
	setup(false);
	fr_desc(&r, 0, FR_DATA, 16, 0, 0);
	fr_set_avail_idx(&r, N + 1);
	expect_broken();
	fr_free(&r);

	/* Exactly N outstanding is legal. */
	setup(false);
	fr_desc(&r, 0, FR_DATA, 16, 0, 0);
	for (unsigned i = 0; i < N; i++)
		fr_avail(&r, 0);
	for (unsigned i = 0; i < N; i++) {
		CHECK_EQ(virtq_pop(&vq, &ch), 1);
		virtq_push(&vq, ch.head, 0);
	}
	CHECK_EQ(virtq_pop(&vq, &ch), 0);
	CHECK_EQ(fr_used_idx(&r), N);
	fr_free(&r);
}

static void index_wraparound(void)
{
	uint32_t id, len;

	setup(false);
	fr_desc(&r, 1, FR_DATA, 16, 0, 0);
	fr_desc(&r, 2, FR_DATA, 16, 0, 0);
	/* Both sides just below 65536. */
	vq.last_avail = 65534;
	vq.used_idx = 65534;
	fr_set_avail_idx(&r, 65534);
	fr_avail(&r, 1);
	fr_avail(&r, 2);
	CHECK_EQ(r.avail_idx, 0);
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK_EQ(ch.head, 1);
	virtq_push(&vq, ch.head, 7);
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK_EQ(ch.head, 2);
	virtq_push(&vq, ch.head, 9);
	CHECK_EQ(virtq_pop(&vq, &ch), 0);
	CHECK_EQ(fr_used_idx(&r), 0);
	fr_used(&r, 65535, &id, &len);
	CHECK_EQ(id, 2);
	CHECK_EQ(len, 9);
	fr_free(&r);
}

/* virtq_unpop: the last chains popped go back to the driver's side of the
 * ring; the next pops take them again from their avail slots, walked
 * afresh (the driver may have changed them meanwhile) but without a new
 * read of avail->idx (the chains were announced by one already checked),
 * and avail_event follows the rewound position (§2.7.10). Across the
 * 16-bit wrap too; nothing on a broken queue. */
static void unpop_gives_back(void)
{
	setup(false);
	virtq_set_event_idx(&vq, true);
	vq.last_avail = 65534;
	fr_set_avail_idx(&r, 65534);
	for (uint16_t i = 0; i < 4; i++) {
		fr_desc(&r, i, FR_DATA + 0x100u * i, 64, F_WRITE, 0);
		fr_avail(&r, i);
	}
	for (uint16_t i = 0; i < 3; i++) {
		CHECK_EQ(virtq_pop(&vq, &ch), 1);
		CHECK_EQ(ch.head, i);
	}
	CHECK_EQ(used_get_avail_event(), 1);
	virtq_unpop(&vq, 2);
	CHECK_EQ(vq.last_avail, 65535);
	CHECK_EQ(used_get_avail_event(), 65535);
	CHECK(virtq_has_avail(&vq));
	fr_desc(&r, 1, FR_DATA + 0x800, 32, F_WRITE, 0);     /* changed meanwhile */
	fr_set_avail_idx(&r, (uint16_t)(r.avail_idx + 1000)); /* garbage, not read yet */
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK_EQ(ch.head, 1);
	CHECK_EQ(ch.in_len, 32);
	CHECK(ch.seg[0].host == r.mem + FR_DATA + 0x800);
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK_EQ(ch.head, 2);
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	CHECK_EQ(ch.head, 3);
	CHECK(!vq.broken);
	/* Given back, a chain is checked like any other. */
	virtq_unpop(&vq, 1);
	fr_desc(&r, 3, FR_MEM - 16, 64, F_WRITE, 0);           /* now past RAM */
	CHECK_EQ(virtq_pop(&vq, &ch), -EIO);
	CHECK(vq.broken);
	CHECK_EQ(vq.last_avail, 1);
	virtq_unpop(&vq, 1);
	CHECK_EQ(vq.last_avail, 1);
	CHECK_EQ(fr_used_idx(&r), 0);
	fr_free(&r);
}

static void setup_rejects(void)
{
	struct virtq_config c;

	fr_init(&r, N);
	c = fr_config(&r);
	c.size = 6;  /* not a power of 2 */
	CHECK_EQ(virtq_setup(&vq, &r.gm, "q", &c, 256, false), -EINVAL);
	c.size = 0;
	CHECK_EQ(virtq_setup(&vq, &r.gm, "q", &c, 256, false), -EINVAL);
	c.size = 512;  /* above QueueNumMax */
	CHECK_EQ(virtq_setup(&vq, &r.gm, "q", &c, 256, false), -EINVAL);
	c = fr_config(&r);
	c.desc = FR_DESC + 8;  /* misaligned */
	CHECK_EQ(virtq_setup(&vq, &r.gm, "q", &c, 256, false), -EINVAL);
	c = fr_config(&r);
	c.used = FR_MEM - 8;  /* used ring runs past RAM */
	CHECK_EQ(virtq_setup(&vq, &r.gm, "q", &c, 256, false), -EINVAL);
	c = fr_config(&r);
	c.avail = UINT64_MAX - 1;
	CHECK_EQ(virtq_setup(&vq, &r.gm, "q", &c, 256, false), -EINVAL);
	/* A queue that failed setup never pops. */
	CHECK_EQ(virtq_pop(&vq, &ch), -EIO);
	c = fr_config(&r);
	CHECK_EQ(virtq_setup(&vq, &r.gm, "q", &c, 256, false), 0);
	fr_free(&r);
}

static void chain_copy_helpers(void)
{
	struct iovec iov[4];
	uint8_t buf[32];

	setup(false);
	memcpy(r.mem + FR_DATA, "abcd", 4);
	memcpy(r.mem + FR_DATA + 0x100, "efghij", 6);
	fr_desc(&r, 0, FR_DATA, 4, F_NEXT, 1);
	fr_desc(&r, 1, FR_DATA + 0x100, 6, F_NEXT, 2);
	fr_desc(&r, 2, FR_DATA + 0x200, 3, F_WRITE | F_NEXT, 3);
	fr_desc(&r, 3, FR_DATA + 0x300, 5, F_WRITE, 0);
	fr_avail(&r, 0);
	CHECK_EQ(virtq_pop(&vq, &ch), 1);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(virtq_chain_read(&ch, 2, buf, 32), 8);
	CHECK(memcmp(buf, "cdefghij", 8) == 0);
	CHECK_EQ(virtq_chain_read(&ch, 10, buf, 1), 0);
	CHECK_EQ(virtq_chain_write(&ch, 1, "XYZW!", 5), 5);
	CHECK(memcmp(r.mem + FR_DATA + 0x201, "XY", 2) == 0);
	CHECK(memcmp(r.mem + FR_DATA + 0x300, "ZW!", 3) == 0);
	CHECK_EQ(virtq_chain_write(&ch, 7, "12", 2), 1);
	CHECK_EQ(virtq_chain_iov(&ch, false, 3, 4, iov, 4), 2);
	CHECK_EQ(iov[0].iov_len, 1);
	CHECK_EQ(iov[1].iov_len, 3);
	CHECK_EQ(virtq_chain_iov(&ch, true, 0, 9, iov, 4), -EINVAL);  /* past the end */
	CHECK_EQ(virtq_chain_iov(&ch, true, 0, 8, iov, 1), -EINVAL);  /* too few entries */
	CHECK_EQ(virtq_chain_iov(&ch, true, 0, 8, iov, 4), 2);
	fr_free(&r);
}

int main(void)
{
	t_suite = "virtq";
	log_level = -1;  /* hostile cases warn by design */
	RUN(simple_chain);
	RUN(fill_then_flush);
	RUN(has_avail);
	RUN(event_idx_interrupts);
	RUN(event_idx_arm_notify);
	RUN(event_idx_pop_publishes);
	RUN(serve_budget_rearms_event_idx);
	RUN(serve_stop_and_broken);
	RUN(no_interrupt_flag);
	RUN(full_length_chain_ok);
	RUN(descriptor_loop);
	RUN(self_loop);
	RUN(chain_longer_than_queue);
	RUN(next_out_of_range);
	RUN(head_out_of_range);
	RUN(buffer_outside_ram);
	RUN(buffer_address_wraps);
	RUN(length_past_end_of_ram);
	RUN(indirect_not_negotiated);
	RUN(indirect_ok);
	RUN(indirect_after_direct_ok);
	RUN(indirect_nested);
	RUN(indirect_with_next);
	RUN(indirect_bad_lengths);
	RUN(indirect_table_outside_ram);
	RUN(indirect_loop);
	RUN(indirect_next_out_of_table);
	RUN(zero_length_buffers);
	RUN(readable_after_writable);
	RUN(avail_idx_jump);
	RUN(index_wraparound);
	RUN(unpop_gives_back);
	RUN(setup_rejects);
	RUN(chain_copy_helpers);
	return t_done();
}
