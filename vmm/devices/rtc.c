/* MC146818 CMOS RTC on ports 0x70 (index, bit 7 = NMI mask) and 0x71 (data),
 * reporting the host's UTC time. Register map and formats from the MC146818A
 * datasheet: time in BCD unless register B's DM bit is set, 24-hour unless
 * its 24/12 bit is clear. Guest writes to the clock registers are kept as an
 * offset from host time, so `hwclock -w` in the guest behaves. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/device.h"

#define RTC_INDEX 0x70
#define RTC_IRQ   8
#define RTC_SEC   0x00
#define RTC_MIN   0x02
#define RTC_HOUR  0x04
#define RTC_WDAY  0x06
#define RTC_MDAY  0x07
#define RTC_MON   0x08
#define RTC_YEAR  0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32

#define REG_B_24H 0x02
#define REG_B_DM  0x04  /* binary, not BCD */
#define REG_B_SET 0x80

/* The guest's clock stays within what the registers can show: the epoch to
 * 9999-12-31T23:59:59 (two BCD digits of century). Without the bound a
 * guest stepping its clock forward reaches years gmtime_r cannot represent
 * (past INT_MAX), where the registers were read from an unset struct tm. */
#define RTC_TIME_MIN 0LL
#define RTC_TIME_MAX 253402300799LL

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t ram[128];
	long long offset;   /* guest time - host time, seconds */
};

static uint8_t rtc_to_bcd(unsigned v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static unsigned rtc_from_bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

static uint8_t rtc_enc(const struct rtc *r, unsigned v)
{
	return (r->ram[RTC_REG_B] & REG_B_DM) ? (uint8_t)v : rtc_to_bcd(v);
}

static unsigned rtc_dec(const struct rtc *r, uint8_t v)
{
	return (r->ram[RTC_REG_B] & REG_B_DM) ? v : rtc_from_bcd(v);
}

static long long rtc_clamp(long long t)
{
	return t < RTC_TIME_MIN ? RTC_TIME_MIN : t > RTC_TIME_MAX ? RTC_TIME_MAX : t;
}

/* Guest time, broken down. The offset is clamped when set, but host time
 * moves: clamp again; and should gmtime_r still fail, report the epoch
 * rather than whatever the stack held. */
static void rtc_now(const struct rtc *r, struct tm *tm)
{
	time_t t = (time_t)rtc_clamp((long long)time(NULL) + r->offset);

	if (!gmtime_r(&t, tm)) {
		memset(tm, 0, sizeof(*tm));
		tm->tm_mday = 1;
		tm->tm_year = 70;
		tm->tm_wday = 4;  /* 1970-01-01 was a Thursday */
	}
}

static uint8_t rtc_reg(struct rtc *r, uint8_t idx)
{
	struct tm tm;
	unsigned hour;

	switch (idx) {
	case RTC_SEC: case RTC_MIN: case RTC_HOUR: case RTC_WDAY:
	case RTC_MDAY: case RTC_MON: case RTC_YEAR: case RTC_CENTURY:
		rtc_now(r, &tm);
		break;
	default:
		break;
	}
	switch (idx) {
	case RTC_SEC:
		return rtc_enc(r, (unsigned)tm.tm_sec);
	case RTC_MIN:
		return rtc_enc(r, (unsigned)tm.tm_min);
	case RTC_HOUR:
		hour = (unsigned)tm.tm_hour;
		if (!(r->ram[RTC_REG_B] & REG_B_24H)) {
			unsigned h12 = hour % 12 ? hour % 12 : 12;
			return (uint8_t)(rtc_enc(r, h12) | (hour >= 12 ? 0x80 : 0));
		}
		return rtc_enc(r, hour);
	case RTC_WDAY:
		return rtc_enc(r, (unsigned)tm.tm_wday + 1);
	case RTC_MDAY:
		return rtc_enc(r, (unsigned)tm.tm_mday);
	case RTC_MON:
		return rtc_enc(r, (unsigned)tm.tm_mon + 1);
	case RTC_YEAR:
		return rtc_enc(r, (unsigned)tm.tm_year % 100);
	case RTC_CENTURY:
		return rtc_enc(r, (unsigned)(tm.tm_year + 1900) / 100);
	case RTC_REG_A:
		/* 32.768 kHz time base, 1024 Hz rate; UIP (bit 7) never set:
		 * reads are atomic here. */
		return 0x26;
	case RTC_REG_C:
		return 0;  /* no interrupt flags: we raise no RTC interrupts */
	case RTC_REG_D:
		return 0x80;  /* valid RAM and time */
	default:
		return r->ram[idx & 0x7f];
	}
}

/* A guest write to a clock field: recompute the offset from host time. */
static void rtc_set_field(struct rtc *r, uint8_t idx, uint8_t v)
{
	struct tm tm;
	time_t now = time(NULL), want;
	unsigned val;

	rtc_now(r, &tm);
	if (idx == RTC_HOUR && !(r->ram[RTC_REG_B] & REG_B_24H)) {
		val = rtc_dec(r, v & 0x7f) % 12 + ((v & 0x80) ? 12 : 0);
	} else {
		val = rtc_dec(r, v);
	}
	switch (idx) {
	case RTC_SEC: tm.tm_sec = (int)val; break;
	case RTC_MIN: tm.tm_min = (int)val; break;
	case RTC_HOUR: tm.tm_hour = (int)val; break;
	case RTC_MDAY: tm.tm_mday = (int)val; break;
	case RTC_MON: tm.tm_mon = (int)val - 1; break;
	case RTC_YEAR: tm.tm_year = (tm.tm_year / 100) * 100 + (int)val % 100; break;
	case RTC_CENTURY: tm.tm_year = ((int)val * 100 + tm.tm_year % 100) - 1900; break;
	default: return;
	}
	/* Fields up to 255 (binary mode) from a clamped time: timegm cannot
	 * overflow, and -1 is 1969-12-31T23:59:59, clamped like the rest. */
	want = timegm(&tm);
	r->offset = rtc_clamp((long long)want) - (long long)now;
}

static void rtc_index_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct rtc *r = opaque;

	pthread_mutex_lock(&r->lock);
	r->index = data[0] & 0x7f;  /* bit 7 masks NMI: nothing to mask here */
	pthread_mutex_unlock(&r->lock);
}

static void rtc_index_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		data[i] = 0xff;  /* the index port is write-only */
}

static void rtc_data_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct rtc *r = opaque;
	uint8_t v;

	pthread_mutex_lock(&r->lock);
	v = rtc_reg(r, r->index);
	pthread_mutex_unlock(&r->lock);
	for (uint32_t i = 0; i < len; i++)
		data[i] = i == 0 ? v : 0xff;
}

static void rtc_data_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct rtc *r = opaque;
	uint8_t idx, v = data[0];

	pthread_mutex_lock(&r->lock);
	idx = r->index;
	switch (idx) {
	case RTC_SEC: case RTC_MIN: case RTC_HOUR: case RTC_MDAY:
	case RTC_MON: case RTC_YEAR: case RTC_CENTURY:
		rtc_set_field(r, idx, v);
		break;
	case RTC_REG_A: case RTC_REG_C: case RTC_REG_D: case RTC_WDAY:
		break;  /* read-only here, or derived from the date */
	case RTC_REG_B:
		r->ram[idx] = v & (REG_B_24H | REG_B_DM | REG_B_SET);
		break;
	default:
		r->ram[idx] = v;
		break;
	}
	pthread_mutex_unlock(&r->lock);
}

static const struct bus_ops rtc_index_ops = { .read = rtc_index_read, .write = rtc_index_write };
static const struct bus_ops rtc_data_ops = { .read = rtc_data_read, .write = rtc_data_write };

static void rtc_destroy(void *state)
{
	struct rtc *r = state;

	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static int rtc_create(const struct dev_env *env, const void *opts, void **state)
{
	struct rtc *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	/* glibc (the sanitizer builds) loads the time zone on the first
	 * gmtime_r, opening /etc/localtime: do it here, before vmm's filters,
	 * not on a vCPU thread, whose filter allows no open of that kind. */
	tzset();
	r->ram[RTC_REG_B] = REG_B_24H;  /* 24-hour, BCD: what a PC BIOS leaves */
	/* An MC146818 (PnP PNP0B00): index and data ports, IRQ 8. */
	rc = env->publish(env->vm, &(struct dev_resource){
		.kind = RES_ISA, .name = "RTC_", .pnp = RES_PNP(0x0b, 0x00), .nports = 1,
		.port = { RTC_INDEX }, .port_len = { 2 }, .irq = RTC_IRQ, .reset_port = -1 });
	if (rc == 0)
		rc = bus_add(env->pio, RTC_INDEX, 1, &rtc_index_ops, r);
	if (rc == 0)
		rc = bus_add(env->pio, RTC_INDEX + 1, 1, &rtc_data_ops, r);
	if (rc) {
		rtc_destroy(r);
		return rc;
	}
	*state = r;
	return 0;
}

const struct device_ops rtc_device = {
	.name = "rtc",
	.create = rtc_create,
	.destroy = rtc_destroy,
};
