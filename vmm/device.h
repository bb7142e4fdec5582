/* What a device may use from the VM, and what the VM needs from a device.
 *
 * The core never includes a device header: devices are listed by name in the
 * explicit table vmm/devices/table.c and reach the VM only through struct
 * dev_env. A later issue moves devices into their own jailed processes, so a
 * device must touch nothing but guest memory, the fds it is given (irqfd,
 * ioeventfd, backing files) and these calls. */
#ifndef VMM_DEVICE_H
#define VMM_DEVICE_H
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/config.h"
#include "vmm/gm.h"

struct vm;

enum vm_exit_reason {
	VM_EXIT_NONE = 0,
	VM_EXIT_RESET,     /* guest reset (i8042 0xFE, triple fault): exit code 0 */
	VM_EXIT_POWEROFF,  /* guest power-off: exit code 0 */
	VM_EXIT_STATUS,    /* guest wrote a status to the exit port: exit code = status */
	VM_EXIT_SIGNAL,    /* SIGTERM/SIGINT on the host: exit code 0 */
	VM_EXIT_ERROR,     /* VMM failure: exit code 1 */
};

typedef void (*dev_watch_cb)(void *opaque, int fd, uint32_t events);

struct dev_env {
	struct vm *vm;
	const struct vmm_config *cfg;
	struct gm *gm;
	struct bus *pio;    /* port I/O space */
	struct bus *mmio;   /* MMIO space */
	/* Drive a level-triggered GSI on the in-kernel irqchip (KVM_IRQ_LINE). */
	int (*irq_line)(struct vm *vm, unsigned gsi, int level);
	/* New eventfd bound to gsi with KVM_IRQFD; writing to it raises the
	 * interrupt (edge). Returns the fd (owned by the caller) or -errno. */
	int (*irqfd_new)(struct vm *vm, unsigned gsi);
	/* New eventfd KVM signals when the guest writes (addr, len) on the MMIO
	 * bus, matching datamatch when match != 0 (KVM_IOEVENTFD). Returns the fd
	 * (owned by the caller) or -errno. */
	int (*ioeventfd_new)(struct vm *vm, uint64_t addr, uint32_t len, int match, uint64_t datamatch);
	/* Call cb on the main event-loop thread when fd is readable. */
	int (*watch)(struct vm *vm, int fd, dev_watch_cb cb, void *opaque);
	int (*unwatch)(struct vm *vm, int fd);
	/* Reserve a virtio-mmio window and a GSI and announce it to the guest
	 * on the kernel command line (virtio_mmio.device=SIZE@BASE:IRQ). */
	int (*virtio_slot)(struct vm *vm, uint64_t *base, uint64_t *size, unsigned *gsi);
	/* Append one word to the guest kernel command line. -E2BIG if full. */
	int (*cmdline_add)(struct vm *vm, const char *word);
	/* Ask the VM to end; the first request wins. Safe from any thread. */
	void (*request_exit)(struct vm *vm, enum vm_exit_reason reason, int status);
	/* The vsock device offers in-process connections to guest ports: the
	 * core's control socket uses them to reach the guest's RPC service.
	 * connect(dev, port) returns a connected stream fd (a socketpair end
	 * the caller owns) or -errno; -ECONNREFUSED when the guest refuses. */
	int (*vsock_register)(struct vm *vm, int (*connect)(void *dev, uint32_t port), void *dev);
	/* vmm's own vsock endpoints (log, crash; docs/AGENTS.md): a private
	 * 0700 directory holding a listening unix socket per host port, named
	 * by the port number; NULL when vmm serves none. The vsock device
	 * forwards a guest connection to host port P to DIR/P when it exists. */
	const char *svc_dir;
	/* Monotonic nanoseconds at exec of vmm (boot-time port). */
	uint64_t start_ns;
};

struct device_ops {
	const char *name;
	/* Create the device if the config asks for it: register its bus ranges,
	 * fds and command-line words. Returns 0 (created, *state set), 1 (not
	 * configured, nothing done) or -errno with one error line logged that
	 * names the input at fault. Runs before any vCPU starts. */
	int (*create)(const struct dev_env *env, void **state);
	/* Release everything create acquired. Called after vCPUs have stopped. */
	void (*destroy)(void *state);
	/* Optional: log the device's internal state, a few log_state lines
	 * (SIGUSR2 on vmm; for diagnosing a stuck guest driver or host peer).
	 * Called on the event-loop thread while vCPUs run. */
	void (*dump)(void *state);
};

/* vmm/devices/table.c: NULL-terminated, in creation order. */
extern const struct device_ops *const device_table[];
#endif
