/* The device tree an arm64 guest boots from (Documentation/arm64/booting.rst
 * §2, the devicetree bindings under Documentation/devicetree/bindings/),
 * built with libfdt from the resource records the devices published. No
 * KVM: unit tests build and check it on any host. */
#ifndef VMM_AARCH64_DEVTREE_H
#define VMM_AARCH64_DEVTREE_H
#include <stddef.h>
#include <stdint.h>

#include "vmm/resource.h"

struct devtree_cfg {
	uint64_t ram_base, ram_size;
	unsigned ncpus;
	int gic_version;              /* 3, or 2 where the host has no vGICv3 */
	const char *cmdline;
	uint64_t initrd_start, initrd_end;  /* end 0: no initrd */
};

/* Write the flattened tree into buf[size]: /chosen (bootargs, stdout-path,
 * initrd), memory, cpus (enable-method psci), psci (hvc), the GIC with
 * redistributors for ncpus, the architected timer, and one node per record
 * (the 16550 of a RES_ISA PNP0501 record, a virtio,mmio node per
 * RES_VIRTIO_MMIO window with its SPI, a PrimeCell node per RES_PRIMECELL
 * record with the "apb_pclk" fixed clock they share). Returns the tree's size, -ENOSPC
 * when buf is too small, -EINVAL for a record it cannot describe. */
int devtree_build(void *buf, size_t size, const struct devtree_cfg *cfg, const struct dev_resource *res,
		  unsigned nres);
#endif
