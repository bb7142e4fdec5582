/* The virtio device host: the core-owned half of every virtio device.
 *
 * For each instance a device's options ask for (struct virtio_device
 * instances), the host runs the device's privileged open() in the VMM
 * process, then creates what the device must not own: the transport
 * (virtio-mmio now; PCI or an FDT announcement later), the struct
 * virtio_signal and its irqfd, one notify eventfd per queue, and a worker
 * thread that serves the queues. The worker waits on the notify eventfds
 * (which KVM signals through ioeventfds) and the device's poll_fd, and
 * calls the serve ops under the host's lock -- never under the transport's
 * register lock, so a slow disk never blocks a vCPU reading
 * InterruptStatus, nor the serial port or the control socket on the main
 * loop. A device that stopped with chains left (virtio_signal_requeue) is
 * called again after the worker served everything else that was ready.
 *
 * Because the serve ops see only guest memory, their own fds, the signal
 * and plain data, the same ops can later run in a jailed child that holds
 * the notify eventfds and the irqfd instead of a thread.
 *
 * Ownership: the host owns the transport, the signal, the eventfds, the
 * worker and the device instance (closed through the device's close). */
#ifndef VMM_VIRTIO_HOST_H
#define VMM_VIRTIO_HOST_H
#include "vmm/device.h"
#include "vmm/virtio.h"

struct virtio_host;

/* Create every instance of vd that cfg (its parsed options) asks for, in
 * index order. Returns 0 (*state set), 1 (no instance configured) or an
 * error in the dev_input_error model (logged once, naming the input). */
int virtio_host_create(void **state, const struct dev_env *env, const struct virtio_device *vd,
		       const void *cfg);
/* Start one worker thread per instance. 0 or -errno (logged). */
int virtio_host_start(void *state);
/* Stop and join the workers, then close devices, transports and fds.
 * Call after vCPUs have stopped. NULL is ok. */
void virtio_host_destroy(void *state);
/* SIGUSR2: each transport's registers and each device's own dump. */
void virtio_host_dump(void *state);

/* For tests, which drive a host without threads. */
unsigned virtio_host_count(void *state);
struct virtio_host *virtio_host_instance(void *state, unsigned i);
void *virtio_host_dev(struct virtio_host *h);
/* One round of the worker: wait up to timeout_ms for ready notify
 * eventfds or poll_fd and serve them. Returns the number served, or
 * -ESHUTDOWN once stopped. */
int virtio_host_run(struct virtio_host *h, int timeout_ms);
#endif
