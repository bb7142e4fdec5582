/* Hand-built split rings (virtio 1.2 §2.7) in a malloc'd "guest memory",
 * shared by the virtq, virtio-blk and virtio-rng unit tests and the fuzz
 * target. The memory is exactly FR_MEM bytes so ASan catches any access
 * past it. Layout: descriptor table at FR_DESC, avail ring at FR_AVAIL, used
 * ring at FR_USED, data from FR_DATA. */
#ifndef TESTS_UNIT_VIRTQ_FAKE_H
#define TESTS_UNIT_VIRTQ_FAKE_H
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/gm.h"
#include "vmm/virtq.h"

#define FR_MEM (1u << 20)
#define FR_DESC 0x1000u
#define FR_AVAIL 0x3000u
#define FR_USED 0x4000u
#define FR_DATA 0x10000u

struct fake_ring {
	uint8_t *mem;
	struct gm gm;
	uint16_t size;
	uint16_t avail_idx;
};

static inline void fr_init(struct fake_ring *r, uint16_t size)
{
	r->mem = calloc(1, FR_MEM);
	gm_init_test(&r->gm, r->mem, FR_MEM);
	r->size = size;
	r->avail_idx = 0;
}

static inline void fr_free(struct fake_ring *r)
{
	free(r->mem);
	r->mem = NULL;
}

static inline struct virtq_config fr_config(const struct fake_ring *r)
{
	return (struct virtq_config){ .size = r->size, .ready = true,
				      .desc = FR_DESC, .avail = FR_AVAIL, .used = FR_USED };
}

/* Write descriptor i of the table at gpa table. */
static inline void fr_desc_in(struct fake_ring *r, uint64_t table, uint16_t i, uint64_t addr,
			      uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };
	memcpy(r->mem + table + 16u * i, &d, 16);
}

static inline void fr_desc(struct fake_ring *r, uint16_t i, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next)
{
	fr_desc_in(r, FR_DESC, i, addr, len, flags, next);
}

static inline void fr_set_avail_idx(struct fake_ring *r, uint16_t idx)
{
	r->avail_idx = idx;
	memcpy(r->mem + FR_AVAIL + 2, &idx, 2);
}

/* Offer chain head to the device. */
static inline void fr_avail(struct fake_ring *r, uint16_t head)
{
	memcpy(r->mem + FR_AVAIL + 4 + 2u * (r->avail_idx % r->size), &head, 2);
	fr_set_avail_idx(r, (uint16_t)(r->avail_idx + 1));
}

/* A driver following VIRTIO_RING_F_EVENT_IDX (§2.7.10, Linux's
 * virtqueue_kick_prepare): offer head, then return whether it notifies the
 * device, i.e. vring_need_event(avail_event, new_idx, old_idx). A device
 * that left avail_event behind never hears of this chain. */
static inline bool fr_avail_notify(struct fake_ring *r, uint16_t head)
{
	uint16_t old = r->avail_idx, event;

	fr_avail(r, head);
	memcpy(&event, r->mem + FR_USED + 4 + 8u * r->size, 2);
	return (uint16_t)(r->avail_idx - event - 1) < (uint16_t)(r->avail_idx - old);
}

static inline void fr_avail_flags(struct fake_ring *r, uint16_t flags)
{
	memcpy(r->mem + FR_AVAIL, &flags, 2);
}

static inline uint16_t fr_used_idx(const struct fake_ring *r)
{
	uint16_t v;
	memcpy(&v, r->mem + FR_USED + 2, 2);
	return v;
}

/* Used element k (k counts from 0, wraps with the ring). */
static inline void fr_used(const struct fake_ring *r, unsigned k, uint32_t *id, uint32_t *len)
{
	memcpy(id, r->mem + FR_USED + 4 + 8u * (k % r->size), 4);
	memcpy(len, r->mem + FR_USED + 8 + 8u * (k % r->size), 4);
}

/* Used element k is chain want_id with want_len bytes written (t.h's
 * CHECK_EQ, so a mismatch names the caller's line). */
#define FR_CHECK_USED(r, k, want_id, want_len) do { \
	uint32_t fr_id_, fr_len_; \
	fr_used((r), (k), &fr_id_, &fr_len_); \
	CHECK_EQ(fr_id_, (want_id)); \
	CHECK_EQ(fr_len_, (want_len)); \
} while (0)
#endif
