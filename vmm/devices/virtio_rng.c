#include "vmm/devices/virtio_rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "vmm/device.h"
#include "vmm/log.h"
#include "vmm/virtio_mmio.h"
#include "vmm/virtq.h"

#define RNG_QUEUE_MAX 64

struct rng_dev {
	struct virtio_signal sig;
	struct virtio_mmio *t;
	const struct gm *gm;
	bool active;
	struct virtq vq;
	struct virtq_chain chain;
};

static uint64_t rng_features(void *dev)
{
	return VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
	       VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
}

/* §5.4.4: no configuration space. */
static void rng_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	memset(data, 0, len);
}

static void rng_config_write(void *dev, uint32_t off, const uint8_t *data, uint32_t len)
{
}

static int rng_activate(void *dev, uint64_t features, const struct virtq_config *q, unsigned nq)
{
	struct rng_dev *r = dev;

	r->active = false;
	if (!q[0].ready)
		return 0;
	if (virtq_setup(&r->vq, r->gm, "virtio-rng queue 0", &q[0], RNG_QUEUE_MAX,
			features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)) < 0)
		return -EINVAL;
	virtq_set_event_idx(&r->vq, features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
	r->active = true;
	return 0;
}

/* Fill the writable part of one chain; returns the bytes written. */
static uint32_t rng_fill(const struct virtq_chain *c)
{
	uint32_t done = 0;

	/* §5.4.6: requests carry device-writable buffers only; anything
	 * readable is skipped. */
	for (unsigned s = c->nout; s < c->nout + c->nin && done < RNG_MAX_PER_REQ; s++) {
		uint32_t want = c->seg[s].len, got = 0;
		if (want > RNG_MAX_PER_REQ - done)
			want = RNG_MAX_PER_REQ - done;
		while (got < want) {
			ssize_t n = getrandom(c->seg[s].host + got, want - got, 0);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				log_guest("virtio-rng: getrandom: %s", strerror(errno));
				return done + got;
			}
			got += (uint32_t)n;
		}
		done += got;
	}
	return done;
}

static void rng_queue_notify(void *dev, unsigned q)
{
	struct rng_dev *r = dev;

	if (!r->active)
		return;
	/* At most one ring's worth per call (see virtio_signal_requeue). */
	for (unsigned budget = r->vq.size;; budget--) {
		int n;
		if (budget == 0) {
			/* Re-arm before leaving, whatever remains: a driver
			 * following vring_need_event (§2.7.10) must notify for
			 * its next chain even when this one ended the budget. */
			if (virtq_arm_notify(&r->vq))
				virtio_signal_requeue(&r->sig, q);
			break;
		}
		n = virtq_pop(&r->vq, &r->chain);
		if (n == 0) {
			if (virtq_arm_notify(&r->vq))
				continue;
			break;
		}
		if (n < 0) {
			r->active = false;
			virtio_signal_needs_reset(&r->sig);
			break;
		}
		virtq_push(&r->vq, r->chain.head, rng_fill(&r->chain));
	}
	if (virtq_should_signal(&r->vq))
		virtio_signal_used(&r->sig);
}

static void rng_reset(void *dev)
{
	struct rng_dev *r = dev;

	r->active = false;
	memset(&r->vq, 0, sizeof(r->vq));
}

const struct virtio_dev_ops rng_virtio_ops = {
	.device_id = VIRTIO_ID_RNG,
	.num_queues = 1,
	.queue_max = RNG_QUEUE_MAX,
	.features = rng_features,
	.config_read = rng_config_read,
	.config_write = rng_config_write,
	.activate = rng_activate,
	.queue_notify = rng_queue_notify,
	.reset = rng_reset,
};

int rng_open(struct rng_dev **out, const struct gm *gm)
{
	struct rng_dev *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->sig.irqfd = -1;
	r->gm = gm;
	*out = r;
	return 0;
}

void rng_close(struct rng_dev *r)
{
	free(r);
}

struct virtio_signal *rng_signal(struct rng_dev *r)
{
	return &r->sig;
}

static void rng_destroy(void *state)
{
	struct rng_dev *r = state;

	if (!r)
		return;
	virtio_mmio_destroy(r->t);
	rng_close(r);
}

static int rng_create(const struct dev_env *env, void **state)
{
	struct rng_dev *r;
	int e;

	*state = NULL;
	if (!env->cfg->rng)
		return 1;
	e = rng_open(&r, env->gm);
	if (e < 0)
		return e;
	e = virtio_mmio_create(&r->t, env, "virtio-rng", &rng_virtio_ops, r, &r->sig);
	if (e < 0) {
		rng_close(r);
		return e;
	}
	*state = r;
	return 0;
}

static void rng_dump(void *state)
{
	struct rng_dev *r = state;

	virtio_mmio_dump(r->t);
	virtio_mmio_dump_vq(r->t, 0, &r->vq);
}

const struct device_ops virtio_rng_device = {
	.name = "virtio-rng",
	.create = rng_create,
	.destroy = rng_destroy,
	.dump = rng_dump,
};
