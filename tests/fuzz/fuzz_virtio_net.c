/* libFuzzer target: the virtio-net data path (vmm/devices/vnet.c, virtio
 * 1.2 §5.1) driven as a transport and a host loop drive it: activate,
 * receiveq/transmitq notifications (again while it asks for a requeue),
 * backend-readable events, with host frames arriving between rounds, on
 * guest memory and header fields the fuzzer controls. The backend is a
 * SOCK_SEQPACKET socketpair (one message = header + frame, like a TAP).
 *
 * Input: byte 0 = log2 queue size (mod 8: 1..128), byte 1 = features
 * (bit 0 INDIRECT_DESC, 1 EVENT_IDX, 2 MRG_RXBUF, 3 CSUM + HOST_TSO4/6,
 * 4 HOST_ECN, 5 GUEST_CSUM), bytes 2..9 = rounds: bits 0-2 receive chains
 * and bits 3-5 transmit chains the driver adds, bit 6 a host frame arrives
 * (its length from the round byte, up to 65550; bit 7 makes it large),
 * then the first 64 KiB of guest RAM: receiveq desc 0x0, avail 0x1000,
 * used 0x2000; transmitq desc 0x3000, avail 0x4000, used 0x5000; buffers
 * from 0x8000 (writable buffers of the main tables pointing lower are
 * moved up so that the checks below read rings the device did not write).
 *
 * Checks, besides ASan/UBSan: a requeue only after progress; at most a
 * ring's worth of transmit chains per call; nothing used after
 * NEEDS_RESET; every transmit chain used is counted exactly once (sent or
 * dropped by reason); the held frame's state stays within the ring and
 * the frame. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/devices/vnet.h"
#include "tests/fuzz/fuzz_ring.h"
#include "vmm/log.h"

#define MEM (64u << 10)
#define RXB 0x0u
#define TXB 0x3000u
#define DATA 0x8000u
#define ROUNDS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gm gm;
static struct vnet *net;
static struct virtio_signal sig;
static int sv[2] = { -1, -1 };
static uint8_t frame[VNET_HDR_LEN + VNET_GSO_FRAME_MAX];

static void fz_sanitize(uint8_t *mem, uint32_t table, unsigned qsize)
{
	for (unsigned i = 0; i < qsize; i++) {
		struct virtq_desc d;
		memcpy(&d, mem + table + 16u * i, sizeof(d));
		if ((d.flags & VIRTQ_DESC_F_WRITE) && d.addr < DATA) {
			d.addr |= DATA;
			memcpy(mem + table + 16u * i, &d, sizeof(d));
		}
	}
}

static uint64_t fz_tx_counted(void)
{
	const struct vnet_stats *s = &net->st;

	return s->tx_packets + s->tx_drop_short + s->tx_drop_hdr + s->tx_drop_big + s->tx_drop_backend;
}

/* One event as the host serves it: again while the device asks. */
static void fz_event(const uint8_t *mem, unsigned q, unsigned qsize, bool backend)
{
	uint32_t used_at = (q == VNET_TXQ ? TXB : RXB) + 0x2002;  /* used->idx */

	for (unsigned calls = 0;; calls++) {
		uint16_t before = fz_le16(mem, used_at), used;
		uint64_t counted = fz_tx_counted();
		bool broken = sig.needs_reset;

		sig.requeue = 0;
		if (backend && calls == 0)
			vnet_backend_ready(net);
		else
			vnet_queue_notify(net, q);
		used = (uint16_t)(fz_le16(mem, used_at) - before);
		if (broken && used)
			abort();
		if (q == VNET_TXQ && (used > qsize || fz_tx_counted() - counted != used))
			abort();
		if (net->rx_nheld > qsize || net->rx_off > net->rx_len)
			abort();
		if (!(sig.requeue & (1u << q)))
			break;
		if ((!used && q == VNET_TXQ) || calls > 1000)
			abort();
	}
}

static void fz_drain(int fd)
{
	while (recv(fd, frame, sizeof(frame), MSG_DONTWAIT) >= 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 1 };
	struct virtq_config c[2];
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	unsigned qsize;
	uint8_t *mem;

	if (!net) {
		log_level = -1;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
			abort();
		net = calloc(1, sizeof(*net));
		if (!net)
			abort();
	}
	if (size < 2 + ROUNDS)
		return 0;
	mem = fz_guest_mem(data, size, 2 + ROUNDS, MEM);
	gm_init_test(&gm, mem, MEM);
	memset(&sig, 0, sizeof(sig));
	sig.irqfd = -1;
	vnet_init(net, &gm, sv[0], false, mac, &sig);
	qsize = 1u << (data[0] % 8);
	if (data[1] & 1)
		features |= VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	if (data[1] & 2)
		features |= VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	if (data[1] & 4)
		features |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (data[1] & 8)
		features |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
			    VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6);
	if (data[1] & 16)
		features |= VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN);
	if (data[1] & 32)
		features |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
	fz_sanitize(mem, RXB, qsize);
	fz_sanitize(mem, TXB, qsize);
	fz_put16(mem, RXB + 0x2002, 0);
	fz_put16(mem, TXB + 0x2002, 0);
	c[VNET_RXQ] = (struct virtq_config){ .size = (uint16_t)qsize, .ready = true, .desc = RXB,
					     .avail = RXB + 0x1000, .used = RXB + 0x2000 };
	c[VNET_TXQ] = (struct virtq_config){ .size = (uint16_t)qsize, .ready = true, .desc = TXB,
					     .avail = TXB + 0x1000, .used = TXB + 0x2000 };
	if (vnet_activate(net, features, c, 2, 128) == 0) {
		fz_event(mem, VNET_TXQ, qsize, false);
		fz_event(mem, VNET_RXQ, qsize, false);
		for (unsigned r = 0; r < ROUNDS && data[2 + r]; r++) {
			uint8_t b = data[2 + r];

			if (b & 0x40) {
				uint32_t len = (b & 0x80) ? VNET_GSO_FRAME_MAX - (b & 0x3f) * 701u
							  : VNET_ETH_HLEN + (b & 0x3f) * 23u;

				memset(frame, b, VNET_HDR_LEN + len);
				memset(frame, 0, VNET_HDR_LEN);
				/* A full socket buffer just loses the frame. */
				(void)!send(sv[1], frame, VNET_HDR_LEN + len, MSG_DONTWAIT);
				fz_event(mem, VNET_RXQ, qsize, true);
			}
			fz_put16(mem, RXB + 0x1002, (uint16_t)(fz_le16(mem, RXB + 0x1002) + (b & 7)));
			fz_event(mem, VNET_RXQ, qsize, false);
			fz_put16(mem, TXB + 0x1002, (uint16_t)(fz_le16(mem, TXB + 0x1002) + ((b >> 3) & 7)));
			fz_event(mem, VNET_TXQ, qsize, false);
		}
	} else if (qsize <= 128) {
		/* Every ring lies inside RAM and within the offered size. */
		abort();
	}
	vnet_reset(net);
	fz_drain(sv[0]);
	fz_drain(sv[1]);
	free(mem);
	return 0;
}
