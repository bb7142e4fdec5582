/* The virtio-mmio transport (virtio 1.2 §4.2, version 2 registers only).
 *
 * The device host (vmm/virtio_host.h) creates one struct virtio_mmio per
 * device instance: it claims a 4 KiB window and a GSI from env->virtio_slot
 * (the architecture announces it to the guest), answers the register file
 * on the MMIO bus (vCPU threads) and raises interrupts through a KVM irqfd.
 * Notifications never run device code here: at DRIVER_OK each queue's
 * QueueNotify is bound with KVM_IOEVENTFD to the host's notify eventfd for
 * that queue, and a notify that still traps is written to that eventfd.
 * The register lock is held only for register state; activate and reset go
 * to the host, which serialises them against its worker. */
#ifndef VMM_VIRTIO_MMIO_H
#define VMM_VIRTIO_MMIO_H
#include <stdint.h>

#include "vmm/device.h"
#include "vmm/virtio.h"

struct virtio_mmio;

/* What the transport is told about the device it fronts, and how it
 * reaches the host: plain data plus two calls. */
struct virtio_mmio_dev {
	uint32_t device_id;
	unsigned num_queues;
	uint16_t queue_max;
	uint64_t features;             /* offered */
	const uint8_t *config;         /* config space, config_len bytes; the driver cannot
	                                * write it, the device may (virtio_signal_config) */
	uint32_t config_len;
	struct virtio_signal *sig;     /* its irqfd is set (and owned) here */
	const int *notify_fd;          /* num_queues eventfds the host serves */
	void *host;
	/* DRIVER_OK with the driver's features and queues; <0: NEEDS_RESET. */
	int (*activate)(void *host, uint64_t features, const struct virtq_config *q, unsigned nq);
	/* Status written 0. */
	void (*reset)(void *host);
};

/* Create the transport. d is copied; what it points to must outlive the
 * transport. name is used in messages ("virtio-blk vda"). Returns 0 or
 * -errno (with an error logged). On success *out is set. */
int virtio_mmio_create(struct virtio_mmio **out, const struct dev_env *env, const char *name,
		       const struct virtio_mmio_dev *d);
/* Close the irqfd; the device and the notify eventfds are not touched.
 * NULL is ok. */
void virtio_mmio_destroy(struct virtio_mmio *t);
/* Log the transport's state in one line (SIGUSR2 dumps). */
void virtio_mmio_dump(struct virtio_mmio *t);

/* The register file as seen from the bus (exposed for unit tests; the bus
 * calls these through its ops). off is relative to the window. */
void virtio_mmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len);
void virtio_mmio_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len);
/* Window base and GSI, for messages and tests. */
uint64_t virtio_mmio_base(const struct virtio_mmio *t);
unsigned virtio_mmio_gsi(const struct virtio_mmio *t);
#endif
