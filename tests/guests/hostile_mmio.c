/* Category M: the virtio-mmio transport (virtio 1.2 §4.2.2, §4.2.3, and the
 * status state machine of §2.1 and §3.1.1) abused through its registers:
 * every register at every access width, status bits in every wrong order,
 * queue registers after they became live, resets in the middle of I/O. */
#include "hostile_target.h"

static uint64_t mmio_rd(uint64_t a, unsigned w)
{
	switch (w) {
	case 1: return get8(a);
	case 2: return get16(a);
	case 8: return get64(a);
	default: return get32(a);
	}
}

static void mmio_wr(uint64_t a, unsigned w, uint64_t v)
{
	switch (w) {
	case 1: put8(a, (uint8_t)v); break;
	case 2: put16(a, (uint16_t)v); break;
	case 8: put64(a, v); break;
	default: put32(a, (uint32_t)v); break;
	}
}

/* arg: device (low byte) and width (next byte). Reads every offset of the
 * register block and the config space at that width; the magic must still
 * read right afterwards and the device must work. */
int m_read_all(unsigned arg)
{
	static const uint32_t ids[] = { ID_RNG, ID_BLK, ID_VSOCK, ID_NET };
	struct hdev d;
	unsigned w = arg >> 8;
	if (!hv_find(&d, ids[arg & 0xff]))
		return hv_bad("device not found");
	for (uint32_t off = 0; off + w <= 0x1000; off += w)
		(void)mmio_rd(d.base + off, w);
	if (hv_rd(&d, R_MAGIC) != 0x74726976 || hv_rd(&d, R_VERSION) != 2)
		return hv_bad("magic/version changed");
	return hv_verdict(&d);
}

/* Writes of a pattern to every register offset below the config space at
 * width w, except QueueNotify's storm (other cases) and status 0; then the
 * device is reset and must work. Non-32-bit accesses are ignored by the
 * transport (§4.2.2.2 requires 32-bit ones). */
int m_write_all(unsigned arg)
{
	static const uint32_t ids[] = { ID_RNG, ID_BLK, ID_VSOCK, ID_NET };
	struct hdev d;
	unsigned w = arg >> 8;
	if (!hv_find(&d, ids[arg & 0xff]))
		return hv_bad("device not found");
	for (uint32_t off = 0; off + w <= 0x100; off += w)
		mmio_wr(d.base + off, w, 0xa5a5a5a5a5a5a5a5ull ^ off);
	return hv_verdict(&d);
}

/* Config space writes (read-only in our devices) and reads past it. */
int m_config_write(unsigned w)
{
	struct hdev d;
	if (!hv_find(&d, ID_BLK))
		return hv_bad("no blk");
	uint64_t cap = get64(d.base + R_CONFIG);
	for (uint32_t off = 0x100; off + w <= 0x1000; off += w)
		mmio_wr(d.base + off, w, ~0ull);
	if (get64(d.base + R_CONFIG) != cap)
		return hv_bad("config space capacity changed by a guest write");
	for (uint32_t off = 0x100 + 64; off < 0x1000; off += 4)
		if (get32(d.base + off) != 0)
			return hv_bad("bytes past the config space are not zero");
	return hv_verdict(&d);
}

/* Read-only registers written at the right width. */
int m_write_ro(unsigned unused)
{
	struct hdev d;
	static const uint32_t ro[] = { R_MAGIC, R_VERSION, R_DEVICE_ID, R_VENDOR, R_DEV_FEAT, R_QUEUE_NUM_MAX,
				       R_ISR, R_CONFIG_GEN, 0x0b0, 0x0b4, 0x0b8, 0x0bc, 0x0fc, 0x0f0 };
	if (!hv_find(&d, ID_BLK))
		return hv_bad("no blk");
	uint32_t feat = hv_rd(&d, R_DEV_FEAT);
	for (unsigned i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		hv_wr(&d, ro[i], 0xdeadbeef);
	if (hv_rd(&d, R_MAGIC) != 0x74726976 || hv_rd(&d, R_DEVICE_ID) != ID_BLK || hv_rd(&d, R_DEV_FEAT) != feat)
		return hv_bad("a read-only register changed");
	return hv_verdict(&d);
}

/* Status state machine: sequences the device must refuse, each followed by
 * what the status register must then show (mask/want). */
int m_status(unsigned which)
{
	struct hdev d;
	uint32_t st;
	if (!hv_find(&d, ID_RNG))
		return hv_bad("no rng");
	hv_reset(&d);
	switch (which) {
	case 0:  /* DRIVER_OK before FEATURES_OK */
		hv_wr(&d, R_STATUS, S_ACK | S_DRIVER | S_DRIVER_OK);
		if (hv_rd(&d, R_STATUS) & S_DRIVER_OK)
			return hv_bad("DRIVER_OK accepted without FEATURES_OK");
		break;
	case 1:  /* bits cleared without a reset */
		hv_start(&d, F_VERSION_1);
		hv_wr(&d, R_STATUS, S_ACK);
		if (!(hv_rd(&d, R_STATUS) & S_FEATURES_OK))
			return hv_bad("status bits were cleared without a reset");
		break;
	case 2:  /* a feature never offered */
		if (hv_start(&d, F_VERSION_1 | (1ull << 40)))
			return hv_bad("FEATURES_OK accepted with an unoffered feature");
		break;
	case 3:  /* no VERSION_1: we are not a legacy device (§7.1) */
		if (hv_start(&d, 0))
			return hv_bad("FEATURES_OK accepted without VERSION_1");
		break;
	case 4:  /* feature word 5 */
		hv_reset(&d);
		hv_wr(&d, R_STATUS, S_ACK | S_DRIVER);
		hv_wr(&d, R_DRV_FEAT_SEL, 1);
		hv_wr(&d, R_DRV_FEAT, 1);
		hv_wr(&d, R_DRV_FEAT_SEL, 5);
		hv_wr(&d, R_DRV_FEAT, 0xffffffff);
		hv_wr(&d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
		if (hv_rd(&d, R_STATUS) & S_FEATURES_OK)
			return hv_bad("FEATURES_OK accepted with bits in feature word 5");
		break;
	case 5:  /* features changed after FEATURES_OK */
		hv_start(&d, F_VERSION_1);
		hv_wr(&d, R_DRV_FEAT_SEL, 0);
		hv_wr(&d, R_DRV_FEAT, 0xffffffff);
		hv_wr(&d, R_DRV_FEAT_SEL, 1);
		hv_wr(&d, R_DRV_FEAT, 0xffffffff);
		hv_wr(&d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
		if (!(hv_rd(&d, R_STATUS) & S_FEATURES_OK))
			return hv_bad("FEATURES_OK lost");
		break;
	case 6:  /* the device-owned NEEDS_RESET bit written by the driver */
		hv_wr(&d, R_STATUS, S_ACK | S_NEEDS_RESET);
		if (hv_rd(&d, R_STATUS) & S_NEEDS_RESET)
			return hv_bad("driver could set DEVICE_NEEDS_RESET");
		break;
	case 7:  /* FAILED, then everything */
		hv_wr(&d, R_STATUS, S_FAILED);
		hv_wr(&d, R_STATUS, 0xff);
		hv_wr(&d, R_STATUS, 0xffffffff);
		break;
	case 8:  /* DRIVER_OK twice, then FEATURES_OK again */
		hv_start(&d, F_VERSION_1);
		hv_driver_ok(&d);
		hv_driver_ok(&d);
		hv_wr(&d, R_STATUS, hv_rd(&d, R_STATUS) | S_FEATURES_OK);
		break;
	case 9:  /* DRIVER_OK with no queue set up, then notify it */
		hv_start(&d, F_VERSION_1);
		hv_driver_ok(&d);
		hv_wr(&d, R_QUEUE_NOTIFY, 0);
		break;
	case 10: /* notify before DRIVER_OK, with a ring set up */
	{
		struct hq q;
		hv_start(&d, F_VERSION_1);
		hq_setup(&q, &d, 0, 8, QMEM(d.slot, 0));
		hq_desc(&q, 0, DATA, 64, D_WRITE, 0);
		hq_post(&q, 0);
		hq_kick(&q);
		if (hq_wait(&q, 2000))
			return hv_bad("a queue was served before DRIVER_OK");
		break;
	}
	case 11: /* 1000 resets and restarts */
		for (unsigned i = 0; i < 1000; i++) {
			hv_start(&d, F_VERSION_1);
			hv_driver_ok(&d);
		}
		break;
	}
	st = hv_rd(&d, R_STATUS);
	(void)st;
	return hv_verdict(&d);
}

/* QueueSel pointing nowhere, then every queue register. */
int m_queue_sel(unsigned sel)
{
	struct hdev d;
	if (!hv_find(&d, ID_BLK) || !hv_start(&d, F_VERSION_1))
		return hv_bad("no blk");
	hv_wr(&d, R_QUEUE_SEL, sel);
	if (hv_rd(&d, R_QUEUE_NUM_MAX) != 0)
		return hv_bad("QueueNumMax of a queue that does not exist is not 0");
	for (uint32_t r = R_QUEUE_NUM; r <= R_USED_HI; r += 4)
		hv_wr(&d, r, 0xffffffff);
	hv_wr(&d, R_QUEUE_NOTIFY, sel);
	hv_driver_ok(&d);
	return hv_verdict(&d);
}

/* Queue registers rewritten after QueueReady=1, before DRIVER_OK: ignored
 * (§4.2.3.2), the device runs on the first values. */
int m_queue_after_ready(unsigned reg)
{
	struct target t;
	struct hdev *d = &t.d;
	if (!hv_find(d, ID_BLK) || !hv_start(d, F_VERSION_1))
		return hv_bad("no blk");
	t.dev = DEV_BLK;
	hq_setup(&t.q[0], d, 0, TGT_QSIZE, QMEM(d->slot, 0));
	t.aq = &t.q[0];
	hv_wr(d, reg, reg == R_QUEUE_NUM ? 2 : 0x10);
	hv_driver_ok(d);
	hq_post(t.aq, tgt_chain(&t));
	hq_kick(t.aq);
	if (!hq_wait(t.aq, GUEST_POLL_MAX))
		return hv_bad("queue not served with the values set before QueueReady");
	return hv_verdict(d);
}

/* Ready, unready, moved, ready again before DRIVER_OK: legal. */
int m_queue_rearm(unsigned unused)
{
	struct target t;
	if (!hv_find(&t.d, ID_BLK) || !hv_start(&t.d, F_VERSION_1))
		return hv_bad("no blk");
	t.dev = DEV_BLK;
	hq_setup(&t.q[0], &t.d, 0, TGT_QSIZE, QMEM(t.d.slot, 0));
	hv_wr(&t.d, R_QUEUE_READY, 0);
	hq_setup(&t.q[0], &t.d, 0, TGT_QSIZE, QMEM(t.d.slot, 1));
	t.aq = &t.q[0];
	hv_driver_ok(&t.d);
	hq_post(t.aq, tgt_chain(&t));
	hq_kick(t.aq);
	if (!hq_wait(t.aq, GUEST_POLL_MAX))
		return hv_bad("queue moved before DRIVER_OK was not served at its new place");
	return hv_verdict(&t.d);
}

/* Reset in the middle of I/O: a ring full of reads, notify, reset at once;
 * with arg 1 the rings are then rewritten and the device restarted while
 * the old requests may still be in flight. */
int m_reset_during_io(unsigned dev)
{
	struct target t;
	if (!tgt_up(&t, dev, 0))
		return R_BAD;
	struct tbuf b[4];
	unsigned n = tgt_bufs(&t, b);
	for (unsigned round = 0; round < 20; round++) {
		for (unsigned k = 0; k < TGT_QSIZE / n; k++) {
			tgt_chain_at(&t, b, n, k * n);
			hq_post(t.aq, (uint16_t)(k * n));
		}
		hq_kick(t.aq);
		hv_reset(&t.d);
		if (!tgt_up(&t, dev, 0))
			return R_BAD;
	}
	return hv_verdict(&t.d);
}

/* InterruptACK with every bit, ShmSel nonsense. */
int m_isr_shm(unsigned unused)
{
	struct hdev d;
	if (!hv_find(&d, ID_VSOCK))
		return hv_bad("no vsock");
	hv_wr(&d, R_ISR_ACK, 0xffffffff);
	hv_wr(&d, R_SHM_SEL, 0xffffffff);
	if (hv_rd(&d, 0x0b0) != 0xffffffff)
		return hv_bad("shared memory length of a missing region is not -1");
	return hv_verdict(&d);
}

/* The windows with no device behind them, every width. */
int m_empty_window(unsigned unused)
{
	unsigned s;
	for (s = 0; s < MMIO_SLOTS; s++)
		if (get32(MMIO_BASE + 0x1000ull * s + R_MAGIC) != 0x74726976)
			break;
	uint64_t b = MMIO_BASE + 0x1000ull * s;
	for (unsigned w = 1; w <= 8; w *= 2)
		for (uint32_t off = 0; off < 0x200; off += 0x10) {
			(void)mmio_rd(b + off, w);
			mmio_wr(b + off, w, ~0ull);
		}
	struct hdev d;
	if (!hv_find(&d, ID_RNG))
		return hv_bad("no rng");
	return hv_verdict(&d);
}
