/* virtio-rng / entropy device (virtio 1.2 §5.4) fed by getrandom(2).
 * The VMM creates it through virtio_rng_device; tests drive rng_open's
 * device through rng_virtio_ops as a transport would. */
#ifndef VMM_DEVICES_VIRTIO_RNG_H
#define VMM_DEVICES_VIRTIO_RNG_H
#include "vmm/gm.h"
#include "vmm/virtio.h"

/* Bytes filled per request at most: a guest asking for more gets less
 * (§5.4.6 lets the device fill any amount). */
#define RNG_MAX_PER_REQ 65536u

struct rng_dev;

int rng_open(struct rng_dev **out, const struct gm *gm);
void rng_close(struct rng_dev *r);
struct virtio_signal *rng_signal(struct rng_dev *r);

extern const struct virtio_dev_ops rng_virtio_ops;
#endif
