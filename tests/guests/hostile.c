/* The hostile guest: dispatch by hostile.case=NAME, the polling virtio
 * driver and the health checks (hostile.h, docs/HOSTILE.md). */
#include "hostile.h"

struct hcase {
	const char *name;
	int (*fn)(unsigned arg);
	unsigned arg;
};

static const struct hcase cases[] = {
#define H(name, class, flags, fn, arg) { #name, fn, arg },
#include "hostile_cases.h"
#undef H
};

static const char *bad_why = "";

int hv_bad(const char *why)
{
	bad_why = why;
	return R_BAD;
}

void note(const char *what, uint64_t v)
{
	serial_puts("HOSTILE NOTE ");
	serial_puts(what);
	serial_puts(" 0x");
	serial_put_hex(v, 8);
	serial_puts("\n");
}

void fill(uint64_t a, uint8_t v, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		put8(a + i, v);
}

bool same(uint64_t a, const char *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (get8(a + i) != (uint8_t)s[i])
			return false;
	return true;
}

uint32_t hv_rd(const struct hdev *d, uint32_t off)
{
	return get32(d->base + off);
}

void hv_wr(const struct hdev *d, uint32_t off, uint32_t v)
{
	barrier();
	put32(d->base + off, v);
}

bool hv_find(struct hdev *d, uint32_t id)
{
	for (unsigned s = 0; s < MMIO_SLOTS; s++) {
		uint64_t b = MMIO_BASE + 0x1000ull * s;
		if (get32(b + R_MAGIC) == 0x74726976 && get32(b + R_DEVICE_ID) == id) {
			d->base = b;
			d->id = id;
			d->slot = s;
			return true;
		}
	}
	return false;
}

bool hv_needs_reset(const struct hdev *d)
{
	return (hv_rd(d, R_STATUS) & S_NEEDS_RESET) != 0;
}

void hv_reset(const struct hdev *d)
{
	hv_wr(d, R_STATUS, 0);
}

bool hv_start(const struct hdev *d, uint64_t features)
{
	hv_reset(d);
	hv_wr(d, R_STATUS, S_ACK);
	hv_wr(d, R_STATUS, S_ACK | S_DRIVER);
	hv_wr(d, R_DRV_FEAT_SEL, 0);
	hv_wr(d, R_DRV_FEAT, (uint32_t)features);
	hv_wr(d, R_DRV_FEAT_SEL, 1);
	hv_wr(d, R_DRV_FEAT, (uint32_t)(features >> 32));
	hv_wr(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	return (hv_rd(d, R_STATUS) & S_FEATURES_OK) != 0;
}

void hv_driver_ok(const struct hdev *d)
{
	hv_wr(d, R_STATUS, hv_rd(d, R_STATUS) | S_DRIVER_OK);
}

void hq_layout(struct hq *q, struct hdev *d, unsigned qi, uint16_t size, uint64_t mem)
{
	q->d = d;
	q->q = qi;
	q->size = size;
	q->mem = mem;
	q->desc = mem;
	q->avail = mem + 0x1000;
	q->used = mem + 0x2000;
	q->aidx = q->useen = 0;
	fill(mem, 0, 0x4000);
}

void hq_setup(struct hq *q, struct hdev *d, unsigned qi, uint16_t size, uint64_t mem)
{
	hq_layout(q, d, qi, size, mem);
	hv_wr(d, R_QUEUE_SEL, qi);
	hv_wr(d, R_QUEUE_NUM, size);
	hv_wr(d, R_DESC_LO, (uint32_t)q->desc);
	hv_wr(d, R_DESC_HI, (uint32_t)(q->desc >> 32));
	hv_wr(d, R_AVAIL_LO, (uint32_t)q->avail);
	hv_wr(d, R_AVAIL_HI, (uint32_t)(q->avail >> 32));
	hv_wr(d, R_USED_LO, (uint32_t)q->used);
	hv_wr(d, R_USED_HI, (uint32_t)(q->used >> 32));
	hv_wr(d, R_QUEUE_READY, 1);
}

void hq_desc(const struct hq *q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint64_t a = q->desc + 16ull * i;
	put64(a, addr);
	put32(a + 8, len);
	put16(a + 12, flags);
	put16(a + 14, next);
}

void hq_post(struct hq *q, uint16_t head)
{
	put16(q->avail + 4 + 2ull * (q->aidx % q->size), head);
	barrier();
	q->aidx++;
	put16(q->avail + 2, q->aidx);
	barrier();
}

void hq_kick(const struct hq *q)
{
	hv_wr(q->d, R_QUEUE_NOTIFY, q->q);
}

bool hq_wait(const struct hq *q, unsigned polls)
{
	for (unsigned i = 0; i < polls; i++) {
		if (get16(q->used + 2) != q->useen)
			return true;
		/* A device that gave up on the ring says so: stop waiting
		 * (its worker may run well after our notify, so a fixed short
		 * wait would miss the NEEDS_RESET it is about to show). */
		if (hv_rd(q->d, R_STATUS) & S_NEEDS_RESET)
			return false;
	}
	return get16(q->used + 2) != q->useen;
}

bool hq_used(struct hq *q, uint32_t *id, uint32_t *len)
{
	if (get16(q->used + 2) == q->useen)
		return false;
	uint64_t e = q->used + 4 + 8ull * (q->useen % q->size);
	*id = get32(e);
	*len = get32(e + 4);
	q->useen++;
	return true;
}

uint64_t hq_used_event(const struct hq *q)
{
	return q->avail + 4 + 2ull * q->size;
}

uint64_t hq_avail_event(const struct hq *q)
{
	return q->used + 4 + 8ull * q->size;
}

bool hv_up(struct hdev *d, uint32_t id, uint64_t features, struct hq *qs, unsigned nq, uint16_t size)
{
	if (!hv_find(d, id)) {
		hv_bad("device not found");
		return false;
	}
	if (!hv_start(d, features)) {
		hv_bad("FEATURES_OK refused for offered features");
		return false;
	}
	for (unsigned i = 0; i < nq; i++)
		hq_setup(&qs[i], d, i, size, QMEM(d->slot, i));
	hv_driver_ok(d);
	if (hv_rd(d, R_STATUS) != (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK)) {
		hv_bad("device did not take DRIVER_OK");
		return false;
	}
	return true;
}

bool blk_req(struct hq *q, uint32_t type, uint64_t sector, uint64_t data, uint32_t len, bool in,
	     uint8_t *st, uint32_t *ulen)
{
	uint32_t id;

	put32(BLK_HDR, type);
	put32(BLK_HDR + 4, 0);
	put64(BLK_HDR + 8, sector);
	put8(BLK_ST, 0xff);
	hq_desc(q, 0, BLK_HDR, 16, D_NEXT, len ? 1 : 2);
	if (len)
		hq_desc(q, 1, data, len, D_NEXT | (in ? D_WRITE : 0), 2);
	hq_desc(q, 2, BLK_ST, 1, D_WRITE, 0);
	hq_post(q, 0);
	hq_kick(q);
	if (!hq_wait(q, GUEST_POLL_MAX))
		return false;
	hq_used(q, &id, ulen);
	*st = get8(BLK_ST);
	return true;
}

bool blk_health(struct hdev *d)
{
	struct hq q;
	uint8_t st;
	uint32_t len;

	if (!hv_up(d, ID_BLK, F_VERSION_1, &q, 1, 8))
		return false;
	fill(DATA, 0, 512);
	if (!blk_req(&q, 0, 0, DATA, 512, true, &st, &len) || st != 0 || len != 513)
		return false;
	return same(DATA, DISK_MARKER, DISK_MARKER_LEN);
}

bool rng_health(struct hdev *d)
{
	struct hq q;
	uint32_t id, len;
	bool nonzero = false;

	if (!hv_up(d, ID_RNG, F_VERSION_1, &q, 1, 8))
		return false;
	fill(DATA, 0, 64);
	hq_desc(&q, 0, DATA, 64, D_WRITE, 0);
	hq_post(&q, 0);
	hq_kick(&q);
	if (!hq_wait(&q, GUEST_POLL_MAX) || !hq_used(&q, &id, &len) || id != 0 || len != 64)
		return false;
	for (unsigned i = 0; i < 64; i++)
		nonzero |= get8(DATA + i) != 0;
	return nonzero;
}

/* vsock: post rx buffers, send a REQUEST to host port 9 (nothing listens
 * there), expect the RST (§5.10.6.4 "the device ... replies with RST"). */
bool vsock_health(struct hdev *d)
{
	struct hq q[3];
	uint32_t id, len;
	uint64_t rx = DATA, tx = DATA + 0x100000;

	if (!hv_up(d, ID_VSOCK, F_VERSION_1, q, 3, 16))
		return false;
	for (unsigned i = 0; i < 8; i++) {
		hq_desc(&q[0], i, rx + 0x1000ull * i, 0x1000, D_WRITE, 0);
		hq_post(&q[0], (uint16_t)i);
	}
	hq_kick(&q[0]);
	fill(tx, 0, VS_HDR);
	put64(tx, VS_CID);
	put64(tx + 8, VS_HOST);
	put32(tx + 16, 1000);
	put32(tx + 20, 9);
	put16(tx + 28, 1);  /* type STREAM */
	put16(tx + 30, 1);  /* op REQUEST */
	put32(tx + 36, 0x1000);
	hq_desc(&q[1], 0, tx, VS_HDR, 0, 0);
	hq_post(&q[1], 0);
	hq_kick(&q[1]);
	for (unsigned n = 0; n < 8; n++) {
		if (!hq_wait(&q[0], GUEST_POLL_MAX) || !hq_used(&q[0], &id, &len) || id >= 8)
			return false;
		uint64_t h = rx + 0x1000ull * id;
		if (len >= VS_HDR && get16(h + 30) == 3 && get32(h + 16) == 9 && get32(h + 20) == 1000)
			return true;
	}
	return false;
}

int hv_verdict(struct hdev *d)
{
	bool nr = hv_needs_reset(d);
	bool ok = d->id == ID_BLK ? blk_health(d) : d->id == ID_RNG ? rng_health(d) :
		  d->id == ID_NET ? net_health(d) : vsock_health(d);

	if (!ok)
		return bad_why[0] ? R_BAD : hv_bad("device does not work after a reset");
	hv_reset(d);
	return nr ? R_REJECT : R_PASS;
}

static bool streq_word(const char *w, const char *s)
{
	while (*s && *w == *s) {
		w++;
		s++;
	}
	return !*s && (*w == 0 || *w == ' ');
}

void guest_main(const uint8_t *bp)
{
	const char *want = cmdline_find("hostile.case=");
	const struct hcase *c = NULL;
	int r;

	if (!want) {
		serial_puts("HOSTILE RESULT BAD no hostile.case= on the command line\nHOSTILE END\n");
		guest_halt();
	}
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (streq_word(want, cases[i].name))
			c = &cases[i];
	if (!c) {
		serial_puts("HOSTILE RESULT BAD unknown case\nHOSTILE END\n");
		guest_halt();
	}
	serial_puts("HOSTILE BEGIN ");
	serial_puts(c->name);
	serial_puts("\n");
	r = c->fn(c->arg);
	if (r == R_STORM) {
		/* A storm returns only when it could not start. */
		r = hv_bad(bad_why[0] ? bad_why : "storm ended");
	}
	serial_puts("HOSTILE RESULT ");
	serial_puts(r == R_PASS ? "PASS" : r == R_REJECT ? "REJECT" : "BAD ");
	if (r == R_BAD)
		serial_puts(bad_why);
	serial_puts("\nHOSTILE END\n");
	guest_halt();
}
