#include "vmm/devices/virtio_rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "vmm/device.h"
#include "vmm/log.h"
#include "vmm/virtq.h"

#define RNG_QUEUE_MAX 64

struct rng_dev {
	struct virtio_signal *sig;
	const struct gm *gm;
	bool active;
	struct virtq vq;
	struct virtq_chain chain;
};

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

static int rng_handle(void *dev, const struct virtq_chain *c, uint32_t *written)
{
	*written = rng_fill(c);
	return 0;
}

static void rng_queue_notify(void *dev, unsigned q)
{
	struct rng_dev *r = dev;

	if (r->active && virtq_serve(&r->vq, q, r->sig, &r->chain, rng_handle, r) < 0)
		r->active = false;
}

static void rng_reset(void *dev)
{
	struct rng_dev *r = dev;

	r->active = false;
	memset(&r->vq, 0, sizeof(r->vq));
}

int rng_open(struct rng_dev **out, const struct gm *gm, struct virtio_signal *sig)
{
	struct rng_dev *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->sig = sig;
	r->gm = gm;
	*out = r;
	return 0;
}

void rng_close(struct rng_dev *r)
{
	free(r);
}

static unsigned rng_instances(const void *cfg)
{
	return ((const struct rng_opts *)cfg)->on ? 1 : 0;
}

static int rng_dev_open(void **dev, const void *cfg, unsigned index, const struct dev_env *env,
			struct virtio_signal *sig, struct virtio_dev_info *info)
{
	/* §5.4.3: no device-specific features; §5.4.4: no config space. */
	info->features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
			 VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	return rng_open((struct rng_dev **)dev, env->gm, sig);
}

static void rng_dev_close(void *dev)
{
	rng_close(dev);
}

static void rng_dump(void *dev)
{
	struct rng_dev *r = dev;

	virtq_log_state(&r->vq, "virtio-rng", 0);
}

const struct virtio_device rng_virtio_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.num_queues = 1,
	.queue_max = RNG_QUEUE_MAX,
	.instances = rng_instances,
	.open = rng_dev_open,
	.close = rng_dev_close,
	.activate = rng_activate,
	.queue_notify = rng_queue_notify,
	.reset = rng_reset,
	.dump = rng_dump,
};

/* ---- options ------------------------------------------------------------ */

static int rng_opt_on(void *cfg, const char *opt, const char *val, char *err, size_t errlen)
{
	((struct rng_opts *)cfg)->on = true;
	return 0;
}

static int rng_opt_off(void *cfg, const char *opt, const char *val, char *err, size_t errlen)
{
	((struct rng_opts *)cfg)->on = false;
	return 0;
}

static const struct dev_option rng_options[] = {
	{ .name = "--rng", .parse = rng_opt_on,
	  .usage = "      --rng, --no-rng   virtio-rng entropy device (default on)\n" },
	{ .name = "--no-rng", .parse = rng_opt_off },
	{ 0 },
};

static void rng_cfg_init(void *cfg)
{
	((struct rng_opts *)cfg)->on = true;
}

const struct device_ops virtio_rng_device = {
	.name = "virtio-rng",
	.options = rng_options,
	.cfg_size = sizeof(struct rng_opts),
	.cfg_init = rng_cfg_init,
	.virtio = &rng_virtio_ops,
};
