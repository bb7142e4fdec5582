/* Split virtqueues (virtio 1.2 §2.7), the device side, shared by every
 * virtio device. The guest driver owns the rings and may change them at any
 * moment, so everything read from them is hostile: ring areas are translated
 * and alignment-checked once at setup, every descriptor is copied before it
 * is checked, every buffer goes through gm_translate, chain walks stop after
 * one table's worth of descriptors (which also ends descriptor loops), and
 * INDIRECT (§2.7.5.3) is honoured only when negotiated and never nested.
 * Anything malformed marks the queue broken; the device then reports
 * DEVICE_NEEDS_RESET (§2.1.2) and stops using it until reset.
 *
 * Ownership: a struct virtq holds no resources (pointers into guest memory
 * only). Not thread-safe: one thread drives a queue at a time. */
#ifndef VMM_VIRTQ_H
#define VMM_VIRTQ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/gm.h"
#include "vmm/virtio.h"

/* §2.7.5 The Virtqueue Descriptor Table. */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
/* §2.7.6 The Virtqueue Available Ring. */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq {
	const struct gm *gm;
	const char *name;          /* for warnings: "vda queue 0" */
	uint16_t size;             /* power of 2, <= VIRTQ_MAX_SIZE */
	bool indirect;             /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool broken;               /* malformed ring seen: no more processing */
	const uint8_t *desc;       /* size * 16 bytes of guest memory */
	uint16_t *avail;           /* flags, idx, ring[size] (+ used_event) */
	uint8_t *used;             /* flags, idx, ring[size] of {id, len} */
	uint16_t last_avail;       /* next avail ring slot to consume */
	uint16_t avail_known;      /* chains the last avail->idx read (and checked)
				    * announced that virtq_pop has not taken */
	uint16_t used_idx;         /* our copy of used->idx, never read back */
	bool pushed;               /* used entries added since virtq_should_signal */
	bool event_idx;            /* VIRTIO_RING_F_EVENT_IDX negotiated */
	uint16_t signalled_used;   /* used_idx at the last virtq_should_signal */
};

/* One buffer of a chain, already translated. */
struct virtq_seg {
	uint8_t *host;
	uint32_t len;
};

/* A popped descriptor chain: the device-readable segments first (nout of
 * them, out_len bytes), then the device-writable ones (nin, in_len). */
struct virtq_chain {
	uint16_t head;
	unsigned nout, nin;
	uint64_t out_len, in_len;
	struct virtq_seg seg[VIRTQ_MAX_SIZE];
};

/* Validate and translate a queue the driver configured: size a power of 2
 * up to max_size, ring areas aligned (§2.7: 16/2/4) and entirely in RAM.
 * 0 or -EINVAL (with a rate-limited warning naming the problem). */
int virtq_setup(struct virtq *vq, const struct gm *gm, const char *name,
		const struct virtq_config *cfg, uint16_t max_size, bool indirect);

/* VIRTIO_RING_F_EVENT_IDX (§2.7.7, §2.7.10) was negotiated: interrupts
 * follow the driver's used_event and virtq_arm_notify publishes avail_event.
 * Call after virtq_setup. */
void virtq_set_event_idx(struct virtq *vq, bool on);

/* Take the next available chain. 1: *c filled; 0: ring empty; -EIO: the
 * ring is malformed (queue now broken, warning logged). A chain that was
 * taken must be given back with virtq_push. */
int virtq_pop(struct virtq *vq, struct virtq_chain *c);

/* Give back the last n chains virtq_pop took, unused: the next virtq_pop
 * takes them again, from their avail slots, walking and checking them
 * afresh (they stay the driver's buffers until used, so it may have
 * changed them). For a device that must take buffers before it knows how
 * many it needs: virtio-net reading a frame straight into receive buffers
 * (§5.1.6.4). §2.6: a device "is not generally required to use buffers
 * in the same order in which they have been made available". avail_event
 * follows the rewound position (§2.7.10). The caller must not have pushed
 * any of the n chains, nor any chain popped after them, and n must not
 * exceed the chains popped since virtq_setup: the avail index is only
 * rewound, so a chain pushed in between would be taken and used twice. */
void virtq_unpop(struct virtq *vq, uint16_t n);

/* True when the driver has made chains available that virtq_pop has not
 * taken yet. False for a broken or unconfigured queue. */
bool virtq_has_avail(const struct virtq *vq);

/* Call whenever the caller stops popping: the ring was empty, or its
 * per-notification budget ended. With EVENT_IDX, asks the driver to notify
 * for the next chain (avail_event = our position; virtq_pop keeps it there
 * too), then looks again after a full fence. True when chains are waiting
 * -- the driver may have seen the old avail_event and not notified, so the
 * caller must keep popping, or requeue (virtio_signal_requeue) when its
 * budget is spent. Without EVENT_IDX it only looks again. */
bool virtq_arm_notify(struct virtq *vq);

/* Return chain head to the driver with `written` bytes written into its
 * device-writable part (§2.7.8). */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t written);

/* Chains the driver must see used together (virtio-net's mergeable
 * receive buffers, §5.1.6.4.2: "at least num_buffers are observed by
 * driver as used"): virtq_fill writes used element k (< size) after the
 * last published one without publishing it; virtq_flush then publishes
 * the next n elements with one release store of used->idx (§2.7.8).
 * virtq_push is virtq_fill(vq, 0, ...) and virtq_flush(vq, 1). */
void virtq_fill(struct virtq *vq, uint16_t k, uint16_t head, uint32_t written);
void virtq_flush(struct virtq *vq, uint16_t n);

/* After a batch: true when chains were pushed since the last call and the
 * driver wants an interrupt: VIRTQ_AVAIL_F_NO_INTERRUPT clear or, with
 * EVENT_IDX, used->idx moved past the driver's used_event (§2.7.10). */
bool virtq_should_signal(struct virtq *vq);

/* A device's work on one chain taken by virtq_serve: set *written to the
 * bytes written into the chain's writable part. Returns 0 (next chain), 1
 * (stop for now: a budget of the device's own is spent; the host calls
 * again if chains wait) or -errno (the request shows a confused driver: the
 * queue is broken). The chain is pushed back in every case. */
typedef int (*virtq_handle_fn)(void *dev, const struct virtq_chain *c, uint32_t *written);

/* The drain loop every queue-driven device shares, for one notification of
 * queue q (< 32): pop chains and hand each to handle, at most one ring's
 * worth (so a driver refilling as fast as we serve cannot keep the thread
 * to itself), then interrupt once for the batch if the driver wants it.
 * Whenever it stops with the ring empty or with the budget spent it
 * publishes avail_event (EVENT_IDX, §2.7.10) so the driver's next
 * notification comes, and when chains are still waiting it asks the host
 * to call again (virtio_signal_requeue). A malformed ring or request marks
 * the queue broken and signals DEVICE_NEEDS_RESET. c is scratch space for
 * one chain (large: keep it in the device). Returns 0 or -EIO (broken). */
int virtq_serve(struct virtq *vq, unsigned q, struct virtio_signal *sig, struct virtq_chain *c,
		virtq_handle_fn handle, void *dev);

/* Log "<dev>: queue <q>: ..." with the queue's state for diagnostics
 * (SIGUSR2 dumps): our positions and what the driver's ring shows now.
 * Call under whatever lock guards the queue. */
void virtq_log_state(const struct virtq *vq, const char *dev, unsigned q);

/* Copy len bytes at offset off of the chain's readable part into dst.
 * Returns the bytes copied (less than len when the part is shorter). */
size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst, size_t len);
/* Copy into the writable part at offset off. Returns the bytes copied. */
size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *src, size_t len);
/* Fill iov (at most max entries) with [off, off+len) of the readable
 * (writable=false) or writable part. Returns the entry count, or -EINVAL
 * when the range is not inside the part or needs more than max entries. */
int virtq_chain_iov(const struct virtq_chain *c, bool writable, uint64_t off, uint64_t len,
		    struct iovec *iov, int max);
#endif
