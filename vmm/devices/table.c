/* The explicit device table (house style: no constructor magic). Order is
 * creation order, which fixes virtio-mmio slots and so /dev/vdX names. */
#include <stddef.h>

#include "vmm/device.h"

extern const struct device_ops serial_device;

const struct device_ops *const device_table[] = {
	&serial_device,
	NULL,
};
