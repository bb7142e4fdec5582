/* i8042, CMOS RTC, exit/boot-time ports and the bus, created through their
 * device_ops with a fake dev_env (no KVM). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "tests/unit/t.h"
#include "vmm/device.h"

extern const struct device_ops i8042_device, rtc_device, debugport_device;

static struct bus pio, mmio;
static int exit_reason, exit_status, exit_calls;
static int irq_levels[24];
static char cmdline[512];

static int f_irq_line(struct vm *vm, unsigned gsi, int level) { irq_levels[gsi] = level; return 0; }
static void f_exit(struct vm *vm, enum vm_exit_reason r, int st)
{
	exit_calls++;
	if (!exit_reason) { exit_reason = (int)r; exit_status = st; }
}
static int f_cmdline(struct vm *vm, const char *w) { strcat(cmdline, " "); strcat(cmdline, w); return 0; }
static struct dev_resource res[8];
static unsigned nres;
static int f_publish(struct vm *vm, const struct dev_resource *r)
{
	if (nres >= 8)
		return -ENOSPC;
	res[nres++] = *r;
	return 0;
}

static const struct dev_env env = {
	.pio = &pio, .mmio = &mmio, .irq_line = f_irq_line, .request_exit = f_exit, .cmdline_add = f_cmdline,
	.publish = f_publish,
};

static void reset_fakes(void)
{
	memset(&pio, 0, sizeof(pio));
	exit_reason = exit_status = exit_calls = 0;
	memset(irq_levels, 0, sizeof(irq_levels));
	cmdline[0] = 0;
	nres = 0;
}

static uint8_t in8(uint16_t port) { uint8_t v; bus_read(&pio, port, &v, 1); return v; }
static void out8(uint16_t port, uint8_t v) { bus_write(&pio, port, &v, 1); }

/* What a device publishes for the firmware tables is what it claims on
 * the bus, and the reset register it names really resets the machine. */
static void published_resources_match_buses(void)
{
	void *st[2];
	uint8_t v;

	reset_fakes();
	CHECK_EQ(i8042_device.create(&env, NULL, &st[0]), 0);
	CHECK_EQ(rtc_device.create(&env, NULL, &st[1]), 0);
	CHECK_EQ(nres, 2);
	for (unsigned i = 0; i < nres; i++) {
		CHECK_EQ(res[i].kind, RES_ISA);
		CHECK(res[i].pnp != 0 && res[i].irq >= 0 && res[i].irq < 16);
		for (unsigned p = 0; p < res[i].nports; p++)
			for (unsigned k = 0; k < res[i].port_len[p]; k++)
				CHECK_EQ(bus_read(&pio, res[i].port[p] + k, &v, 1), 0);
		/* Just outside the published ranges nothing answers. */
		CHECK_EQ(bus_read(&pio, res[i].port[0] - 1, &v, 1), -ENOENT);
	}
	CHECK(!strcmp(res[0].name, "PS2K") && res[0].irq == 1);
	CHECK(!strcmp(res[1].name, "RTC_") && res[1].irq == 8);
	CHECK_EQ(res[1].reset_port, -1);
	CHECK(res[0].reset_port >= 0);
	out8((uint16_t)res[0].reset_port, res[0].reset_value);
	CHECK_EQ(exit_reason, VM_EXIT_RESET);
	i8042_device.destroy(st[0]);
	rtc_device.destroy(st[1]);
}

static void i8042_probe_sequence(void)
{
	void *st;
	reset_fakes();
	CHECK_EQ(i8042_device.create(&env, NULL, &st), 0);
	/* Linux i8042_controller_check: status readable, no stale output. */
	CHECK_EQ(in8(0x64) & 0x01, 0);
	out8(0x64, 0x20);                 /* read CTR */
	CHECK_EQ(in8(0x64) & 0x01, 1);
	uint8_t ctr = in8(0x60);
	CHECK_EQ(in8(0x64) & 0x01, 0);
	out8(0x64, 0x60);                 /* write CTR */
	out8(0x60, (uint8_t)(ctr & ~0x03));
	out8(0x64, 0x20);
	CHECK_EQ(in8(0x60), ctr & ~0x03);
	out8(0x64, 0xaa);                 /* self test */
	CHECK_EQ(in8(0x60), 0x55);
	out8(0x64, 0xab);
	CHECK_EQ(in8(0x60), 0x00);
	CHECK_EQ(exit_calls, 0);
	i8042_device.destroy(st);
}

static void i8042_keyboard_absent_times_out(void)
{
	void *st;
	reset_fakes();
	CHECK_EQ(i8042_device.create(&env, NULL, &st), 0);
	out8(0x60, 0xf2);  /* "identify" to a keyboard that is not there */
	CHECK_EQ(in8(0x64) & 0x41, 0x41);  /* OBF + timeout */
	CHECK_EQ(irq_levels[1], 1);
	CHECK_EQ(in8(0x60), 0xff);
	CHECK_EQ(irq_levels[1], 0);
	i8042_device.destroy(st);
}

static void i8042_reset_paths(void)
{
	void *st;
	reset_fakes();
	CHECK_EQ(i8042_device.create(&env, NULL, &st), 0);
	out8(0x64, 0xfe);
	CHECK_EQ(exit_reason, VM_EXIT_RESET);
	CHECK_EQ(exit_status, 0);
	reset_fakes();
	i8042_device.destroy(st);
	CHECK_EQ(i8042_device.create(&env, NULL, &st), 0);
	out8(0x64, 0xff);  /* pulse with bit 0 high: no reset */
	CHECK_EQ(exit_calls, 0);
	out8(0x64, 0xd1);  /* write output port with the reset line low */
	out8(0x60, 0xfe);
	CHECK_EQ(exit_reason, VM_EXIT_RESET);
	i8042_device.destroy(st);
}

static unsigned bcd(uint8_t v) { return (v >> 4) * 10 + (v & 0xf); }

static void rtc_reads_host_time(void)
{
	void *st;
	time_t t;
	struct tm tm;
	reset_fakes();
	CHECK_EQ(rtc_device.create(&env, NULL, &st), 0);
	out8(0x70, 0x0b);
	CHECK_EQ(in8(0x71) & 0x06, 0x02);  /* 24h, BCD */
	out8(0x70, 0x0d);
	CHECK_EQ(in8(0x71), 0x80);
	out8(0x70, 0x0a);
	CHECK_EQ(in8(0x71) & 0x80, 0);  /* no update in progress */
	t = time(NULL);
	gmtime_r(&t, &tm);
	out8(0x70, 0x09);
	CHECK_EQ(bcd(in8(0x71)), tm.tm_year % 100);
	out8(0x70, 0x32);
	CHECK_EQ(bcd(in8(0x71)), (tm.tm_year + 1900) / 100);
	out8(0x70, 0x08);
	CHECK_EQ(bcd(in8(0x71)), tm.tm_mon + 1);
	out8(0x70, 0x04);
	CHECK(bcd(in8(0x71)) < 24);
	/* binary mode */
	out8(0x70, 0x0b);
	out8(0x71, 0x06);
	out8(0x70, 0x09);
	CHECK_EQ(in8(0x71), tm.tm_year % 100);
	/* CMOS RAM bytes keep what the guest writes */
	out8(0x70, 0x40);
	out8(0x71, 0x5a);
	out8(0x70, 0x40);
	CHECK_EQ(in8(0x71), 0x5a);
	/* Setting the year moves the guest clock, not the host's. */
	out8(0x70, 0x09);
	out8(0x71, (uint8_t)((tm.tm_year + 1) % 100));
	out8(0x70, 0x09);
	CHECK_EQ(in8(0x71), (tm.tm_year + 1) % 100);
	rtc_device.destroy(st);
}

/* Leave a recognisable pattern where the next call's locals will live, so
 * a register computed from an unset struct tm shows up (no MSan here). */
static void __attribute__((noinline)) stack_pattern(void)
{
	volatile uint8_t junk[4096];
	for (unsigned i = 0; i < sizeof(junk); i++)
		junk[i] = 0xab;
}

/* A guest moving its clock as far forward as the registers let it: the
 * clock stops at 9999-12-31 23:59:59 (two BCD century digits) instead of
 * running on towards the year gmtime_r cannot represent, where its
 * registers would be read from an unset struct tm (stack bytes). Every
 * time register stays a valid value. */
static void rtc_far_future_clamped(void)
{
	static const uint8_t regs[] = { 0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32 };
	static const unsigned max[] = { 59, 59, 23, 7, 31, 12, 99, 99 };
	void *st;

	reset_fakes();
	CHECK_EQ(rtc_device.create(&env, NULL, &st), 0);
	out8(0x70, 0x0b);
	out8(0x71, 0x06);                 /* binary, 24h: values up to 255 */
	out8(0x70, 0x32);
	out8(0x71, 255);                  /* century 255: year 25599 */
	for (unsigned i = 0; i < 1000; i++) {
		out8(0x70, 0x08);
		out8(0x71, 255);          /* month 255: ~21 years on, each time */
		out8(0x70, 0x07);
		out8(0x71, 255);
	}
	for (unsigned i = 0; i < sizeof(regs); i++) {
		stack_pattern();
		out8(0x70, regs[i]);
		uint8_t v = in8(0x71);
		CHECK(v <= max[i]);
	}
	out8(0x70, 0x32);
	CHECK_EQ(in8(0x71), 99);
	out8(0x70, 0x09);
	CHECK_EQ(in8(0x71), 99);
	out8(0x70, 0x08);
	CHECK_EQ(in8(0x71), 12);
	out8(0x70, 0x07);
	CHECK_EQ(in8(0x71), 31);
	/* In BCD too, and the clock can be set back to now. */
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	out8(0x70, 0x0b);
	out8(0x71, 0x02);
	out8(0x70, 0x32);
	CHECK_EQ(in8(0x71), 0x99);
	out8(0x71, (uint8_t)(((tm.tm_year + 1900) / 1000) << 4 | ((tm.tm_year + 1900) / 100 % 10)));
	out8(0x70, 0x09);
	out8(0x71, (uint8_t)((tm.tm_year % 100 / 10) << 4 | tm.tm_year % 10));
	out8(0x70, 0x32);
	CHECK_EQ(bcd(in8(0x71)), (tm.tm_year + 1900) / 100);
	out8(0x70, 0x09);
	CHECK_EQ(bcd(in8(0x71)), tm.tm_year % 100);
	/* Nor before 1970: century 0, year 0 stops at the epoch. */
	out8(0x70, 0x32);
	out8(0x71, 0x00);
	out8(0x70, 0x32);
	CHECK_EQ(in8(0x71), 0x19);
	out8(0x70, 0x09);
	CHECK_EQ(in8(0x71), 0x70);
	rtc_device.destroy(st);
}

static void exit_and_boot_ports(void)
{
	void *st;
	reset_fakes();
	CHECK_EQ(debugport_device.create(&env, NULL, &st), 0);
	CHECK(strstr(cmdline, "appvm.exit_port=0x510") != NULL);
	out8(0x3f0, 123);
	out8(0x3f0, 7);
	CHECK_EQ(exit_calls, 0);
	out8(0x510, 42);
	CHECK_EQ(exit_reason, VM_EXIT_STATUS);
	CHECK_EQ(exit_status, 42);
	debugport_device.destroy(st);
}

static void bus_overlap_and_unclaimed(void)
{
	static const struct bus_ops none = { 0 };
	struct bus b;
	uint8_t v[4] = { 0 };

	memset(&b, 0, sizeof(b));
	CHECK_EQ(bus_add(&b, 0x100, 0x10, &none, NULL), 0);
	CHECK_EQ(bus_add(&b, 0x10f, 1, &none, NULL), -EEXIST);
	CHECK_EQ(bus_add(&b, 0xf8, 0x10, &none, NULL), -EEXIST);
	CHECK_EQ(bus_add(&b, 0x110, 1, &none, NULL), 0);
	CHECK_EQ(bus_add(&b, 0x0, 0, &none, NULL), -EINVAL);
	CHECK_EQ(bus_add(&b, ~0ULL, 2, &none, NULL), -EINVAL);
	CHECK_EQ(bus_read(&b, 0x200, v, 4), -ENOENT);
	CHECK_EQ(v[0], 0xff);
	CHECK_EQ(v[3], 0xff);
	CHECK_EQ(bus_write(&b, 0x200, v, 4), -ENOENT);
	for (unsigned i = 0; i < BUS_MAX_RANGES - 2; i++)
		bus_add(&b, 0x1000 + i * 2, 1, &none, NULL);
	CHECK_EQ(bus_add(&b, 0x9000, 1, &none, NULL), -ENOSPC);
	/* sorted order is kept for the binary search */
	for (unsigned i = 1; i < b.n; i++)
		CHECK(b.r[i - 1].base < b.r[i].base);
}

int main(void)
{
	t_suite = "legacy_devices";
	RUN(published_resources_match_buses);
	RUN(i8042_probe_sequence);
	RUN(i8042_keyboard_absent_times_out);
	RUN(i8042_reset_paths);
	RUN(rtc_reads_host_time);
	RUN(rtc_far_future_clamped);
	RUN(exit_and_boot_ports);
	RUN(bus_overlap_and_unclaimed);
	return t_done();
}
