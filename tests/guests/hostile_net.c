/* Category N: virtio-net (virtio 1.2 §5.1) from a hostile driver. The
 * host side (tests/native/hostile.sh, flag "n"): vmm's TAP in a network
 * namespace the runner made for it, address 10.77.0.1/30; with flag "nf"
 * also a bounded flood of frames into the TAP (tests/native/hostile_net.c).
 *
 * vmm must drop and count a bad transmit header (§5.1.6.2: flags, gso_type,
 * gso_size, hdr_len, csum_start/csum_offset as negotiated), give back a
 * receive buffer too small for the header (§5.1.6.3.1), write num_buffers
 * wherever the header's bytes lie (§5.1.6.4), never use a buffer again after
 * a reset, and stay bounded while the host floods. A malformed ring is
 * DEVICE_NEEDS_RESET, as for every device. The guest prints
 *   HOSTILE COUNT <counter> <N>   (or <N>+ for "at least")
 * for what `vmm status` must show in the device's counters at the end
 * (docs/NET.md "Counters"); the health check (one ARP request for the host's
 * address, answered by the namespace's kernel) adds tx_packets 1. */
#include "hostile_target.h"

#define NQ 32                      /* our queue size for n_ cases */
#define NBUF 2048u                 /* receive buffer size */
#define ARP_LEN 42                 /* an ARP frame, unpadded */

/* virtio-net features (§5.1.3). */
#define NF_CSUM (1ull << 0)
#define NF_GUEST_CSUM (1ull << 1)
#define NF_GUEST_UFO (1ull << 10)
#define NF_HOST_TSO4 (1ull << 11)
#define NF_HOST_UFO (1ull << 14)
#define NF_MRG (1ull << 15)
#define NF_CTRL_VQ (1ull << 17)
#define NF_MQ (1ull << 22)

struct nnet {
	struct hdev d;
	struct hq q[2];  /* receiveq1, transmitq1 */
	uint8_t mac[6];
};

static void count(const char *name, const char *n)
{
	serial_puts("HOSTILE COUNT ");
	serial_puts(name);
	serial_puts(" ");
	serial_puts(n);
	serial_puts("\n");
}

static void put_be16(uint64_t a, uint16_t v)
{
	put8(a, (uint8_t)(v >> 8));
	put8(a + 1, (uint8_t)v);
}

static void put_be32(uint64_t a, uint32_t v)
{
	put_be16(a, (uint16_t)(v >> 16));
	put_be16(a + 2, (uint16_t)v);
}

static uint16_t get_be16(uint64_t a)
{
	return (uint16_t)(get8(a) << 8 | get8(a + 1));
}

static uint32_t get_be32(uint64_t a)
{
	return (uint32_t)get_be16(a) << 16 | get_be16(a + 2);
}

void net_frame(uint64_t a, uint32_t len, uint16_t et)
{
	static const uint8_t dst[6] = { 2, 0, 0, 0, 0, 1 }, src[6] = { 2, 0, 0, 0, 0, 2 };

	fill(a, 0, VNET_HDR + len);
	for (unsigned i = 0; i < 6; i++) {
		put8(a + VNET_HDR + i, dst[i]);
		put8(a + VNET_HDR + 6 + i, src[i]);
	}
	put_be16(a + VNET_HDR + 12, et);
}

static void net_mac(const struct hdev *d, uint8_t mac[6])
{
	for (unsigned i = 0; i < 6; i++)
		mac[i] = get8(d->base + R_CONFIG + i);
}

/* An ARP request for the host's address from ours, at a (header first). */
static void arp_req(uint64_t a, const uint8_t mac[6])
{
	uint64_t f = a + VNET_HDR;

	fill(a, 0, VNET_HDR + ARP_LEN);
	for (unsigned i = 0; i < 6; i++) {
		put8(f + i, 0xff);
		put8(f + 6 + i, mac[i]);
		put8(f + 22 + i, mac[i]);  /* sender hardware address */
	}
	put_be16(f + 12, 0x0806);
	put_be16(f + 14, 1);       /* Ethernet */
	put_be16(f + 16, 0x0800);  /* IPv4 */
	put8(f + 18, 6);
	put8(f + 19, 4);
	put_be16(f + 20, 1);       /* request */
	put_be32(f + 28, NET_GUEST_IP);
	put_be32(f + 38, NET_HOST_IP);
}

static bool is_arp_reply(uint64_t f)
{
	return get_be16(f + 12) == 0x0806 && get_be16(f + 20) == 2 && get_be32(f + 28) == NET_HOST_IP;
}

/* Send one chain (descriptors already written) on q and take its used
 * entry. False when none came. */
static bool tx_wait(struct hq *q, uint16_t head, uint32_t *len)
{
	uint32_t id;

	hq_post(q, head);
	hq_kick(q);
	if (!hq_wait(q, GUEST_POLL_MAX) || !hq_used(q, &id, len))
		return false;
	return id == head;
}

/* The ARP request as descriptor 0 of the transmitq at NET_TX + 0x80000. */
static bool send_arp(struct hq *tx, const uint8_t mac[6])
{
	uint64_t a = NET_TX + 0x80000;
	uint32_t len;

	arp_req(a, mac);
	hq_desc(tx, 0, a, VNET_HDR + ARP_LEN, 0, 0);
	return tx_wait(tx, 0, &len);
}

bool net_health(struct hdev *d)
{
	struct hq q[2];
	uint8_t mac[6];
	uint32_t id, len;

	if (!hv_up(d, ID_NET, F_VERSION_1, q, 2, 16))
		return false;
	net_mac(d, mac);
	for (unsigned i = 0; i < 8; i++) {
		hq_desc(&q[0], i, NET_RX + NBUF * i, NBUF, D_WRITE, 0);
		hq_post(&q[0], (uint16_t)i);
	}
	hq_kick(&q[0]);
	if (!send_arp(&q[1], mac))
		return false;
	/* The namespace's kernel may send its own frames too (IPv6). */
	for (unsigned n = 0; n < 32; n++) {
		if (!hq_wait(&q[0], GUEST_POLL_MAX) || !hq_used(&q[0], &id, &len) || id >= 8 ||
		    len > NBUF || len < VNET_HDR + 14)
			return false;
		if (is_arp_reply(NET_RX + NBUF * id + VNET_HDR))
			return true;
		hq_post(&q[0], (uint16_t)id);
		hq_kick(&q[0]);
	}
	return false;
}

static bool nn_up(struct nnet *n, uint64_t features, uint16_t size)
{
	if (!hv_up(&n->d, ID_NET, F_VERSION_1 | features, n->q, 2, size))
		return false;
	net_mac(&n->d, n->mac);
	return true;
}

#define NUP(n, feat, size) do { if (!nn_up((n), (feat), (size))) return R_BAD; } while (0)

/* ---- transmit (§5.1.6.2) ----------------------------------------------- */

enum {
	TX_HDR_ONLY, TX_SHORT_SPLIT, TX_HDR_SPLIT, TX_BIG_GSO, TX_BIG_PLAIN, TX_MAX_PLAIN, TX_GSO_UDP,
	TX_GSO_UNNEG, TX_GSO_NOCSUM, TX_GSO_SIZE0, TX_HDR_LEN_BIG, TX_CSUM_PAST, TX_CSUM_UNNEG,
	TX_FLAGS_BAD, TX_ECN_UNNEG, TX_WRITABLE, TX_ALL_WRITABLE, TX_NUMBUF,
};

/* A TCP/IPv4 GSO header at a for a frame of len bytes (valid with
 * HOST_TSO4 and CSUM). */
static void gso_hdr(uint64_t a, uint32_t len)
{
	put8(a, 1);            /* NEEDS_CSUM */
	put8(a + 1, 1);        /* GSO_TCPV4 */
	put16(a + 2, 54);      /* hdr_len: Ethernet + IPv4 + TCP */
	put16(a + 4, 1448);    /* gso_size */
	put16(a + 6, 34);      /* csum_start: the TCP header */
	put16(a + 8, 16);      /* csum_offset: its checksum */
	(void)len;
}

/* One chain per kind; each is given back with length 0 (§5.1.6.2: the
 * device writes nothing on transmit); what vmm did with it shows in its
 * counters. */
int n_tx(unsigned kind)
{
	struct nnet n;
	struct hq *q = &n.q[1];
	uint64_t f = 0, a = NET_TX, w = NET_OLD;
	uint32_t len = 60, used;
	const char *drop = "tx_header";

	if (kind == TX_BIG_GSO || kind == TX_GSO_UDP || kind == TX_GSO_NOCSUM || kind == TX_GSO_SIZE0 ||
	    kind == TX_HDR_LEN_BIG || kind == TX_ECN_UNNEG)
		f = NF_HOST_TSO4 | NF_CSUM;
	if (kind == TX_CSUM_PAST)
		f = NF_CSUM;
	if (kind == TX_BIG_GSO)
		len = 65551;   /* one past 65550, the GSO maximum */
	if (kind == TX_BIG_PLAIN)
		len = 1515;    /* one past 1514 without TSO */
	if (kind == TX_MAX_PLAIN)
		len = 1514;
	NUP(&n, f, NQ);
	net_frame(a, len, NET_ETH_TEST);
	hq_desc(q, 0, a, VNET_HDR + len, 0, 0);
	switch (kind) {
	case TX_HDR_ONLY:
		hq_desc(q, 0, a, VNET_HDR, 0, 0);
		drop = "tx_short";
		break;
	case TX_SHORT_SPLIT:  /* 11 bytes of header in 11 descriptors */
		for (unsigned i = 0; i < 11; i++)
			hq_desc(q, i, a + i, 1, i < 10 ? D_NEXT : 0, (uint16_t)(i + 1));
		drop = "tx_short";
		break;
	case TX_HDR_SPLIT:    /* a whole header in 12 one-byte pieces: legal */
		for (unsigned i = 0; i < VNET_HDR; i++)
			hq_desc(q, i, a + i, 1, D_NEXT, (uint16_t)(i + 1));
		hq_desc(q, VNET_HDR, a + VNET_HDR, len, 0, 0);
		drop = NULL;
		break;
	case TX_BIG_GSO:
		gso_hdr(a, len);
		drop = "tx_too_big";
		break;
	case TX_BIG_PLAIN:
		drop = "tx_too_big";
		break;
	case TX_MAX_PLAIN:
		drop = NULL;
		break;
	case TX_GSO_UDP:      /* UFO is not offered */
		gso_hdr(a, len);
		put8(a + 1, 3);
		break;
	case TX_GSO_UNNEG:    /* TCPV4 without HOST_TSO4 */
		gso_hdr(a, len);
		put8(a, 0);
		break;
	case TX_GSO_NOCSUM:   /* GSO needs NEEDS_CSUM */
		gso_hdr(a, len);
		put8(a, 0);
		break;
	case TX_GSO_SIZE0:
		gso_hdr(a, len);
		put16(a + 4, 0);
		break;
	case TX_HDR_LEN_BIG:
		gso_hdr(a, len);
		put16(a + 2, (uint16_t)(len + 1));
		break;
	case TX_CSUM_PAST:    /* csum_start + csum_offset + 2 far past the frame */
		put8(a, 1);
		put16(a + 6, 0xffff);
		put16(a + 8, 0xffff);
		break;
	case TX_CSUM_UNNEG:   /* NEEDS_CSUM without VIRTIO_NET_F_CSUM */
		put8(a, 1);
		put16(a + 6, 14);
		put16(a + 8, 10);
		break;
	case TX_FLAGS_BAD:    /* DATA_VALID, RSC_INFO and unknown bits on transmit */
		put8(a, 0xfe);
		break;
	case TX_ECN_UNNEG:    /* ECN without HOST_ECN */
		gso_hdr(a, len);
		put8(a + 1, 0x81);
		break;
	case TX_WRITABLE:     /* a device-writable buffer after the frame */
		fill(w, 0x5a, 64);
		hq_desc(q, 0, a, VNET_HDR + len, D_NEXT, 1);
		hq_desc(q, 1, w, 64, D_WRITE, 0);
		drop = NULL;
		break;
	case TX_ALL_WRITABLE: /* nothing readable at all */
		fill(w, 0x5a, 64);
		hq_desc(q, 0, w, 64, D_WRITE, 0);
		drop = "tx_short";
		break;
	case TX_NUMBUF:       /* num_buffers is the device's on receive only */
		put16(a + 10, 0xffff);
		drop = NULL;
		break;
	}
	if (!tx_wait(q, 0, &used))
		return hv_bad("transmit chain not given back");
	if (used != 0)
		return hv_bad("the device wrote into a transmit chain");
	if ((kind == TX_WRITABLE || kind == TX_ALL_WRITABLE))
		for (unsigned i = 0; i < 64; i++)
			if (get8(w + i) != 0x5a)
				return hv_bad("the device wrote into a transmit chain's writable buffer");
	if (drop) {
		count(drop, "1");
		count("tx_packets", "1");  /* the health check's ARP request only */
	} else {
		count("tx_packets", "2");
		count("tx_short", "0");
		count("tx_header", "0");
		count("tx_too_big", "0");
	}
	return hv_verdict(&n.d);
}

/* ---- receive (§5.1.6.3, §5.1.6.4) -------------------------------------- */

/* Take used entries of the receiveq until one with a frame arrives (or
 * max entries); *id, *len of it. */
static bool rx_next(struct hq *q, uint32_t *id, uint32_t *len, unsigned polls)
{
	return hq_wait(q, polls) && hq_used(q, id, len);
}

/* Receive buffers the device must give back empty: device-readable (arg
 * 0), 11 bytes (1), 1 byte with MRG_RXBUF (2). They hold a pattern that
 * must stay. */
int n_rx_bad_buf(unsigned kind)
{
	struct nnet n;
	unsigned nb = kind == 0 ? 1 : kind == 1 ? 4 : 16;
	uint32_t blen = kind == 0 ? NBUF : kind == 1 ? 11 : 1, id, len;

	NUP(&n, kind == 2 ? NF_MRG : 0, NQ);
	fill(NET_OLD, 0x5a, NBUF * nb);
	for (unsigned i = 0; i < nb; i++) {
		hq_desc(&n.q[0], i, NET_OLD + NBUF * i, blen, kind == 0 ? 0 : D_WRITE, 0);
		hq_post(&n.q[0], (uint16_t)i);
	}
	hq_kick(&n.q[0]);
	if (!send_arp(&n.q[1], n.mac))
		return hv_bad("transmit not served");
	for (unsigned i = 0; i < nb; i++) {
		if (!rx_next(&n.q[0], &id, &len, GUEST_POLL_MAX))
			return hv_bad("a receive buffer too small for the header was kept");
		if (len != 0 || id >= nb)
			return hv_bad("a frame went into a receive buffer too small for the header");
	}
	for (unsigned i = 0; i < NBUF * nb; i++)
		if (get8(NET_OLD + i) != 0x5a)
			return hv_bad("the device wrote into a bad receive buffer");
	count("rx_bad_buffer", kind == 0 ? "1" : kind == 1 ? "4" : "16");
	return hv_verdict(&n.d);
}

/* MRG_RXBUF with buffers of exactly the header's size (arg 0): a frame
 * spreads over many chains, num_buffers in the first says how many, and
 * the pieces make the ARP reply. Arg 1: the first chain's header split
 * over 12 one-byte descriptors, then one large one; num_buffers (1) must
 * land in descriptors 10 and 11. */
int n_rx_mrg(unsigned kind)
{
	struct nnet n;
	uint64_t re = NET_OLD;  /* reassembled frame */
	uint32_t id, len;
	unsigned chains = kind == 0 ? NQ : 2;

	NUP(&n, NF_MRG, NQ);
	if (kind == 0) {
		for (unsigned i = 0; i < NQ; i++) {
			hq_desc(&n.q[0], i, NET_RX + 64ull * i, VNET_HDR, D_WRITE, 0);
			hq_post(&n.q[0], (uint16_t)i);
		}
	} else {
		for (unsigned c = 0; c < chains; c++) {
			unsigned b = c * 13;
			uint64_t base = NET_RX + 0x4000ull * c;
			for (unsigned i = 0; i < VNET_HDR; i++)
				hq_desc(&n.q[0], b + i, base + 0x100 * i, 1, D_WRITE | D_NEXT, (uint16_t)(b + i + 1));
			hq_desc(&n.q[0], b + VNET_HDR, base + 0x2000, NBUF, D_WRITE, 0);
			hq_post(&n.q[0], (uint16_t)b);
		}
	}
	hq_kick(&n.q[0]);
	if (!send_arp(&n.q[1], n.mac))
		return hv_bad("transmit not served");
	for (unsigned frames = 0; frames < 16; frames++) {
		if (!rx_next(&n.q[0], &id, &len, GUEST_POLL_MAX))
			return hv_bad("no frame received");
		if (kind == 1) {
			uint64_t base = NET_RX + 0x4000ull * (id / 13);
			if (id % 13 || id / 13 >= chains || len < VNET_HDR + 14 || len > VNET_HDR + NBUF)
				return hv_bad("bad used entry for a split-header chain");
			if (get8(base + 0x100 * 10) != 1 || get8(base + 0x100 * 11) != 0)
				return hv_bad("num_buffers not written into the header's split bytes");
			if (is_arp_reply(base + 0x2000))
				return hv_verdict(&n.d);
			hq_post(&n.q[0], (uint16_t)id);
			hq_kick(&n.q[0]);
			continue;
		}
		/* kind 0: num_buffers chains of at most 12 bytes each */
		if (id >= NQ || len != VNET_HDR)
			return hv_bad("the first chain of a frame is not exactly the header");
		uint16_t nbuf = get16(NET_RX + 64ull * id + 10);
		uint32_t flen = 0;
		if (nbuf < 2 || nbuf > NQ)
			return hv_bad("num_buffers out of range");
		hq_post(&n.q[0], (uint16_t)id);
		for (unsigned k = 1; k < nbuf; k++) {
			if (!hq_used(&n.q[0], &id, &len))
				return hv_bad("fewer used chains than num_buffers (§5.1.6.4.2)");
			if (id >= NQ || len == 0 || len > VNET_HDR)
				return hv_bad("a merged chain's used length is wrong");
			for (uint32_t i = 0; i < len && flen + i < 0x1000; i++)
				put8(re + flen + i, get8(NET_RX + 64ull * id + i));
			flen += len;
			hq_post(&n.q[0], (uint16_t)id);
		}
		hq_kick(&n.q[0]);
		if (flen >= ARP_LEN && is_arp_reply(re)) {
			count("rx_too_big", "0");
			return hv_verdict(&n.d);
		}
	}
	return hv_bad("no ARP reply among 16 frames");
}

/* MRG_RXBUF, a ring of 4 header-sized buffers: no frame fits (an ARP reply
 * needs 5), so each is dropped with the chains given back empty instead
 * of waiting for buffers that cannot come. */
int n_rx_ring_short(unsigned u)
{
	struct nnet n;
	uint32_t id, len;

	NUP(&n, NF_MRG, 4);
	for (unsigned i = 0; i < 4; i++) {
		hq_desc(&n.q[0], i, NET_RX + 64ull * i, VNET_HDR, D_WRITE, 0);
		hq_post(&n.q[0], (uint16_t)i);
	}
	hq_kick(&n.q[0]);
	if (!send_arp(&n.q[1], n.mac))
		return hv_bad("transmit not served");
	for (unsigned i = 0; i < 4; i++) {
		if (!rx_next(&n.q[0], &id, &len, GUEST_POLL_MAX))
			return hv_bad("a frame no ring can hold kept the buffers");
		if (len != 0)
			return hv_bad("a frame was delivered in part");
	}
	count("rx_too_big", "1+");
	return hv_verdict(&n.d);
}

/* A frame held in a header-sized buffer (MRG_RXBUF, the ring then empty)
 * when the driver resets: after the reset the device must forget that
 * buffer (§2.4: a reset ends the device's use of the rings). */
int n_rx_held_reset(unsigned u)
{
	struct nnet n;

	NUP(&n, NF_MRG, NQ);
	fill(NET_OLD, 0x5a, 64);
	hq_desc(&n.q[0], 0, NET_OLD, VNET_HDR, D_WRITE, 0);
	hq_post(&n.q[0], 0);
	hq_kick(&n.q[0]);
	if (!send_arp(&n.q[1], n.mac))
		return hv_bad("transmit not served");
	/* The device has the reply and our only buffer: wait until it wrote
	 * the header there (it does before it runs dry). */
	for (unsigned i = 0; i < GUEST_POLL_MAX && get8(NET_OLD) == 0x5a; i++)
		(void)hv_rd(&n.d, R_STATUS);
	if (get16(n.q[0].used + 2) != 0)
		return hv_bad("a frame was published before all its buffers were there");
	hv_reset(&n.d);
	fill(NET_OLD, 0x5a, 64);
	fill(n.q[0].used, 0xee, 16);
	int r = hv_verdict(&n.d);
	for (unsigned i = 0; i < 64; i++)
		if (get8(NET_OLD + i) != 0x5a)
			return hv_bad("the device wrote into a buffer it held before the reset");
	return r;
}

/* Receive rings the device must refuse once a frame comes: a chain that
 * loops (0), a head past the ring (1). */
int n_rx_bad_ring(unsigned kind)
{
	struct nnet n;

	NUP(&n, 0, NQ);
	if (kind == 0) {
		hq_desc(&n.q[0], 0, NET_RX, NBUF, D_WRITE | D_NEXT, 0);
		hq_post(&n.q[0], 0);
	} else {
		hq_desc(&n.q[0], 0, NET_RX, NBUF, D_WRITE, 0);
		hq_post(&n.q[0], NQ + 5);
	}
	hq_kick(&n.q[0]);
	/* The device may walk the bad chain as soon as the kick arrives (a
	 * frame already waiting in the TAP) and stop in NEEDS_RESET before
	 * our transmit: then the transmit goes unserved, as §2.1.2 allows
	 * (seen in the nested L1). */
	if (!send_arp(&n.q[1], n.mac) && !hv_needs_reset(&n.d))
		return hv_bad("transmit not served");
	hq_wait(&n.q[0], GUEST_POLL_MAX);
	return hv_verdict(&n.d);
}

/* ---- the host floods (flag nf) ----------------------------------------- */

static void delay_tsc(uint64_t cycles)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	uint64_t end = ((uint64_t)hi << 32 | lo) + cycles;
	for (;;) {
		__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
		if (((uint64_t)hi << 32 | lo) >= end)
			return;
		__asm__ volatile("pause");
	}
}

/* "HOSTILE FLOOD" starts the runner's flood (1514-byte frames of
 * NET_ETH_TEST into the TAP, bounded in count and time) while the guest
 * has no receive buffer: vmm must leave the frames in the TAP (no memory
 * growth, no busy loop). Then buffers: 2 KiB (arg 0), where flood frames
 * must arrive whole; or 256 bytes without MRG_RXBUF (arg 1), where every
 * one is dropped and its buffer given back empty. */
int n_rx_flood(unsigned kind)
{
	struct nnet n;
	uint32_t blen = kind == 0 ? NBUF : 256, id, len;
	unsigned got = 0;

	NUP(&n, 0, NQ);
	serial_puts("HOSTILE FLOOD\n");
	delay_tsc(6000000000ull);
	for (unsigned i = 0; i < NQ; i++) {
		hq_desc(&n.q[0], i, NET_RX + NBUF * i, blen, D_WRITE, 0);
		hq_post(&n.q[0], (uint16_t)i);
	}
	hq_kick(&n.q[0]);
	for (unsigned i = 0; i < 4 * NQ; i++) {
		if (!rx_next(&n.q[0], &id, &len, 4 * GUEST_POLL_MAX))
			break;
		if (id >= NQ || len > blen)
			return hv_bad("a used receive entry names a bad chain or length");
		if (kind == 1 && len >= VNET_HDR + 14 && get_be16(NET_RX + NBUF * id + VNET_HDR + 12) == NET_ETH_TEST)
			return hv_bad("a frame larger than the buffer was delivered");
		if (kind == 0 && len == VNET_HDR + 1514 && get_be16(NET_RX + NBUF * id + VNET_HDR + 12) == NET_ETH_TEST)
			got++;
		hq_post(&n.q[0], (uint16_t)id);
		hq_kick(&n.q[0]);
	}
	if (kind == 0 && got == 0)
		return hv_bad("no flood frame arrived once buffers were posted");
	/* Take frames until the flood is over (the runner bounds it), so the
	 * health check's ARP reply is not lost behind a full TAP queue. */
	for (unsigned i = 0; i < 2000000 && rx_next(&n.q[0], &id, &len, GUEST_POLL_MAX); i++) {
		if (id >= NQ || len > blen)
			return hv_bad("a used receive entry names a bad chain or length");
		hq_post(&n.q[0], (uint16_t)id);
		hq_kick(&n.q[0]);
	}
	if (kind == 1)
		count("rx_too_big", "1+");
	return hv_verdict(&n.d);
}

/* Storms. */
static void nn_recycle_rx(struct nnet *n)
{
	uint32_t id, len;
	while (hq_used(&n->q[0], &id, &len))
		hq_post(&n->q[0], (uint16_t)id);
	hq_kick(&n->q[0]);
}

/* The receive ring kept full while the host floods (flag nf). */
int n_rx_flood_storm(unsigned u)
{
	struct nnet n;

	NUP(&n, NF_MRG, NQ);
	for (unsigned i = 0; i < NQ; i++) {
		hq_desc(&n.q[0], i, NET_RX + NBUF * i, NBUF, D_WRITE, 0);
		hq_post(&n.q[0], (uint16_t)i);
	}
	serial_puts("HOSTILE STORM\n");
	for (;;)
		nn_recycle_rx(&n);
}

/* The transmit ring kept full of valid frames; every 64 rounds virtio-rng
 * must still answer (the devices do not share a worker; a BAD result
 * during a storm fails it). */
int n_tx_storm(unsigned u)
{
	struct nnet n;
	struct hdev rd;
	struct hq rq;
	uint32_t id, len;

	NUP(&n, 0, NQ);
	if (!hv_up(&rd, ID_RNG, F_VERSION_1, &rq, 1, 8))
		return R_BAD;
	for (unsigned i = 0; i < NQ; i++) {
		net_frame(NET_TX + 0x800ull * i, 60, NET_ETH_TEST);
		hq_desc(&n.q[1], i, NET_TX + 0x800ull * i, VNET_HDR + 60, 0, 0);
		hq_post(&n.q[1], (uint16_t)i);
	}
	hq_desc(&rq, 0, DATA, 64, D_WRITE, 0);
	serial_puts("HOSTILE STORM\n");
	for (unsigned round = 1;; round++) {
		hq_kick(&n.q[1]);
		while (hq_used(&n.q[1], &id, &len))
			hq_post(&n.q[1], (uint16_t)id);
		if (round % 64)
			continue;
		hq_post(&rq, 0);
		hq_kick(&rq);
		if (!hq_wait(&rq, GUEST_POLL_MAX) || !hq_used(&rq, &id, &len) || len != 64) {
			serial_puts("HOSTILE RESULT BAD virtio-rng stopped answering during a virtio-net transmit storm\n");
			guest_halt();
		}
	}
}

/* ---- features, queues, config space ----------------------------------- */

/* §5.1.3: CTRL_VQ, MQ, GUEST_UFO and HOST_UFO are not offered; the
 * device must refuse FEATURES_OK with any of them. */
int n_feat_unoffered(unsigned u)
{
	static const uint64_t bad[] = { NF_CTRL_VQ, NF_MQ, NF_GUEST_UFO, NF_HOST_UFO };
	struct hdev d;

	if (!hv_find(&d, ID_NET))
		return hv_bad("no virtio-net");
	for (unsigned i = 0; i < 4; i++)
		if (hv_start(&d, F_VERSION_1 | bad[i]))
			return hv_bad("FEATURES_OK accepted with a feature not offered");
	return hv_verdict(&d);
}

/* Without CTRL_VQ there is no queue 2 (§5.1.2): QueueNumMax reads 0, its
 * registers are ignored, and notifying it does nothing. */
int n_ctrl_queue(unsigned u)
{
	struct hdev d;
	struct hq q[3];

	if (!hv_find(&d, ID_NET) || !hv_start(&d, F_VERSION_1))
		return hv_bad("virtio-net did not start");
	hv_wr(&d, R_QUEUE_SEL, 2);
	if (hv_rd(&d, R_QUEUE_NUM_MAX) != 0)
		return hv_bad("queue 2 exists without VIRTIO_NET_F_CTRL_VQ");
	hq_setup(&q[2], &d, 2, 8, QMEM(d.slot, 2));
	if (hv_rd(&d, R_QUEUE_READY) != 0)
		return hv_bad("queue 2 became ready");
	hq_setup(&q[0], &d, 0, 8, QMEM(d.slot, 0));
	hq_setup(&q[1], &d, 1, 8, QMEM(d.slot, 1));
	hv_driver_ok(&d);
	/* A VIRTIO_NET_CTRL_RX command, as a driver with a control queue sends it. */
	put8(NET_OLD, 0);
	put8(NET_OLD + 1, 0);
	put8(NET_OLD + 2, 1);
	hq_desc(&q[2], 0, NET_OLD, 3, D_NEXT, 1);
	hq_desc(&q[2], 1, NET_OLD + 16, 1, D_WRITE, 0);
	hq_post(&q[2], 0);
	for (unsigned i = 0; i < 100; i++)
		hv_wr(&d, R_QUEUE_NOTIFY, 2);
	if (get16(q[2].used + 2) != 0)
		return hv_bad("a queue that does not exist was served");
	return hv_verdict(&d);
}

/* DRIVER_OK with only the transmitq set up: the device may stay idle, but
 * must not use the receiveq nobody configured, and must recover. */
int n_rxq_missing(unsigned u)
{
	struct hdev d;
	struct hq q[2];
	uint32_t len;

	if (!hv_find(&d, ID_NET) || !hv_start(&d, F_VERSION_1))
		return hv_bad("virtio-net did not start");
	hq_setup(&q[1], &d, 1, 8, QMEM(d.slot, 1));
	hv_driver_ok(&d);
	net_frame(NET_TX, 60, NET_ETH_TEST);
	hq_desc(&q[1], 0, NET_TX, VNET_HDR + 60, 0, 0);
	(void)tx_wait(&q[1], 0, &len);
	return hv_verdict(&d);
}

/* The config space (§5.1.4: mac[6], status le16) read at widths 1, 2, 4
 * and 8 must agree; LINK_UP is set (the runner's TAP is up); bytes past it
 * read 0; writes change nothing. */
int n_cfg_widths(unsigned u)
{
	struct hdev d;
	uint8_t b[16];
	uint64_t c;

	if (!hv_find(&d, ID_NET))
		return hv_bad("no virtio-net");
	c = d.base + R_CONFIG;
	for (unsigned i = 0; i < 16; i++)
		b[i] = get8(c + i);
	for (unsigned i = 0; i < 16; i += 2)
		if (get16(c + i) != (uint16_t)(b[i] | b[i + 1] << 8))
			return hv_bad("config space: 16-bit read differs from its bytes");
	/* Unaligned and 64-bit reads break §4.2.2.2's driver rules: any value
	 * will do, the device must only survive them. */
	for (unsigned i = 1; i < 13; i += 3)
		(void)get16(c + i);
	(void)get32(c + 6);
	for (unsigned i = 0; i < 12; i += 4)
		if (get32(c + i) != ((uint32_t)b[i] | (uint32_t)b[i + 1] << 8 | (uint32_t)b[i + 2] << 16 |
				     (uint32_t)b[i + 3] << 24))
			return hv_bad("config space: 32-bit read differs from its bytes");
	(void)get64(c);
	(void)get64(c + 4);
	if ((b[0] & 1) || (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0 && b[4] == 0 && b[5] == 0))
		return hv_bad("config space: MAC is multicast or zero");
	if ((b[6] | b[7] << 8) != 1)
		return hv_bad("config space: status is not LINK_UP");
	for (unsigned i = 8; i < 16; i++)
		if (b[i])
			return hv_bad("config space: bytes past status are not zero");
	put8(c, 0xff);
	put16(c + 6, 0);
	put32(c, 0);
	put64(c, ~0ull);
	for (unsigned i = 0; i < 8; i++)
		if (get8(c + i) != b[i])
			return hv_bad("config space changed by a driver write");
	return hv_verdict(&d);
}
