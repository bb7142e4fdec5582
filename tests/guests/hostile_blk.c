/* Categories B (virtio-blk, virtio 1.2 §5.2) and R (virtio-rng, §5.4):
 * requests that are well-formed rings but nonsense requests. The disk is
 * the host's 64-sector image with DISK_MARKER at the start of sector 0; the
 * host checks its hash afterwards (unchanged unless the case may write). */
#include "hostile_target.h"

#define SECTORS 64
#define BUF TGT_BUF
#define CANARY 0x5a

static bool blk_up(struct target *t, uint64_t features)
{
	return tgt_up(t, DEV_BLK, features);
}

/* A request built from up to 6 buffers; returns false when it was not
 * answered. *st is the status byte (0xff if untouched). */
static bool blk_chain(struct target *t, const struct tbuf *b, unsigned n, uint64_t st_addr, uint8_t *st,
		      uint32_t *ulen)
{
	uint32_t id;
	put8(st_addr, 0xff);
	tgt_chain_at(t, b, n, 0);
	hq_post(t->aq, 0);
	hq_kick(t->aq);
	if (!hq_wait(t->aq, GUEST_POLL_MAX))
		return false;
	hq_used(t->aq, &id, ulen);
	*st = get8(st_addr);
	return true;
}

static void blk_hdr(uint64_t a, uint32_t type, uint64_t sector)
{
	put32(a, type);
	put32(a + 4, 0);
	put64(a + 8, sector);
}

/* A read or write expected to fail with IOERR (or UNSUPP), touching
 * neither the disk (host-checked) nor the data buffer. */
static int blk_expect(uint32_t type, uint64_t sector, uint32_t len, uint8_t want, uint64_t features)
{
	struct target t;
	uint8_t st;
	uint32_t ulen;
	if (!blk_up(&t, features))
		return R_BAD;
	bool in = type == 0;
	blk_hdr(BUF, type, sector);
	fill(BUF + 0x1000, CANARY, len < 0x10000 ? len : 0x10000);
	struct tbuf b[3] = { { BUF, 16, 0 }, { BUF + 0x1000, len, in ? D_WRITE : 0 }, { BUF + 0x800, 1, D_WRITE } };
	if (!blk_chain(&t, len ? b : (struct tbuf[]){ b[0], b[2] }, len ? 3 : 2, BUF + 0x800, &st, &ulen))
		return hv_bad("request not answered");
	if (st != want) {
		note("status", st);
		return hv_bad("unexpected status byte");
	}
	if (st != 0 && ulen > 1)
		return hv_bad("a failed request reports data written");
	if (st != 0 && in)
		for (uint32_t i = 0; i < (len < 0x10000 ? len : 0x10000); i++)
			if (get8(BUF + 0x1000 + i) != CANARY)
				return hv_bad("a failed read wrote into the buffer");
	return hv_verdict(&t.d);
}

int b_read_ok(unsigned u) { return blk_expect(0, 0, 512, 0, 0); }
int b_read_last(unsigned u) { return blk_expect(0, SECTORS - 1, 512, 0, 0); }
int b_read_past_end(unsigned u) { return blk_expect(0, SECTORS, 512, 1, 0); }
int b_read_straddle(unsigned u) { return blk_expect(0, SECTORS - 1, 1024, 1, 0); }
int b_read_sector_max(unsigned u) { return blk_expect(0, ~0ull, 512, 1, 0); }
int b_read_sector_wrap(unsigned u) { return blk_expect(0, ~0ull - 1, 2048, 1, 0); }
int b_read_partial(unsigned u) { return blk_expect(0, 0, 100, 1, 0); }
int b_read_huge(unsigned u) { return blk_expect(0, 0, 0x800000, 1, 0); }
int b_write_past_end(unsigned u) { return blk_expect(1, SECTORS, 512, 1, 0); }
int b_write_sector_max(unsigned u) { return blk_expect(1, ~0ull, 512, 1, 0); }
int b_write_partial(unsigned u) { return blk_expect(1, 0, 100, 1, 0); }
int b_write_ro(unsigned u) { return blk_expect(1, 0, 512, 1, 0); }
int b_unknown_type(unsigned type) { return blk_expect(type, 0, 512, 2, 0); }
int b_flush(unsigned u) { return blk_expect(4, 0, 0, 0, 0); }
/* Discard/write-zeroes without negotiating them (§5.2.6.2: UNSUPP). */
int b_discard_unneg(unsigned type) { return blk_expect(type, 0, 16, 2, 0); }

/* A request with no device-writable byte: nothing to answer with; the
 * chain must come back and nothing may be written. */
int b_no_status(unsigned u)
{
	struct target t;
	uint8_t st;
	uint32_t ulen;
	if (!blk_up(&t, 0))
		return R_BAD;
	blk_hdr(BUF, 1, 0);
	fill(BUF + 0x1000, 'X', 512);
	struct tbuf b[2] = { { BUF, 16, 0 }, { BUF + 0x1000, 512, 0 } };
	if (!blk_chain(&t, b, 2, BUF + 0x800, &st, &ulen))
		return hv_bad("request without status not returned");
	if (ulen != 0)
		return hv_bad("used length for a chain without writable bytes");
	return hv_verdict(&t.d);
}

/* A header shorter than 16 bytes: IOERR. */
int b_short_hdr(unsigned u)
{
	struct target t;
	uint8_t st;
	uint32_t ulen;
	if (!blk_up(&t, 0))
		return R_BAD;
	blk_hdr(BUF, 0, 0);
	struct tbuf b[2] = { { BUF, 8, 0 }, { BUF + 0x800, 1, D_WRITE } };
	if (!blk_chain(&t, b, 2, BUF + 0x800, &st, &ulen) || st != 1)
		return hv_bad("short header not answered with IOERR");
	return hv_verdict(&t.d);
}

/* Header split over single-byte buffers, data over 8 buffers of 64: legal,
 * the read must return the marker. */
int b_split(unsigned u)
{
	struct target t;
	uint32_t id, ulen;
	if (!blk_up(&t, F_INDIRECT))
		return R_BAD;
	blk_hdr(BUF, 0, 0);
	unsigned k = 0;
	uint64_t tab = TGT_IND;
	for (unsigned i = 0; i < 16; i++, k++) {
		put64(tab + 16 * k, BUF + i);
		put32(tab + 16 * k + 8, 1);
		put16(tab + 16 * k + 12, D_NEXT);
		put16(tab + 16 * k + 14, (uint16_t)(k + 1));
	}
	for (unsigned i = 0; i < 8; i++, k++) {
		put64(tab + 16 * k, BUF + 0x1000 + 64 * i);
		put32(tab + 16 * k + 8, 64);
		put16(tab + 16 * k + 12, D_NEXT | D_WRITE);
		put16(tab + 16 * k + 14, (uint16_t)(k + 1));
	}
	put64(tab + 16 * k, BUF + 0x800);
	put32(tab + 16 * k + 8, 1);
	put16(tab + 16 * k + 12, D_WRITE);
	k++;
	hq_desc(t.aq, 0, tab, 16 * k, D_INDIRECT, 0);
	hq_post(t.aq, 0);
	hq_kick(t.aq);
	if (!hq_wait(t.aq, GUEST_POLL_MAX) || !hq_used(t.aq, &id, &ulen))
		return hv_bad("split request not answered");
	if (get8(BUF + 0x800) != 0 || ulen != 513 || !same(BUF + 0x1000, DISK_MARKER, DISK_MARKER_LEN))
		return hv_bad("split read returned wrong data");
	return hv_verdict(&t.d);
}

/* GET_ID into a 5-byte buffer followed by canaries: exactly 5 bytes. */
int b_get_id_short(unsigned len)
{
	struct target t;
	uint8_t st;
	uint32_t ulen;
	if (!blk_up(&t, 0))
		return R_BAD;
	blk_hdr(BUF, 8, 0);
	fill(BUF + 0x1000, CANARY, 64);
	struct tbuf b[3] = { { BUF, 16, 0 }, { BUF + 0x1000, len, D_WRITE }, { BUF + 0x800, 1, D_WRITE } };
	if (!blk_chain(&t, b, 3, BUF + 0x800, &st, &ulen))
		return hv_bad("GET_ID not answered");
	for (unsigned i = len; i < 64; i++)
		if (get8(BUF + 0x1000 + i) != CANARY)
			return hv_bad("GET_ID wrote past its buffer");
	if (ulen > len + 1)
		return hv_bad("GET_ID reports more bytes than the buffer holds");
	return hv_verdict(&t.d);
}

/* OUT whose data buffer is device-writable: the device must read nothing
 * from it into the disk and write nothing into it. */
int b_write_wrong_dir(unsigned u)
{
	struct target t;
	uint8_t st;
	uint32_t ulen;
	if (!blk_up(&t, 0))
		return R_BAD;
	blk_hdr(BUF, 1, 0);
	fill(BUF + 0x1000, 'W', 512);
	struct tbuf b[3] = { { BUF, 16, 0 }, { BUF + 0x1000, 512, D_WRITE }, { BUF + 0x800, 1, D_WRITE } };
	if (!blk_chain(&t, b, 3, BUF + 0x800, &st, &ulen))
		return hv_bad("request not answered");
	return hv_verdict(&t.d);
}

/* A read whose data buffer is the descriptor table itself. */
int b_read_into_ring(unsigned u)
{
	struct target t;
	uint8_t st;
	uint32_t ulen;
	if (!blk_up(&t, 0))
		return R_BAD;
	blk_hdr(BUF, 0, 0);
	struct tbuf b[3] = { { BUF, 16, 0 }, { t.aq->desc, 512, D_WRITE }, { BUF + 0x800, 1, D_WRITE } };
	blk_chain(&t, b, 3, BUF + 0x800, &st, &ulen);
	return hv_verdict(&t.d);
}

/* DISCARD / WRITE_ZEROES with the features negotiated. segs segments of
 * num sectors from sector, flags; want the status. */
static int blk_dz(uint32_t type, unsigned segs, uint64_t sector, uint32_t num, uint32_t flags, uint8_t want)
{
	struct target t;
	uint8_t st;
	uint32_t ulen;
	if (!blk_up(&t, (1ull << 13) | (1ull << 14)))
		return R_BAD;
	blk_hdr(BUF, type, 0);
	for (unsigned i = 0; i < segs; i++) {
		put64(BUF + 0x1000 + 16 * i, sector);
		put32(BUF + 0x1000 + 16 * i + 8, num);
		put32(BUF + 0x1000 + 16 * i + 12, flags);
	}
	struct tbuf b[3] = { { BUF, 16, 0 }, { BUF + 0x1000, 16 * segs, 0 }, { BUF + 0x800, 1, D_WRITE } };
	if (!blk_chain(&t, b, 3, BUF + 0x800, &st, &ulen))
		return hv_bad("request not answered");
	if (st != want) {
		note("status", st);
		return hv_bad("unexpected status");
	}
	return hv_verdict(&t.d);
}

int b_wz_too_many_segs(unsigned u) { return blk_dz(13, 3, 8, 1, 0, 1); }
int b_wz_too_long(unsigned u) { return blk_dz(13, 1, 0, (1u << 14) + 1, 0, 1); }
int b_wz_past_end(unsigned u) { return blk_dz(13, 1, SECTORS - 1, 2, 0, 1); }
int b_wz_sector_wrap(unsigned u) { return blk_dz(13, 1, ~0ull, 1, 0, 1); }
int b_wz_bad_flags(unsigned u) { return blk_dz(13, 1, 8, 1, 0x80, 2); }
int b_wz_ok(unsigned u) { return blk_dz(13, 2, 8, 4, 0, 0); }
int b_discard_unmap_flag(unsigned u) { return blk_dz(11, 1, 8, 1, 1, 2); }
int b_discard_empty(unsigned u) { return blk_dz(11, 0, 8, 1, 0, 1); }

/* Read storm: the ring kept full of reads. */
int b_read_storm(unsigned u) { return t_refill_storm(DEV_BLK); }

/* WRITE_ZEROES of the maximum (2 x 8 MiB... clipped to the disk: the whole
 * disk) over and over. */
int b_wz_storm(unsigned u)
{
	struct target t;
	if (!blk_up(&t, 1ull << 14))
		return R_BAD;
	blk_hdr(BUF, 13, 0);
	put64(BUF + 0x1000, 0);
	put32(BUF + 0x1000 + 8, SECTORS);
	put32(BUF + 0x1000 + 12, 0);
	struct tbuf b[3] = { { BUF, 16, 0 }, { BUF + 0x1000, 16, 0 }, { BUF + 0x800, 1, D_WRITE } };
	for (unsigned k = 0; k < TGT_QSIZE / 3; k++) {
		tgt_chain_at(&t, b, 3, 3 * k);
		hq_post(t.aq, (uint16_t)(3 * k));
	}
	serial_puts("HOSTILE STORM\n");
	for (;;) {
		uint32_t id, len;
		hq_kick(t.aq);
		while (hq_used(t.aq, &id, &len))
			hq_post(t.aq, (uint16_t)id);
	}
}

/* ---- R: virtio-rng --------------------------------------------------- */

static int rng_one(const struct tbuf *b, unsigned n, uint32_t max_len)
{
	struct target t;
	uint32_t id, ulen;
	if (!tgt_up(&t, DEV_RNG, 0))
		return R_BAD;
	tgt_chain_at(&t, b, n, 0);
	hq_post(t.aq, 0);
	hq_kick(t.aq);
	if (!hq_wait(t.aq, GUEST_POLL_MAX) || !hq_used(t.aq, &id, &ulen))
		return hv_bad("rng request not answered");
	if (ulen > max_len) {
		note("used len", ulen);
		return hv_bad("rng reports more bytes than the request's writable part");
	}
	return hv_verdict(&t.d);
}

/* Only a device-readable buffer: nothing may be written. */
int r_readable(unsigned u)
{
	fill(BUF, CANARY, 64);
	struct tbuf b[1] = { { BUF, 64, 0 } };
	int r = rng_one(b, 1, 0);
	for (unsigned i = 0; i < 64 && r != R_BAD; i++)
		if (get8(BUF + i) != CANARY)
			return hv_bad("rng wrote into a device-readable buffer");
	return r;
}

int r_huge(unsigned u)
{
	struct tbuf b[1] = { { DATA, 0x800000, D_WRITE } };
	return rng_one(b, 1, 0x800000);
}

int r_zero(unsigned u)
{
	struct tbuf b[1] = { { BUF, 0, D_WRITE } };
	return rng_one(b, 1, 0);
}

/* A readable buffer first, then writable ones of one byte each. */
int r_mixed(unsigned u)
{
	struct tbuf b[8];
	b[0] = (struct tbuf){ BUF, 32, 0 };
	for (unsigned i = 1; i < 8; i++)
		b[i] = (struct tbuf){ BUF + 0x100 + i, 1, D_WRITE };
	return rng_one(b, 8, 7);
}

/* An rng queue larger than QueueNumMax (64). */
int r_queue_over_max(unsigned size)
{
	struct hdev d;
	struct hq q;
	if (!hv_find(&d, ID_RNG) || !hv_start(&d, F_VERSION_1))
		return hv_bad("no rng");
	uint32_t max = hv_rd(&d, R_QUEUE_NUM_MAX);
	hq_setup(&q, &d, 0, (uint16_t)(max * size), QMEM(d.slot, 0));
	hv_driver_ok(&d);
	hq_desc(&q, 0, BUF, 64, D_WRITE, 0);
	hq_post(&q, 0);
	hq_kick(&q);
	hq_wait(&q, 3000);
	return hv_verdict(&d);
}

/* Resets while rng requests wait, again and again. */
int r_reset_storm(unsigned u) { return m_reset_during_io(DEV_RNG); }
