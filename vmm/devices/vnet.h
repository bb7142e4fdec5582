/* The virtio-net data path (virtio 1.2 §5.1), independent of transport and
 * of the backend kind: a TAP opened by vmm/devices/tap.c, or any
 * message-preserving fd carrying [virtio_net_hdr_v1 | Ethernet frame] per
 * message (a SOCK_SEQPACKET socketpair in tests). Queue 0 is receiveq1,
 * queue 1 transmitq1 (§5.1.2); one queue pair.
 *
 * Hostile-guest rules: every TX header is copied before it is checked and
 * what is written to the backend is the checked copy; short chains, bad
 * flags/gso_type/gso_size/hdr_len/csum fields and frames above the
 * negotiated maximum are dropped and counted, never fatal. A malformed ring
 * (virtq_pop -EIO) sets DEVICE_NEEDS_RESET. Both queues are bounded per
 * call (one ring's worth of chains each, and VNET_RX_FRAMES frames on
 * receive) and ask for a requeue when work is left.
 *
 * Receive without a copy: each frame is read (one readv) straight into
 * receive chains covering the frames seen lately (rx_want, at first the
 * largest frame); those it did not reach are given back to the ring
 * (virtq_unpop). Only what the chains taken cannot hold goes to a fixed
 * bounce buffer (rx_buf) and is copied later.
 *
 * Backpressure (RX): the backend is read only when the guest has posted
 * at least one buffer and no earlier frame is still waiting to be placed.
 * At most one frame is held (in held chains and rx_buf), so a host-side
 * flood grows no memory; the host loop watches the backend for input only
 * while vnet_want_backend() says so, and the RX queue notification (the
 * guest posting buffers) resumes reading (Firecracker CVE-2020-16843 was a
 * stall here).
 *
 * Ownership: struct vnet does not own the backend fd or the signal. Not
 * thread-safe: one thread drives a device. */
#ifndef VMM_DEVICES_VNET_H
#define VMM_DEVICES_VNET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/gm.h"
#include "vmm/virtio.h"
#include "vmm/virtq.h"

#define VIRTIO_ID_NET 1

/* §5.1.3 Feature bits. */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16

/* §5.1.4 config status. */
#define VIRTIO_NET_S_LINK_UP 1

/* §5.1.6 struct virtio_net_hdr fields. */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_F_RSC_INFO 4
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_ECN 0x80

/* struct virtio_net_hdr_v1 (§5.1.6, little-endian): 12 bytes in virtio
 * 1.x whatever MRG_RXBUF says. */
struct vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
#define VNET_HDR_LEN 12

#define VNET_ETH_HLEN 14
/* Largest frame without GSO: 1500 bytes of payload + the Ethernet header
 * (no VLAN tag), as the guest's MTU 1500 produces. */
#define VNET_FRAME_MAX 1514
/* With TSO: a 64 KiB IP datagram plus Ethernet header, the largest GSO
 * frame a Linux guest sends (65535 + 14 + a VLAN tag's 4 - 3 = 65550, the
 * number crosvm and Firecracker use). */
#define VNET_GSO_FRAME_MAX 65550
/* Frames placed on RX per call at most (each may use many chains). */
#define VNET_RX_FRAMES 64

#define VNET_RXQ 0
#define VNET_TXQ 1

struct vnet_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_drop_short;     /* chain shorter than header + Ethernet header */
	uint64_t tx_drop_hdr;       /* bad flags/gso_type/gso_size/hdr_len/csum fields */
	uint64_t tx_drop_big;       /* frame above the negotiated maximum */
	uint64_t tx_drop_backend;   /* the backend refused it (writev error) */
	uint64_t rx_drop_big;       /* frame larger than the guest's buffers can take */
	uint64_t rx_bad_buf;        /* RX chain without room for the header: returned empty */
	uint64_t rx_backend_err;    /* read errors other than EAGAIN */
};

struct vnet {
	const struct gm *gm;
	struct virtio_signal *sig;
	int fd;                          /* backend, O_NONBLOCK, not owned */
	bool tap;                        /* a TAP: TUNSETOFFLOAD at activate */
	bool active;
	uint64_t features;               /* negotiated */
	uint32_t tx_max;                 /* frame bytes (without header) */
	uint8_t mac[6];
	uint16_t status;                 /* config status, VIRTIO_NET_S_* */
	struct virtq rxq, txq;
	struct vnet_stats st;
	/* The frame being placed on RX: rx_len bytes (header included), the
	 * first rx_off of them in the chains held in rx_held, the rest in
	 * rx_buf at the same offsets. */
	uint32_t rx_len, rx_off;
	unsigned rx_nheld;
	uint16_t rx_held[VIRTQ_MAX_SIZE];
	uint32_t rx_held_len[VIRTQ_MAX_SIZE];
	uint8_t *rx_hb[3];               /* header bytes 0 (flags), 10, 11 (num_buffers)
					  * in the first chain */
	unsigned rx_chains_left;         /* receive chains this call may still take */
	uint32_t rx_want;                /* bytes the chains of the next read should cover */
	struct virtq_chain chain;
	/* What one read goes to: the held chains' writable parts, then rx_buf
	 * for what they cannot take. */
	struct iovec rx_iov[VIRTQ_MAX_SIZE + 1];
	uint8_t rx_buf[VNET_HDR_LEN + VNET_GSO_FRAME_MAX];
};

/* Set up n (caller-allocated, ~75 KiB: heap, not stack). fd is the
 * backend; is_tap enables TUNSETOFFLOAD; sig receives interrupts. */
void vnet_init(struct vnet *n, const struct gm *gm, int fd, bool is_tap, const uint8_t mac[6],
	       struct virtio_signal *sig);

/* Feature bits offered (§5.1.3). */
uint64_t vnet_features(const struct vnet *n);
/* §5.1.4 config space: mac[6], status (le16). Out-of-range bytes read 0. */
void vnet_config_read(const struct vnet *n, uint32_t off, uint8_t *data, uint32_t len);
/* DRIVER_OK: q[0] receiveq, q[1] transmitq. -EINVAL when a ready queue is
 * unusable, or the backend refuses the offloads. */
int vnet_activate(struct vnet *n, uint64_t features, const struct virtq_config *q, unsigned nq,
		  uint16_t queue_max);
/* Status 0: forget queues, features and any frame held for RX. */
void vnet_reset(struct vnet *n);

/* The guest notified queue q, or the transport requeued it. */
void vnet_queue_notify(struct vnet *n, unsigned q);
/* The backend fd became readable. Same as a receiveq notification. */
void vnet_backend_ready(struct vnet *n);
/* Whether the host loop should watch the backend fd for input: the guest
 * has buffers (or a notification will come when it posts some) and no
 * frame is waiting. False means wait for the receiveq notification. */
bool vnet_want_backend(const struct vnet *n);

/* The counters as one JSON object for `vmm status`:
 * {"rx_packets":N,"rx_bytes":N,"tx_packets":N,"tx_bytes":N,"drops":{...}}
 * with every drop reason by name. Returns the length (NUL not counted) or
 * -ENOSPC when len is too small. */
int vnet_stats_json(const struct vnet_stats *s, char *buf, size_t len);

/* struct vnet_stats as counter words (struct virtio_signal stats, in the
 * field order above) and back: what a device process publishes and the
 * VMM renders with vnet_stats_json. */
#define VNET_STATS_WORDS 11
void vnet_stats_to_words(const struct vnet_stats *s, uint64_t w[VNET_STATS_WORDS]);
void vnet_stats_from_words(const uint64_t w[VNET_STATS_WORDS], struct vnet_stats *s);

/* Check a TX header copy against the negotiated features and the frame
 * length (bytes after the header). 0, or -EINVAL (bad field) / -EMSGSIZE
 * (frame above the maximum). Pure; exposed for the fuzz target. */
int vnet_tx_check(const struct vnet *n, const struct vnet_hdr *h, uint64_t frame_len);
#endif
