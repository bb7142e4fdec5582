/* Category T: split-ring attacks (virtio 1.2 §2.7), each run against one
 * device's queue, chosen by the scenario's argument: DEV_RNG (queue 0),
 * DEV_BLK (queue 0), DEV_VSOCK (the tx queue), DEV_NET (transmitq1, queue 1;
 * flag n). vmm's shared ring code
 * (vmm/virtq.c) must turn every malformed ring into DEVICE_NEEDS_RESET
 * (REJECT) and serve every well-formed one (PASS). */
#include "hostile_target.h"

#define POLLS_SHORT 3000u
#define IND_DEF 0xffffffffu  /* the table's real length */

bool tgt_up(struct target *t, unsigned dev, uint64_t features)
{
	static const uint32_t ids[] = { ID_RNG, ID_BLK, ID_VSOCK, ID_NET };
	unsigned nq = dev == DEV_VSOCK ? 3 : dev == DEV_NET ? 2 : 1;

	t->dev = dev;
	if (!hv_up(&t->d, ids[dev], F_VERSION_1 | features, t->q, nq, TGT_QSIZE))
		return false;
	t->aq = dev == DEV_VSOCK || dev == DEV_NET ? &t->q[1] : &t->q[0];
	if (dev == DEV_VSOCK || dev == DEV_NET) {
		/* rx buffers, so the device can answer (vsock's RSTs; for net
		 * whatever the host's stack sends, recycled by the storms). */
		for (unsigned i = 0; i < TGT_QSIZE; i++) {
			hq_desc(&t->q[0], i, TGT_RX + 0x1000ull * i, 0x1000, D_WRITE, 0);
			hq_post(&t->q[0], (uint16_t)i);
		}
		hq_kick(&t->q[0]);
	}
	return true;
}

/* A vsock packet header at a (REQUEST to host port 9 unless changed). */
void vs_hdr(uint64_t a, uint16_t op, uint32_t sport, uint32_t dport, uint32_t len)
{
	fill(a, 0, VS_HDR);
	put64(a, VS_CID);
	put64(a + 8, VS_HOST);
	put32(a + 16, sport);
	put32(a + 20, dport);
	put32(a + 24, len);
	put16(a + 28, 1);
	put16(a + 30, op);
	put32(a + 36, 0x10000);
}

/* The buffers of a well-formed request for t's device, as a list: rng one
 * writable buffer; blk header, one data sector (device-writable, a read of
 * sector 0) and the status byte; vsock one readable REQUEST header. */
unsigned tgt_bufs(const struct target *t, struct tbuf *b)
{
	switch (t->dev) {
	case DEV_RNG:
		b[0] = (struct tbuf){ TGT_BUF, 64, D_WRITE };
		return 1;
	case DEV_BLK:
		put32(TGT_BUF, 0);
		put32(TGT_BUF + 4, 0);
		put64(TGT_BUF + 8, 0);
		b[0] = (struct tbuf){ TGT_BUF, 16, 0 };
		b[1] = (struct tbuf){ TGT_BUF + 0x1000, 512, D_WRITE };
		b[2] = (struct tbuf){ TGT_BUF + 0x800, 1, D_WRITE };
		return 3;
	case DEV_NET:
		/* virtio_net_hdr_v1 (12 bytes, no offloads) + a 60-byte frame. */
		net_frame(TGT_BUF, 60, NET_ETH_TEST);
		b[0] = (struct tbuf){ TGT_BUF, VNET_HDR + 60, 0 };
		return 1;
	default:
		vs_hdr(TGT_BUF, 1, 2000, 9, 0);
		b[0] = (struct tbuf){ TGT_BUF, VS_HDR, 0 };
		return 1;
	}
}

/* Write bufs as a chain at descriptors first, first+1, ...; returns the
 * head. */
uint16_t tgt_chain_at(const struct target *t, const struct tbuf *b, unsigned n, unsigned first)
{
	for (unsigned i = 0; i < n; i++)
		hq_desc(t->aq, first + i, b[i].addr, b[i].len, (uint16_t)(b[i].flags | (i + 1 < n ? D_NEXT : 0)),
			(uint16_t)(first + i + 1));
	return (uint16_t)first;
}

uint16_t tgt_chain(const struct target *t)
{
	struct tbuf b[4];
	unsigned n = tgt_bufs(t, b);
	return tgt_chain_at(t, b, n, 0);
}

int tgt_fire(struct target *t, uint16_t head)
{
	hq_post(t->aq, head);
	hq_kick(t->aq);
	hq_wait(t->aq, GUEST_POLL_MAX);
	return hv_verdict(&t->d);
}

/* Bring the device up or report why not. */
#define UP(t, dev, feat) do { if (!tgt_up((t), (dev), (feat))) return R_BAD; } while (0)

int t_avail_jump(unsigned dev)
{
	struct target t;
	UP(&t, dev, 0);
	tgt_chain(&t);
	put16(t.aq->avail + 2, TGT_QSIZE + 1);  /* more chains than the ring holds */
	hq_kick(t.aq);
	hq_wait(t.aq, GUEST_POLL_MAX);
	return hv_verdict(&t.d);
}

int t_avail_ffff(unsigned dev)
{
	struct target t;
	UP(&t, dev, 0);
	tgt_chain(&t);
	put16(t.aq->avail + 2, 0xffff);
	hq_kick(t.aq);
	hq_wait(t.aq, GUEST_POLL_MAX);
	return hv_verdict(&t.d);
}

/* A served chain, then the index moves backwards. */
int t_avail_back(unsigned dev)
{
	struct target t;
	UP(&t, dev, 0);
	uint16_t h = tgt_chain(&t);
	hq_post(t.aq, h);
	hq_kick(t.aq);
	uint32_t id, len;
	if (!hq_wait(t.aq, GUEST_POLL_MAX) || !hq_used(t.aq, &id, &len))
		return hv_bad("a well-formed chain was not served");
	put16(t.aq->avail + 2, 0);
	hq_kick(t.aq);
	hq_wait(t.aq, GUEST_POLL_MAX);
	return hv_verdict(&t.d);
}

int t_head_oob(unsigned dev)
{
	struct target t;
	UP(&t, dev, 0);
	tgt_chain(&t);
	return tgt_fire(&t, TGT_QSIZE);
}

int t_head_ffff(unsigned dev)
{
	struct target t;
	UP(&t, dev, 0);
	tgt_chain(&t);
	return tgt_fire(&t, 0xffff);
}

int t_next_oob(unsigned dev)
{
	struct target t;
	struct tbuf b[4];
	UP(&t, dev, 0);
	unsigned n = tgt_bufs(&t, b);
	tgt_chain_at(&t, b, n, 0);
	put16(t.aq->desc + 16ull * (n - 1) + 12, (uint16_t)(b[n - 1].flags | D_NEXT));
	put16(t.aq->desc + 16ull * (n - 1) + 14, TGT_QSIZE + 3);
	return tgt_fire(&t, 0);
}

int t_loop_self(unsigned dev)
{
	struct target t;
	struct tbuf b[4];
	UP(&t, dev, 0);
	tgt_bufs(&t, b);
	hq_desc(t.aq, 0, b[0].addr, b[0].len, (uint16_t)(b[0].flags | D_NEXT), 0);
	return tgt_fire(&t, 0);
}

int t_loop_pair(unsigned dev)
{
	struct target t;
	struct tbuf b[4];
	UP(&t, dev, 0);
	tgt_bufs(&t, b);
	/* Readable before writable holds on every lap for blk's header. */
	hq_desc(t.aq, 0, b[0].addr, b[0].len, (uint16_t)(b[0].flags | D_NEXT), 1);
	hq_desc(t.aq, 1, b[0].addr, b[0].len, (uint16_t)(b[0].flags | D_NEXT), 0);
	return tgt_fire(&t, 0);
}

/* Replace buffer k (the data buffer where there is one) by addr/len. */
static int tgt_bad_buf(unsigned dev, uint64_t addr, uint32_t len)
{
	struct target t;
	struct tbuf b[4];
	UP(&t, dev, 0);
	unsigned n = tgt_bufs(&t, b);
	unsigned k = n > 1 ? 1 : 0;
	b[k].addr = addr;
	b[k].len = len;
	tgt_chain_at(&t, b, n, 0);
	return tgt_fire(&t, 0);
}

int t_buf_past_ram(unsigned dev) { return tgt_bad_buf(dev, RAM_END, 512); }
int t_buf_straddle_ram(unsigned dev) { return tgt_bad_buf(dev, RAM_END - 256, 512); }
int t_buf_wrap(unsigned dev) { return tgt_bad_buf(dev, 0xfffffffffffffe00ull, 0x400); }
int t_buf_mmio(unsigned dev) { return tgt_bad_buf(dev, MMIO_BASE, 512); }
int t_buf_len_huge(unsigned dev) { return tgt_bad_buf(dev, DATA, 0xffffffffu); }
int t_buf_high(unsigned dev) { return tgt_bad_buf(dev, 0x100000000ull, 512); }

/* A device-readable buffer after a device-writable one (§2.7.4.2). */
int t_rw_order(unsigned dev)
{
	struct target t;
	UP(&t, dev, 0);
	hq_desc(t.aq, 0, TGT_BUF + 0x1000, 64, D_WRITE | D_NEXT, 1);
	hq_desc(t.aq, 1, TGT_BUF, 64, 0, 0);
	return tgt_fire(&t, 0);
}

/* An indirect table at TGT_IND holding the well-formed chain; the head
 * descriptor points at it with len/flags as given. */
static int tgt_indirect(unsigned dev, uint64_t features, uint64_t table, uint32_t len, uint16_t flags,
			void (*mangle)(uint64_t table, unsigned n))
{
	struct target t;
	struct tbuf b[4];
	UP(&t, dev, features);
	unsigned n = tgt_bufs(&t, b);
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = TGT_IND + 16ull * i;
		put64(a, b[i].addr);
		put32(a + 8, b[i].len);
		put16(a + 12, (uint16_t)(b[i].flags | (i + 1 < n ? D_NEXT : 0)));
		put16(a + 14, (uint16_t)(i + 1));
	}
	if (mangle)
		mangle(TGT_IND, n);
	hq_desc(t.aq, 0, table, len == IND_DEF ? 16 * n : len, flags, 1);
	hq_desc(t.aq, 1, TGT_IND, 16 * n, D_INDIRECT, 0);
	return tgt_fire(&t, 0);
}

static void ind_nest(uint64_t table, unsigned n)
{
	put16(table + 12, D_INDIRECT);
	put32(table + 8, 16);
}

static void ind_loop(uint64_t table, unsigned n)
{
	put16(table + 16ull * (n - 1) + 12, (uint16_t)(get16(table + 16ull * (n - 1) + 12) | D_NEXT));
	put16(table + 16ull * (n - 1) + 14, 0);
	if (n == 1)
		put16(table + 12, (uint16_t)(get16(table + 12) | D_NEXT));
}

static void ind_next_oob(uint64_t table, unsigned n)
{
	put16(table + 16ull * (n - 1) + 12, (uint16_t)(get16(table + 16ull * (n - 1) + 12) | D_NEXT));
	put16(table + 16ull * (n - 1) + 14, (uint16_t)n);
}

int t_ind_unneg(unsigned dev) { return tgt_indirect(dev, 0, TGT_IND, IND_DEF, D_INDIRECT, NULL); }
int t_ind_ok(unsigned dev) { return tgt_indirect(dev, F_INDIRECT, TGT_IND, IND_DEF, D_INDIRECT, NULL); }
int t_ind_nested(unsigned dev) { return tgt_indirect(dev, F_INDIRECT, TGT_IND, IND_DEF, D_INDIRECT, ind_nest); }
int t_ind_next(unsigned dev) { return tgt_indirect(dev, F_INDIRECT, TGT_IND, IND_DEF, D_INDIRECT | D_NEXT, NULL); }
int t_ind_len0(unsigned dev) { return tgt_indirect(dev, F_INDIRECT, TGT_IND, 0, D_INDIRECT, NULL); }
int t_ind_len_odd(unsigned dev) { return tgt_indirect(dev, F_INDIRECT, TGT_IND, 20, D_INDIRECT, NULL); }
int t_ind_past_ram(unsigned dev) { return tgt_indirect(dev, F_INDIRECT, RAM_END - 16, 64, D_INDIRECT, NULL); }
int t_ind_huge(unsigned dev) { return tgt_indirect(dev, F_INDIRECT, TGT_IND, 16 * 257, D_INDIRECT, NULL); }
int t_ind_loop(unsigned dev) { return tgt_indirect(dev, F_INDIRECT, TGT_IND, IND_DEF, D_INDIRECT, ind_loop); }
int t_ind_next_oob(unsigned dev) { return tgt_indirect(dev, F_INDIRECT, TGT_IND, IND_DEF, D_INDIRECT, ind_next_oob); }

/* The longest legal chain: every descriptor of the table. The last
 * buffer grows so blk's data stays a whole sector multiple (a read of
 * sector 0..), the header of vsock is spread over single bytes. */
int t_chain_max(unsigned dev)
{
	struct target t;
	UP(&t, dev, 0);
	struct tbuf b[4];
	unsigned n = tgt_bufs(&t, b), k = 0;
	if (dev == DEV_RNG) {
		for (; k < TGT_QSIZE; k++)
			hq_desc(t.aq, k, TGT_BUF + 0x1000ull * k, 8, (uint16_t)(D_WRITE | (k + 1 < TGT_QSIZE ? D_NEXT : 0)),
				(uint16_t)(k + 1));
	} else if (dev == DEV_BLK) {
		hq_desc(t.aq, 0, b[0].addr, 16, D_NEXT, 1);
		for (k = 1; k < TGT_QSIZE - 1; k++)
			hq_desc(t.aq, k, TGT_BUF + 0x1000ull * k, 512, D_WRITE | D_NEXT, (uint16_t)(k + 1));
		hq_desc(t.aq, k, b[2].addr, 1, D_WRITE, 0);
	} else {
		(void)n;
		for (; k < TGT_QSIZE; k++) {
			uint32_t len = k + 1 < TGT_QSIZE ? 4 : VS_HDR - 4 * (TGT_QSIZE - 1);
			hq_desc(t.aq, k, TGT_BUF + 4ull * k, len, k + 1 < TGT_QSIZE ? D_NEXT : 0, (uint16_t)(k + 1));
		}
	}
	hq_post(t.aq, 0);
	hq_kick(t.aq);
	if (!hq_wait(t.aq, GUEST_POLL_MAX))
		return hv_bad("the longest legal chain was not served");
	uint32_t id, len;
	hq_used(t.aq, &id, &len);
	if (id != 0)
		return hv_bad("used ring names a head that was never made available");
	if (dev == DEV_RNG && len > 8 * TGT_QSIZE)
		return hv_bad("rng wrote more than the chain holds");
	if (dev == DEV_BLK && (len != 512 * (TGT_QSIZE - 2) + 1 || get8(b[2].addr) != 0 ||
			       !same(TGT_BUF + 0x1000, DISK_MARKER, DISK_MARKER_LEN)))
		return hv_bad("blk read over a long chain went wrong");
	return hv_verdict(&t.d);
}

/* A zero-length buffer inside a chain is legal (and useless). */
int t_zero_len(unsigned dev)
{
	struct target t;
	struct tbuf b[4];
	UP(&t, dev, 0);
	unsigned n = tgt_bufs(&t, b);
	b[n] = b[n - 1];
	b[n - 1] = (struct tbuf){ TGT_BUF + 0x3000, 0, b[n - 1].flags };
	tgt_chain_at(&t, b, n + 1, 0);
	return tgt_fire(&t, 0);
}

/* Ring areas the transport must refuse at DRIVER_OK (§2.7 alignment, RAM). */
static int tgt_ring_at(unsigned dev, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used)
{
	struct hdev d;
	static const uint32_t ids[] = { ID_RNG, ID_BLK, ID_VSOCK, ID_NET };
	if (!hv_find(&d, ids[dev]) || !hv_start(&d, F_VERSION_1))
		return hv_bad("device did not start");
	for (unsigned q = 0; q < (dev == DEV_VSOCK ? 3u : dev == DEV_NET ? 2u : 1u); q++) {
		hv_wr(&d, R_QUEUE_SEL, q);
		hv_wr(&d, R_QUEUE_NUM, size);
		hv_wr(&d, R_DESC_LO, (uint32_t)desc);
		hv_wr(&d, R_DESC_HI, (uint32_t)(desc >> 32));
		hv_wr(&d, R_AVAIL_LO, (uint32_t)avail);
		hv_wr(&d, R_AVAIL_HI, (uint32_t)(avail >> 32));
		hv_wr(&d, R_USED_LO, (uint32_t)used);
		hv_wr(&d, R_USED_HI, (uint32_t)(used >> 32));
		hv_wr(&d, R_QUEUE_READY, 1);
	}
	hv_driver_ok(&d);
	/* Whatever the device took, notifying must not hurt it. */
	hv_wr(&d, R_QUEUE_NOTIFY, 0);
	return hv_verdict(&d);
}

#define RQ QMEM(7, 0)
int t_ring_desc_past_ram(unsigned dev) { return tgt_ring_at(dev, 8, RAM_END - 64, RQ + 0x1000, RQ + 0x2000); }
int t_ring_avail_past_ram(unsigned dev) { return tgt_ring_at(dev, 8, RQ, RAM_END - 4, RQ + 0x2000); }
int t_ring_used_wrap(unsigned dev) { return tgt_ring_at(dev, 8, RQ, RQ + 0x1000, 0xfffffffffffffff0ull); }
int t_ring_desc_misaligned(unsigned dev) { return tgt_ring_at(dev, 8, RQ + 8, RQ + 0x1000, RQ + 0x2000); }
int t_ring_used_misaligned(unsigned dev) { return tgt_ring_at(dev, 8, RQ, RQ + 0x1000, RQ + 0x2002); }
int t_qsize_3(unsigned dev) { return tgt_ring_at(dev, 3, RQ, RQ + 0x1000, RQ + 0x2000); }
int t_qsize_0(unsigned dev) { return tgt_ring_at(dev, 0, RQ, RQ + 0x1000, RQ + 0x2000); }
int t_qsize_huge(unsigned dev) { return tgt_ring_at(dev, 0x8000, RQ, RQ + 0x1000, RQ + 0x2000); }
/* All three areas on top of each other: legal addresses, nonsense ring. */
int t_ring_overlap(unsigned dev) { return tgt_ring_at(dev, 8, RQ, RQ, RQ); }

/* vring_need_event (§2.7.10): notify when new passed the device's event. */
static bool need_event(uint16_t event, uint16_t now, uint16_t old)
{
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

/* EVENT_IDX driven like Linux does it: notify only when avail_event says
 * so. A device that serves a full ring and does not re-arm avail_event
 * never hears of the next chain (the audit's stall). rounds chains in all,
 * posted in bursts of burst. */
static int tgt_eidx(unsigned dev, unsigned rounds, unsigned burst)
{
	struct target t;
	UP(&t, dev, F_EVENT_IDX);
	struct tbuf b[4];
	unsigned n = tgt_bufs(&t, b);
	for (unsigned k = 0; k < TGT_QSIZE / n; k++)
		tgt_chain_at(&t, b, n, k * n);
	unsigned heads = TGT_QSIZE / n, done = 0;
	/* Ask for no interrupts: we poll (used_event far behind). */
	put16(hq_used_event(t.aq), 0x8000);
	while (done < rounds) {
		unsigned m = burst < heads ? burst : heads;
		uint16_t old = t.aq->aidx;
		for (unsigned k = 0; k < m; k++)
			hq_post(t.aq, (uint16_t)(k * n));
		__asm__ volatile("mfence" ::: "memory");
		if (need_event(get16(hq_avail_event(t.aq)), t.aq->aidx, old))
			hq_kick(t.aq);
		for (unsigned k = 0; k < m; k++) {
			uint32_t id, len;
			if (!hq_wait(t.aq, GUEST_POLL_MAX)) {
				note("stalled after chains", done);
				note("avail_event", get16(hq_avail_event(t.aq)));
				return hv_bad("EVENT_IDX: chains made available were never served (avail_event not re-armed)");
			}
			hq_used(t.aq, &id, &len);
			done++;
		}
	}
	return hv_verdict(&t.d);
}

/* A full ring in one notification, then one more chain. */
int t_eidx_full_ring(unsigned dev) { return tgt_eidx(dev, 4 * TGT_QSIZE, TGT_QSIZE); }
/* One chain at a time, many times (the index wraps the ring 12 times). */
int t_eidx_stream(unsigned dev) { return tgt_eidx(dev, 12 * TGT_QSIZE, 1); }

/* used_event far away: the device must still serve (interrupts are a
 * hint, the used ring is the truth). */
int t_eidx_used_event(unsigned dev)
{
	struct target t;
	UP(&t, dev, F_EVENT_IDX);
	put16(hq_used_event(t.aq), 0x7fff);
	return tgt_fire(&t, tgt_chain(&t));
}

/* One chain, notified a hundred times: exactly one used entry. */
int t_notify_repeat(unsigned dev)
{
	struct target t;
	UP(&t, dev, 0);
	hq_post(t.aq, tgt_chain(&t));
	for (unsigned i = 0; i < 100; i++)
		hq_kick(t.aq);
	if (!hq_wait(t.aq, GUEST_POLL_MAX))
		return hv_bad("chain not served");
	for (unsigned i = 0; i < POLLS_SHORT; i++)
		(void)hv_rd(&t.d, R_ISR);
	if (get16(t.aq->used + 2) != 1)
		return hv_bad("one chain came back more than once");
	return hv_verdict(&t.d);
}

/* The driver scribbles over used->idx: the device keeps its own count. */
int t_used_scribble(unsigned dev)
{
	struct target t;
	UP(&t, dev, 0);
	put16(t.aq->used + 2, 0x1234);
	t.aq->useen = 0x1234;
	hq_post(t.aq, tgt_chain(&t));
	hq_kick(t.aq);
	hq_wait(t.aq, GUEST_POLL_MAX);
	if (get16(t.aq->used + 2) != 1)
		return hv_bad("the device took used->idx from guest memory");
	return hv_verdict(&t.d);
}

/* Queue registers written after DRIVER_OK (§4.2.3.2 forbids it): the
 * device keeps the rings it was started with. */
int t_live_change(unsigned what)
{
	struct target t;
	UP(&t, DEV_BLK, 0);
	hv_wr(&t.d, R_QUEUE_SEL, 0);
	if (what == 0)
		hv_wr(&t.d, R_DESC_LO, (uint32_t)(RAM_END - 0x1000));
	else if (what == 1)
		hv_wr(&t.d, R_QUEUE_NUM, 2);
	else if (what == 2)
		hv_wr(&t.d, R_QUEUE_READY, 0);
	else
		hv_wr(&t.d, R_USED_LO, (uint32_t)QMEM(7, 1));
	hq_post(t.aq, tgt_chain(&t));
	hq_kick(t.aq);
	if (!hq_wait(t.aq, GUEST_POLL_MAX))
		return hv_bad("the device stopped using its rings after a live register write");
	return hv_verdict(&t.d);
}

/* Storms: never return while they run. */
static int storm_start(void)
{
	serial_puts("HOSTILE STORM\n");
	return 0;
}

/* Notifications with nothing in the ring. */
int t_notify_storm(unsigned dev)
{
	struct target t;
	UP(&t, dev, 0);
	storm_start();
	for (;;)
		hq_kick(t.aq);
}

/* Notifications for queues that do not exist. */
int t_notify_storm_badq(unsigned dev)
{
	struct target t;
	UP(&t, dev, 0);
	storm_start();
	for (uint32_t i = 3;; i = i * 7 + 3)
		hv_wr(&t.d, R_QUEUE_NOTIFY, i | 3);
}

/* The ring kept full: every used chain goes straight back. */
int t_refill_storm(unsigned dev)
{
	struct target t;
	UP(&t, dev, 0);
	struct tbuf b[4];
	unsigned n = tgt_bufs(&t, b);
	unsigned heads = TGT_QSIZE / n;
	for (unsigned k = 0; k < heads; k++) {
		tgt_chain_at(&t, b, n, k * n);
		hq_post(t.aq, (uint16_t)(k * n));
	}
	storm_start();
	for (;;) {
		uint32_t id, len;
		hq_kick(t.aq);
		while (hq_used(t.aq, &id, &len))
			hq_post(t.aq, (uint16_t)id);
		if (dev == DEV_VSOCK || dev == DEV_NET)  /* RSTs, frames on rx: recycle */
			while (hq_used(&t.q[0], &id, &len)) {
				hq_post(&t.q[0], (uint16_t)id);
				hq_kick(&t.q[0]);
			}
	}
}
