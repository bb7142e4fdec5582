/* A device under attack, for the hostile guest's ring, blk, rng, vsock and net
 * scenarios: found, started and its queues set up (hostile_ring.c). */
#ifndef GUEST_HOSTILE_TARGET_H
#define GUEST_HOSTILE_TARGET_H
#include "hostile.h"

#define DEV_RNG 0
#define DEV_BLK 1
#define DEV_VSOCK 2
#define DEV_NET 3   /* virtio-net's transmitq (flag n) */
#define TGT_QSIZE 8
#define TGT_BUF (DATA + 0x200000ull)   /* request buffers */
#define TGT_IND (DATA + 0x300000ull)   /* indirect tables */
#define TGT_RX (DATA + 0x400000ull)    /* vsock rx buffers, 4 KiB each */

struct target {
	unsigned dev;
	struct hdev d;
	struct hq q[3];
	struct hq *aq;  /* the attacked queue */
};

struct tbuf {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
};

/* Find and start dev (DEV_*) with VERSION_1 | features, queues of
 * TGT_QSIZE; vsock also gets its rx buffers. False: BAD recorded. */
bool tgt_up(struct target *t, unsigned dev, uint64_t features);
unsigned tgt_bufs(const struct target *t, struct tbuf *b);
uint16_t tgt_chain_at(const struct target *t, const struct tbuf *b, unsigned n, unsigned first);
uint16_t tgt_chain(const struct target *t);
/* Post head, notify, wait a little, then the verdict (hv_verdict). */
int tgt_fire(struct target *t, uint16_t head);
/* virtio-net (hostile_net.c, flag n): the runner gives vmm a TAP with
 * host address 10.77.0.1/30 in a network namespace of its own; the guest
 * is 10.77.0.2. */
#define VNET_HDR 12               /* struct virtio_net_hdr_v1 (§5.1.6) */
#define NET_ETH_TEST 0x88b5       /* IEEE local experimental ethertype */
#define NET_HOST_IP 0x0a4d0001u   /* 10.77.0.1 */
#define NET_GUEST_IP 0x0a4d0002u
#define NET_RX (DATA + 0xc00000ull)   /* receive buffers, 2 KiB each */
#define NET_TX (DATA + 0xd00000ull)   /* transmit frames (up to 1 MiB) */
#define NET_OLD (DATA + 0xe80000ull)  /* buffers that must stay untouched */
/* A zeroed virtio-net header at a, then a len-byte Ethernet frame of
 * ethertype et (to 02:00:00:00:00:01, from 02:00:00:00:00:02). */
void net_frame(uint64_t a, uint32_t len, uint16_t et);

/* A vsock header at a: our CID to the host, STREAM, buf_alloc 64 KiB. */
void vs_hdr(uint64_t a, uint16_t op, uint32_t sport, uint32_t dport, uint32_t len);
#endif
