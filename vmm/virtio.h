/* Virtio constants and the narrow interface between a virtio transport and
 * a virtio device (virtio 1.2, "Virtual I/O Device (VIRTIO) Version 1.2").
 *
 * The split follows what a later issue needs: each device moves into its own
 * forked, jailed process (crosvm style). So a device never sees the
 * transport's structures. It is driven only through struct virtio_dev_ops,
 * whose arguments are plain data (offsets, bytes, feature words, queue
 * addresses) that can be marshalled over a socket, and it talks back only
 * through struct virtio_signal (an irqfd plus two words that can live in a
 * shared page). Guest memory is reached through struct gm, which maps the
 * same memfd in every process. */
#ifndef VMM_VIRTIO_H
#define VMM_VIRTIO_H
#include <stdbool.h>
#include <stdint.h>

#include "vmm/gm.h"

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

/* The driver's view of one queue, as written through the transport's
 * registers: plain data, handed to the device at DRIVER_OK. */
struct virtq_config {
	uint16_t size;       /* QueueNum */
	bool ready;          /* QueueReady */
	uint64_t desc;       /* QueueDesc */
	uint64_t avail;      /* QueueDriver */
	uint64_t used;       /* QueueDevice */
};

/* What a transport may ask of a device. The transport serialises all calls
 * for one device (never two at once). dev is the device's own state.
 *
 * Ownership: the device owns its backing fds; the transport owns the
 * irqfd/ioeventfds and the struct virtio_signal it passes to create. */
struct virtio_dev_ops {
	uint32_t device_id;     /* VIRTIO_ID_* */
	unsigned num_queues;
	uint16_t queue_max;     /* QueueNumMax for every queue, power of 2 */
	/* Offered feature bits, VIRTIO_F_VERSION_1 included. */
	uint64_t (*features)(void *dev);
	/* Device-specific configuration space (§4.2.2 Config): off and len are
	 * untrusted; out-of-range bytes read as 0 and are ignored on write. */
	void (*config_read)(void *dev, uint32_t off, uint8_t *data, uint32_t len);
	void (*config_write)(void *dev, uint32_t off, const uint8_t *data, uint32_t len);
	/* DRIVER_OK: the driver accepted features and configured queues
	 * (queue configs are not validated yet). A negative return means the
	 * configuration is unusable; the transport then sets NEEDS_RESET. */
	int (*activate)(void *dev, uint64_t features, const struct virtq_config *q, unsigned nq);
	/* The driver notified queue q (0 <= q < num_queues) after activate. */
	void (*queue_notify)(void *dev, unsigned q);
	/* Status written 0: forget queues and negotiated features. */
	void (*reset)(void *dev);
};
#endif
