/* virtio-rng / entropy device (virtio 1.2 §5.4) fed by getrandom(2): the
 * worked example of docs/DEVELOPING.md "Adding a device". The VMM creates
 * it through virtio_rng_device (device table: options) and rng_virtio_ops
 * (the virtio descriptor, open and serve ops); tests drive rng_open's
 * device through rng_virtio_ops as the device host would. */
#ifndef VMM_DEVICES_VIRTIO_RNG_H
#define VMM_DEVICES_VIRTIO_RNG_H
#include <stdbool.h>

#include "vmm/gm.h"
#include "vmm/virtio.h"

/* Bytes filled per request at most: a guest asking for more gets less
 * (§5.4.6 lets the device fill any amount). */
#define RNG_MAX_PER_REQ 65536u

/* Parsed options: --rng (default) / --no-rng. */
struct rng_opts {
	bool on;
};

struct rng_dev;

/* The device for one instance; it reports back through sig (owned by the
 * caller). -ENOMEM. */
int rng_open(struct rng_dev **out, const struct gm *gm, struct virtio_signal *sig);
void rng_close(struct rng_dev *r);

extern const struct virtio_device rng_virtio_ops;
#endif
