/* A device under attack, for the hostile guest's ring, blk, rng and vsock
 * scenarios: found, started and its queues set up (hostile_ring.c). */
#ifndef GUEST_HOSTILE_TARGET_H
#define GUEST_HOSTILE_TARGET_H
#include "hostile.h"

#define DEV_RNG 0
#define DEV_BLK 1
#define DEV_VSOCK 2
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
/* A vsock header at a: our CID to the host, STREAM, buf_alloc 64 KiB. */
void vs_hdr(uint64_t a, uint16_t op, uint32_t sport, uint32_t dport, uint32_t len);
#endif
