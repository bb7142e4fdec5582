#include "vmm/virtq.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "vmm/log.h"

/* Split ring layout (§2.7): avail = {le16 flags, le16 idx, le16 ring[N],
 * le16 used_event}; used = {le16 flags, le16 idx, {le32 id, le32 len}[N],
 * le16 avail_event}. */
#define AVAIL_BYTES(n) (6u + 2u * (n))
#define USED_BYTES(n) (6u + 8u * (n))

static __attribute__((noinline, cold)) int virtq_fail(struct virtq *vq, const char *why, uint64_t v)
{
	vq->broken = true;
	log_guest("%s: driver confused: %s (0x%llx); device needs reset",
		  vq->name ? vq->name : "virtq", why, (unsigned long long)v);
	return -EIO;
}

int virtq_setup(struct virtq *vq, const struct gm *gm, const char *name,
		const struct virtq_config *cfg, uint16_t max_size, bool indirect)
{
	uint16_t n = cfg->size;
	void *d, *a, *u;

	memset(vq, 0, sizeof(*vq));
	vq->gm = gm;
	vq->name = name;
	vq->indirect = indirect;
	/* Free-running 16-bit indices wrap consistently only when the size
	 * divides 65536 (§2.7: Queue Size is a power of 2). */
	if (n == 0 || n > max_size || n > VIRTQ_MAX_SIZE || (n & (n - 1))) {
		virtq_fail(vq, "queue size not a power of 2 within QueueNumMax", n);
		return -EINVAL;
	}
	/* §2.7 Table "Virtqueue Part Alignment": 16, 2, 4. Also what lets us
	 * access the rings with aligned atomics. */
	if ((cfg->desc & 15) || (cfg->avail & 1) || (cfg->used & 3)) {
		virtq_fail(vq, "misaligned ring address", cfg->desc | cfg->avail | cfg->used);
		return -EINVAL;
	}
	d = gm_translate(gm, cfg->desc, 16ull * n);
	a = gm_translate(gm, cfg->avail, AVAIL_BYTES(n));
	u = gm_translate(gm, cfg->used, USED_BYTES(n));
	if (!d || !a || !u) {
		virtq_fail(vq, "ring outside RAM", !d ? cfg->desc : !a ? cfg->avail : cfg->used);
		return -EINVAL;
	}
	vq->size = n;
	vq->desc = d;
	vq->avail = a;
	vq->used = u;
	return 0;
}

/* Copy a descriptor out of guest memory before looking at it: the guest can
 * rewrite it at any time and every check must apply to the value used. */
static void virtq_read_desc(const uint8_t *table, uint16_t i, struct virtq_desc *d)
{
	memcpy(d, table + 16u * i, sizeof(*d));
	__asm__ volatile("" ::: "memory");
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

/* Follow an indirect descriptor d (§2.7.5.3.1): only when negotiated,
 * never nested, never combined with NEXT, whole descriptors. Sets the
 * table to walk and its size; -EIO (queue broken) otherwise. Out of the
 * hot loop: Linux's virtio-blk uses it only for long scatter lists. */
static __attribute__((noinline, cold)) int virtq_enter_indirect(struct virtq *vq, const struct virtq_desc *d, uint16_t i, bool in_indirect,
				const uint8_t **table, unsigned *tsize)
{
	if (!vq->indirect)
		return virtq_fail(vq, "INDIRECT descriptor not negotiated", i);
	if (in_indirect)
		return virtq_fail(vq, "INDIRECT inside an indirect table", i);
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return virtq_fail(vq, "INDIRECT descriptor with NEXT", i);
	if (d->len == 0 || d->len % 16 || d->len / 16 > VIRTQ_MAX_SIZE)
		return virtq_fail(vq, "bad indirect table length", d->len);
	*table = gm_translate(vq->gm, d->addr, d->len);
	if (!*table)
		return virtq_fail(vq, "indirect table outside RAM", d->addr);
	*tsize = d->len / 16;
	return 0;
}

/* The counts live in locals and reach *c once, at the end: the compiler
 * kept them in c before, a store and a reload per descriptor
 * (scripts/bench/blk.sh). On failure *c holds no chain. */
static int virtq_walk(struct virtq *vq, uint16_t head, struct virtq_chain *c)
{
	const uint8_t *table = vq->desc;
	unsigned tsize = vq->size;
	unsigned budget = vq->size;  /* descriptors left before we call it a loop */
	bool in_indirect = false;
	uint16_t i = head;
	unsigned nout = 0, nin = 0;
	uint64_t out_len = 0, in_len = 0;
	struct virtq_desc d;

	c->head = head;
	c->nout = c->nin = 0;
	c->out_len = c->in_len = 0;
	for (;;) {
		void *host;
		unsigned n;

		/* §2.7.5.2: a chain is never longer than the table it lives in;
		 * a descriptor loop runs into this bound too. */
		if (budget-- == 0)
			return virtq_fail(vq, "descriptor chain longer than its table (loop?)", head);
		virtq_read_desc(table, i, &d);
		if (__builtin_expect(d.flags & VIRTQ_DESC_F_INDIRECT, 0)) {
			if (virtq_enter_indirect(vq, &d, i, in_indirect, &table, &tsize) < 0)
				return -EIO;
			budget = tsize;
			in_indirect = true;
			i = 0;
			continue;
		}
		host = gm_translate(vq->gm, d.addr, d.len);
		if (!host)
			return virtq_fail(vq, "buffer outside RAM", d.addr);
		n = nout + nin;
		if (n >= VIRTQ_MAX_SIZE)
			return virtq_fail(vq, "too many buffers in chain", head);
		if (d.flags & VIRTQ_DESC_F_WRITE) {
			nin++;
			in_len += d.len;
		} else {
			/* §2.7.4.2: readable buffers come before writable ones. */
			if (nin)
				return virtq_fail(vq, "readable buffer after a writable one", i);
			nout++;
			out_len += d.len;
		}
		c->seg[n] = (struct virtq_seg){ .host = host, .len = d.len };
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		i = d.next;
		if (i >= tsize)
			return virtq_fail(vq, "next index out of range", i);
	}
	c->nout = nout;
	c->nin = nin;
	c->out_len = out_len;
	c->in_len = in_len;
	return 0;
}

/* avail_event sits after the used ring's elements (§2.7.8). */
static void virtq_publish_avail_event(struct virtq *vq)
{
	if (vq->event_idx)
		__atomic_store_n((uint16_t *)(void *)(vq->used + 4 + 8u * vq->size), htole16(vq->last_avail),
				 __ATOMIC_RELAXED);
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c)
{
	uint16_t avail_idx, pending, head;

	if (vq->broken || !vq->size)
		return -EIO;
	/* avail->idx is read again only once the chains it announced are all
	 * taken (QEMU's shadow_avail_idx): one load of the driver's most
	 * written cache line per batch, not per chain. Every value read is
	 * checked before any chain below it is used. */
	if (vq->avail_known == 0) {
		/* Acquire: ring entries below idx are visible once idx is (§2.7.13). */
		avail_idx = le16toh(__atomic_load_n(&vq->avail[1], __ATOMIC_ACQUIRE));
		pending = (uint16_t)(avail_idx - vq->last_avail);
		if (pending == 0)
			return 0;
		/* The driver can never have more than Queue Size chains
		 * outstanding: a larger jump means its index is garbage (§2.7.6). */
		if (pending > vq->size)
			return virtq_fail(vq, "avail index jumped past queue size", avail_idx);
		vq->avail_known = pending;
	}
	head = le16toh(__atomic_load_n(&vq->avail[2 + (vq->last_avail & (vq->size - 1))],
				       __ATOMIC_RELAXED));
	if (head >= vq->size)
		return virtq_fail(vq, "avail ring head out of range", head);
	if (virtq_walk(vq, head, c) < 0)
		return -EIO;
	vq->last_avail++;
	vq->avail_known--;
	/* Wherever the caller stops popping (ring empty, budget spent, host
	 * work pending), avail_event already names the next chain, so a
	 * driver following vring_need_event notifies for it (§2.7.10); as
	 * QEMU's virtqueue_pop does. Stopping callers still go through
	 * virtq_arm_notify for the fence and the second look. */
	virtq_publish_avail_event(vq);
	return 1;
}

void virtq_unpop(struct virtq *vq, uint16_t n)
{
	if (vq->broken || !vq->size || !n)
		return;
	/* last_avail + avail_known stays the avail->idx last read (and
	 * checked), so the next virtq_pop needs no new read of it. */
	vq->last_avail = (uint16_t)(vq->last_avail - n);
	vq->avail_known = (uint16_t)(vq->avail_known + n);
	virtq_publish_avail_event(vq);
}

void virtq_set_event_idx(struct virtq *vq, bool on)
{
	vq->event_idx = on;
}

bool virtq_has_avail(const struct virtq *vq)
{
	if (vq->broken || !vq->size)
		return false;
	return le16toh(__atomic_load_n(&vq->avail[1], __ATOMIC_ACQUIRE)) != vq->last_avail;
}

bool virtq_arm_notify(struct virtq *vq)
{
	if (vq->broken || !vq->size)
		return false;
	if (vq->event_idx) {
		virtq_publish_avail_event(vq);
		/* The store must be visible before we read avail->idx again,
		 * pairing with the driver's barrier between its idx update and
		 * its avail_event read (§2.7.13.4). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	return virtq_has_avail(vq);
}

static inline __attribute__((always_inline)) void virtq_fill_inline(struct virtq *vq, uint16_t k, uint16_t head, uint32_t written)
{
	uint8_t *elem;
	uint32_t v;

	if (!vq->size || k >= vq->size)
		return;
	elem = vq->used + 4 + 8u * ((uint16_t)(vq->used_idx + k) & (vq->size - 1));
	v = htole32(head);
	memcpy(elem, &v, 4);
	v = htole32(written);
	memcpy(elem + 4, &v, 4);
}

static inline __attribute__((always_inline)) void virtq_flush_inline(struct virtq *vq, uint16_t n)
{
	if (!vq->size || !n)
		return;
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	/* Release: the elements (and the buffers' contents) are visible
	 * before the index (§2.7.8, §2.7.13.3). */
	__atomic_store_n((uint16_t *)(void *)(vq->used + 2), htole16(vq->used_idx), __ATOMIC_RELEASE);
	vq->pushed = true;
}

int virtq_serve(struct virtq *vq, unsigned q, struct virtio_signal *sig, struct virtq_chain *c,
		virtq_handle_fn handle, void *dev)
{
	int rc = 0;

	for (unsigned budget = vq->size;; budget--) {
		uint32_t written = 0;
		int r;

		if (budget == 0) {
			/* Budget spent (the ring's, or the device's own): keep
			 * avail_event current (a stale one would silence the
			 * driver's notifications for good) and come back after
			 * the host served everything else. */
			if (virtq_arm_notify(vq))
				virtio_signal_requeue(sig, q);
			break;
		}
		r = virtq_pop(vq, c);
		if (r == 0) {
			/* Empty: ask for the next notification, unless more
			 * arrived while we were asking. */
			if (virtq_arm_notify(vq))
				continue;
			break;
		}
		if (r < 0) {
			rc = -EIO;
			break;
		}
		r = handle(dev, c, &written);
		virtq_fill_inline(vq, 0, c->head, written);
		virtq_flush_inline(vq, 1);
		if (r < 0) {
			vq->broken = true;
			rc = -EIO;
			break;
		}
		if (r > 0)
			budget = 1;  /* the device's budget: ends the batch at the top */
	}
	if (rc < 0)
		virtio_signal_needs_reset(sig);
	if (virtq_should_signal(vq))
		virtio_signal_used(sig);
	return rc;
}

void virtq_fill(struct virtq *vq, uint16_t k, uint16_t head, uint32_t written)
{
	virtq_fill_inline(vq, k, head, written);
}

void virtq_flush(struct virtq *vq, uint16_t n)
{
	virtq_flush_inline(vq, n);
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
	virtq_fill_inline(vq, 0, head, written);
	virtq_flush_inline(vq, 1);
}

void virtq_log_state(const struct virtq *vq, const char *dev, unsigned q)
{
	if (!vq->size) {
		log_state("%s: queue %u: not set up", dev, q);
		return;
	}
	log_state("%s: queue %u: size %u%s avail idx %u flags %#x, taken %u; used idx %u; pushed %d%s", dev, q,
		  vq->size, vq->broken ? " BROKEN" : "", le16toh(__atomic_load_n(&vq->avail[1], __ATOMIC_ACQUIRE)),
		  le16toh(__atomic_load_n(&vq->avail[0], __ATOMIC_RELAXED)), vq->last_avail, vq->used_idx,
		  vq->pushed, vq->event_idx ? " event_idx" : "");
}

bool virtq_should_signal(struct virtq *vq)
{
	uint16_t flags;

	if (!vq->pushed)
		return false;
	vq->pushed = false;
	/* Order the used->idx store before reading the driver's flags or
	 * used_event, or we could miss an interrupt request made just after
	 * (§2.7.10). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx) {
		/* used_event sits after the avail ring's entries (§2.7.6).
		 * Interrupt when used->idx moved past it since the last check:
		 * (new - event - 1) < (new - old), in 16-bit arithmetic
		 * (§2.7.10.1, the spec's vring_need_event). */
		uint16_t event = le16toh(__atomic_load_n(&vq->avail[2 + vq->size], __ATOMIC_RELAXED));
		uint16_t old = vq->signalled_used, now = vq->used_idx;
		vq->signalled_used = now;
		return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
	}
	flags = le16toh(__atomic_load_n(&vq->avail[0], __ATOMIC_RELAXED));
	return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* Locate byte off of the readable (first nout segments) or writable part:
 * sets *seg and *skip. False when off is at or past the end. */
static bool virtq_chain_seek(const struct virtq_chain *c, bool writable, uint64_t off,
			     unsigned *seg, uint64_t *skip)
{
	unsigned s = writable ? c->nout : 0;
	unsigned end = writable ? c->nout + c->nin : c->nout;

	for (; s < end; s++) {
		if (off < c->seg[s].len) {
			*seg = s;
			*skip = off;
			return true;
		}
		off -= c->seg[s].len;
	}
	return false;
}

static size_t virtq_chain_copy(const struct virtq_chain *c, bool writable, uint64_t off,
			       uint8_t *buf, size_t len)
{
	unsigned s, end = writable ? c->nout + c->nin : c->nout;
	uint64_t skip;
	size_t done = 0;

	if (!len || !virtq_chain_seek(c, writable, off, &s, &skip))
		return 0;
	for (; s < end && done < len; s++, skip = 0) {
		size_t n = c->seg[s].len - skip;
		if (n > len - done)
			n = len - done;
		if (writable)
			memcpy(c->seg[s].host + skip, buf + done, n);
		else
			memcpy(buf + done, c->seg[s].host + skip, n);
		done += n;
	}
	return done;
}

size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst, size_t len)
{
	return virtq_chain_copy(c, false, off, dst, len);
}

size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *src, size_t len)
{
	return virtq_chain_copy(c, true, off, (uint8_t *)src, len);
}

int virtq_chain_iov(const struct virtq_chain *c, bool writable, uint64_t off, uint64_t len,
		    struct iovec *iov, int max)
{
	unsigned s, end = writable ? c->nout + c->nin : c->nout;
	uint64_t skip;
	int n = 0;

	if (len == 0)
		return 0;
	if (!virtq_chain_seek(c, writable, off, &s, &skip))
		return -EINVAL;
	for (; s < end && len; s++, skip = 0) {
		uint64_t take = c->seg[s].len - skip;
		if (take == 0)
			continue;
		if (take > len)
			take = len;
		if (n >= max)
			return -EINVAL;
		iov[n++] = (struct iovec){ .iov_base = c->seg[s].host + skip, .iov_len = take };
		len -= take;
	}
	return len ? -EINVAL : n;
}
