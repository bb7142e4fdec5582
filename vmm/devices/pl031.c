/* ARM PrimeCell PL031 RTC (ARM DDI 0224) on arm64: a 32-bit counter of
 * seconds that reads the host's UTC time. A guest load (RTCLR, `hwclock
 * -w`) is kept as an offset from host time, as the CMOS RTC does on x86.
 * The match register raises the alarm interrupt through a CLOCK_REALTIME
 * timerfd armed for the host second the counter reaches it.
 *
 * Only where the architecture gives it a window (arm64: layout.h; x86 has
 * the MC146818 instead) the device exists; it publishes a RES_PRIMECELL
 * record and the arch renders the device-tree node that Linux's amba bus
 * probes (compatible "arm,pl031", "arm,primecell"; drivers/rtc/rtc-pl031.c
 * matches PeriphID 0x00041031 under mask 0x000fffff).
 *
 * Guest accesses are 32-bit registers (TRM §3.3); anything else (another
 * width, an unaligned offset) reads 0 and writes nothing. */
#include "vmm/devices/pl031.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/device.h"
#include "vmm/log.h"

/* TRM §3.3.10-3.3.17: RTCPeriphID0-3 = 0x31 0x10 0x?4 0x00 (part 0x031,
 * designer 0x41 ARM, revision in ID2's upper nibble; 0x14 as QEMU's
 * model), RTCPCellID0-3 = 0x0d 0xf0 0x05 0xb1 (the PrimeCell id
 * 0xb105f00d the amba bus checks, drivers/amba/bus.c). One byte per word. */
static const uint8_t pl031_id[8] = { 0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

static uint32_t pl031_counter(const struct pl031_regs *r, long long now)
{
	return (uint32_t)(unsigned long long)(now + r->offset);
}

void pl031_regs_init(struct pl031_regs *r)
{
	memset(r, 0, sizeof(*r));
}

uint32_t pl031_reg_read(const struct pl031_regs *r, uint32_t off, long long now)
{
	if (off >= PL031_ID && off < PL031_SIZE)
		return pl031_id[(off - PL031_ID) / 4];
	switch (off) {
	case PL031_DR:
		return pl031_counter(r, now);
	case PL031_MR:
		return r->mr;
	case PL031_LR:
		return r->lr;  /* TRM §3.3.3: reads the last value loaded */
	case PL031_CR:
		/* Always counting, as QEMU's pl031 (the counter is the host
		 * clock); RTCStart reads 1 (TRM §3.3.4: once set it stays). */
		return 1;
	case PL031_IMSC:
		return r->imsc;
	case PL031_RIS:
		return r->ris;
	case PL031_MIS:
		return r->ris & r->imsc;
	default:
		return 0;  /* ICR is write-only; reserved space reads 0 */
	}
}

unsigned pl031_reg_write(struct pl031_regs *r, uint32_t off, uint32_t v, long long now)
{
	switch (off) {
	case PL031_MR:
		r->mr = v;
		return PL031_REARM;
	case PL031_LR:
		/* The counter becomes v now and counts on from there. Any v is
		 * fine: the offset stays within +-2^32 of the host clock. */
		r->lr = v;
		r->offset = (long long)v - now;
		return PL031_REARM;
	case PL031_IMSC:
		r->imsc = v & 1;
		return PL031_LINE;
	case PL031_ICR:
		r->ris &= ~(v & 1);
		return PL031_LINE;
	default:
		/* DR, CR (RTCStart cannot be cleared), RIS, MIS, the IDs and
		 * reserved space: read-only or nothing there. */
		return 0;
	}
}

long long pl031_next_match(const struct pl031_regs *r, long long now)
{
	return now + (long long)(uint32_t)(r->mr - pl031_counter(r, now));
}

void pl031_match(struct pl031_regs *r)
{
	r->ris = 1;
}

bool pl031_irq_level(const struct pl031_regs *r)
{
	return (r->ris & r->imsc) != 0;
}

struct pl031 {
	pthread_mutex_t lock;
	struct pl031_regs regs;
	const struct dev_env *env;
	unsigned gsi;
	int timer_fd;
	bool watched;
	bool level;       /* what the interrupt line was last set to */
};

/* Under the lock: pass a change of RTCINTR on to the GIC (level, as the
 * device tree says). */
static void pl031_update_line(struct pl031 *p)
{
	bool level = pl031_irq_level(&p->regs);

	if (level == p->level)
		return;
	p->level = level;
	p->env->irq_line(p->env->vm, p->gsi, level);
}

/* Under the lock: the match register or the counter moved. A match now
 * latches at once; otherwise the timer fires at the host second the
 * counter reaches it (settime also drops an expiry not yet read, so a
 * stale one cannot latch the new match early). */
static void pl031_rearm(struct pl031 *p, long long now)
{
	long long at = pl031_next_match(&p->regs, now);
	struct itimerspec its = { 0 };

	if (at <= now)
		pl031_match(&p->regs);
	else
		its.it_value.tv_sec = (time_t)at;
	if (timerfd_settime(p->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_guest("pl031: cannot arm the alarm timer: %s", strerror(errno));
	pl031_update_line(p);
}

static void pl031_on_timer(void *opaque, int fd, uint32_t events)
{
	struct pl031 *p = opaque;
	uint64_t n;

	(void)events;
	pthread_mutex_lock(&p->lock);
	/* Read under the lock: a re-arm on a vCPU thread between the wake-up
	 * and here leaves nothing to read (EAGAIN), and the old match is
	 * gone. */
	if (read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n)) {
		pl031_match(&p->regs);
		pl031_update_line(p);
	}
	pthread_mutex_unlock(&p->lock);
}

static void pl031_bus_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct pl031 *p = opaque;
	uint32_t v;

	if (len != 4 || (off & 3)) {
		memset(data, 0, len);
		log_guest("pl031: %u-byte read at 0x%llx ignored (32-bit registers only)", len,
			  (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&p->lock);
	v = pl031_reg_read(&p->regs, (uint32_t)off, (long long)time(NULL));
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < 4; i++)
		data[i] = (uint8_t)(v >> (8 * i));  /* little endian, as the guest */
}

static void pl031_bus_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct pl031 *p = opaque;
	long long now = (long long)time(NULL);
	uint32_t v;
	unsigned what;

	if (len != 4 || (off & 3)) {
		log_guest("pl031: %u-byte write at 0x%llx ignored (32-bit registers only)", len,
			  (unsigned long long)off);
		return;
	}
	v = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
	pthread_mutex_lock(&p->lock);
	what = pl031_reg_write(&p->regs, (uint32_t)off, v, now);
	if (what & PL031_REARM)
		pl031_rearm(p, now);
	else if (what & PL031_LINE)
		pl031_update_line(p);
	pthread_mutex_unlock(&p->lock);
}

static const struct bus_ops pl031_ops = { .read = pl031_bus_read, .write = pl031_bus_write };

static void pl031_destroy(void *state)
{
	struct pl031 *p = state;

	if (!p)
		return;
	if (p->watched)
		p->env->unwatch(p->env->vm, p->timer_fd);
	if (p->timer_fd >= 0)
		close(p->timer_fd);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static int pl031_create(const struct dev_env *env, const void *opts, void **state)
{
	struct dev_resource res = { .kind = RES_PRIMECELL, .compat = "arm,pl031", .reset_port = -1 };
	struct pl031 *p;
	unsigned gsi;
	int rc;

	(void)opts;
	/* The architecture owns the address and the interrupt; none given
	 * (x86): not this machine's RTC. */
	rc = env->platform_window(env->vm, "pl031", &res.base, &res.size, &gsi);
	if (rc == -ENODEV)
		return 1;
	if (rc)
		return rc;
	if (res.size < PL031_SIZE)
		return -EINVAL;
	res.size = PL031_SIZE;
	res.irq = (int)gsi;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pl031_regs_init(&p->regs);
	p->env = env;
	p->gsi = gsi;
	p->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p->timer_fd < 0) {
		rc = -errno;
		log_err("pl031: timerfd_create: %s", strerror(errno));
		pl031_destroy(p);
		return rc;
	}
	rc = env->publish(env->vm, &res);
	if (rc == 0)
		rc = bus_add(env->mmio, res.base, PL031_SIZE, &pl031_ops, p);
	if (rc == 0 && (rc = env->watch(env->vm, p->timer_fd, pl031_on_timer, p)) == 0)
		p->watched = true;
	if (rc) {
		log_err("pl031: cannot place the device at 0x%llx: %s", (unsigned long long)res.base,
			strerror(-rc));
		pl031_destroy(p);
		return rc;
	}
	*state = p;
	return 0;
}

const struct device_ops pl031_device = {
	.name = "pl031",
	.create = pl031_create,
	.destroy = pl031_destroy,
};
