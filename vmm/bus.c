#include "vmm/bus.h"

#include <errno.h>
#include <string.h>

int bus_add(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops, void *opaque)
{
	unsigned i;

	if (len == 0 || base + len < base)
		return -EINVAL;
	if (b->n >= BUS_MAX_RANGES)
		return -ENOSPC;
	for (i = 0; i < b->n; i++) {
		const struct bus_range *r = &b->r[i];
		if (base < r->base + r->len && r->base < base + len)
			return -EEXIST;
	}
	for (i = b->n; i > 0 && b->r[i - 1].base > base; i--)
		b->r[i] = b->r[i - 1];
	b->r[i] = (struct bus_range){ .base = base, .len = len, .ops = ops, .opaque = opaque };
	b->n++;
	return 0;
}

static const struct bus_range *bus_find(const struct bus *b, uint64_t addr)
{
	unsigned lo = 0, hi = b->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &b->r[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

int bus_read(const struct bus *b, uint64_t addr, uint8_t *data, uint32_t len)
{
	const struct bus_range *r = bus_find(b, addr);

	if (!r || !r->ops->read) {
		memset(data, 0xff, len);
		return -ENOENT;
	}
	r->ops->read(r->opaque, addr - r->base, data, len);
	return 0;
}

int bus_write(const struct bus *b, uint64_t addr, const uint8_t *data, uint32_t len)
{
	const struct bus_range *r = bus_find(b, addr);

	if (!r || !r->ops->write)
		return -ENOENT;
	r->ops->write(r->opaque, addr - r->base, data, len);
	return 0;
}
