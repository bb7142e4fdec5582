/* The virtio-mmio register model (virtio 1.2 §4.2.2, §4.2.3, §3.1) and the
 * device host behind it: feature negotiation, queue setup, status
 * transitions, reset, notifications through the notify eventfds (bound as
 * ioeventfds, or written by trapped QueueNotify writes) served by the host's
 * worker round, interrupts through the irqfd -- against a fake VM
 * environment and a fake struct virtio_device that records what it is
 * asked. Also creates the real virtio-blk and virtio-rng devices through the
 * host, as the VMM does. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/netns.h"
#include "tests/unit/t.h"
#include "tests/unit/virtq_fake.h"
#include "vmm/device.h"
#include "vmm/devices/virtio_9p.h"
#include "vmm/devices/virtio_blk.h"
#include "vmm/devices/virtio_net.h"
#include "vmm/devices/virtio_rng.h"
#include "vmm/log.h"
#include "vmm/virtio.h"
#include "vmm/virtio_host.h"
#include "vmm/virtio_mmio.h"

#define BASE 0xd0000000ull

/* ---- fake VM environment ------------------------------------------------ */
struct fake_vm {
	struct bus mmio;
	unsigned slots;
	bool no_ioeventfd;
	int ioev_fd[8];
	uint64_t ioev_match[8];
	unsigned nioev;
	unsigned nwatch;
	int watch_fd;             /* the last fd watched, and its callback */
	dev_watch_cb watch_cb;
	void *watch_opaque;
	int unwatched;            /* the last fd unwatched */
	int exit_reason, exit_status;
	unsigned published;
	char cmdline[256];
};

static struct fake_vm fv;

static int fake_irqfd_new(struct vm *vm, unsigned gsi)
{
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

/* KVM_IOEVENTFD: remember which eventfd the guest's QueueNotify writes
 * would signal; the test then writes it as KVM would. */
static int fake_ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, int match, uint64_t dm)
{
	if (fv.no_ioeventfd)
		return -ENOSYS;
	CHECK_EQ(addr, BASE + 0x1000ull * (fv.slots - 1) + VIRTIO_MMIO_QUEUE_NOTIFY);
	CHECK_EQ(len, 4);
	CHECK(match);
	fv.ioev_fd[fv.nioev] = fd;
	fv.ioev_match[fv.nioev++] = dm;
	return 0;
}

static int fake_publish(struct vm *vm, const struct dev_resource *r)
{
	CHECK_EQ(r->kind, RES_VIRTIO_MMIO);
	CHECK_EQ(r->base, BASE + 0x1000ull * (fv.slots - 1));
	CHECK_EQ(r->size, 0x1000);
	CHECK_EQ(r->irq, (int)(5 + fv.slots - 1));
	fv.published++;
	return 0;
}

/* The core loop: a virtio device must not need it (its worker serves). */
static int fake_watch(struct vm *vm, int fd, dev_watch_cb cb, void *opaque)
{
	fv.nwatch++;
	fv.watch_fd = fd;
	fv.watch_cb = cb;
	fv.watch_opaque = opaque;
	return 0;
}

static int fake_unwatch(struct vm *vm, int fd)
{
	fv.unwatched = fd;
	return 0;
}

static void fake_request_exit(struct vm *vm, enum vm_exit_reason reason, int status)
{
	if (!fv.exit_reason) {
		fv.exit_reason = (int)reason;
		fv.exit_status = status;
	}
}

static int fake_slot(struct vm *vm, uint64_t *base, uint64_t *size, unsigned *gsi)
{
	char word[64];

	*base = BASE + 0x1000ull * fv.slots;
	*size = 0x1000;
	*gsi = 5 + fv.slots++;
	snprintf(word, sizeof(word), " virtio_mmio.device=4K@0x%llx:%u", (unsigned long long)*base, *gsi);
	strncat(fv.cmdline, word, sizeof(fv.cmdline) - strlen(fv.cmdline) - 1);
	return 0;
}

static int fake_cmdline_add(struct vm *vm, const char *w)
{
	strncat(fv.cmdline, " ", sizeof(fv.cmdline) - strlen(fv.cmdline) - 1);
	strncat(fv.cmdline, w, sizeof(fv.cmdline) - strlen(fv.cmdline) - 1);
	return 0;
}

static struct dev_env make_env(const struct vmm_config *cfg, struct gm *gm)
{
	memset(&fv, 0, sizeof(fv));
	fv.watch_fd = fv.unwatched = -1;
	return (struct dev_env){
		.cfg = cfg, .gm = gm, .mmio = &fv.mmio,
		.irqfd_new = fake_irqfd_new, .ioeventfd = fake_ioeventfd,
		.watch = fake_watch, .unwatch = fake_unwatch, .request_exit = fake_request_exit,
		.virtio_slot = fake_slot,
		.cmdline_add = fake_cmdline_add, .publish = fake_publish,
	};
}

/* ---- fake device ---------------------------------------------------------- */
struct fake_dev {
	struct virtio_signal *sig;        /* the host's */
	int activates, notifies, resets, last_q;
	uint64_t features;
	struct virtq_config q[2];
	int activate_ret;
	int requeues;             /* ask for this many more calls */
	bool probe_registers;     /* queue_notify: can another thread use the registers? */
	int probe_ok;
	uint8_t cfg[16];
};

static struct fake_dev fd_;

static unsigned fdev_instances(const void *cfg) { return 1; }
static int fdev_open(void **dev, const void *cfg, unsigned index, const struct dev_env *env,
		     struct virtio_signal *sig, struct virtio_dev_info *info)
{
	fd_.sig = sig;
	info->features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(3) | VIRTIO_BIT(40);
	info->config_len = sizeof(fd_.cfg);
	memcpy(info->config, fd_.cfg, sizeof(fd_.cfg));
	*dev = &fd_;
	return 0;
}
static void fdev_close(void *d) { }
static int fdev_activate(void *d, uint64_t f, const struct virtq_config *q, unsigned n)
{
	fd_.activates++;
	fd_.features = f;
	memcpy(fd_.q, q, sizeof(fd_.q));
	CHECK_EQ(n, 2);
	return fd_.activate_ret;
}
static uint32_t rd(uint64_t off);

static void *probe_thread(void *arg)
{
	/* A vCPU reading InterruptStatus and Status, as an interrupt handler does. */
	(void)rd(VIRTIO_MMIO_INTERRUPT_STATUS);
	(void)rd(VIRTIO_MMIO_STATUS);
	__atomic_store_n((int *)arg, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* While the device serves, a register access from another thread must
 * complete: the transport's lock is not held around the serve ops. */
static int probe_registers_while_serving(void)
{
	pthread_t th;
	int done = 0;
	struct timespec ts;

	CHECK_EQ(pthread_create(&th, NULL, probe_thread, &done), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	if (pthread_timedjoin_np(th, NULL, &ts) != 0) {
		pthread_detach(th);  /* stuck behind a lock: the test fails */
		return 0;
	}
	return done;
}

static void fdev_notify(void *d, unsigned q)
{
	if (fd_.probe_registers)
		fd_.probe_ok = probe_registers_while_serving();
	fd_.notifies++;
	fd_.last_q = (int)q;
	if (fd_.requeues > 0) {
		fd_.requeues--;
		virtio_signal_requeue(fd_.sig, q);
	}
}
static void fdev_reset(void *d) { fd_.resets++; }

static const struct virtio_device fdev_ops = {
	.name = "fake", .device_id = 42, .num_queues = 2, .queue_max = 128,
	.instances = fdev_instances, .open = fdev_open, .close = fdev_close,
	.activate = fdev_activate, .queue_notify = fdev_notify, .reset = fdev_reset,
};

static void *hs;               /* the host's state for the fake device */
static struct virtio_host *h;  /* its one instance */

/* One round of the host's worker, as its thread would run it. */
static int run(void)
{
	return virtio_host_run(h, 0);
}

static uint32_t rd(uint64_t off)
{
	uint32_t v;
	CHECK_EQ(bus_read(&fv.mmio, BASE + off, (uint8_t *)&v, 4), 0);
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	CHECK_EQ(bus_write(&fv.mmio, BASE + off, (uint8_t *)&v, 4), 0);
}

static void setup_env(struct dev_env *env)
{
	CHECK_EQ(virtio_host_create(&hs, env, &fdev_ops, NULL), 0);
	h = virtio_host_instance(hs, 0);
	CHECK(h != NULL);
	CHECK(virtio_host_dev(h) == &fd_);
}

static void setup(void)
{
	static struct vmm_config cfg = { .disable_sandbox = true };
	struct dev_env env = make_env(&cfg, NULL);

	memset(&fd_, 0, sizeof(fd_));
	for (unsigned i = 0; i < sizeof(fd_.cfg); i++)
		fd_.cfg[i] = (uint8_t)(0x10 + i);
	setup_env(&env);
}

static void teardown(void)
{
	virtio_host_destroy(hs);
	hs = NULL;
	h = NULL;
}

/* The Linux driver's sequence (§3.1.1) up to FEATURES_OK. */
static void negotiate(uint64_t features)
{
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

static void setup_queue(unsigned q, uint16_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, num);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

#define S_FOK (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK)

static void identity_registers(void)
{
	setup();
	CHECK_EQ(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(rd(VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(rd(VIRTIO_MMIO_DEVICE_ID), 42);
	CHECK_EQ(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(rd(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
	CHECK(strstr(fv.cmdline, "virtio_mmio.device=4K@0xd0000000:5") != NULL);
	CHECK_EQ(fv.published, 1);  /* the window and GSI, for the firmware tables */
	/* No ioeventfd until the driver starts the device, and nothing on the
	 * core's event loop ever: the host's worker serves the device. */
	CHECK_EQ(fv.nioev, 0);
	CHECK_EQ(fv.nwatch, 0);
	teardown();
}

/* At DRIVER_OK: one ioeventfd per queue, datamatch = queue index, bound to
 * distinct host eventfds; kept across a reset and never registered twice. */
static void ioeventfds_at_driver_ok(void)
{
	setup();
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(1, 64, 0x1000, 0x2000, 0x3000);
	CHECK_EQ(fv.nioev, 0);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(fv.nioev, 2);
	CHECK_EQ(fv.ioev_match[0], 0);
	CHECK_EQ(fv.ioev_match[1], 1);
	CHECK(fv.ioev_fd[0] >= 0 && fv.ioev_fd[1] >= 0 && fv.ioev_fd[0] != fv.ioev_fd[1]);
	wr(VIRTIO_MMIO_STATUS, 0);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(1, 64, 0x1000, 0x2000, 0x3000);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(fv.nioev, 2);
	CHECK_EQ(fv.nwatch, 0);
	teardown();
}

static void feature_negotiation(void)
{
	setup();
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_DEVICE_FEATURES), 1u << 3);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK_EQ(rd(VIRTIO_MMIO_DEVICE_FEATURES), 1u | 1u << 8);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	CHECK_EQ(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);

	/* A subset with VERSION_1: accepted. */
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(3));
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), S_FOK);
	/* Features are frozen after FEATURES_OK. */
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	setup_queue(0, 64, 0x1000, 0x2000, 0x3000);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(fd_.features, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(3));

	/* Legacy driver (no VERSION_1): FEATURES_OK does not stick. */
	negotiate(VIRTIO_BIT(3));
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* A feature we never offered. */
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(4));
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* Features select beyond 1 with a set bit. */
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), S_FOK);
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 7);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(VIRTIO_MMIO_STATUS, S_FOK);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	teardown();
}

static void queue_setup_and_activate(void)
{
	setup();
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 128);
	wr(VIRTIO_MMIO_QUEUE_SEL, 2);  /* no such queue */
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 8);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	setup_queue(1, 32, 0x1234500000ull, 0x20000, 0x30000);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	/* Queue registers are frozen while the queue is ready. */
	wr(VIRTIO_MMIO_QUEUE_NUM, 16);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_NUM), 32);
	CHECK_EQ(fd_.activates, 0);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(fd_.activates, 1);
	CHECK(!fd_.q[0].ready);
	CHECK(fd_.q[1].ready);
	CHECK_EQ(fd_.q[1].size, 32);
	CHECK_EQ(fd_.q[1].desc, 0x1234500000ull);
	CHECK_EQ(fd_.q[1].avail, 0x20000);
	CHECK_EQ(fd_.q[1].used, 0x30000);
	/* Live device: queue 0 cannot be set up any more. */
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 8);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_NUM), 0);
	teardown();
}

static void status_transitions(void)
{
	setup();
	/* DRIVER_OK without FEATURES_OK is refused. */
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	CHECK_EQ(fd_.activates, 0);
	/* Clearing bits without a reset is ignored. */
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* The driver cannot set NEEDS_RESET itself. */
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* FAILED may be added. */
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FAILED);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FAILED);
	teardown();
}

static void reset_clears_everything(void)
{
	setup();
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(3));
	setup_queue(0, 64, 0x1000, 0x2000, 0x3000);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	virtio_signal_used(fd_.sig);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_USED);
	wr(VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(fd_.resets, 2);  /* negotiate() starts with one */
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_NUM), 0);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
	/* Notifications after reset do not reach the device, whether they
	 * trap or come through the ioeventfd. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 5);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	{
		uint64_t one = 1;
		CHECK_EQ(write(fv.ioev_fd[0], &one, 8), 8);
	}
	CHECK_EQ(run(), 1);
	CHECK_EQ(fd_.notifies, 0);
	/* And it can be brought up again. */
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0, 64, 0x1000, 0x2000, 0x3000);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(fd_.activates, 2);
	CHECK_EQ(fd_.features, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	teardown();
}

static void notify_through_ioeventfd(void)
{
	uint64_t one = 1, cnt;

	setup();
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(1, 64, 0x1000, 0x2000, 0x3000);
	/* Before DRIVER_OK (notifies still trap) nothing is delivered. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	CHECK_EQ(fd_.notifies, 0);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(run(), 0);  /* nothing pending */
	CHECK_EQ(write(fv.ioev_fd[1], &one, 8), 8);
	CHECK_EQ(fd_.notifies, 0);  /* the register path never serves */
	CHECK_EQ(run(), 1);
	CHECK_EQ(fd_.notifies, 1);
	CHECK_EQ(fd_.last_q, 1);
	/* The worker drained the eventfd. */
	CHECK_EQ(read(fv.ioev_fd[1], &cnt, 8), -1);
	/* Queue 0 is not ready: its notify is dropped. */
	CHECK_EQ(write(fv.ioev_fd[0], &one, 8), 8);
	CHECK_EQ(run(), 1);
	CHECK_EQ(fd_.notifies, 1);
	/* A write that traps (KVM would have taken it had the ioeventfd
	 * matched) reaches the same eventfd; one for a queue that does not
	 * exist is ignored. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 9);
	CHECK_EQ(fd_.notifies, 1);
	CHECK_EQ(run(), 1);
	CHECK_EQ(fd_.notifies, 2);
	CHECK_EQ(run(), 0);
	teardown();
}

/* A device that stops with chains left (virtio_signal_requeue) is called
 * again: its notify eventfd is made readable again, so the worker comes
 * back after everything else -- whether notifies come through ioeventfds or
 * trap. */
static void requeue_rearms_notify(void)
{
	static struct vmm_config cfg = { .disable_sandbox = true };
	struct dev_env env;
	uint64_t cnt, one = 1;

	setup();
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(1, 64, 0x1000, 0x2000, 0x3000);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	fd_.requeues = 1;
	CHECK_EQ(write(fv.ioev_fd[1], &one, 8), 8);
	CHECK_EQ(run(), 1);
	CHECK_EQ(fd_.notifies, 1);
	CHECK_EQ(fd_.sig->requeue, 0u);           /* taken by the host */
	CHECK_EQ(read(fv.ioev_fd[1], &cnt, 8), 8);  /* and re-armed */
	CHECK_EQ(cnt, 1);
	CHECK_EQ(write(fv.ioev_fd[1], &one, 8), 8);
	CHECK_EQ(run(), 1);
	CHECK_EQ(fd_.notifies, 2);
	CHECK_EQ(read(fv.ioev_fd[1], &cnt, 8), -1);  /* done: not re-armed */
	/* Reset forgets a pending request. */
	virtio_signal_requeue(fd_.sig, 1);
	wr(VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(fd_.sig->requeue, 0u);
	teardown();

	env = make_env(&cfg, NULL);
	fv.no_ioeventfd = true;
	memset(&fd_, 0, sizeof(fd_));
	setup_env(&env);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0, 64, 0x1000, 0x2000, 0x3000);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	fd_.requeues = 3;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(fd_.notifies, 0);  /* not on the vCPU thread */
	for (unsigned i = 0; i < 10 && run() > 0; i++)
		;
	CHECK_EQ(fd_.notifies, 4);
	CHECK_EQ(fd_.sig->requeue, 0u);
	teardown();
}

/* The serve path never holds the register lock: a slow device cannot stall
 * a vCPU reading InterruptStatus -- for an ioeventfd notify and for one that
 * trapped on a vCPU thread alike. */
static void serve_outside_register_lock(void)
{
	uint64_t one = 1;

	setup();
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0, 64, 0x1000, 0x2000, 0x3000);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	fd_.probe_registers = true;
	CHECK_EQ(write(fv.ioev_fd[0], &one, 8), 8);
	CHECK_EQ(run(), 1);
	CHECK_EQ(fd_.notifies, 1);
	CHECK_EQ(fd_.probe_ok, 1);
	fd_.probe_ok = 0;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(run(), 1);
	CHECK_EQ(fd_.notifies, 2);
	CHECK_EQ(fd_.probe_ok, 1);
	teardown();
}

/* With its worker thread: a notify is served without anyone calling
 * virtio_host_run, and destroy stops the worker. */
static void worker_thread_serves(void)
{
	uint64_t one = 1;

	setup();
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(1, 64, 0x1000, 0x2000, 0x3000);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(virtio_host_start(hs), 0);
	CHECK_EQ(write(fv.ioev_fd[1], &one, 8), 8);
	for (unsigned i = 0; i < 200 && !__atomic_load_n(&fd_.notifies, __ATOMIC_SEQ_CST); i++)
		usleep(10000);
	CHECK_EQ(__atomic_load_n(&fd_.notifies, __ATOMIC_SEQ_CST), 1);
	teardown();
}

static void notify_trapped_without_ioeventfd(void)
{
	static struct vmm_config cfg = { .disable_sandbox = true };
	struct dev_env env = make_env(&cfg, NULL);

	fv.no_ioeventfd = true;
	memset(&fd_, 0, sizeof(fd_));
	setup_env(&env);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0, 64, 0x1000, 0x2000, 0x3000);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(fv.nioev, 0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(run(), 1);
	CHECK_EQ(fd_.notifies, 1);
	CHECK_EQ(fd_.last_q, 0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);  /* not ready */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffffu);
	CHECK_EQ(run(), 0);
	CHECK_EQ(fd_.notifies, 1);
	teardown();
}

static void interrupts_and_ack(void)
{
	uint64_t cnt;

	setup();
	virtio_signal_used(fd_.sig);
	CHECK_EQ(read(fd_.sig->irqfd, &cnt, 8), 8);
	CHECK_EQ(cnt, 1);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_USED);
	virtio_signal_needs_reset(fd_.sig);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_USED | VIRTIO_ISR_CONFIG);
	CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_USED);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_CONFIG);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_CONFIG);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	teardown();
}

static void activate_failure_needs_reset(void)
{
	uint64_t cnt;

	setup();
	fd_.activate_ret = -EINVAL;
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0, 64, 0x1000, 0x2000, 0x3000);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), S_FOK | VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_CONFIG);
	CHECK_EQ(read(fd_.sig->irqfd, &cnt, 8), 8);
	/* Nothing reaches a device that needs a reset (and a device that
	 * failed to start got no ioeventfds: notifies trap). */
	CHECK_EQ(fv.nioev, 0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	run();
	CHECK_EQ(fd_.notifies, 0);
	/* Reset clears NEEDS_RESET. */
	wr(VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), 0);
	teardown();
}

static void access_widths_and_config(void)
{
	uint8_t b8[8];
	uint16_t v16;

	setup();
	/* Registers: 32-bit aligned only; others read 0 and are dropped. */
	CHECK_EQ(bus_read(&fv.mmio, BASE + 0, b8, 1), 0);
	CHECK_EQ(b8[0], 0);
	CHECK_EQ(bus_read(&fv.mmio, BASE + 2, b8, 4), 0);
	CHECK_EQ(b8[0], 0);
	v16 = VIRTIO_STATUS_ACKNOWLEDGE;
	CHECK_EQ(bus_write(&fv.mmio, BASE + VIRTIO_MMIO_STATUS, (uint8_t *)&v16, 2), 0);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), 0);
	/* Config space: any width, offset relative to 0x100. */
	CHECK_EQ(bus_read(&fv.mmio, BASE + 0x103, b8, 1), 0);
	CHECK_EQ(b8[0], 0x13);
	CHECK_EQ(bus_read(&fv.mmio, BASE + 0x104, b8, 8), 0);
	CHECK_EQ(b8[7], 0x1b);
	CHECK_EQ(bus_read(&fv.mmio, BASE + 0x10e, b8, 4), 0);
	CHECK_EQ(b8[1], 0x1f);
	CHECK_EQ(b8[2], 0);
	/* Read-only (struct virtio_dev_info): a write changes nothing. */
	memset(b8, 0x77, sizeof(b8));
	CHECK_EQ(bus_write(&fv.mmio, BASE + 0x105, b8, 2), 0);
	CHECK_EQ(bus_read(&fv.mmio, BASE + 0x105, b8, 1), 0);
	CHECK_EQ(b8[0], 0x15);
	/* Last bytes of the window. */
	CHECK_EQ(bus_read(&fv.mmio, BASE + 0xffc, b8, 4), 0);
	CHECK_EQ(b8[0], 0);
	/* Write to a read-only register: ignored. */
	wr(VIRTIO_MMIO_MAGIC_VALUE, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	teardown();
}

/* virtio_signal_config: the device's new config bytes are what the driver
 * reads, with a new ConfigGeneration and InterruptStatus bit 1 (§2.5.1,
 * §4.2.3.4); the driver still cannot write them. */
static void config_change(void)
{
	uint8_t b;
	uint64_t cnt;

	setup();
	CHECK_EQ(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
	fd_.sig->config[6] = 0x99;
	virtio_signal_config(fd_.sig);
	CHECK_EQ(read(fd_.sig->irqfd, &cnt, 8), 8);
	CHECK_EQ(rd(VIRTIO_MMIO_CONFIG_GENERATION), 1);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_CONFIG);
	CHECK_EQ(bus_read(&fv.mmio, BASE + 0x106, &b, 1), 0);
	CHECK_EQ(b, 0x99);
	CHECK_EQ(bus_read(&fv.mmio, BASE + 0x105, &b, 1), 0);
	CHECK_EQ(b, 0x15);  /* the rest as open() published it */
	b = 0x11;
	CHECK_EQ(bus_write(&fv.mmio, BASE + 0x106, &b, 1), 0);
	CHECK_EQ(fd_.sig->config[6], 0x99);
	teardown();
}

/* ---- the real devices through the host ------------------------------------ */

static void make_file(const char *path, size_t bytes)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, (off_t)bytes), 0);
	close(fd);
}

static void blk_devices_created_in_order(void)
{
	char root[64], data[64];
	struct vmm_config cfg = { .disable_sandbox = true };
	struct blk_opts bo = { 0 };
	struct rng_opts ro = { .on = true };
	struct gm gm;
	uint8_t mem[4096];
	void *blk = NULL, *rng = NULL;
	struct dev_env env;
	uint8_t cap[8];

	snprintf(root, sizeof(root), "/dev/shm/mmiotest-root-%d", getpid());
	snprintf(data, sizeof(data), "/dev/shm/mmiotest-data-%d", getpid());
	make_file(root, 1 << 20);
	make_file(data, 4096);
	gm_init_test(&gm, mem, sizeof(mem));
	bo.disks[0] = (struct blk_disk){ .path = root, .ro = true, .root = true };
	bo.disks[1] = (struct blk_disk){ .path = data };
	bo.ndisks = 2;
	env = make_env(&cfg, &gm);
	CHECK_EQ(virtio_host_create(&blk, &env, &blk_virtio_ops, &bo), 0);
	CHECK_EQ(virtio_host_create(&rng, &env, &rng_virtio_ops, &ro), 0);
	CHECK_EQ(virtio_host_count(blk), 2);
	CHECK(strstr(fv.cmdline, "virtio_mmio.device=4K@0xd0000000:5 root=/dev/vda ro "
				 "virtio_mmio.device=4K@0xd0001000:6 virtio_mmio.device=4K@0xd0002000:7") != NULL);
	CHECK_EQ(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	CHECK_EQ(bus_read(&fv.mmio, BASE + 0x100, cap, 8), 0);
	CHECK_EQ(cap[0] | cap[1] << 8, 2048);  /* 1 MiB in sectors */
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK(rd(VIRTIO_MMIO_DEVICE_FEATURES) & (1u << 5));  /* RO */
	CHECK_EQ(bus_read(&fv.mmio, BASE + 0x1000 + 0x100, cap, 8), 0);
	CHECK_EQ(cap[0], 8);
	CHECK(!(rd(0x1000 + VIRTIO_MMIO_DEVICE_FEATURES) & (1u << 5)));
	CHECK_EQ(rd(0x2000 + VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	virtio_host_destroy(blk);
	virtio_host_destroy(rng);

	/* Without disks or rng the devices are not configured. */
	bo.ndisks = 0;
	ro.on = false;
	env = make_env(&cfg, &gm);
	CHECK_EQ(virtio_host_create(&blk, &env, &blk_virtio_ops, &bo), 1);
	CHECK_EQ(virtio_host_create(&rng, &env, &rng_virtio_ops, &ro), 1);
	CHECK_EQ(fv.slots, 0);

	/* A missing image is the user's error naming it, before any slot. */
	bo.disks[0] = (struct blk_disk){ .path = "/nonexistent/root.sqfs", .ro = true, .root = true };
	bo.ndisks = 1;
	env = make_env(&cfg, &gm);
	CHECK_EQ(virtio_host_create(&blk, &env, &blk_virtio_ops, &bo), dev_input_error(-ENOENT));
	CHECK_EQ(fv.slots, 0);

	/* --rwroot: root=/dev/vda rw. */
	bo.disks[0] = (struct blk_disk){ .path = root, .ro = false, .root = true };
	env = make_env(&cfg, &gm);
	CHECK_EQ(virtio_host_create(&blk, &env, &blk_virtio_ops, &bo), 0);
	CHECK(strstr(fv.cmdline, " root=/dev/vda rw") != NULL);
	virtio_host_destroy(blk);

	/* -d only: vda without root=. */
	bo.disks[0] = (struct blk_disk){ .path = data };
	env = make_env(&cfg, &gm);
	CHECK_EQ(virtio_host_create(&blk, &env, &blk_virtio_ops, &bo), 0);
	CHECK(strstr(fv.cmdline, "root=") == NULL);
	virtio_host_destroy(blk);
	unlink(root);
	unlink(data);
}

/* The whole path: registers -> activate -> ioeventfd -> ring -> irqfd. */
static void blk_end_to_end(void)
{
	char path[64];
	struct vmm_config cfg = { .disable_sandbox = true };
	struct blk_opts bo = { 0 };
	struct fake_ring r;
	void *blk = NULL;
	struct dev_env env;
	uint64_t one = 1, cnt;
	uint32_t type = 0, id, len;
	uint64_t sector = 1;
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/mmiotest-e2e-%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK_EQ(pwrite(fd, "hello, sector one", 17, 512), 17);
	CHECK_EQ(ftruncate(fd, 4096), 0);
	close(fd);
	fr_init(&r, 8);
	bo.disks[0] = (struct blk_disk){ .path = path, .ro = true, .root = true };
	bo.ndisks = 1;
	env = make_env(&cfg, &r.gm);
	CHECK_EQ(virtio_host_create(&blk, &env, &blk_virtio_ops, &bo), 0);
	h = virtio_host_instance(blk, 0);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0, 8, FR_DESC, FR_AVAIL, FR_USED);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	memcpy(r.mem + FR_DATA, &type, 4);
	memcpy(r.mem + FR_DATA + 8, &sector, 8);
	fr_desc(&r, 0, FR_DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	fr_desc(&r, 1, FR_DATA + 0x200, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	fr_desc(&r, 2, FR_DATA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	r.mem[FR_DATA + 0x400] = 0xee;
	fr_avail(&r, 0);
	CHECK_EQ(write(fv.ioev_fd[0], &one, 8), 8);
	CHECK_EQ(run(), 1);
	CHECK_EQ(fr_used_idx(&r), 1);
	fr_used(&r, 0, &id, &len);
	CHECK_EQ(len, 513);
	CHECK_EQ(r.mem[FR_DATA + 0x400], 0);
	CHECK(memcmp(r.mem + FR_DATA + 0x200, "hello, sector one", 17) == 0);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_USED);
	/* A hostile ring: NEEDS_RESET + config interrupt, no crash. */
	fr_desc(&r, 0, FR_DATA, 16, VIRTQ_DESC_F_NEXT, 0);
	fr_avail(&r, 0);
	CHECK_EQ(write(fv.ioev_fd[0], &one, 8), 8);
	CHECK_EQ(run(), 1);
	CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_CONFIG);
	(void)!read(fv.ioev_fd[0], &cnt, 8);
	/* A queue the driver placed outside RAM: NEEDS_RESET at DRIVER_OK. */
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
	setup_queue(0, 8, FR_MEM, FR_AVAIL, FR_USED);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	virtio_host_destroy(blk);
	h = NULL;
	fr_free(&r);
	unlink(path);
}

/* The control op (struct virtio_device control): the host offers a
 * message to each instance in order until one takes it, hands the fd
 * through, and refuses oversized messages. */
static struct { int calls, fd_ok; size_t len; } cdev[2];

static unsigned cdev_instances(const void *cfg) { return 2; }
static int cdev_open(void **dev, const void *cfg, unsigned index, const struct dev_env *env,
		     struct virtio_signal *sig, struct virtio_dev_info *info)
{
	info->features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	*dev = &cdev[index];
	return 0;
}
static int cdev_activate(void *d, uint64_t f, const struct virtq_config *q, unsigned n) { return 0; }
static void cdev_notify(void *d, unsigned q) { }
static void cdev_nop(void *d) { }
static int cdev_control(void *d, const void *msg, size_t len, int fd)
{
	unsigned i = (unsigned)((typeof(&cdev[0]))d - cdev);

	cdev[i].calls++;
	cdev[i].len = len;
	cdev[i].fd_ok = fd >= 0 && fcntl(fd, F_GETFD) >= 0;
	return ((const char *)msg)[0] - '0' == (int)i ? 0 : -ENODEV;
}
static const struct virtio_device cdev_ops = {
	.name = "ctl", .device_id = 43, .num_queues = 1, .queue_max = 8,
	.instances = cdev_instances, .open = cdev_open, .close = cdev_nop,
	.activate = cdev_activate, .queue_notify = cdev_notify, .reset = cdev_nop,
	.control = cdev_control,
};

static void control_routed_to_instances(void)
{
	static struct vmm_config cfg = { .disable_sandbox = true };
	static char big[VIRTIO_CONTROL_MAX + 1];
	struct dev_env env = make_env(&cfg, NULL);
	void *cs = NULL;
	int p[2];

	memset(cdev, 0, sizeof(cdev));
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(virtio_host_create(&cs, &env, &cdev_ops, NULL), 0);
	CHECK_EQ(virtio_host_control(cs, "1 take", 6, p[0]), 0);
	CHECK(cdev[0].calls == 1 && cdev[1].calls == 1);
	CHECK(cdev[1].len == 6 && cdev[1].fd_ok);
	CHECK_EQ(virtio_host_control(cs, "0", 1, -1), 0);
	CHECK(cdev[0].calls == 2 && cdev[1].calls == 1 && !cdev[0].fd_ok);
	CHECK_EQ(virtio_host_control(cs, "7", 1, -1), -ENODEV);
	CHECK_EQ(cdev[1].calls, 2);
	big[0] = '0';
	CHECK_EQ(virtio_host_control(cs, big, sizeof(big), -1), -EMSGSIZE);
	CHECK_EQ(cdev[0].calls, 3);
	/* The caller keeps its fd. */
	CHECK(fcntl(p[0], F_GETFD) >= 0);
	virtio_host_destroy(cs);
	close(p[0]);
	close(p[1]);
	/* A device type without the op takes nothing. */
	setup();
	CHECK_EQ(virtio_host_control(hs, "0", 1, -1), -ENODEV);
	teardown();
}

/* Counters for `vmm status` (virtio_host_status_json): two instances of a
 * device type with stats, one with a name that needs JSON escaping; the
 * words are what a device (or a hostile device process) left in its
 * signal page. */
static struct virtio_signal *sdev_sig[2];
static int sdev_open(void **dev, const void *cfg, unsigned index, const struct dev_env *env,
		     struct virtio_signal *sig, struct virtio_dev_info *info)
{
	info->features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	snprintf(info->name, sizeof(info->name), "%s", index ? "st \"1\"\\\x01" : "st 0");
	sdev_sig[index] = sig;
	*dev = &cdev[index];
	return 0;
}
static int sdev_stats_json(const uint64_t *w, char *buf, size_t len)
{
	int n = snprintf(buf, len, "{\"a\":%llu,\"b\":%llu}", (unsigned long long)w[0],
			 (unsigned long long)w[VIRTIO_STATS_MAX - 1]);

	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}
static const struct virtio_device sdev_ops = {
	.name = "st", .device_id = 44, .num_queues = 1, .queue_max = 8,
	.instances = cdev_instances, .open = sdev_open, .close = cdev_nop,
	.activate = cdev_activate, .queue_notify = cdev_notify, .reset = cdev_nop,
	.stats_key = "st", .stats_json = sdev_stats_json,
};

static void status_counters(void)
{
	static struct vmm_config cfg = { .disable_sandbox = true };
	struct dev_env env = make_env(&cfg, NULL);
	static const char want[] =
		"\"st\":[{\"name\":\"st 0\",\"counters\":{\"a\":7,\"b\":0}},"
		"{\"name\":\"st \\\"1\\\"\\\\\\u0001\",\"counters\":{\"a\":9007199254740991,\"b\":9007199254740991}}]";
	uint64_t w[VIRTIO_STATS_MAX] = { 7 };
	char buf[512];
	void *ss = NULL;

	CHECK_EQ(virtio_host_create(&ss, &env, &sdev_ops, NULL), 0);
	virtio_signal_stats(sdev_sig[0], w, 1);
	/* Above JSON's exact range, as a lying device process may write:
	 * clamped to 2^53 - 1. */
	memset(sdev_sig[1]->stats, 0xff, sizeof(sdev_sig[1]->stats));
	CHECK_EQ(virtio_host_status_json(ss, buf, sizeof(buf)), (int)strlen(want));
	CHECK(!strcmp(buf, want));
	/* Every shorter buffer: -ENOSPC, never a cut object. */
	for (size_t len = 0; len <= strlen(want); len++)
		CHECK_EQ(virtio_host_status_json(ss, buf, len), -ENOSPC);
	CHECK_EQ(virtio_host_status_json(ss, buf, strlen(want) + 1), (int)strlen(want));
	CHECK(!strcmp(buf, want));
	virtio_host_destroy(ss);
	/* A type without counters adds nothing. */
	setup();
	CHECK_EQ(virtio_host_status_json(hs, buf, sizeof(buf)), 0);
	teardown();
}

/* vmm status's "virtio" objects: a worker's wake-ups with work (the
 * hostile suite's storm check reads them), every shorter buffer -ENOSPC. */
static void health_rounds(void)
{
	static const char zero[] = "{\"name\":\"fake\",\"pid\":0,\"rounds\":0}";
	static const char one_round[] = "{\"name\":\"fake\",\"pid\":0,\"rounds\":1}";
	uint64_t one = 1;
	char buf[128];

	setup();
	CHECK_EQ(run(), 0);  /* a wait that found nothing is no round */
	CHECK_EQ(virtio_host_health_json(hs, buf, sizeof(buf)), (int)strlen(zero));
	CHECK(!strcmp(buf, zero));
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0, 64, 0x1000, 0x2000, 0x3000);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(write(fv.ioev_fd[0], &one, 8), 8);
	CHECK_EQ(run(), 1);
	CHECK_EQ(virtio_host_health_json(hs, buf, sizeof(buf)), (int)strlen(one_round));
	CHECK(!strcmp(buf, one_round));
	for (size_t len = 0; len <= strlen(one_round); len++)
		CHECK_EQ(virtio_host_health_json(hs, buf, len), -ENOSPC);
	teardown();
}

/* Wait up to 2 s for the used ring's index to reach idx (the device
 * process writes it in the shared guest memory). */
static int wait_used(struct fake_ring *r, uint16_t idx)
{
	for (unsigned i = 0; i < 200; i++) {
		if (__atomic_load_n((uint16_t *)(r->mem + FR_USED + 2), __ATOMIC_SEQ_CST) == idx)
			return 1;
		usleep(10000);
	}
	return 0;
}

/* "Seccomp:\t2" and friends: the line of /proc/PID/status starting key. */
static int proc_status_has(int pid, const char *line)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return strstr(buf, line) != NULL;
}

/* The default (no --disable-sandbox): virtio-blk served by its own jailed
 * process. Activate and reset cross the socketpair, a request goes
 * ioeventfd -> device process -> used ring + irqfd with vmm doing
 * nothing, the device's NEEDS_RESET is seen live by the transport (the
 * shared signal page), and the process's death reaches the VM loop through
 * the pidfd watch as a VM error. */
static void blk_jailed_process(void)
{
	char path[64];
	struct vmm_config cfg = { 0 };
	struct blk_opts bo = { 0 };
	struct fake_ring r;
	void *blk = NULL;
	struct dev_env env;
	uint64_t one = 1, cnt;
	uint32_t type = 0, id, len;
	uint64_t sector = 1;
	struct pollfd pfd;
	uint8_t *shared;
	int fd, pid, irqfd;

	snprintf(path, sizeof(path), "/dev/shm/mmiotest-jail-%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK_EQ(pwrite(fd, "hello from a jail", 17, 512), 17);
	CHECK_EQ(ftruncate(fd, 4096), 0);
	close(fd);
	/* Guest RAM is a shared mapping, as the memfd is in vmm. */
	fr_init(&r, 8);
	shared = mmap(NULL, FR_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED);
	free(r.mem);
	r.mem = shared;
	gm_init_test(&r.gm, r.mem, FR_MEM);
	bo.disks[0] = (struct blk_disk){ .path = path, .ro = true, .root = true };
	bo.ndisks = 1;
	env = make_env(&cfg, &r.gm);
	CHECK_EQ(virtio_host_create(&blk, &env, &blk_virtio_ops, &bo), 0);
	h = virtio_host_instance(blk, 0);
	CHECK_EQ(virtio_host_pid(h), -1);
	CHECK_EQ(virtio_host_start(blk), 0);
	pid = virtio_host_pid(h);
	CHECK(pid > 1);
	CHECK(fv.watch_fd >= 0 && fv.watch_cb != NULL);
	CHECK(proc_status_has(pid, "Seccomp:\t2"));
	CHECK(proc_status_has(pid, "NoNewPrivs:\t1"));
	CHECK(proc_status_has(pid, "CapEff:\t0000000000000000"));

	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0, 8, FR_DESC, FR_AVAIL, FR_USED);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
	memcpy(r.mem + FR_DATA, &type, 4);
	memcpy(r.mem + FR_DATA + 8, &sector, 8);
	fr_desc(&r, 0, FR_DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	fr_desc(&r, 1, FR_DATA + 0x200, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	fr_desc(&r, 2, FR_DATA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	r.mem[FR_DATA + 0x400] = 0xee;
	fr_avail(&r, 0);
	CHECK_EQ(write(fv.ioev_fd[0], &one, 8), 8);
	CHECK(wait_used(&r, 1));
	fr_used(&r, 0, &id, &len);
	CHECK_EQ(len, 513);
	CHECK_EQ(r.mem[FR_DATA + 0x400], 0);
	CHECK(memcmp(r.mem + FR_DATA + 0x200, "hello from a jail", 17) == 0);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_USED);
	/* The transport's irqfd was written by the device process. */
	irqfd = -1;
	for (int i = 0; i < 200 && irqfd < 0; i++) {
		pfd = (struct pollfd){ .fd = virtio_host_irqfd(h), .events = POLLIN };
		if (poll(&pfd, 1, 10) == 1)
			irqfd = pfd.fd;
	}
	CHECK(irqfd >= 0);
	CHECK_EQ(read(irqfd, &cnt, 8), 8);
	/* A hostile ring: the device process sets NEEDS_RESET in the page vmm reads. */
	fr_desc(&r, 0, FR_DATA, 16, VIRTQ_DESC_F_NEXT, 0);
	fr_avail(&r, 0);
	CHECK_EQ(write(fv.ioev_fd[0], &one, 8), 8);
	for (int i = 0; i < 200 && !(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET); i++)
		usleep(10000);
	CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	/* Reset crosses the socketpair and is answered. */
	wr(VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(fv.exit_reason, 0);

	/* Death: the pidfd turns readable, the callback ends the VM. */
	CHECK_EQ(kill(pid, SIGKILL), 0);
	pfd = (struct pollfd){ .fd = fv.watch_fd, .events = POLLIN };
	CHECK_EQ(poll(&pfd, 1, 1000), 1);
	fv.watch_cb(fv.watch_opaque, fv.watch_fd, POLLIN);
	CHECK_EQ(fv.unwatched, fv.watch_fd);
	CHECK_EQ(fv.exit_reason, VM_EXIT_ERROR);
	CHECK_EQ(fv.exit_status, 1);
	/* A request to the dead process fails at once: NEEDS_RESET, no hang. */
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0, 8, FR_DESC, FR_AVAIL, FR_USED);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	virtio_host_destroy(blk);
	h = NULL;
	munmap(shared, FR_MEM);
	unlink(path);
}

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* A 9P message at gpa (fmt: d = u32, w = u16, s = string), chain head k:
 * request descriptor 2k, 4 KiB reply descriptor 2k+1 at FR_DATA + 0x2000k.
 * Notifies through the ioeventfd and waits for the used entry. Returns the
 * reply's type. */
static uint8_t p9_call(struct fake_ring *r, unsigned k, uint8_t type, const char *fmt, ...)
{
	uint8_t *m = r->mem + FR_DATA + 0x2000u * k;
	uint32_t n = 7;
	uint64_t one = 1;
	va_list ap;

	va_start(ap, fmt);
	for (const char *f = fmt; *f; f++) {
		if (*f == 's') {
			const char *str = va_arg(ap, const char *);
			uint16_t l = (uint16_t)strlen(str);
			memcpy(m + n, &l, 2);
			memcpy(m + n + 2, str, l);
			n += 2u + l;
		} else if (*f == 'w') {
			uint16_t v = (uint16_t)va_arg(ap, int);
			memcpy(m + n, &v, 2);
			n += 2;
		} else {
			uint32_t v = va_arg(ap, uint32_t);
			memcpy(m + n, &v, 4);
			n += 4;
		}
	}
	va_end(ap);
	memcpy(m, &n, 4);
	m[4] = type;
	m[5] = m[6] = 0;
	fr_desc(r, (uint16_t)(2 * k), FR_DATA + 0x2000u * k, n, VIRTQ_DESC_F_NEXT, (uint16_t)(2 * k + 1));
	fr_desc(r, (uint16_t)(2 * k + 1), FR_DATA + 0x2000u * k + 0x1000, 0x1000, VIRTQ_DESC_F_WRITE, 0);
	fr_avail(r, (uint16_t)(2 * k));
	CHECK_EQ(write(fv.ioev_fd[0], &one, 8), 8);
	CHECK(wait_used(r, r->avail_idx));
	return m[0x1000 + 4];
}

/* virtio-net in its jailed process (the default), in a fresh network
 * namespace: the counters the device process keeps reach
 * virtio_host_status_json through the shared signal page, with no
 * request to the process. One frame sent (tx_packets 1, 60 bytes without
 * the header) and one chain too short for a header (tx_short 1). */
static void net_jailed_counters(void)
{
	struct vmm_config cfg = { 0 };
	struct net_opts o = { 0 };
	struct net_err e = { 0 };
	struct fake_ring r;
	struct dev_env env;
	void *ns = NULL;
	uint64_t one = 1;
	uint8_t *shared;
	char buf[1024];

	virtio_net_device.cfg_init(&o);
	o.ndev = 1;
	CHECK_EQ(netcfg_set(&o.dev[0], "tap", "vj0", &e), 0);
	/* An address brings the TAP up: a down TAP refuses frames. */
	CHECK_EQ(netcfg_set(&o.dev[0], "host-ip", "10.9.7.1", &e), 0);
	CHECK_EQ(netcfg_set(&o.dev[0], "netmask", "24", &e), 0);
	fr_init(&r, 8);
	shared = mmap(NULL, FR_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED);
	free(r.mem);
	r.mem = shared;
	gm_init_test(&r.gm, r.mem, FR_MEM);
	env = make_env(&cfg, &r.gm);
	CHECK_EQ(virtio_host_create(&ns, &env, &net_virtio_ops, &o), 0);
	h = virtio_host_instance(ns, 0);
	CHECK_EQ(virtio_host_start(ns), 0);
	CHECK(virtio_host_pid(h) > 1);

	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(VNET_RXQ, 8, 0x6000, 0x7000, 0x8000);  /* no receive buffers */
	setup_queue(VNET_TXQ, 8, FR_DESC, FR_AVAIL, FR_USED);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
	/* Header (all zero: no offloads), then a broadcast frame. */
	memset(r.mem + FR_DATA, 0, VNET_HDR_LEN + 60);
	memset(r.mem + FR_DATA + VNET_HDR_LEN, 0xff, 6);
	memcpy(r.mem + FR_DATA + VNET_HDR_LEN + 6, "\x52\x54\x00\x00\x00\x07\x08\x00", 8);
	fr_desc(&r, 0, FR_DATA, VNET_HDR_LEN + 60, 0, 0);
	fr_avail(&r, 0);
	fr_desc(&r, 1, FR_DATA + 0x100, 10, 0, 0);
	fr_avail(&r, 1);
	CHECK_EQ(write(fv.ioev_fd[VNET_TXQ], &one, 8), 8);
	CHECK(wait_used(&r, 2));
	CHECK(virtio_host_status_json(ns, buf, sizeof(buf)) > 0);
	CHECK(strstr(buf, "\"net\":[{\"name\":\"virtio-net vj0\",\"counters\":{\"rx_packets\":0,\"rx_bytes\":0,"
			  "\"tx_packets\":1,\"tx_bytes\":60,\"drops\":{\"tx_short\":1,\"tx_header\":0,") == buf);
	virtio_host_destroy(ns);
	h = NULL;
	munmap(shared, FR_MEM);
}
NS(net_jailed_counters)

/* virtio-net's jailed process receives: a frame in the TAP wakes its
 * poll op (the TAP and the link socket in its own epoll set), which must
 * wait with the call its policy allows. Found by the hostile suite run
 * jailed (2026-12-03): virtio_net.c called epoll_wait(), which glibc makes
 * epoll_wait(2) and musl epoll_pwait(2); the policy has only epoll_pwait,
 * so a glibc-built vmm (the sanitizer build) lost its virtio-net device to
 * a seccomp kill at the first frame or link change. */
static void net_jailed_rx(void)
{
	struct vmm_config cfg = { 0 };
	struct net_opts o = { 0 };
	struct net_err e = { 0 };
	struct fake_ring r;
	struct dev_env env;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	void *ns = NULL;
	uint64_t one = 1;
	uint8_t *shared;
	char buf[1024];
	int s, on = 1;

	virtio_net_device.cfg_init(&o);
	o.ndev = 1;
	CHECK_EQ(netcfg_set(&o.dev[0], "tap", "vj1", &e), 0);
	CHECK_EQ(netcfg_set(&o.dev[0], "host-ip", "10.9.8.1", &e), 0);
	CHECK_EQ(netcfg_set(&o.dev[0], "netmask", "24", &e), 0);
	fr_init(&r, 8);
	shared = mmap(NULL, FR_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED);
	free(r.mem);
	r.mem = shared;
	gm_init_test(&r.gm, r.mem, FR_MEM);
	env = make_env(&cfg, &r.gm);
	CHECK_EQ(virtio_host_create(&ns, &env, &net_virtio_ops, &o), 0);
	h = virtio_host_instance(ns, 0);
	CHECK_EQ(virtio_host_start(ns), 0);
	CHECK(virtio_host_pid(h) > 1);

	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(VNET_RXQ, 8, FR_DESC, FR_AVAIL, FR_USED);
	setup_queue(VNET_TXQ, 8, 0x6000, 0x7000, 0x8000);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
	fr_desc(&r, 0, FR_DATA, 2048, VIRTQ_DESC_F_WRITE, 0);
	fr_avail(&r, 0);
	CHECK_EQ(write(fv.ioev_fd[VNET_RXQ], &one, 8), 8);
	/* A broadcast datagram: out of the TAP without ARP. */
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	CHECK_EQ(setsockopt(s, SOL_SOCKET, SO_BROADCAST, &on, sizeof(on)), 0);
	to.sin_addr.s_addr = inet_addr("10.9.8.255");
	CHECK_EQ(sendto(s, "hostile", 7, 0, (struct sockaddr *)&to, sizeof(to)), 7);
	close(s);
	CHECK(wait_used(&r, 1));
	CHECK_EQ(kill(virtio_host_pid(h), 0), 0);
	CHECK(virtio_host_status_json(ns, buf, sizeof(buf)) > 0);
	CHECK(strstr(buf, "\"rx_packets\":0,") == NULL);
	virtio_host_destroy(ns);
	h = NULL;
	munmap(shared, FR_MEM);
}
NS(net_jailed_rx)

/* virtio-9p in its jailed process (the default): its seccomp policy lets
 * the server work (attach, walk, mkdir with the guest's exact mode through
 * its private umask), and a run-time grant crosses the socketpair as
 * VH_MSG_CONTROL with the directory fd (SCM_RIGHTS): the guest then
 * attaches to it; the device's errno (EEXIST) comes back as it is. */
static void p9_jailed_control(void)
{
	char dir[64], share[80], grant[80], p[128];
	struct vmm_config cfg = { 0 };
	struct p9dev_opts o = { 0 };
	struct fake_ring r;
	struct dev_env env;
	struct stat st;
	void *hs9 = NULL;
	uint8_t *shared;
	char val[128], err[128];
	struct rlimit rl;
	int gfd, pid;

	/* A common hard RLIMIT_NOFILE (4096, below what the device would
	 * like): the jail cannot raise it, so the device must not ask more. */
	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max > 4096) {
		rl.rlim_max = 4096;
		rl.rlim_cur = rl.rlim_cur < 4096 ? rl.rlim_cur : 4096;
		CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	strcpy(dir, "/tmp/mmiotest-9p.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(share, sizeof(share), "%s/share", dir);
	snprintf(grant, sizeof(grant), "%s/grant", dir);
	CHECK_EQ(mkdir(share, 0755), 0);
	CHECK_EQ(mkdir(grant, 0755), 0);
	snprintf(p, sizeof(p), "%s/granted", grant);
	close(open(p, O_WRONLY | O_CREAT, 0644));
	fr_init(&r, 8);
	shared = mmap(NULL, FR_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED);
	free(r.mem);
	r.mem = shared;
	gm_init_test(&r.gm, r.mem, FR_MEM);
	snprintf(val, sizeof(val), "%s:t", share);
	CHECK_EQ(p9dev_parse_share(&o, "--share", val, err, sizeof(err)), 0);
	env = make_env(&cfg, &r.gm);
	CHECK_EQ(virtio_host_create(&hs9, &env, &p9_virtio_ops, &o), 0);
	h = virtio_host_instance(hs9, 0);
	CHECK_EQ(virtio_host_start(hs9), 0);
	pid = virtio_host_pid(h);
	CHECK(pid > 1);
	CHECK(proc_status_has(pid, "Seccomp:\t2"));
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0, 8, FR_DESC, FR_AVAIL, FR_USED);
	wr(VIRTIO_MMIO_STATUS, S_FOK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(p9_call(&r, 0, 100, "ds", 8192, "9P2000.L"), 101);
	CHECK_EQ(p9_call(&r, 1, 104, "ddssd", 0, 0xffffffffu, "root", "", 0), 105);
	/* Tmkdir 0777: created by the jailed server, mode exact (umask 0). */
	CHECK_EQ(p9_call(&r, 2, 72, "dsdd", 0, "made", 0777, 0), 73);
	snprintf(p, sizeof(p), "%s/made", share);
	CHECK_EQ(stat(p, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0777);
	/* chmod of a FIFO: fchmodat2 is not in the filter, so the jailed
	 * server answers EPERM without calling it, and lives on. */
	snprintf(p, sizeof(p), "%s/fifo", share);
	CHECK_EQ(mkfifo(p, 0644), 0);
	CHECK_EQ(p9_call(&r, 3, 110, "ddws", 0, 9, 1, "fifo"), 111);
	/* Tsetattr fid valid=MODE mode uid gid size atime(2) mtime(2) */
	CHECK_EQ(p9_call(&r, 0, 26, "ddddddddddddddd", 9, 1, 0600, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 7);
	CHECK_EQ(le32(r.mem + FR_DATA + 0x1000 + 7), EPERM);
	CHECK_EQ(kill(pid, 0), 0);
	unlink(p);
	/* No grant yet: Tattach aname "late" is an Rlerror. */
	CHECK_EQ(p9_call(&r, 3, 104, "ddssd", 5, 0xffffffffu, "root", "late", 0), 7);
	gfd = open(grant, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK_EQ(virtio_host_control(hs9, "share - late rw", 15, gfd), 0);
	CHECK_EQ(virtio_host_control(hs9, "share - late rw", 15, gfd), -EEXIST);
	CHECK_EQ(virtio_host_control(hs9, "share other late rw", 19, gfd), -ENODEV);
	close(gfd);
	/* The fd crossed: the guest attaches to the grant and finds its file. */
	CHECK_EQ(p9_call(&r, 0, 104, "ddssd", 5, 0xffffffffu, "root", "late", 0), 105);
	CHECK_EQ(p9_call(&r, 1, 110, "ddws", 5, 6, 1, "granted"), 111);
	CHECK_EQ(virtio_host_control(hs9, "unshare - late", 14, -1), 0);
	CHECK_EQ(p9_call(&r, 2, 110, "ddws", 5, 7, 1, "granted"), 7);
	virtio_host_destroy(hs9);
	h = NULL;
	munmap(shared, FR_MEM);
	snprintf(p, sizeof(p), "%s/made", share);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/granted", grant);
	unlink(p);
	rmdir(share);
	rmdir(grant);
	rmdir(dir);
}

int main(void)
{
	t_suite = "virtio_mmio";
	log_level = -1;
	RUN(identity_registers);
	RUN(ioeventfds_at_driver_ok);
	RUN(feature_negotiation);
	RUN(queue_setup_and_activate);
	RUN(status_transitions);
	RUN(reset_clears_everything);
	RUN(notify_through_ioeventfd);
	RUN(requeue_rearms_notify);
	RUN(notify_trapped_without_ioeventfd);
	RUN(serve_outside_register_lock);
	RUN(worker_thread_serves);
	RUN(interrupts_and_ack);
	RUN(activate_failure_needs_reset);
	RUN(access_widths_and_config);
	RUN(config_change);
	RUN(blk_devices_created_in_order);
	RUN(blk_end_to_end);
	RUN(control_routed_to_instances);
	RUN(status_counters);
	RUN(health_rounds);
	RUN(blk_jailed_process);
	RUN(ns_net_jailed_counters);
	RUN(ns_net_jailed_rx);
	if (geteuid() == 0)
		RUN(p9_jailed_control);
	return t_done();
}
