/* Two one-byte I/O ports for the guest to talk to the VMM without a driver:
 *  - exit port 0x510: an 8-bit write of V ends the VM and `vmm` exits with
 *    status V. Announced on the command line as appvm.exit_port=0x510 so a
 *    guest only touches it under this VMM (guest-init uses it to pass on its
 *    application's exit status).
 *  - boot-time port 0x3f0: writing 123 logs the time since vmm's exec
 *    (Firecracker's convention, so its boot-time tooling carries over). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "vmm/device.h"
#include "vmm/log.h"

#define EXIT_PORT 0x510
#define BOOT_PORT 0x3f0
#define BOOT_MAGIC 123

struct debugport {
	const struct dev_env *env;
};

static void debugport_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		data[i] = 0;
}

static void debugport_exit_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct debugport *d = opaque;
	d->env->request_exit(d->env->vm, VM_EXIT_STATUS, data[0]);
}

static void debugport_boot_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct debugport *d = opaque;
	struct timespec ts;
	uint64_t now;

	if (data[0] != BOOT_MAGIC)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	log_info("boot-time: %.3f ms since exec", (double)(now - d->env->start_ns) / 1e6);
}

static const struct bus_ops debugport_exit_ops = { .read = debugport_read, .write = debugport_exit_write };
static const struct bus_ops debugport_boot_ops = { .read = debugport_read, .write = debugport_boot_write };

static void debugport_destroy(void *state)
{
	free(state);
}

static int debugport_create(const struct dev_env *env, const void *opts, void **state)
{
	struct debugport *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return -ENOMEM;
	d->env = env;
	rc = bus_add(env->pio, EXIT_PORT, 1, &debugport_exit_ops, d);
	if (rc == 0)
		rc = bus_add(env->pio, BOOT_PORT, 1, &debugport_boot_ops, d);
	if (rc == 0)
		rc = env->cmdline_add(env->vm, "appvm.exit_port=0x510");
	if (rc) {
		free(d);
		return rc;
	}
	*state = d;
	return 0;
}

const struct device_ops debugport_device = {
	.name = "debugport",
	.create = debugport_create,
	.destroy = debugport_destroy,
};
