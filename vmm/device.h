/* What a device may use from the VM, and what the VM needs from a device.
 *
 * The core never includes a device header: devices are listed by name in the
 * explicit table vmm/devices/table.c, bring their own command-line options
 * (struct dev_option) and reach the VM only through struct dev_env. A virtio
 * device is a struct virtio_device (vmm/virtio.h) that the core's device
 * host (vmm/virtio_host.h) builds a transport for; platform devices (serial,
 * i8042, RTC, debug ports) create themselves on the buses. */
#ifndef VMM_DEVICE_H
#define VMM_DEVICE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/config.h"
#include "vmm/gm.h"
#include "vmm/resource.h"

struct vm;
struct virtio_device;

/* One error model: a device decides where it validates its input whether a
 * failure is the user's (bad option, missing or locked image: `vmm` exits
 * 2) or a runtime one (exit 1), and says so in its return value:
 * dev_input_error(-errno) for the former, plain -errno for the latter. */
#define DEV_EINPUT 4096
static inline int dev_input_error(int neg_errno) { return neg_errno - DEV_EINPUT; }
static inline int dev_error_is_input(int rc) { return rc <= -DEV_EINPUT; }
/* The -errno inside either kind. */
static inline int dev_error_errno(int rc) { return rc <= -DEV_EINPUT ? rc + DEV_EINPUT : rc; }

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
	/* Make KVM signal the eventfd fd (owned by the caller) when the guest
	 * writes (addr, len) on the MMIO bus, matching datamatch when match != 0
	 * (KVM_IOEVENTFD). 0 or -errno. */
	int (*ioeventfd)(struct vm *vm, int fd, uint64_t addr, uint32_t len, int match, uint64_t datamatch);
	/* Call cb on the main event-loop thread when fd is readable. */
	int (*watch)(struct vm *vm, int fd, dev_watch_cb cb, void *opaque);
	int (*unwatch)(struct vm *vm, int fd);
	/* Reserve a virtio-mmio window and a GSI and announce it to the guest
	 * on the kernel command line (virtio_mmio.device=SIZE@BASE:IRQ). */
	int (*virtio_slot)(struct vm *vm, uint64_t *base, uint64_t *size, unsigned *gsi);
	/* The MMIO window and GSI the architecture assigns to the platform
	 * device named name ("pl031"). -ENODEV when this machine has none
	 * (the device is then not created). */
	int (*platform_window)(struct vm *vm, const char *name, uint64_t *base, uint64_t *size, unsigned *gsi);
	/* Record what the device occupies for the firmware tables (copied).
	 * -ENOSPC when RES_MAX records exist. */
	int (*publish)(struct vm *vm, const struct dev_resource *r);
	/* Append one word to the guest kernel command line. -E2BIG if full. */
	int (*cmdline_add)(struct vm *vm, const char *word);
	/* Ask the VM to end; the first request wins. Safe from any thread. */
	void (*request_exit)(struct vm *vm, enum vm_exit_reason reason, int status);
	/* Hand the core a guest-stream connector (struct virtio_dev_info's
	 * stream_fd): the control socket opens streams to guest ports through
	 * it. The core owns fd from then on (closed even on error). -EEXIST
	 * when it already has one. */
	int (*guest_streams)(struct vm *vm, int fd);
	/* vmm's own vsock endpoints (log, crash; docs/AGENTS.md): a private
	 * 0700 directory holding a listening unix socket per host port, named
	 * by the port number; NULL when vmm serves none. The vsock device
	 * forwards a guest connection to host port P to DIR/P when it exists. */
	const char *svc_dir;
	/* Monotonic nanoseconds at exec of vmm (boot-time port). */
	uint64_t start_ns;
};

/* One command-line option a device owns (Solo5 hvt's modules carry
 * {setup, handle_cmdarg, usage} the same way). */
struct dev_option {
	const char *name;      /* "--disk" */
	const char *alias;     /* "-d", or NULL */
	bool takes_value;      /* --disk PATH vs --no-rng */
	/* Store the option in the device's parsed config. opt is the spelling
	 * the user used, val the value (NULL for a flag). 0, or -EINVAL with
	 * one line in err naming opt and what is wrong. */
	int (*parse)(void *cfg, const char *opt, const char *val, char *err, size_t errlen);
	/* Its lines of `vmm --help`, "\n"-terminated; NULL when another
	 * option's lines cover it (--no-rng under --rng). */
	const char *usage;
};

/* For option parsers (vmm/cli.c): write one line into err (control bytes
 * replaced) and return -EINVAL; parse a decimal in [min, max] (0 or
 * -EINVAL). */
int dev_option_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int dev_option_u64(const char *s, unsigned long long min, unsigned long long max, unsigned long long *out);

struct device_ops {
	const char *name;
	/* Options, terminated by an entry with name NULL; NULL for none. */
	const struct dev_option *options;
	/* The device's parsed options: cfg_size bytes, set to defaults by
	 * cfg_init (zeroed first) before any option is parsed. */
	size_t cfg_size;
	void (*cfg_init)(void *cfg);
	/* Optional: members for the control socket's status object, as
	 * `"key":value` pairs separated by commas (no braces), from the parsed
	 * options. Returns the length or -ENOSPC. */
	int (*status_json)(const void *cfg, char *buf, size_t len);
	/* A virtio device: the core's device host creates one transport per
	 * instance; create/destroy/dump below are then unused. */
	const struct virtio_device *virtio;
	/* A platform device: create it if its options ask for it (register bus
	 * ranges, fds, command-line words). Returns 0 (created, *state set), 1
	 * (not configured) or an error as above, with one line logged naming
	 * the input at fault. Runs before any vCPU starts. */
	int (*create)(const struct dev_env *env, const void *cfg, void **state);
	/* Release everything create acquired. Called after vCPUs have stopped. */
	void (*destroy)(void *state);
	/* Optional: log the device's internal state, a few log_state lines
	 * (SIGUSR2 on vmm; for diagnosing a stuck guest driver or host peer).
	 * Called on the event-loop thread while vCPUs run. */
	void (*dump)(void *state);
};

/* Open a host directory to hand to a device (a virtio-9p share, a
 * run-time grant; vmm/devdir.c): O_PATH, and where vmm may (CAP_SYS_ADMIN,
 * Linux >= 5.12), a private detached copy of its mount (open_tree
 * OPEN_TREE_CLONE, recursive) made nodev, nosuid, nosymfollow, and
 * read-only when ro. The kernel then refuses to open a device node beneath
 * it (one a host process swapped in: docs/P9.md), to honour set-id bits or
 * follow a symlink in a path walk, and enforces a read-only share itself.
 * Without the privilege, the plain O_PATH fd. Returns the fd (the caller's)
 * or -errno from opening path; *hardened says which kind it is. */
int devdir_open(const char *path, bool ro, bool *hardened);

/* vmm/devices/table.c: NULL-terminated, in creation order. */
extern const struct device_ops *const device_table[];
#endif
