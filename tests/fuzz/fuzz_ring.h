/* What the virtio queue fuzz targets (fuzz_virtio_rng, _9p, _net) share:
 * little-endian ring fields in the fuzzer's guest memory, and that memory
 * itself, filled from the input after its header bytes. Each target keeps
 * its own ring layout (DESC, AVAIL, USED, DATA) and checks. */
#ifndef TESTS_FUZZ_FUZZ_RING_H
#define TESTS_FUZZ_FUZZ_RING_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline uint16_t fz_le16(const uint8_t *mem, uint32_t gpa)
{
	return (uint16_t)(mem[gpa] | mem[gpa + 1] << 8);
}

static inline void fz_put16(uint8_t *mem, uint32_t gpa, uint16_t v)
{
	mem[gpa] = (uint8_t)v;
	mem[gpa + 1] = (uint8_t)(v >> 8);
}

/* Guest memory of mem_size bytes (zeroed, freed by the caller) holding the
 * input after its first skip bytes; aborts when out of memory. */
static inline uint8_t *fz_guest_mem(const uint8_t *data, size_t size, size_t skip, size_t mem_size)
{
	uint8_t *mem = calloc(1, mem_size);

	if (!mem)
		abort();
	memcpy(mem, data + skip, size - skip < mem_size ? size - skip : mem_size);
	return mem;
}
#endif
