/* The explicit device table (house style: no constructor magic). Order is
 * creation order, which fixes virtio-mmio slots and so /dev/vdX names. */
#include <stddef.h>

#include "vmm/device.h"

extern const struct device_ops serial_device;
extern const struct device_ops i8042_device;
extern const struct device_ops rtc_device, pl031_device;
extern const struct device_ops debugport_device;
extern const struct device_ops virtio_blk_device, virtio_rng_device;
extern const struct device_ops virtio_vsock_device;
extern const struct device_ops virtio_net_device;
extern const struct device_ops virtio_9p_device;

const struct device_ops *const device_table[] = {
	&serial_device,
	&i8042_device,
	&rtc_device,
	&pl031_device,
	&debugport_device,
	&virtio_blk_device, &virtio_rng_device,
	&virtio_vsock_device,
	&virtio_net_device,
	&virtio_9p_device,
	NULL,
};
