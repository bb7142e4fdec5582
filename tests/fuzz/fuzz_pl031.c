/* libFuzzer target: the PL031 RTC (vmm/devices/pl031.c) as an arm64 guest
 * reaches it, created through its device_ops on an MMIO bus at the window
 * a fake arch names.
 *
 * Input: 8-byte operations {op, lo, hi, w, v0, v1, v2, v3}: op even writes,
 * odd reads, width 1 << (w % 4) at window offset (lo | hi << 8) % 0x1008
 * (a few bytes past the end too), value v0..v3 little endian.
 * Checks, besides ASan/UBSan: the interrupt line the device drives is
 * RTCMIS, which is RTCRIS & RTCIMSC (TRM §3.3.7); the PrimeCell ids never
 * change; RTCCR reads 1. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/device.h"
#include "vmm/devices/pl031.h"
#include "vmm/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct device_ops pl031_device;

#define FZ_BASE 0x9010000ULL

struct fz_state {
	struct bus mmio;
	int level;
};

static struct fz_state fz;

static int fz_irq_line(struct vm *vm, unsigned gsi, int level)
{
	if (gsi != 2)
		abort();
	fz.level = level;
	return 0;
}
static int fz_watch(struct vm *vm, int fd, dev_watch_cb cb, void *opaque) { return 0; }
static int fz_unwatch(struct vm *vm, int fd) { return 0; }
static int fz_publish(struct vm *vm, const struct dev_resource *r) { return 0; }
static int fz_window(struct vm *vm, const char *name, uint64_t *base, uint64_t *size, unsigned *gsi)
{
	*base = FZ_BASE;
	*size = PL031_SIZE;
	*gsi = 2;
	return 0;
}

static uint32_t fz_rd32(uint32_t off)
{
	uint8_t b[4];

	bus_read(&fz.mmio, FZ_BASE + off, b, 4);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t ids[8] = { 0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };
	const struct dev_env env = {
		.mmio = &fz.mmio, .irq_line = fz_irq_line, .watch = fz_watch, .unwatch = fz_unwatch,
		.publish = fz_publish, .platform_window = fz_window,
	};
	void *st = NULL;

	log_level = -1;
	memset(&fz, 0, sizeof(fz));
	if (pl031_device.create(&env, NULL, &st) != 0)
		abort();
	for (size_t i = 0; i + 8 <= size; i += 8) {
		const uint8_t *o = data + i;
		uint32_t off = (uint32_t)(o[1] | o[2] << 8) % (PL031_SIZE + 8);
		uint32_t len = 1u << (o[3] % 4);
		uint8_t buf[8] = { o[4], o[5], o[6], o[7], o[4], o[5], o[6], o[7] };
		uint32_t ris, imsc, mis;

		if (o[0] & 1)
			bus_read(&fz.mmio, FZ_BASE + off, buf, len);
		else
			bus_write(&fz.mmio, FZ_BASE + off, buf, len);
		ris = fz_rd32(PL031_RIS);
		imsc = fz_rd32(PL031_IMSC);
		mis = fz_rd32(PL031_MIS);
		if (ris > 1 || imsc > 1 || mis != (ris & imsc) || fz.level != (int)mis)
			abort();
		if (fz_rd32(PL031_CR) != 1)
			abort();
		for (unsigned k = 0; k < 8; k++)
			if (fz_rd32(PL031_ID + 4 * k) != ids[k])
				abort();
	}
	pl031_device.destroy(st);
	return 0;
}
