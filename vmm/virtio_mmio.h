/* The virtio-mmio transport (virtio 1.2 §4.2, version 2 registers only).
 *
 * One struct virtio_mmio per device: it claims a 4 KiB window and a GSI from
 * env->virtio_slot (which announces virtio_mmio.device=4K@BASE:GSI), answers
 * the register file on the MMIO bus (vCPU threads), raises interrupts through
 * a KVM irqfd and receives QueueNotify through one ioeventfd per queue
 * (datamatch = queue index), watched on the event-loop thread, where the
 * device's queue_notify runs. A mutex serialises register accesses against
 * queue processing, so a device never sees two calls at once.
 *
 * The device is reached only through its struct virtio_dev_ops and reports
 * back only through the struct virtio_signal it hands in (see virtio.h). */
#ifndef VMM_VIRTIO_MMIO_H
#define VMM_VIRTIO_MMIO_H
#include <stdint.h>

#include "vmm/device.h"
#include "vmm/virtio.h"

struct virtio_mmio;

/* Create the transport for dev. sig is owned by the device and must outlive
 * the transport; its irqfd field is set here (the transport owns that fd).
 * name is used in messages ("virtio-blk vda"). Returns 0 or -errno (with an
 * error logged). On success *out is set. */
int virtio_mmio_create(struct virtio_mmio **out, const struct dev_env *env, const char *name,
		       const struct virtio_dev_ops *ops, void *dev, struct virtio_signal *sig);
/* Unwatch and close the fds; the device itself is not touched. NULL is ok. */
void virtio_mmio_destroy(struct virtio_mmio *t);
/* Log the transport's state in one line (SIGUSR2 dumps). */
void virtio_mmio_dump(struct virtio_mmio *t);
/* Log the state of queue q, held by the device in vq, under the
 * transport's lock (for devices whose queue work runs under it). */
struct virtq;
void virtio_mmio_dump_vq(struct virtio_mmio *t, unsigned q, const struct virtq *vq);

/* The register file as seen from the bus (exposed for unit tests; the bus
 * calls these through its ops). off is relative to the window. */
void virtio_mmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len);
void virtio_mmio_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len);
/* Window base and GSI, for messages and tests. */
uint64_t virtio_mmio_base(const struct virtio_mmio *t);
unsigned virtio_mmio_gsi(const struct virtio_mmio *t);
#endif
