/* Virtio constants and the narrow interface between a virtio transport and
 * a virtio device (virtio 1.2, "Virtual I/O Device (VIRTIO) Version 1.2").
 *
 * The split follows what the sandbox needs: each device may run in its own
 * forked, jailed process (crosvm style). So a device never sees the
 * transport's structures. The device host (vmm/virtio_host.h) drives it
 * only through struct virtio_device, whose arguments are plain data
 * (feature words, queue addresses) that can be marshalled over a socket,
 * and it talks back only through struct virtio_signal (an irqfd plus three
 * words that can live in a shared page). Guest memory is reached through
 * struct gm, which maps the same memfd in every process. */
#ifndef VMM_VIRTIO_H
#define VMM_VIRTIO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/gm.h"

struct dev_env;

/* §2.1 Device Status Field. */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* §6 Reserved feature bits (bit numbers). */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_BIT(n) (1ULL << (n))

/* §5 Device IDs. */
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_RNG 4

/* §4.2.2 MMIO Device Register Layout (version 2, "modern"). */
#define VIRTIO_MMIO_MAGIC_VALUE 0x000          /* "virt" */
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_SHM_SEL 0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW 0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW 0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH 0x0bc
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100
#define VIRTIO_MMIO_MAGIC 0x74726976u
#define VIRTIO_MMIO_WINDOW 0x1000
/* Our vendor ID: "AVM\0" read as little-endian ASCII; any value is allowed. */
#define VIRTIO_MMIO_VENDOR 0x004d5641u

/* InterruptStatus bits (§4.2.2). */
#define VIRTIO_ISR_USED 0x1
#define VIRTIO_ISR_CONFIG 0x2

/* Upper bound on any queue's size: keeps chain buffers fixed-size. */
#define VIRTQ_MAX_SIZE 256
#define VIRTIO_MAX_QUEUES 8

/* Bytes of device configuration space a device may publish (§4.2.2
 * Config: the MMIO window leaves 0xf00; every device we have uses < 64). */
#define VIRTIO_CONFIG_MAX 256
/* Counter words a device may publish in struct virtio_signal. */
#define VIRTIO_STATS_MAX 16

/* How a device reports back to its transport. Everything here may be used
 * from any thread: isr and flags are updated atomically, the irqfd is an
 * eventfd (KVM_IRQFD) or -1 when interrupts are not wired (tests, bench).
 * In the jailed layout this struct sits in a page shared with the VMM. */
struct virtio_signal {
	int irqfd;
	uint32_t isr;          /* InterruptStatus: VIRTIO_ISR_* */
	uint32_t needs_reset;  /* nonzero once the device found the driver confused */
	/* Bit q: the device stopped serving queue q with chains still in the
	 * ring (see virtio_signal_requeue). Zero-initialised = none. */
	uint32_t requeue;
	/* ConfigGeneration (§2.5.1, §4.2.2): bumped by virtio_signal_config. */
	uint32_t config_gen;
	/* The configuration space the driver reads (config_len bytes of
	 * struct virtio_dev_info, copied here by the device host after open).
	 * A device whose config changes at run time (virtio-net's link status,
	 * §5.1.4) stores the new bytes here, then calls virtio_signal_config.
	 * It lives here, not in virtio_dev_info, because this struct is what a
	 * jailed device shares with the VMM. */
	uint8_t config[VIRTIO_CONFIG_MAX];
	/* Counters the device publishes for `vmm status` (struct
	 * virtio_device stats_json says what each word means): written by the
	 * device with virtio_signal_stats, read by the VMM word by word with
	 * atomic loads. A jailed device may write anything here; the VMM
	 * reads exactly VIRTIO_STATS_MAX numbers and renders them itself, so
	 * a lying device can only report wrong counts of its own. */
	uint64_t stats[VIRTIO_STATS_MAX];
	/* Times the device's worker came back from its wait with work (the
	 * device host's loop, virtio_host_run; either layout): `vmm status`
	 * shows it, so a worker held inside one notification (a queue served
	 * without its per-notification budget while the guest keeps refilling
	 * it) shows as a count that stops while the guest attacks. */
	uint64_t rounds;
};

/* Set InterruptStatus bit 0 and raise the interrupt (§4.2.3.4). */
void virtio_signal_used(struct virtio_signal *s);
/* Called from queue_notify by a device that served its per-notification
 * budget of chains on queue q (q < 32) while the driver kept adding more:
 * the transport calls queue_notify(q) again later, after other pending
 * work, so one busy queue cannot monopolise the thread that serves every
 * device (and the VMM's control socket). */
void virtio_signal_requeue(struct virtio_signal *s, unsigned q);
/* The device found a malformed ring or request: set DEVICE_NEEDS_RESET and
 * send a configuration change notification (§2.1.2). The device must stop
 * touching its queues until it is reset. */
void virtio_signal_needs_reset(struct virtio_signal *s);
/* The device changed bytes of s->config: bump ConfigGeneration, set
 * InterruptStatus bit 1 and raise the interrupt (§2.1.2, §4.2.3.4), so
 * the driver rereads the configuration space. */
void virtio_signal_config(struct virtio_signal *s);
/* Publish n (<= VIRTIO_STATS_MAX) counter words; each is stored
 * atomically (relaxed: a reader wants recent numbers, not a snapshot of
 * all of them at one instant). */
void virtio_signal_stats(struct virtio_signal *s, const uint64_t *w, unsigned n);

/* The driver's view of one queue, as written through the transport's
 * registers: plain data, handed to the device at DRIVER_OK. */
struct virtq_config {
	uint16_t size;       /* QueueNum */
	bool ready;          /* QueueReady */
	uint64_t desc;       /* QueueDesc */
	uint64_t avail;      /* QueueDriver */
	uint64_t used;       /* QueueDevice */
};

#define VIRTIO_CMDLINE_MAX 64
/* Directories a jailed device may reach by path, and their length. */
#define VIRTIO_JAIL_BINDS 2
#define VIRTIO_JAIL_PATH_MAX 108

/* What a device's open() reports about one instance: plain data the device
 * host builds the transport from, so config-space and feature reads never
 * reach the device (in a jailed layout they never cross into its process).
 * The configuration space is read-only to the driver: writes are ignored
 * (none of our devices offers a writable field, e.g. VIRTIO_BLK_F_CONFIG_WCE). */
struct virtio_dev_info {
	char name[24];                  /* log prefix: "virtio-blk vda" */
	uint64_t features;              /* offered, VIRTIO_F_VERSION_1 included */
	uint32_t config_len;
	uint8_t config[VIRTIO_CONFIG_MAX];
	/* Words for the guest kernel command line, added right after the
	 * transport's own announcement ("root=/dev/vda ro"), or "". */
	char cmdline[VIRTIO_CMDLINE_MAX];
	/* -1, or an fd the device wants its poll op called for when readable
	 * (vsock's host sockets). Owned by the device. */
	int poll_fd;
	/* -1, or the VMM's end of a SOCK_SEQPACKET connector through which the
	 * VMM opens streams to guest ports (see VIRTIO_STREAM_CONNECT). The
	 * host hands it to the core, which owns it from then on. */
	int stream_fd;
	/* What the device's jailed process needs beyond the default jail
	 * (docs/SANDBOX.md; ignored with --disable-sandbox). The fds open()
	 * acquired are kept in the process without being listed here.
	 * nofile: RLIMIT_NOFILE for fds it creates while serving (accepted
	 * sockets, fds received with SCM_RIGHTS); 0 = none. bind: absolute
	 * directories it reaches by path, bound read-only at the same path
	 * ("" = unused); a device with binds runs as vmm's own uid/gid, so it
	 * reaches exactly what vmm could there (vsock's PATH_<port> sockets). */
	unsigned nofile;
	char bind[VIRTIO_JAIL_BINDS][VIRTIO_JAIL_PATH_MAX];
	/* Run as vmm's own uid/gid even without binds: for a device that
	 * reaches host files through directory fds open() acquired
	 * (virtio-9p's shares), so it creates and opens them as vmm would. */
	bool as_vmm_user;
};

/* The guest-stream protocol on stream_fd: one datagram "CONNECT <port>\n"
 * carrying one SCM_RIGHTS fd (a stream socket). The device wires that fd
 * to the guest's port; a refusal, a driver that is not up or a full
 * connection table close it (the VMM side reads EOF). */
#define VIRTIO_STREAM_CONNECT "CONNECT"

/* Largest message of the control op (struct virtio_device control). */
#define VIRTIO_CONTROL_MAX 512

/* A virtio device type: its descriptor for the transport, the privileged
 * open() the VMM process runs, and the serve ops.
 *
 * open() runs in the VMM before any vCPU: it validates the instance's
 * options, acquires every fd the device needs (files, sockets) and fills
 * *info. It may read env (guest memory, the VMM's service directory) but
 * keeps nothing of it but env->gm: the serve ops must not call into the VM. It may log; on failure it returns -errno, or dev_input_error(-errno)
 * (vmm/device.h) when the user's input is at fault, with one line logged
 * naming the input.
 *
 * The serve ops need only guest memory, the fds open() acquired, the
 * struct virtio_signal the host gave open() and plain data: they can run in
 * another thread or process. The host serialises them per instance (never
 * two at once) and never holds the transport's register lock around them.
 *
 * Ownership: the device owns its backing fds (close() releases them); the
 * host owns the signal, the irqfd and the notify eventfds. */
struct virtio_device {
	const char *name;       /* "virtio-blk" */
	uint32_t device_id;     /* VIRTIO_ID_* */
	unsigned num_queues;
	uint16_t queue_max;     /* QueueNumMax for every queue, power of 2 */
	/* How many instances cfg (the device's parsed options) asks for. */
	unsigned (*instances)(const void *cfg);
	int (*open)(void **dev, const void *cfg, unsigned index, const struct dev_env *env,
		    struct virtio_signal *sig, struct virtio_dev_info *info);
	void (*close)(void *dev);
	/* DRIVER_OK: the driver accepted features and configured queues
	 * (queue configs are not validated yet). A negative return means the
	 * configuration is unusable; the host then sets NEEDS_RESET. */
	int (*activate)(void *dev, uint64_t features, const struct virtq_config *q, unsigned nq);
	/* The driver notified queue q (0 <= q < num_queues) after activate,
	 * or the device asked to be called again (virtio_signal_requeue). */
	void (*queue_notify)(void *dev, unsigned q);
	/* info->poll_fd is readable. Optional. */
	void (*poll)(void *dev);
	/* Status written 0: forget queues and negotiated features. */
	void (*reset)(void *dev);
	/* Log the device's state (SIGUSR2). Optional. */
	void (*dump)(void *dev);
	/* Optional: a run-time request from the VMM (the control socket's
	 * commands, e.g. `vmm share`), as plain data so that it can cross into
	 * a jailed device process: len bytes of msg (at most
	 * VIRTIO_CONTROL_MAX; the format is the device's, documented in its
	 * header) and fd, -1 or one fd the VMM opened for the device. The
	 * device dup()s what it keeps; the caller closes fd after the call.
	 * Returns 0 or -errno; -ENODEV means "not for this instance" and the
	 * host asks the next instance of the type. Serialised with the serve
	 * ops. With a jailed device the host forwards msg and fd over the
	 * device's socketpair (SCM_RIGHTS) and returns the errno it reads back;
	 * with threads (--disable-sandbox) it calls the op directly. */
	int (*control)(void *dev, const void *msg, size_t len, int fd);
	/* Optional, with stats_key: counters for `vmm status`. The device's
	 * serve ops publish them with virtio_signal_stats; the VMM renders
	 * each instance as {"name":"<info name>","counters":<stats_json>} in
	 * a member "<stats_key>":[...] (virtio_host_status_json). stats_json
	 * runs in the VMM over a copy of the VIRTIO_STATS_MAX words (each
	 * clamped to 2^53 - 1, so every JSON reader reads it exactly) and
	 * must render any value as valid JSON: it never sees the device. */
	const char *stats_key;
	int (*stats_json)(const uint64_t *w, char *buf, size_t len);
};
#endif
