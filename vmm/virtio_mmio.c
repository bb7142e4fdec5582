#include "vmm/virtio_mmio.h"
#include "vmm/virtq.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log.h"

struct virtio_mmio {
	/* Taken by every register access (vCPU threads). Never held while
	 * the device serves a queue: the host's worker does that under the
	 * host's own lock, which activate/reset take after this one. */
	pthread_mutex_t lock;
	struct dev_env env;               /* copy: create's argument may not live on */
	const char *name;
	struct virtio_mmio_dev d;         /* copy of what the host told us */
	struct virtio_signal *sig;
	uint64_t base;
	unsigned gsi;
	/* Driver-visible register state, reset to zero by a status write of 0. */
	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint64_t drv_features;
	bool active;                      /* DRIVER_OK accepted by the device */
	struct virtq_config q[VIRTIO_MAX_QUEUES];
	bool bound[VIRTIO_MAX_QUEUES];    /* KVM signals notify_fd[q] itself */
};

void virtio_signal_used(struct virtio_signal *s)
{
	uint64_t one = 1;

	__atomic_fetch_or(&s->isr, VIRTIO_ISR_USED, __ATOMIC_SEQ_CST);
	/* The eventfd counter cannot overflow in practice; a failed write
	 * would only lose an edge the driver's next poll recovers. */
	if (s->irqfd >= 0 && write(s->irqfd, &one, sizeof(one)) < 0)
		log_guest("virtio: irqfd write: %s", strerror(errno));
}

void virtio_signal_needs_reset(struct virtio_signal *s)
{
	uint64_t one = 1;

	__atomic_store_n(&s->needs_reset, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_or(&s->isr, VIRTIO_ISR_CONFIG, __ATOMIC_SEQ_CST);
	if (s->irqfd >= 0 && write(s->irqfd, &one, sizeof(one)) < 0)
		log_guest("virtio: irqfd write: %s", strerror(errno));
}

void virtio_signal_config(struct virtio_signal *s)
{
	uint64_t one = 1;

	__atomic_fetch_add(&s->config_gen, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_or(&s->isr, VIRTIO_ISR_CONFIG, __ATOMIC_SEQ_CST);
	if (s->irqfd >= 0 && write(s->irqfd, &one, sizeof(one)) < 0)
		log_guest("virtio: irqfd write: %s", strerror(errno));
}

void virtio_signal_stats(struct virtio_signal *s, const uint64_t *w, unsigned n)
{
	for (unsigned i = 0; i < n && i < VIRTIO_STATS_MAX; i++)
		__atomic_store_n(&s->stats[i], w[i], __ATOMIC_RELAXED);
}

void virtio_signal_requeue(struct virtio_signal *s, unsigned q)
{
	if (q < 32)
		__atomic_fetch_or(&s->requeue, 1u << q, __ATOMIC_SEQ_CST);
}

static bool virtio_mmio_needs_reset(const struct virtio_mmio *t)
{
	return __atomic_load_n(&t->sig->needs_reset, __ATOMIC_SEQ_CST) != 0;
}

/* A QueueNotify write KVM did not take (no ioeventfd for the queue, or an
 * index that does not exist): pass it to the host's worker through the
 * same eventfd an ioeventfd would signal. Call with the lock held. */
static void virtio_mmio_kick(struct virtio_mmio *t, unsigned q)
{
	uint64_t one = 1;

	if (q >= t->d.num_queues) {
		log_guest("%s: notify for queue %u which does not exist", t->name, q);
		return;
	}
	if (!t->active || virtio_mmio_needs_reset(t) || !t->q[q].ready)
		return;
	if (write(t->d.notify_fd[q], &one, sizeof(one)) < 0)
		log_guest("%s: queue %u notify: %s", t->name, q, strerror(errno));
}

static void virtio_mmio_reset(struct virtio_mmio *t)
{
	t->d.reset(t->d.host);
	t->status = 0;
	t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
	t->drv_features = 0;
	t->active = false;
	memset(t->q, 0, sizeof(t->q));
	__atomic_store_n(&t->sig->isr, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->sig->needs_reset, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->sig->requeue, 0, __ATOMIC_SEQ_CST);
}

/* Bind each queue's notify eventfd to QueueNotify with KVM_IOEVENTFD
 * (datamatch = queue index), once, when the driver first starts the
 * device: a guest that never drives it costs KVM nothing (an ioeventfd
 * makes the VM's teardown measurably slower, docs/BENCHMARKS.md), as in
 * crosvm and Firecracker. Until then (and if it fails) a notify traps to
 * the vCPU thread, which signals the same eventfd. Lock held. */
static void virtio_mmio_arm_notify(struct virtio_mmio *t)
{
	for (unsigned q = 0; q < t->d.num_queues && t->env.ioeventfd; q++) {
		int r;

		if (t->bound[q])
			continue;
		r = t->env.ioeventfd(t->env.vm, t->d.notify_fd[q], t->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, 1, q);
		if (r < 0) {
			log_debug("%s: no ioeventfd for queue %u (%s), notifies trap", t->name, q, strerror(-r));
			continue;
		}
		t->bound[q] = true;
	}
}

/* §3.1.1 Driver Requirements: Device Initialization, seen from the device:
 * status bits are only ever added; FEATURES_OK only for an acceptable
 * feature subset; DRIVER_OK starts the device. */
static void virtio_mmio_set_status(struct virtio_mmio *t, uint32_t v)
{
	uint32_t old = t->status, added;

	if (v == 0) {
		virtio_mmio_reset(t);
		return;
	}
	v &= 0xff & ~VIRTIO_STATUS_NEEDS_RESET;  /* device-owned bit */
	if ((v & old) != old) {
		log_guest("%s: driver cleared status bits (0x%x -> 0x%x) without reset", t->name, old, v);
		return;
	}
	added = v & ~old;
	if (added & VIRTIO_STATUS_FEATURES_OK) {
		/* §2.2.2: the device refuses FEATURES_OK for features it did not
		 * offer; we are a non-transitional device (§7.1: VERSION_1). */
		if ((t->drv_features & ~t->d.features) || !(t->drv_features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
			log_guest("%s: refusing driver features 0x%llx (offered 0x%llx)", t->name,
				  (unsigned long long)t->drv_features, (unsigned long long)t->d.features);
			v &= ~VIRTIO_STATUS_FEATURES_OK;
			added &= ~VIRTIO_STATUS_FEATURES_OK;
		}
	}
	if (added & VIRTIO_STATUS_DRIVER_OK) {
		if (!(v & VIRTIO_STATUS_FEATURES_OK)) {
			log_guest("%s: DRIVER_OK before FEATURES_OK", t->name);
			v &= ~VIRTIO_STATUS_DRIVER_OK;
		} else if (t->d.activate(t->d.host, t->drv_features, t->q, t->d.num_queues) < 0) {
			virtio_signal_needs_reset(t->sig);
		} else {
			t->active = true;
			virtio_mmio_arm_notify(t);
		}
	}
	t->status = v;
}

/* The queue registers may only change while the queue is disabled and the
 * device not started (§4.2.3.2). */
static struct virtq_config *virtio_mmio_queue_rw(struct virtio_mmio *t)
{
	if (t->queue_sel >= t->d.num_queues)
		return NULL;
	if ((t->status & VIRTIO_STATUS_DRIVER_OK) || t->q[t->queue_sel].ready) {
		log_guest("%s: queue %u register written while live", t->name, t->queue_sel);
		return NULL;
	}
	return &t->q[t->queue_sel];
}

static void set_lo(uint64_t *r, uint32_t v) { *r = (*r & ~0xffffffffull) | v; }
static void set_hi(uint64_t *r, uint32_t v) { *r = (*r & 0xffffffffull) | (uint64_t)v << 32; }

static uint32_t virtio_mmio_reg_read(struct virtio_mmio *t, uint64_t off)
{
	const struct virtq_config *q = t->queue_sel < t->d.num_queues ? &t->q[t->queue_sel] : NULL;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return t->d.device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (t->dev_features_sel > 1)
			return 0;
		return (uint32_t)(t->d.features >> (32 * t->dev_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? t->d.queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY: return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return __atomic_load_n(&t->sig->isr, __ATOMIC_SEQ_CST);
	case VIRTIO_MMIO_STATUS:
		return t->status | (virtio_mmio_needs_reset(t) ? VIRTIO_STATUS_NEEDS_RESET : 0);
	/* §4.2.2: no shared memory regions: length reads as -1. */
	case VIRTIO_MMIO_SHM_LEN_LOW: case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW: case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffffu;
	case VIRTIO_MMIO_CONFIG_GENERATION: return __atomic_load_n(&t->sig->config_gen, __ATOMIC_SEQ_CST);
	/* Write-only in the spec; reading them back helps debugging. */
	case VIRTIO_MMIO_QUEUE_NUM: return q ? q->size : 0;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: return q ? (uint32_t)q->desc : 0;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: return q ? (uint32_t)(q->desc >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: return q ? (uint32_t)q->avail : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: return q ? (uint32_t)(q->avail >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: return q ? (uint32_t)q->used : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: return q ? (uint32_t)(q->used >> 32) : 0;
	default: return 0;
	}
}

static void virtio_mmio_reg_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtq_config *q;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->dev_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->drv_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (t->status & VIRTIO_STATUS_FEATURES_OK) {
			log_guest("%s: driver features written after FEATURES_OK", t->name);
			break;
		}
		if (t->drv_features_sel == 0)
			set_lo(&t->drv_features, v);
		else if (t->drv_features_sel == 1)
			set_hi(&t->drv_features, v);
		else if (v)
			t->drv_features |= VIRTIO_BIT(63);  /* unofferable: FEATURES_OK will fail */
		break;
	case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = v; break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if ((q = virtio_mmio_queue_rw(t)))
			q->size = v > 0xffff ? 0 : (uint16_t)v;  /* 0 fails at setup */
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (t->queue_sel >= t->d.num_queues)
			break;
		if (v == 0 && !(t->status & VIRTIO_STATUS_DRIVER_OK))
			t->q[t->queue_sel].ready = false;
		else if (v == 1 && (q = virtio_mmio_queue_rw(t)))
			q->ready = true;
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Reaches us only when no ioeventfd matched: a queue without one
		 * (fallback) or an index that does not exist. */
		virtio_mmio_kick(t, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_fetch_and(&t->sig->isr, ~v, __ATOMIC_SEQ_CST);
		break;
	case VIRTIO_MMIO_STATUS: virtio_mmio_set_status(t, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: if ((q = virtio_mmio_queue_rw(t))) set_lo(&q->desc, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: if ((q = virtio_mmio_queue_rw(t))) set_hi(&q->desc, v); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: if ((q = virtio_mmio_queue_rw(t))) set_lo(&q->avail, v); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: if ((q = virtio_mmio_queue_rw(t))) set_hi(&q->avail, v); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: if ((q = virtio_mmio_queue_rw(t))) set_lo(&q->used, v); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: if ((q = virtio_mmio_queue_rw(t))) set_hi(&q->used, v); break;
	case VIRTIO_MMIO_SHM_SEL: break;
	default:
		log_guest("%s: write 0x%x to read-only or unknown register 0x%llx", t->name, v,
			  (unsigned long long)off);
		break;
	}
}

void virtio_mmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = opaque;
	uint32_t v;

	memset(data, 0, len);
	if (off >= VIRTIO_MMIO_CONFIG) {
		/* Plain data: no lock, no device call. A device that changes
		 * it (virtio_signal_config) stores single bytes atomically and
		 * bumps ConfigGeneration after, so the driver's generation
		 * check (§2.5.1) sees a consistent copy. Bytes past the
		 * device's config space read 0 (§4.2.2). */
		uint64_t c = off - VIRTIO_MMIO_CONFIG;
		for (uint32_t i = 0; i < len && c + i < t->d.config_len; i++)
			data[i] = __atomic_load_n(&t->d.config[c + i], __ATOMIC_RELAXED);
		return;
	}
	pthread_mutex_lock(&t->lock);
	if (len == 4 && !(off & 3)) {
		/* §4.2.2.2: registers are accessed 32 bits wide and aligned. */
		v = virtio_mmio_reg_read(t, off);
		memcpy(data, &v, 4);
	} else {
		log_guest("%s: %u-byte read of register 0x%llx", t->name, len, (unsigned long long)off);
	}
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = opaque;
	uint32_t v;

	/* The config space is read-only (struct virtio_dev_info). */
	if (off >= VIRTIO_MMIO_CONFIG)
		return;
	pthread_mutex_lock(&t->lock);
	if (len == 4 && !(off & 3)) {
		memcpy(&v, data, 4);
		virtio_mmio_reg_write(t, off, v);
	} else {
		log_guest("%s: %u-byte write to register 0x%llx", t->name, len, (unsigned long long)off);
	}
	pthread_mutex_unlock(&t->lock);
}

static const struct bus_ops virtio_mmio_bus_ops = {
	.read = virtio_mmio_read,
	.write = virtio_mmio_write,
};

int virtio_mmio_create(struct virtio_mmio **out, const struct dev_env *env, const char *name,
		       const struct virtio_mmio_dev *d)
{
	struct virtio_mmio *t;
	uint64_t size;
	int r;

	*out = NULL;
	if (d->num_queues == 0 || d->num_queues > VIRTIO_MAX_QUEUES || !d->queue_max ||
	    d->queue_max > VIRTQ_MAX_SIZE || d->config_len > VIRTIO_MMIO_WINDOW - VIRTIO_MMIO_CONFIG) {
		log_err("%s: bad virtio device description", name);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	t->env = *env;
	t->name = name;
	t->d = *d;
	t->sig = d->sig;
	t->sig->irqfd = -1;

	r = env->virtio_slot(env->vm, &t->base, &size, &t->gsi);
	if (r < 0) {
		log_err("%s: no virtio-mmio slot left: %s", name, strerror(-r));
		goto fail;
	}
	r = env->irqfd_new(env->vm, t->gsi);
	if (r < 0) {
		log_err("%s: irqfd for GSI %u: %s", name, t->gsi, strerror(-r));
		goto fail;
	}
	t->sig->irqfd = r;
	/* For the firmware tables (ACPI kernels find the window as LNRO0005). */
	r = env->publish(env->vm, &(struct dev_resource){
		.kind = RES_VIRTIO_MMIO, .base = t->base, .size = size, .irq = (int)t->gsi, .reset_port = -1 });
	if (r < 0) {
		log_err("%s: firmware tables full: %s", name, strerror(-r));
		goto fail;
	}
	/* Last: the bus cannot forget a range, so nothing may fail after it. */
	r = bus_add(env->mmio, t->base, VIRTIO_MMIO_WINDOW, &virtio_mmio_bus_ops, t);
	if (r < 0) {
		log_err("%s: MMIO window 0x%llx: %s", name, (unsigned long long)t->base, strerror(-r));
		goto fail;
	}
	log_debug("%s: virtio-mmio at 0x%llx, GSI %u", name, (unsigned long long)t->base, t->gsi);
	*out = t;
	return 0;
fail:
	virtio_mmio_destroy(t);
	return r;
}

void virtio_mmio_dump(struct virtio_mmio *t)
{
	char notify[64];
	size_t n = 0;

	pthread_mutex_lock(&t->lock);
	notify[0] = 0;
	for (unsigned q = 0; q < t->d.num_queues && n < sizeof(notify) - 8; q++)
		n += (size_t)snprintf(notify + n, sizeof(notify) - n, " %d%s", t->d.notify_fd[q],
				      t->bound[q] ? "" : "(trap)");
	log_state("%s: mmio %#llx gsi %u status %#x features %#llx active %d isr %#x needs_reset %d "
		  "ioeventfds%s", t->name, (unsigned long long)t->base, t->gsi, t->status,
		  (unsigned long long)t->drv_features, t->active, __atomic_load_n(&t->sig->isr, __ATOMIC_SEQ_CST),
		  virtio_mmio_needs_reset(t), notify);
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	if (!t)
		return;
	if (t->sig->irqfd >= 0) {
		close(t->sig->irqfd);
		t->sig->irqfd = -1;
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
}

uint64_t virtio_mmio_base(const struct virtio_mmio *t)
{
	return t->base;
}

unsigned virtio_mmio_gsi(const struct virtio_mmio *t)
{
	return t->gsi;
}
