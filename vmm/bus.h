/* Address-range dispatch for port I/O and MMIO exits. Ranges are added during
 * setup only; after the vCPUs start, lookups are lock-free and each device
 * serialises its own state. */
#ifndef VMM_BUS_H
#define VMM_BUS_H
#include <stdint.h>

#define BUS_MAX_RANGES 64

/* A device's handlers: off is relative to the range base; len is 1..8.
 * Handlers must tolerate any offset/length a guest chooses. */
struct bus_ops {
	void (*read)(void *opaque, uint64_t off, uint8_t *data, uint32_t len);
	void (*write)(void *opaque, uint64_t off, const uint8_t *data, uint32_t len);
};

struct bus_range {
	uint64_t base, len;
	const struct bus_ops *ops;
	void *opaque;
};

struct bus {
	unsigned n;
	struct bus_range r[BUS_MAX_RANGES];  /* sorted by base */
};

/* 0, -EINVAL (empty or wrapping range), -EEXIST (overlap), -ENOSPC. */
int bus_add(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops, void *opaque);
/* Dispatch an access. Unclaimed reads return all-ones (as on real hardware)
 * and -ENOENT; unclaimed writes are dropped with -ENOENT. */
int bus_read(const struct bus *b, uint64_t addr, uint8_t *data, uint32_t len);
int bus_write(const struct bus *b, uint64_t addr, const uint8_t *data, uint32_t len);
#endif
