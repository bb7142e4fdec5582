/* p9 wire codec: bounds-checked little-endian reader and writer. */
#include "p9/p9_wire.h"

#include <errno.h>
#include <string.h>

void p9_wire_rd_init(struct p9_rd *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->err = 0;
}

const uint8_t *p9_wire_getbytes(struct p9_rd *r, size_t n)
{
	if (r->err || n > r->len - r->off) {
		r->err = 1;
		return NULL;
	}
	const uint8_t *at = r->p + r->off;
	r->off += n;
	return at;
}

static uint64_t p9_wire_getle(struct p9_rd *r, size_t n)
{
	const uint8_t *b = p9_wire_getbytes(r, n);
	uint64_t v = 0;
	if (!b)
		return 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

uint8_t p9_wire_get8(struct p9_rd *r)
{
	return (uint8_t)p9_wire_getle(r, 1);
}

uint16_t p9_wire_get16(struct p9_rd *r)
{
	return (uint16_t)p9_wire_getle(r, 2);
}

uint32_t p9_wire_get32(struct p9_rd *r)
{
	return (uint32_t)p9_wire_getle(r, 4);
}

uint64_t p9_wire_get64(struct p9_rd *r)
{
	return p9_wire_getle(r, 8);
}

struct p9_str p9_wire_getstr(struct p9_rd *r)
{
	struct p9_str s = { "", 0 };
	uint16_t n = p9_wire_get16(r);
	const uint8_t *b = p9_wire_getbytes(r, n);
	if (b) {
		s.p = (const char *)b;
		s.len = n;
	}
	return s;
}

void p9_wire_wr_init(struct p9_wr *w, uint8_t *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
	w->err = 0;
}

uint8_t *p9_wire_reserve(struct p9_wr *w, size_t n)
{
	if (w->err || n > w->cap - w->len) {
		w->err = 1;
		return NULL;
	}
	uint8_t *at = w->p + w->len;
	w->len += n;
	return at;
}

static void p9_wire_putle(struct p9_wr *w, uint64_t v, size_t n)
{
	uint8_t *b = p9_wire_reserve(w, n);
	if (!b)
		return;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

void p9_wire_put8(struct p9_wr *w, uint8_t v)
{
	p9_wire_putle(w, v, 1);
}

void p9_wire_put16(struct p9_wr *w, uint16_t v)
{
	p9_wire_putle(w, v, 2);
}

void p9_wire_put32(struct p9_wr *w, uint32_t v)
{
	p9_wire_putle(w, v, 4);
}

void p9_wire_put64(struct p9_wr *w, uint64_t v)
{
	p9_wire_putle(w, v, 8);
}

void p9_wire_putstr(struct p9_wr *w, const char *s, size_t len)
{
	if (len > UINT16_MAX) {
		w->err = 1;
		return;
	}
	p9_wire_put16(w, (uint16_t)len);
	uint8_t *b = p9_wire_reserve(w, len);
	if (b && len)
		memcpy(b, s, len);
}

void p9_wire_putqid(struct p9_wr *w, const struct p9_qid *q)
{
	p9_wire_put8(w, q->type);
	p9_wire_put32(w, q->version);
	p9_wire_put64(w, q->path);
}

void p9_wire_begin(struct p9_wr *w, uint8_t type, uint16_t tag)
{
	w->len = 0;
	w->err = 0;
	p9_wire_put32(w, 0);
	p9_wire_put8(w, type);
	p9_wire_put16(w, tag);
}

long p9_wire_finish(struct p9_wr *w)
{
	if (w->err || w->len < P9_HDR_SIZE)
		return -EMSGSIZE;
	uint32_t n = (uint32_t)w->len;
	for (int i = 0; i < 4; i++)
		w->p[i] = (uint8_t)(n >> (8 * i));
	return (long)w->len;
}
