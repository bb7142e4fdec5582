/* vmm/devices/pl031.c: the PL031 register model (ARM DDI 0224) as a
 * function of the host time, and the device on a fake MMIO bus: reads,
 * a load offsetting the clock, the match interrupt, the PrimeCell ids the
 * amba bus probes, and hostile accesses. No KVM. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "tests/unit/t.h"
#include "vmm/device.h"
#include "vmm/devices/pl031.h"

extern const struct device_ops pl031_device;

#define NOW 1764700000LL  /* 2025-12-02T18:26:40Z */

static void pl031_reads_host_time(void)
{
	struct pl031_regs r;

	pl031_regs_init(&r);
	CHECK_EQ(pl031_reg_read(&r, PL031_DR, NOW), (uint32_t)NOW);
	CHECK_EQ(pl031_reg_read(&r, PL031_DR, NOW + 7), (uint32_t)(NOW + 7));
	/* RTCStart reads 1 and cannot be cleared (TRM §3.3.4). */
	CHECK_EQ(pl031_reg_read(&r, PL031_CR, NOW), 1u);
	CHECK_EQ(pl031_reg_write(&r, PL031_CR, 0, NOW), 0u);
	CHECK_EQ(pl031_reg_read(&r, PL031_CR, NOW), 1u);
	/* The data register is read-only. */
	CHECK_EQ(pl031_reg_write(&r, PL031_DR, 5, NOW), 0u);
	CHECK_EQ(pl031_reg_read(&r, PL031_DR, NOW), (uint32_t)NOW);
}

/* A load sets the counter, which counts on from there; RTCLR reads back
 * what was loaded. The 32-bit counter wraps (a load of 0xffffffff). */
static void pl031_load_offsets_time(void)
{
	struct pl031_regs r;

	pl031_regs_init(&r);
	CHECK_EQ(pl031_reg_write(&r, PL031_LR, 1000, NOW), (unsigned)PL031_REARM);
	CHECK_EQ(pl031_reg_read(&r, PL031_DR, NOW), 1000u);
	CHECK_EQ(pl031_reg_read(&r, PL031_DR, NOW + 60), 1060u);
	CHECK_EQ(pl031_reg_read(&r, PL031_LR, NOW + 60), 1000u);
	pl031_reg_write(&r, PL031_LR, 0xffffffffu, NOW);
	CHECK_EQ(pl031_reg_read(&r, PL031_DR, NOW), 0xffffffffu);
	CHECK_EQ(pl031_reg_read(&r, PL031_DR, NOW + 2), 1u);
	/* Back to the host's time. */
	pl031_reg_write(&r, PL031_LR, (uint32_t)NOW, NOW);
	CHECK_EQ(pl031_reg_read(&r, PL031_DR, NOW + 3), (uint32_t)(NOW + 3));
}

/* TRM §3.3.2, 3.3.5-3.3.8: RIS latches at the match, MIS = RIS & IMSC,
 * ICR clears; the next match is where the counter reaches MR. */
static void pl031_match_interrupt(void)
{
	struct pl031_regs r;

	pl031_regs_init(&r);
	CHECK_EQ(pl031_reg_write(&r, PL031_MR, (uint32_t)(NOW + 10), NOW), (unsigned)PL031_REARM);
	CHECK_EQ(pl031_reg_read(&r, PL031_MR, NOW), (uint32_t)(NOW + 10));
	CHECK_EQ(pl031_next_match(&r, NOW), NOW + 10);
	CHECK_EQ(pl031_next_match(&r, NOW + 10), NOW + 10);
	/* Already passed: the next time round, 2^32 seconds after. */
	CHECK_EQ(pl031_next_match(&r, NOW + 11), NOW + 10 + (1LL << 32));
	/* After a load the match is counted from the new counter. */
	pl031_reg_write(&r, PL031_LR, (uint32_t)(NOW + 8), NOW);
	CHECK_EQ(pl031_next_match(&r, NOW), NOW + 2);
	CHECK(!pl031_irq_level(&r));
	pl031_match(&r);
	CHECK_EQ(pl031_reg_read(&r, PL031_RIS, NOW), 1u);
	CHECK_EQ(pl031_reg_read(&r, PL031_MIS, NOW), 0u);
	CHECK(!pl031_irq_level(&r));  /* masked */
	CHECK_EQ(pl031_reg_write(&r, PL031_IMSC, 0xffffffffu, NOW), (unsigned)PL031_LINE);
	CHECK_EQ(pl031_reg_read(&r, PL031_IMSC, NOW), 1u);  /* only bit 0 exists */
	CHECK_EQ(pl031_reg_read(&r, PL031_MIS, NOW), 1u);
	CHECK(pl031_irq_level(&r));
	/* RIS and MIS are read-only; ICR is write-only and clears. */
	pl031_reg_write(&r, PL031_RIS, 0, NOW);
	pl031_reg_write(&r, PL031_MIS, 0, NOW);
	CHECK(pl031_irq_level(&r));
	CHECK_EQ(pl031_reg_read(&r, PL031_ICR, NOW), 0u);
	CHECK_EQ(pl031_reg_write(&r, PL031_ICR, 2, NOW), (unsigned)PL031_LINE);
	CHECK(pl031_irq_level(&r));  /* bit 1 is not the match interrupt */
	pl031_reg_write(&r, PL031_ICR, 1, NOW);
	CHECK(!pl031_irq_level(&r));
	CHECK_EQ(pl031_reg_read(&r, PL031_RIS, NOW), 0u);
}

/* What drivers/amba/bus.c reads (amba_read_periphid: the low byte of
 * each word at size - 0x20 .. size - 4) and rtc-pl031.c matches. */
static void pl031_primecell_ids(void)
{
	struct pl031_regs r;
	uint32_t pid = 0, cid = 0;

	pl031_regs_init(&r);
	for (unsigned i = 0; i < 4; i++) {
		pid |= (pl031_reg_read(&r, PL031_SIZE - 0x20 + 4 * i, NOW) & 255) << (8 * i);
		cid |= (pl031_reg_read(&r, PL031_SIZE - 0x10 + 4 * i, NOW) & 255) << (8 * i);
	}
	CHECK_EQ(cid, 0xb105f00du);
	CHECK_EQ(pid & 0x000fffffu, 0x00041031u);
	/* Read-only. */
	pl031_reg_write(&r, PL031_ID, 0, NOW);
	CHECK_EQ(pl031_reg_read(&r, PL031_ID, NOW), 0x31u);
	/* Reserved space reads 0. */
	CHECK_EQ(pl031_reg_read(&r, 0x020, NOW), 0u);
	CHECK_EQ(pl031_reg_read(&r, 0xfdc, NOW), 0u);
}

/* The device on a fake MMIO bus, at the window the fake arch names. */
static struct bus mmio;
static int irq_level[8], irq_calls, watched_fd = -1, no_window;
static struct dev_resource res;
static unsigned nres;

static int f_irq_line(struct vm *vm, unsigned gsi, int level)
{
	if (gsi < 8)
		irq_level[gsi] = level;
	irq_calls++;
	return 0;
}
static int f_watch(struct vm *vm, int fd, dev_watch_cb cb, void *opaque) { watched_fd = fd; return 0; }
static int f_unwatch(struct vm *vm, int fd) { watched_fd = -1; return 0; }
static int f_publish(struct vm *vm, const struct dev_resource *r) { res = *r; nres++; return 0; }
static int f_window(struct vm *vm, const char *name, uint64_t *base, uint64_t *size, unsigned *gsi)
{
	if (no_window || strcmp(name, "pl031"))
		return -ENODEV;
	*base = 0x9010000;
	*size = 0x1000;
	*gsi = 2;
	return 0;
}

static const struct dev_env env = {
	.mmio = &mmio, .irq_line = f_irq_line, .watch = f_watch, .unwatch = f_unwatch,
	.publish = f_publish, .platform_window = f_window,
};

static uint32_t rd32(uint64_t off)
{
	uint8_t b[4];

	bus_read(&mmio, 0x9010000 + off, b, 4);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void wr32(uint64_t off, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	bus_write(&mmio, 0x9010000 + off, b, 4);
}

static void pl031_device_on_bus(void)
{
	void *st = NULL;
	uint8_t b[8];
	long long now;
	uint32_t t;

	memset(&mmio, 0, sizeof(mmio));
	nres = 0;
	CHECK_EQ(pl031_device.create(&env, NULL, &st), 0);
	CHECK_EQ(nres, 1u);
	CHECK(res.kind == RES_PRIMECELL && !strcmp(res.compat, "arm,pl031") && res.base == 0x9010000 &&
	      res.size == 0x1000 && res.irq == 2);
	CHECK(watched_fd >= 0);
	now = (long long)time(NULL);
	t = rd32(PL031_DR);
	CHECK(t >= (uint32_t)now && t <= (uint32_t)now + 2);
	/* A load an hour back (hwclock -w): the clock reads an hour back. */
	wr32(PL031_LR, t - 3600);
	t = rd32(PL031_DR);
	CHECK(t >= (uint32_t)now - 3600 && t <= (uint32_t)now - 3600 + 2);
	CHECK_EQ(rd32(PL031_SIZE - 0x10), 0x0du);
	/* A match at the current counter latches at once (as QEMU does) and,
	 * unmasked, raises SPI 2; ICR lowers it. */
	wr32(PL031_IMSC, 1);
	CHECK_EQ(irq_level[2], 0);
	wr32(PL031_MR, rd32(PL031_DR));
	CHECK_EQ(rd32(PL031_RIS), 1u);
	CHECK_EQ(irq_level[2], 1);
	wr32(PL031_ICR, 1);
	CHECK_EQ(irq_level[2], 0);
	CHECK_EQ(rd32(PL031_MIS), 0u);
	/* Hostile accesses: other widths and unaligned offsets read 0 and
	 * change nothing; every offset of the window answers. */
	memset(b, 0xaa, sizeof(b));
	bus_read(&mmio, 0x9010000 + PL031_SIZE - 0x20, b, 1);
	CHECK_EQ(b[0], 0);
	bus_read(&mmio, 0x9010000 + 2, b, 4);
	CHECK(b[0] == 0 && b[3] == 0);
	bus_read(&mmio, 0x9010000, b, 8);
	CHECK(b[0] == 0 && b[7] == 0);
	memset(b, 0xff, sizeof(b));
	bus_write(&mmio, 0x9010000 + PL031_LR, b, 2);
	bus_write(&mmio, 0x9010000 + PL031_LR + 1, b, 4);
	bus_write(&mmio, 0x9010000 + PL031_LR, b, 8);
	t = rd32(PL031_DR);
	CHECK(t >= (uint32_t)now - 3600 && t <= (uint32_t)now - 3600 + 2);
	for (uint64_t off = 0; off < PL031_SIZE; off += 4) {
		wr32(off, 0xffffffffu);
		(void)rd32(off);
	}
	CHECK_EQ(bus_read(&mmio, 0x9010000 + PL031_SIZE, b, 4), -ENOENT);
	pl031_device.destroy(st);
	CHECK_EQ(watched_fd, -1);
}

/* x86 (no window): not created, nothing published or claimed. */
static void pl031_not_on_this_machine(void)
{
	void *st = NULL;

	memset(&mmio, 0, sizeof(mmio));
	nres = 0;
	no_window = 1;
	CHECK_EQ(pl031_device.create(&env, NULL, &st), 1);
	CHECK_EQ(nres, 0u);
	CHECK_EQ(mmio.n, 0u);
	no_window = 0;
}

int main(void)
{
	t_suite = "pl031";
	RUN(pl031_reads_host_time);
	RUN(pl031_load_offsets_time);
	RUN(pl031_match_interrupt);
	RUN(pl031_primecell_ids);
	RUN(pl031_device_on_bus);
	RUN(pl031_not_on_this_machine);
	return t_done();
}
