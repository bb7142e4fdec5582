// SPDX-License-Identifier: GPL-2.0
/* Test-only helper module for the blk_cloud e2e scenario.
 *
 * Debian's cloud kernel builds virtio_mmio without
 * CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES, so the virtio_mmio.device= words vmm
 * puts on the command line are ignored and, with no ACPI tables from vmm
 * yet, nothing tells that kernel where the virtio-mmio windows are. This
 * module only declares them: for every "SIZE@BASE:IRQ" in devices= (the
 * virtio_mmio.device= syntax, Documentation/admin-guide/kernel-parameters.txt)
 * it registers a "virtio-mmio" platform device with one memory and one IRQ
 * resource. Everything after that -- probing the registers, the rings,
 * virtio_blk -- is the distro kernel's own code. */
#include <linux/errno.h>
#include <linux/init.h>
#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/platform_device.h>

#define APPVM_MAX_DEVS 8

static char *devices[APPVM_MAX_DEVS];
static int ndevices;
module_param_array(devices, charp, &ndevices, 0444);
MODULE_PARM_DESC(devices, "virtio-mmio windows, SIZE@BASE:IRQ, comma-separated");

static struct platform_device *pdevs[APPVM_MAX_DEVS];

static int __init appvm_mmio_parse(const char *s, struct resource *res)
{
	unsigned long long size, base;
	unsigned int irq;
	char *end;
	int n = 0;

	size = memparse(s, &end);
	if (end == s || *end != '@')
		return -EINVAL;
	if (sscanf(end + 1, "%llx:%u%n", &base, &irq, &n) != 2 || end[1 + n] != '\0')
		return -EINVAL;
	if (!size || base + size < base)
		return -EINVAL;
	res[0] = (struct resource)DEFINE_RES_MEM(base, size);
	res[1] = (struct resource)DEFINE_RES_IRQ(irq);
	return 0;
}

static void appvm_mmio_remove_all(void)
{
	for (int i = 0; i < APPVM_MAX_DEVS; i++) {
		if (pdevs[i])
			platform_device_unregister(pdevs[i]);
		pdevs[i] = NULL;
	}
}

static int __init appvm_mmio_init(void)
{
	for (int i = 0; i < ndevices; i++) {
		struct resource res[2];
		int r = appvm_mmio_parse(devices[i], res);

		if (r) {
			pr_err("appvm_mmio: bad device '%s' (want SIZE@BASE:IRQ)\n", devices[i]);
			appvm_mmio_remove_all();
			return r;
		}
		pdevs[i] = platform_device_register_resndata(NULL, "virtio-mmio", i, res, 2, NULL, 0);
		if (IS_ERR(pdevs[i])) {
			r = PTR_ERR(pdevs[i]);
			pdevs[i] = NULL;
			pr_err("appvm_mmio: registering '%s': %d\n", devices[i], r);
			appvm_mmio_remove_all();
			return r;
		}
		pr_info("appvm_mmio: virtio-mmio device %d at %pR, IRQ %u\n", i, &res[0],
			(unsigned int)res[1].start);
	}
	return 0;
}

static void __exit appvm_mmio_exit(void)
{
	appvm_mmio_remove_all();
}

module_init(appvm_mmio_init);
module_exit(appvm_mmio_exit);
MODULE_DESCRIPTION("appvm e2e: declare virtio-mmio windows for kernels without VIRTIO_MMIO_CMDLINE_DEVICES");
MODULE_LICENSE("GPL");
