/* virtio-net data path (vmm/devices/vnet.c, virtio 1.2 §5.1) against
 * hand-built rings, with a SOCK_SEQPACKET socketpair standing in for the
 * TAP (one message = header + frame, as a TAP with IFF_VNET_HDR reads and
 * writes). Receiveq: the fake_ring layout; transmitq: a second ring in the
 * same memory at TXB. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/netns.h"
#include "tests/unit/t.h"
#include "tests/unit/virtq_fake.h"
#include "vmm/device.h"
#include "vmm/devices/virtio_net.h"
#include "vmm/devices/vnet.h"
#include "vmm/log.h"

#define TXB 0x80000u           /* transmitq: desc, avail +0x1000, used +0x2000 */
#define TXDATA 0x90000u        /* frames the driver sends (up to 0x70000) */
#define RXDATA FR_DATA         /* receive buffers */
#define QS 128

static struct fake_ring r;     /* receiveq */
static uint16_t tx_avail;
static struct vnet *n;
static struct virtio_signal sig;
static int peer;               /* the "TAP"'s other end */
static const uint8_t mac[6] = { 0x52, 0x54, 0, 1, 2, 3 };


static void start(uint64_t extra)
{
	struct virtq_config q[2];
	int sv[2];

	fr_init(&r, QS);
	tx_avail = 0;
	memset(&sig, 0, sizeof(sig));
	sig.irqfd = -1;
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	peer = sv[1];
	n = calloc(1, sizeof(*n));
	vnet_init(n, &r.gm, sv[0], false, mac, &sig);
	q[VNET_RXQ] = fr_config(&r);
	q[VNET_TXQ] = (struct virtq_config){ .size = QS, .ready = true, .desc = TXB,
					     .avail = TXB + 0x1000, .used = TXB + 0x2000 };
	CHECK_EQ(vnet_activate(n, VIRTIO_BIT(VIRTIO_F_VERSION_1) | extra, q, 2, 256), 0);
}

static void stop(void)
{
	close(n->fd);
	close(peer);
	free(n);
	fr_free(&r);
}

/* transmitq helpers */
static void tx_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	fr_desc_in(&r, TXB, i, addr, len, flags, next);
}

static void tx_offer(uint16_t head)
{
	memcpy(r.mem + TXB + 0x1000 + 4 + 2u * (tx_avail % QS), &head, 2);
	tx_avail++;
	memcpy(r.mem + TXB + 0x1000 + 2, &tx_avail, 2);
}

static uint16_t tx_used(void)
{
	uint16_t v;
	memcpy(&v, r.mem + TXB + 0x2000 + 2, 2);
	return v;
}

static void put_hdr(uint64_t gpa, uint8_t flags, uint8_t gso, uint16_t hdr_len, uint16_t gso_size,
		    uint16_t cs, uint16_t co)
{
	uint8_t *p = r.mem + gpa;

	p[0] = flags;
	p[1] = gso;
	memcpy(p + 2, &hdr_len, 2);
	memcpy(p + 4, &gso_size, 2);
	memcpy(p + 6, &cs, 2);
	memcpy(p + 8, &co, 2);
	memset(p + 10, 0xee, 2);  /* num_buffers: the device must not pass it on */
}

/* One TX chain at slot i: header descriptor + frame descriptor of len. */
static void tx_frame(uint16_t i, uint32_t len)
{
	tx_desc(i, TXDATA + 16u * i, VNET_HDR_LEN, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	tx_desc((uint16_t)(i + 1), TXDATA + 0x1000, len, 0, 0);
	tx_offer(i);
}

static ssize_t peer_recv(uint8_t *buf, size_t n_)
{
	return recv(peer, buf, n_, MSG_DONTWAIT);
}

static void config_space(void)
{
	uint8_t c[12];

	start(0);
	vnet_config_read(n, 0, c, sizeof(c));
	CHECK(!memcmp(c, mac, 6));
	CHECK_EQ(c[6], VIRTIO_NET_S_LINK_UP);
	CHECK_EQ(c[7] | c[8] | c[11], 0);
	vnet_config_read(n, 5, c, 2);
	CHECK_EQ(c[0], 3);
	CHECK_EQ(c[1], 1);
	vnet_config_read(n, 0xffffffffu, c, 4);
	CHECK_EQ(c[0] | c[3], 0);
	CHECK(vnet_features(n) & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	CHECK(!(vnet_features(n) & VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO)));
	stop();
}

static void tx_sends_checked_header_and_frame(void)
{
	uint8_t buf[2048];

	start(VIRTIO_BIT(VIRTIO_NET_F_CSUM));
	for (unsigned i = 0; i < 60; i++)
		r.mem[TXDATA + 0x1000 + i] = (uint8_t)i;
	put_hdr(TXDATA, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 16);
	tx_frame(0, 60);
	vnet_queue_notify(n, VNET_TXQ);
	CHECK_EQ(tx_used(), 1);
	CHECK_EQ(peer_recv(buf, sizeof(buf)), 72);
	CHECK_EQ(buf[0], VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(buf[6], 34);
	CHECK_EQ(buf[10] | buf[11], 0);
	CHECK(!memcmp(buf + 12, r.mem + TXDATA + 0x1000, 60));
	CHECK_EQ(n->st.tx_packets, 1);
	CHECK_EQ(n->st.tx_bytes, 60);
	CHECK(sig.isr & VIRTIO_ISR_USED);
	/* Header and frame in one descriptor work the same. */
	tx_desc(2, TXDATA, VNET_HDR_LEN + 60, 0, 0);
	memcpy(r.mem + TXDATA + 12, r.mem + TXDATA + 0x1000, 60);
	tx_offer(2);
	vnet_queue_notify(n, VNET_TXQ);
	CHECK_EQ(peer_recv(buf, sizeof(buf)), 72);
	CHECK_EQ(n->st.tx_packets, 2);
	stop();
}

/* Every malformed request is dropped, counted and its chain returned. */
static void tx_drops_hostile_requests(void)
{
	uint8_t buf[2048];

	start(VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4));
	tx_desc(0, TXDATA, 10, 0, 0);                       /* shorter than the header */
	tx_offer(0);
	tx_desc(1, TXDATA, VNET_HDR_LEN + 13, 0, 0);        /* no room for an Ethernet header */
	tx_offer(1);
	put_hdr(TXDATA + 0x100, VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 0, 0, 0);
	tx_desc(2, TXDATA + 0x100, VNET_HDR_LEN + 60, 0, 0);  /* DATA_VALID on transmit */
	tx_offer(2);
	put_hdr(TXDATA + 0x200, 1, VIRTIO_NET_HDR_GSO_TCPV6, 54, 1448, 34, 16);
	tx_desc(3, TXDATA + 0x200, VNET_HDR_LEN + 60, 0, 0);  /* TSO6 not negotiated */
	tx_offer(3);
	put_hdr(TXDATA + 0x300, 1, VIRTIO_NET_HDR_GSO_TCPV4, 54, 0, 34, 16);
	tx_desc(4, TXDATA + 0x300, VNET_HDR_LEN + 60, 0, 0);  /* gso_size 0 */
	tx_offer(4);
	put_hdr(TXDATA + 0x400, 1, 0, 0, 0, 50, 9);
	tx_desc(5, TXDATA + 0x400, VNET_HDR_LEN + 60, 0, 0);  /* checksum field past the end */
	tx_offer(5);
	put_hdr(TXDATA + 0x500, 1, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 54, 1448, 34, 16);
	tx_desc(6, TXDATA + 0x500, VNET_HDR_LEN + 60, 0, 0);  /* ECN without HOST_ECN */
	tx_offer(6);
	put_hdr(TXDATA + 0x600, 1, VIRTIO_NET_HDR_GSO_TCPV4, 200, 1448, 34, 16);
	tx_desc(7, TXDATA + 0x600, VNET_HDR_LEN + 60, 0, 0);  /* hdr_len past the frame */
	tx_offer(7);
	put_hdr(TXDATA + 0x700, 0, VIRTIO_NET_HDR_GSO_UDP, 54, 1448, 34, 16);
	tx_desc(8, TXDATA + 0x700, VNET_HDR_LEN + 60, 0, 0);  /* UFO never offered */
	tx_offer(8);
	put_hdr(TXDATA + 0x800, 0, 0, 0, 0, 0, 0);
	tx_desc(9, TXDATA + 0x800, VNET_HDR_LEN + VNET_GSO_FRAME_MAX + 1, 0, 0);  /* above 65550 */
	tx_offer(9);
	tx_desc(10, TXDATA + 0x800, VNET_HDR_LEN + VNET_GSO_FRAME_MAX, 0, 0);  /* exactly the maximum */
	tx_offer(10);
	vnet_queue_notify(n, VNET_TXQ);
	CHECK_EQ(tx_used(), 11);
	CHECK_EQ(n->st.tx_drop_short, 2);
	CHECK_EQ(n->st.tx_drop_hdr, 7);
	CHECK_EQ(n->st.tx_drop_big, 1);
	CHECK_EQ(n->st.tx_packets, 1);
	CHECK_EQ(recv(peer, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC), VNET_HDR_LEN + VNET_GSO_FRAME_MAX);
	CHECK_EQ(peer_recv(buf, sizeof(buf)), -1);
	CHECK_EQ(sig.needs_reset, 0);
	stop();
	/* Without TSO the limit is one 1514-byte frame. */
	start(0);
	put_hdr(TXDATA, 0, 0, 0, 0, 0, 0);
	tx_desc(0, TXDATA, VNET_HDR_LEN + 1515, 0, 0);
	tx_offer(0);
	tx_desc(1, TXDATA, VNET_HDR_LEN + 1514, 0, 0);
	tx_offer(1);
	put_hdr(TXDATA + 0x1000, 1, 0, 0, 0, 34, 16);       /* NEEDS_CSUM without CSUM */
	tx_desc(2, TXDATA + 0x1000, VNET_HDR_LEN + 60, 0, 0);
	tx_offer(2);
	vnet_queue_notify(n, VNET_TXQ);
	CHECK_EQ(n->st.tx_drop_big, 1);
	CHECK_EQ(n->st.tx_drop_hdr, 1);
	CHECK_EQ(n->st.tx_packets, 1);
	stop();
}

/* The backend refusing a frame (here: the peer is gone) is a counted
 * drop; the chain still comes back. */
static void tx_backend_error_counted(void)
{
	start(0);
	close(peer);
	peer = -1;
	put_hdr(TXDATA, 0, 0, 0, 0, 0, 0);
	tx_frame(0, 60);
	vnet_queue_notify(n, VNET_TXQ);
	CHECK_EQ(tx_used(), 1);
	CHECK_EQ(n->st.tx_drop_backend, 1);
	CHECK_EQ(n->st.tx_packets, 0);
	stop();
}

/* Host -> guest frame of len bytes (after the header), bytes = seed + i. */
static void peer_send(uint32_t len, uint8_t seed)
{
	static uint8_t buf[VNET_HDR_LEN + VNET_GSO_FRAME_MAX];

	memset(buf, 0, VNET_HDR_LEN);
	buf[0] = VIRTIO_NET_HDR_F_DATA_VALID;
	for (uint32_t i = 0; i < len; i++)
		buf[VNET_HDR_LEN + i] = (uint8_t)(seed + i);
	CHECK_EQ(send(peer, buf, VNET_HDR_LEN + len, 0), (ssize_t)(VNET_HDR_LEN + len));
}

/* Guest posts k receive buffers of len bytes from descriptor d. */
static void rx_post(uint16_t d, unsigned k, uint32_t len)
{
	for (unsigned i = 0; i < k; i++) {
		fr_desc(&r, (uint16_t)(d + i), RXDATA + 0x800u * (d + i), len, VIRTQ_DESC_F_WRITE, 0);
		fr_avail(&r, (uint16_t)(d + i));
	}
}

static uint16_t rx_nb(uint16_t d)
{
	uint16_t v;
	memcpy(&v, r.mem + RXDATA + 0x800u * d + 10, 2);
	return v;
}

/* MRG_RXBUF: a 3000-byte frame (3012 with the header) spans two
 * 1506-byte buffers, the first says num_buffers = 2; the third buffer
 * stays posted. */
static void rx_mergeable_spans_buffers(void)
{

	start(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM));
	rx_post(0, 3, 1506);
	peer_send(3000, 7);
	vnet_backend_ready(n);
	CHECK_EQ(fr_used_idx(&r), 2);
	FR_CHECK_USED(&r, 0, 0, 1506);
	FR_CHECK_USED(&r, 1, 1, 1506);
	CHECK_EQ(rx_nb(0), 2);
	CHECK_EQ(r.mem[RXDATA], VIRTIO_NET_HDR_F_DATA_VALID);  /* GUEST_CSUM: kept */
	CHECK_EQ(r.mem[RXDATA + 12], 7);
	CHECK_EQ(r.mem[RXDATA + 1505], (uint8_t)(7 + 1493));
	CHECK_EQ(r.mem[RXDATA + 0x800], (uint8_t)(7 + 1494));
	CHECK_EQ(r.mem[RXDATA + 0x800 + 1505], (uint8_t)(7 + 2999));
	CHECK_EQ(r.mem[RXDATA + 0x800 + 1506], 0);
	CHECK_EQ(n->st.rx_packets, 1);
	CHECK_EQ(n->st.rx_bytes, 3000);
	CHECK(sig.isr & VIRTIO_ISR_USED);
	CHECK(vnet_want_backend(n));
	stop();
}

/* No buffers: nothing is read (the frames stay in the backend), and the
 * loop is told not to watch it. A frame bigger than the posted buffers is
 * held, not dropped, and goes out when more buffers arrive. */
static void rx_backpressure_never_reads_ahead(void)
{
	uint8_t b;

	start(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
	peer_send(100, 1);
	peer_send(3000, 2);
	peer_send(60, 3);
	vnet_backend_ready(n);
	CHECK_EQ(n->st.rx_packets, 0);
	CHECK(!vnet_want_backend(n));
	CHECK_EQ(recv(n->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT), 1);  /* still there */
	/* avail_event asks for a notification at the first buffer (§2.7.10):
	 * without it the guest's buffers would never be noticed (stall). */
	fr_desc(&r, 0, RXDATA, 1500, VIRTQ_DESC_F_WRITE, 0);
	CHECK(fr_avail_notify(&r, 0));
	vnet_queue_notify(n, VNET_RXQ);
	/* Frame 1 placed; frame 2 (3000) read into the one-frame buffer, waits. */
	CHECK_EQ(n->st.rx_packets, 1);
	CHECK_EQ(fr_used_idx(&r), 1);
	CHECK(!vnet_want_backend(n));
	fr_desc(&r, 1, RXDATA + 0x800, 1500, VIRTQ_DESC_F_WRITE, 0);
	CHECK(fr_avail_notify(&r, 1));
	vnet_queue_notify(n, VNET_RXQ);
	CHECK_EQ(n->st.rx_packets, 1);  /* 3012 bytes do not fit in 1500 yet */
	fr_desc(&r, 2, RXDATA + 0x1000, 1500, VIRTQ_DESC_F_WRITE, 0);
	CHECK(fr_avail_notify(&r, 2));
	vnet_queue_notify(n, VNET_RXQ);
	CHECK_EQ(n->st.rx_packets, 1);  /* nor in 1500 + 1500 */
	fr_desc(&r, 3, RXDATA + 0x1800, 1500, VIRTQ_DESC_F_WRITE, 0);
	CHECK(fr_avail_notify(&r, 3));
	vnet_queue_notify(n, VNET_RXQ);
	CHECK_EQ(n->st.rx_packets, 2);
	CHECK_EQ(rx_nb(1), 3);
	CHECK(!vnet_want_backend(n));  /* frame 3 waits in the backend */
	CHECK_EQ(recv(n->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT), 1);
	fr_desc(&r, 4, RXDATA + 0x2000, 1500, VIRTQ_DESC_F_WRITE, 0);
	CHECK(fr_avail_notify(&r, 4));
	vnet_queue_notify(n, VNET_RXQ);
	CHECK_EQ(n->st.rx_packets, 3);
	CHECK_EQ(n->st.rx_drop_big, 0);
	CHECK_EQ(recv(n->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT), -1);
	stop();
}

/* Without MRG_RXBUF one buffer takes one frame: a frame too big for it
 * is dropped and counted, the buffer is returned empty. Without
 * GUEST_CSUM the header's flags are cleared. */
static void rx_without_mrg_drops_oversize(void)
{
	uint32_t id, len;

	start(0);
	rx_post(0, 2, 1526);
	peer_send(2000, 0);
	peer_send(1514, 9);
	vnet_backend_ready(n);
	CHECK_EQ(n->st.rx_drop_big, 1);
	CHECK_EQ(n->st.rx_packets, 1);
	CHECK_EQ(fr_used_idx(&r), 2);
	fr_used(&r, 0, &id, &len);
	CHECK_EQ(len, 0);
	FR_CHECK_USED(&r, 1, 1, 1526);
	CHECK_EQ(rx_nb(1), 1);
	CHECK_EQ(r.mem[RXDATA + 0x800], 0);
	CHECK_EQ(r.mem[RXDATA + 0x800 + 12], 9);
	stop();
}

/* Hostile receive buffers: too small for the header (returned empty,
 * counted), readable-only, a header split over tiny segments. */
static void rx_hostile_buffers(void)
{
	start(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	fr_desc(&r, 0, RXDATA, 11, VIRTQ_DESC_F_WRITE, 0);
	fr_avail(&r, 0);
	fr_desc(&r, 1, RXDATA + 0x800, 64, 0, 0);  /* not writable */
	fr_avail(&r, 1);
	/* 12 one-byte segments then 100 bytes. */
	for (uint16_t i = 0; i < 12; i++)
		fr_desc(&r, (uint16_t)(2 + i), RXDATA + 0x1000 + i, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
			(uint16_t)(3 + i));
	fr_desc(&r, 14, RXDATA + 0x1100, 100, VIRTQ_DESC_F_WRITE, 0);
	fr_avail(&r, 2);
	peer_send(60, 5);
	vnet_backend_ready(n);
	CHECK_EQ(n->st.rx_bad_buf, 2);
	CHECK_EQ(n->st.rx_packets, 1);
	CHECK_EQ(fr_used_idx(&r), 3);
	CHECK_EQ(r.mem[RXDATA + 0x1000 + 10], 1);  /* num_buffers across segments */
	CHECK_EQ(r.mem[RXDATA + 0x1000 + 11], 0);
	CHECK_EQ(r.mem[RXDATA + 0x1100], 5);
	stop();
}

static uint16_t avail_event(void)
{
	uint16_t v;
	memcpy(&v, r.mem + FR_USED + 4 + 8u * QS, 2);
	return v;
}

/* Frames are read straight into the guest's buffers, rx_buf untouched:
 * one read into every chain a largest frame could need, then the chains
 * the frame did not reach go back to the ring (the avail position and
 * avail_event rewound, §2.7.10) and the next frames get them, in order.
 * Without GUEST_CSUM the flags byte is cleared in guest memory. */
static void rx_straight_into_buffers(void)
{
	uint32_t id, len;

	start(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
	memset(n->rx_buf, 0xa5, sizeof(n->rx_buf));
	rx_post(0, 6, 1506);
	peer_send(3000, 7);
	peer_send(100, 8);
	vnet_backend_ready(n);
	CHECK_EQ(n->st.rx_packets, 2);
	CHECK_EQ(fr_used_idx(&r), 3);
	FR_CHECK_USED(&r, 0, 0, 1506);
	FR_CHECK_USED(&r, 1, 1, 1506);
	FR_CHECK_USED(&r, 2, 2, 112);
	CHECK_EQ(rx_nb(0), 2);
	CHECK_EQ(rx_nb(2), 1);
	CHECK_EQ(r.mem[RXDATA], 0);  /* DATA_VALID cleared */
	CHECK_EQ(r.mem[RXDATA + 12], 7);
	CHECK_EQ(r.mem[RXDATA + 0x800 + 1505], (uint8_t)(7 + 2999));
	CHECK_EQ(r.mem[RXDATA + 0x1000], 0);
	CHECK_EQ(r.mem[RXDATA + 0x1000 + 12], 8);
	for (size_t i = 0; i < sizeof(n->rx_buf); i++)
		if (n->rx_buf[i] != 0xa5)
			CHECK_EQ(i, sizeof(n->rx_buf));  /* no bounce copy */
	/* Chains 3..5 were taken for the first frames and given back. */
	CHECK_EQ(n->rxq.last_avail, 3);
	CHECK_EQ(avail_event(), 3);
	CHECK(vnet_want_backend(n));
	peer_send(4500, 9);
	vnet_backend_ready(n);
	CHECK_EQ(n->st.rx_packets, 3);
	CHECK_EQ(fr_used_idx(&r), 6);
	for (unsigned k = 3; k < 6; k++) {
		fr_used(&r, k, &id, &len);
		CHECK_EQ(id, k);
		CHECK_EQ(len, k < 5 ? 1506 : 4512 - 2 * 1506);
	}
	CHECK_EQ(rx_nb(3), 3);
	CHECK_EQ(r.mem[RXDATA + 0x2800 + 1499], (uint8_t)(9 + 4499));
	CHECK_EQ(n->st.rx_drop_big + n->st.rx_bad_buf + n->st.rx_backend_err, 0);
	stop();
}

/* How many chains a read takes follows the frames (rx_want): after a run
 * of small frames it takes one chain and a larger frame's excess is
 * copied from rx_buf; that frame's size is then covered again, so the
 * next like it goes straight in. */
static void rx_cover_follows_frames(void)
{

	start(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	rx_post(0, 64, 1506);
	for (unsigned i = 0; i < 40; i++)
		peer_send(60, (uint8_t)i);
	vnet_backend_ready(n);
	CHECK_EQ(n->st.rx_packets, 40);
	CHECK(n->rx_want < 1506);
	memset(n->rx_buf, 0xa5, sizeof(n->rx_buf));
	peer_send(3000, 1);
	vnet_backend_ready(n);
	CHECK_EQ(n->st.rx_packets, 41);
	CHECK_EQ(n->rx_buf[1505], 0xa5);
	CHECK_EQ(n->rx_buf[1506], (uint8_t)(1 + 1494));  /* the excess, copied */
	FR_CHECK_USED(&r, 41, 41, 1506);
	CHECK_EQ(r.mem[RXDATA + 0x800 * 41 + 1505], (uint8_t)(1 + 2999));
	CHECK_EQ(rx_nb(40), 2);
	memset(n->rx_buf, 0xa5, sizeof(n->rx_buf));
	peer_send(3000, 2);
	vnet_backend_ready(n);
	CHECK_EQ(n->st.rx_packets, 42);
	CHECK_EQ(fr_used_idx(&r), 44);
	CHECK_EQ(rx_nb(42), 2);
	CHECK_EQ(r.mem[RXDATA + 0x800 * 43 + 1505], (uint8_t)(2 + 2999));
	for (size_t i = 0; i < sizeof(n->rx_buf); i++)
		if (n->rx_buf[i] != 0xa5)
			CHECK_EQ(i, sizeof(n->rx_buf));  /* straight in again */
	stop();
}

/* A frame longer than the largest one the backend should deliver: the
 * backend reports its whole length (a TAP does; the test socket with
 * MSG_TRUNC); nothing is written past what the chains were given for, the
 * frame is dropped and counted and every chain it filled goes back with
 * length 0. The next frame is placed normally. */
static void rx_truncated_frame_dropped(void)
{
	static uint8_t big[VNET_HDR_LEN + VNET_GSO_FRAME_MAX + 100];
	const uint32_t last = RXDATA + 0x800u * 43;  /* the 44th chain takes 804 bytes */
	uint32_t id, len;

	start(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	rx_post(0, 50, 1506);
	memset(r.mem + last + 804, 0x5a, 1506 - 804);
	memset(big, 3, sizeof(big));
	memset(big, 0, VNET_HDR_LEN);
	CHECK_EQ(send(peer, big, sizeof(big), 0), (ssize_t)sizeof(big));
	peer_send(60, 2);
	vnet_backend_ready(n);
	CHECK_EQ(n->st.rx_drop_big, 1);
	CHECK_EQ(n->st.rx_packets, 1);
	CHECK_EQ(fr_used_idx(&r), 45);
	for (unsigned k = 0; k < 44; k++) {
		fr_used(&r, k, &id, &len);
		CHECK_EQ(id, k);
		CHECK_EQ(len, 0);
	}
	CHECK_EQ(r.mem[last + 803], 3);
	for (uint32_t i = 804; i < 1506; i++)
		CHECK_EQ(r.mem[last + i], 0x5a);
	FR_CHECK_USED(&r, 44, 44, 72);
	CHECK_EQ(rx_nb(44), 1);
	CHECK_EQ(n->rxq.last_avail, 45);
	stop();
}

/* A buffer too small for the header behind good ones that a frame did not
 * reach: it is neither pushed then (virtq_unpop could then rewind over a
 * used chain, and a good chain would be lost) nor used twice; it is
 * returned empty and counted once, when it comes first. */
static void rx_bad_buffer_among_taken(void)
{
	uint32_t id, len;
	static const uint32_t want[4][2] = { { 0, 112 }, { 2, 0 }, { 1, 1506 }, { 3, 506 } };

	start(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	rx_post(0, 2, 1506);
	fr_desc(&r, 2, RXDATA + 0x1000, 8, VIRTQ_DESC_F_WRITE, 0);
	fr_avail(&r, 2);
	rx_post(3, 1, 1506);
	peer_send(100, 1);   /* chain 0; chain 1 given back */
	peer_send(2000, 2);  /* chain 1, the rest copied to chain 3 */
	vnet_backend_ready(n);
	CHECK_EQ(n->st.rx_bad_buf, 1);
	CHECK_EQ(n->st.rx_packets, 2);
	CHECK_EQ(fr_used_idx(&r), 4);
	for (unsigned k = 0; k < 4; k++) {
		fr_used(&r, k, &id, &len);
		CHECK_EQ(id, want[k][0]);
		CHECK_EQ(len, want[k][1]);
	}
	CHECK_EQ(rx_nb(1), 2);
	CHECK_EQ(r.mem[RXDATA + 0x800 + 12], 2);
	CHECK_EQ(r.mem[RXDATA + 0x1800 + 505], (uint8_t)(2 + 1999));
	stop();
}

/* One call places at most VNET_RX_FRAMES frames and asks to be called
 * again; the next call delivers the rest. Bounded TX the same way: a
 * ring's worth per call. */
static void budgets_and_requeue(void)
{
	start(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	rx_post(0, 100, 100);
	for (unsigned i = 0; i < 80; i++)
		peer_send(60, (uint8_t)i);
	vnet_backend_ready(n);
	CHECK_EQ(n->st.rx_packets, VNET_RX_FRAMES);
	CHECK_EQ(sig.requeue, 1u << VNET_RXQ);
	sig.requeue = 0;
	vnet_queue_notify(n, VNET_RXQ);
	CHECK_EQ(n->st.rx_packets, 80);
	CHECK_EQ(sig.requeue, 0);
	/* TX: 200 chains in a 128 ring is impossible; offer 128, then 10
	 * more after the device has used some: a call takes at most 128. */
	put_hdr(TXDATA, 0, 0, 0, 0, 0, 0);
	tx_desc(0, TXDATA, VNET_HDR_LEN + 60, 0, 0);
	for (unsigned i = 0; i < QS; i++)
		tx_offer(0);
	vnet_queue_notify(n, VNET_TXQ);
	CHECK_EQ(tx_used(), QS);
	CHECK_EQ(sig.requeue, 0);
	for (unsigned i = 0; i < QS; i++)
		tx_offer(0);
	/* The peer's queue fills long before: drops, but every chain used. */
	vnet_queue_notify(n, VNET_TXQ);
	CHECK_EQ(tx_used(), 2 * QS);
	CHECK_EQ(n->st.tx_packets + n->st.tx_drop_backend, 2 * QS);
	stop();
}

/* A guest posting only useless buffers cannot keep one call popping: a
 * ring's worth of receive chains per call, then a requeue; the held frame
 * goes out when a real buffer comes. */
static void rx_chain_budget(void)
{
	start(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	rx_post(0, QS, 8);  /* smaller than the header */
	peer_send(60, 4);
	vnet_backend_ready(n);
	CHECK_EQ(n->st.rx_bad_buf, QS);
	CHECK_EQ(sig.requeue, 1u << VNET_RXQ);
	CHECK_EQ(n->st.rx_packets, 0);
	sig.requeue = 0;
	fr_desc(&r, 0, RXDATA, 1500, VIRTQ_DESC_F_WRITE, 0);
	fr_avail(&r, 0);
	vnet_queue_notify(n, VNET_RXQ);
	CHECK_EQ(n->st.rx_packets, 1);
	CHECK_EQ(sig.requeue, 0);
	stop();
}

/* §5.1.6.4.2: "The device MUST use all buffers used by a single receive
 * packet together, such that at least num_buffers are observed by driver
 * as used." A driver polling used->idx on another CPU (Linux's NAPI loop
 * does) must never see it stop inside a frame: Linux then drops the frame
 * ("buffers missing") and parses the rest as frames whose header is
 * payload. Every frame here spans RXK buffers, so every used->idx the
 * watcher sees must be a multiple of RXK. */
#define RXK 32
#define RXBUF 256
static volatile int watch_stop;
static unsigned long watch_bad, watch_seen;

static void *watch_used(void *arg)
{
	const uint16_t *idx = arg;

	while (!__atomic_load_n(&watch_stop, __ATOMIC_ACQUIRE)) {
		uint16_t v = __atomic_load_n(idx, __ATOMIC_ACQUIRE);
		watch_seen++;
		if (v % RXK)
			watch_bad++;
	}
	return NULL;
}

static void rx_frame_buffers_used_together(void)
{
	pthread_t t;

	start(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	watch_stop = 0;
	watch_bad = watch_seen = 0;
	CHECK_EQ(pthread_create(&t, NULL, watch_used, r.mem + FR_USED + 2), 0);
	for (unsigned round = 0; round < 1000; round++) {
		rx_post(0, QS, RXBUF);
		for (unsigned f = 0; f < QS / RXK; f++)
			peer_send(RXK * RXBUF - VNET_HDR_LEN, (uint8_t)f);
		vnet_backend_ready(n);
		CHECK_EQ(fr_used_idx(&r), (uint16_t)((round + 1) * QS));
	}
	__atomic_store_n(&watch_stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	CHECK_EQ(n->st.rx_packets, 1000 * (QS / RXK));
	CHECK_EQ(rx_nb(0), RXK);
	CHECK(watch_seen > 0);
	CHECK_EQ(watch_bad, 0);
	stop();
}

/* The receive path as it runs for real: a driver thread that behaves like
 * Linux's virtio_net (mergeable buffers of 1.5-3 KiB, EVENT_IDX kicks and
 * interrupts, NAPI polling with a budget, refills in batches), a device
 * thread that acts only on what the VMM's worker acts on (a kick, the
 * backend readable while vnet_want_backend, a requeue), and a sender of
 * frames from 54 bytes to 64 KiB, all at once. Every frame must arrive
 * whole and in order, and the three must never all wait: a lost wakeup
 * anywhere (kick, interrupt, backend watch) shows as no frame for 5 s. */
#define MODEL_FRAMES 6000
#define MODEL_BUF 0xc00u
struct model {
	int kick, irq;                 /* eventfds: driver -> device, device -> driver */
	uint16_t last_used, nfree, free_ids[QS];
	uint32_t got, bad;
	char why[160];
	volatile int stop;
};

static uint16_t *ring16(uint32_t off) { return (uint16_t *)(void *)(r.mem + off); }
static uint32_t mix32(uint32_t x) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; return x; }

/* Frame number seq: its length and byte i, derived from seq alone. */
static uint32_t model_len(uint32_t seq)
{
	uint32_t h = mix32(seq * 2654435761u + 1), k = h % 10;

	return k < 5 ? 54 + h % 150 : k < 9 ? 32768 + h % (VNET_GSO_FRAME_MAX - 32768) : 60 + h % 9000;
}

static void *model_device(void *arg)
{
	struct model *m = arg;

	while (!m->stop) {
		struct pollfd p[2] = { { .fd = m->kick, .events = POLLIN },
				       { .fd = n->fd, .events = vnet_want_backend(n) ? POLLIN : 0 } };
		uint64_t v;
		uint32_t rq;

		if (poll(p, 2, 20) < 0)
			continue;
		if ((p[0].revents & POLLIN) && read(m->kick, &v, sizeof(v)) == sizeof(v))
			vnet_queue_notify(n, VNET_RXQ);
		if (p[1].revents & POLLIN)
			vnet_backend_ready(n);
		rq = __atomic_exchange_n(&sig.requeue, 0, __ATOMIC_SEQ_CST);
		if (rq & (1u << VNET_RXQ))
			vnet_queue_notify(n, VNET_RXQ);
	}
	return NULL;
}

/* Post every free buffer, then kick if vring_need_event says so (§2.7.10). */
static void model_refill(struct model *m, uint32_t *rnd)
{
	uint16_t old = __atomic_load_n(ring16(FR_AVAIL + 2), __ATOMIC_RELAXED), idx = old, event;
	uint64_t one = 1;

	if (!m->nfree)
		return;
	while (m->nfree) {
		uint16_t d = m->free_ids[--m->nfree];

		*rnd = mix32(*rnd);
		fr_desc(&r, d, RXDATA + MODEL_BUF * d, 1536 + *rnd % (MODEL_BUF - 1536 + 1), VIRTQ_DESC_F_WRITE, 0);
		*ring16(FR_AVAIL + 4 + 2u * (idx % QS)) = d;
		idx++;
	}
	__atomic_store_n(ring16(FR_AVAIL + 2), idx, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	event = __atomic_load_n(ring16(FR_USED + 4 + 8u * QS), __ATOMIC_RELAXED);
	if ((uint16_t)(idx - event - 1) < (uint16_t)(idx - old) && write(m->kick, &one, sizeof(one)) < 0)
		m->bad++;
}

/* Take one frame off the used ring: 1 taken, 0 none complete. */
static int model_take(struct model *m)
{
	uint16_t used = __atomic_load_n(ring16(FR_USED + 2), __ATOMIC_ACQUIRE), nb, k;
	uint32_t id, len, want = model_len(m->got), at = 0;

	if (used == m->last_used)
		return 0;
	fr_used(&r, m->last_used, &id, &len);
	memcpy(&nb, r.mem + RXDATA + MODEL_BUF * id + 10, 2);
	if (!nb || (uint16_t)(used - m->last_used) < nb) {
		snprintf(m->why, sizeof(m->why), "frame %u: num_buffers %u, %u used", m->got, nb,
			 (uint16_t)(used - m->last_used));
		return -1;
	}
	for (k = 0; k < nb; k++) {
		uint32_t skip = k ? 0 : VNET_HDR_LEN;
		const uint8_t *b;

		fr_used(&r, (uint16_t)(m->last_used + k), &id, &len);
		b = r.mem + RXDATA + MODEL_BUF * id;
		for (uint32_t i = skip; i < len; i++, at++)
			if (at >= want || b[i] != (uint8_t)(m->got * 7 + at)) {
				snprintf(m->why, sizeof(m->why), "frame %u (%u bytes): byte %u wrong", m->got, want, at);
				return -1;
			}
		m->free_ids[m->nfree++] = (uint16_t)id;
	}
	if (at != want) {
		snprintf(m->why, sizeof(m->why), "frame %u: %u bytes, want %u", m->got, at, want);
		return -1;
	}
	m->last_used = (uint16_t)(m->last_used + nb);
	m->got++;
	return 1;
}

static void *model_driver(void *arg)
{
	struct model *m = arg;
	uint32_t rnd = 12345;
	uint64_t v;

	model_refill(m, &rnd);
	while (!m->stop && m->got < MODEL_FRAMES) {
		struct pollfd p = { .fd = m->irq, .events = POLLIN };
		int r_ = 0;

		if (poll(&p, 1, 20) <= 0)
			continue;
		if (read(m->irq, &v, sizeof(v)) < 0)
			continue;
		/* NAPI: budgeted polls until the ring is empty, then enable
		 * callbacks (used_event = what we took) and look once more. */
		for (;;) {
			unsigned budget = 1 + (rnd = mix32(rnd)) % 64;

			while (budget-- && (r_ = model_take(m)) > 0)
				;
			if (r_ < 0) {
				m->stop = 1;
				return NULL;
			}
			if (m->nfree > QS / 2 || (rnd & 1))
				model_refill(m, &rnd);
			if (r_ > 0)
				continue;
			__atomic_store_n(ring16(FR_AVAIL + 4 + 2u * QS), m->last_used, __ATOMIC_RELAXED);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (__atomic_load_n(ring16(FR_USED + 2), __ATOMIC_ACQUIRE) == m->last_used)
				break;
		}
		model_refill(m, &rnd);
	}
	return NULL;
}

static void rx_event_driven_model(void)
{
	static uint8_t buf[VNET_HDR_LEN + VNET_GSO_FRAME_MAX];
	struct model m = { 0 };
	pthread_t dev, drv;
	uint32_t last = 0, seq;
	int quiet = 0;

	start(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) |
	      VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4));
	m.kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	m.irq = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	sig.irqfd = m.irq;
	for (uint16_t d = 0; d < QS; d++)
		m.free_ids[m.nfree++] = d;
	CHECK_EQ(pthread_create(&dev, NULL, model_device, &m), 0);
	CHECK_EQ(pthread_create(&drv, NULL, model_driver, &m), 0);
	memset(buf, 0, VNET_HDR_LEN);
	for (seq = 0; seq < MODEL_FRAMES && !m.stop;) {
		uint32_t len = model_len(seq);
		struct pollfd p = { .fd = peer, .events = POLLOUT };

		for (uint32_t i = 0; i < len; i++)
			buf[VNET_HDR_LEN + i] = (uint8_t)(seq * 7 + i);
		while (send(peer, buf, VNET_HDR_LEN + len, MSG_DONTWAIT) < 0 && !m.stop) {
			uint32_t got = __atomic_load_n(&m.got, __ATOMIC_RELAXED);

			if (got != last) {
				last = got;
				quiet = 0;
			} else if (++quiet > 250) {
				break;  /* 5 s without a frame taken: stalled */
			}
			poll(&p, 1, 20);
		}
		if (quiet > 250)
			break;
		seq++;
	}
	for (quiet = 0; m.got < seq && !m.stop && quiet < 250; quiet++) {
		uint32_t got = __atomic_load_n(&m.got, __ATOMIC_RELAXED);

		if (got != last) {
			last = got;
			quiet = 0;
		}
		usleep(20000);
	}
	if (m.got < MODEL_FRAMES && !m.why[0])
		printf("  stalled: sent %u, taken %u; device held %u/%u, nheld %u, want %d; avail %u last_avail %u "
		       "used %u avail_event %u used_event %u driver last_used %u free %u\n",
		       seq, m.got, n->rx_off, n->rx_len, n->rx_nheld, vnet_want_backend(n),
		       *ring16(FR_AVAIL + 2), n->rxq.last_avail, *ring16(FR_USED + 2),
		       *ring16(FR_USED + 4 + 8u * QS), *ring16(FR_AVAIL + 4 + 2u * QS), m.last_used, m.nfree);
	m.stop = 1;
	pthread_join(drv, NULL);
	pthread_join(dev, NULL);
	if (m.why[0])
		printf("  %s\n", m.why);
	CHECK_EQ(m.why[0], 0);
	CHECK_EQ(m.got, MODEL_FRAMES);
	CHECK_EQ(m.bad, 0);
	CHECK_EQ(n->st.rx_drop_big + n->st.rx_bad_buf + n->st.rx_backend_err, 0);
	close(m.kick);
	close(m.irq);
	stop();
}

static void malformed_ring_needs_reset(void)
{
	start(0);
	tx_desc(0, TXDATA, 20, VIRTQ_DESC_F_NEXT, 1);
	tx_desc(1, TXDATA, 20, VIRTQ_DESC_F_NEXT, 0);  /* loop */
	tx_offer(0);
	vnet_queue_notify(n, VNET_TXQ);
	CHECK_EQ(sig.needs_reset, 1);
	CHECK(!vnet_want_backend(n));
	peer_send(60, 0);
	rx_post(0, 1, 1500);
	vnet_backend_ready(n);
	CHECK_EQ(fr_used_idx(&r), 0);  /* stopped until reset */
	vnet_reset(n);
	CHECK(!n->active);
	stop();
}

static void stats_json(void)
{
	struct vnet_stats st = { .rx_packets = 1, .rx_bytes = 2, .tx_packets = 3, .tx_bytes = 4,
				 .tx_drop_short = 5, .tx_drop_hdr = 6, .tx_drop_big = 7,
				 .tx_drop_backend = 8, .rx_drop_big = 9, .rx_bad_buf = 10,
				 .rx_backend_err = UINT64_MAX };
	static const char want[] =
		"{\"rx_packets\":1,\"rx_bytes\":2,\"tx_packets\":3,\"tx_bytes\":4,\"drops\":{\"tx_short\":5,"
		"\"tx_header\":6,\"tx_too_big\":7,\"tx_backend\":8,\"rx_too_big\":9,\"rx_bad_buffer\":10,"
		"\"rx_backend\":18446744073709551615}}";
	char buf[400];

	CHECK_EQ(vnet_stats_json(&st, buf, sizeof(buf)), (int)strlen(want));
	CHECK(!strcmp(buf, want));
	CHECK_EQ(vnet_stats_json(&st, buf, strlen(want)), -ENOSPC);
	CHECK_EQ(vnet_stats_json(&st, buf, strlen(want) + 1), (int)strlen(want));
}

/* What crosses to the VMM for `vmm status`: the counters as words in the
 * shared signal page, rendered there by the device type's stats_json.
 * Every field lands under its own name (distinct values), and any word
 * renders as a number. */
static void stats_words_render(void)
{
	struct vnet_stats st = { .rx_packets = 1, .rx_bytes = 2, .tx_packets = 3, .tx_bytes = 4,
				 .tx_drop_short = 5, .tx_drop_hdr = 6, .tx_drop_big = 7,
				 .tx_drop_backend = 8, .rx_drop_big = 9, .rx_bad_buf = 10,
				 .rx_backend_err = 11 }, back;
	static const char want[] =
		"{\"rx_packets\":1,\"rx_bytes\":2,\"tx_packets\":3,\"tx_bytes\":4,\"drops\":{\"tx_short\":5,"
		"\"tx_header\":6,\"tx_too_big\":7,\"tx_backend\":8,\"rx_too_big\":9,\"rx_bad_buffer\":10,"
		"\"rx_backend\":11}}";
	uint64_t w[VIRTIO_STATS_MAX];
	char buf[400];

	memset(w, 0xee, sizeof(w));
	vnet_stats_to_words(&st, w);
	for (unsigned i = 0; i < VNET_STATS_WORDS; i++)
		CHECK_EQ(w[i], i + 1);
	CHECK_EQ(w[VNET_STATS_WORDS], 0xeeeeeeeeeeeeeeeeull);  /* nothing past its words */
	vnet_stats_from_words(w, &back);
	CHECK(!memcmp(&st, &back, sizeof(st)));
	CHECK(!strcmp(net_virtio_ops.stats_key, "net"));
	CHECK_EQ(net_virtio_ops.stats_json(w, buf, sizeof(buf)), (int)strlen(want));
	CHECK(!strcmp(buf, want));
	CHECK_EQ(net_virtio_ops.stats_json(w, buf, 20), -ENOSPC);
}

/* ---- the device (vmm/devices/virtio_net.c): options, open, serve ops ---- */

static int net_parse(struct net_opts *o, const char *opt, const char *val, char *err)
{
	for (const struct dev_option *d = virtio_net_device.options; d->name; d++)
		if (!strcmp(d->name, opt) || (d->alias && !strcmp(d->alias, opt)))
			return d->parse(o, opt, val, err, 200);
	return 1;
}

static void net_opts_init(struct net_opts *o)
{
	memset(o, 0, sizeof(*o));
	virtio_net_device.cfg_init(o);
}

/* --net groups add devices in order; the flat crosvm options go to the
 * first; bad keys, values and a fifth device are one-line errors. */
static void device_options(void)
{
	struct net_opts o;
	char err[200] = "";

	net_opts_init(&o);
	CHECK_EQ(net_parse(&o, "--host_ip", "10.0.0.1", err), 0);
	CHECK_EQ(o.ndev, 1);
	CHECK_EQ(net_parse(&o, "--net", "tap=b1,mac=52:54:00:00:00:07,host-ip=10.1.0.1,netmask=24", err), 0);
	CHECK_EQ(net_parse(&o, "--netmask", "30", err), 0);
	CHECK_EQ(net_parse(&o, "--net", "auto", err), 0);
	CHECK_EQ(o.ndev, 3);
	CHECK_EQ(o.dev[0].host_ip, inet_addr("10.0.0.1"));
	CHECK_EQ(o.dev[0].netmask, inet_addr("255.255.255.252"));
	CHECK(!strcmp(o.dev[1].tap, "b1"));
	CHECK(o.dev[1].mac_set && o.dev[1].mac[5] == 7);
	CHECK_EQ(o.dev[1].netmask, inet_addr("255.255.255.0"));
	CHECK_EQ(o.dev[1].index, 1);
	CHECK_EQ(o.dev[2].host_ip, 0);
	CHECK_EQ(net_parse(&o, "--net", "tap-fd=5", err), 0);
	CHECK_EQ(o.dev[3].tap_fd, 5);
	CHECK_EQ(net_parse(&o, "--net", "auto", err), -EINVAL);
	CHECK(!strcmp(err, "--net auto: too many network devices (max 4)"));
	net_opts_init(&o);
	CHECK_EQ(net_parse(&o, "--net", "tap=x,speed=9", err), -EINVAL);
	CHECK(!strcmp(err, "--net tap=x,speed=9: unknown key 'speed' (tap, tap-fd, host-ip, netmask, guest-ip, mac)"));
	CHECK_EQ(net_parse(&o, "--net", "x", err), -EINVAL);
	CHECK(!strcmp(err, "--net x: 'x' is not KEY=VALUE"));
	CHECK_EQ(net_parse(&o, "--net", "netmask=255.0.255.0", err), -EINVAL);
	CHECK(strstr(err, "--net netmask=255.0.255.0: --netmask 255.0.255.0: not a netmask") == err);
	CHECK_EQ(net_parse(&o, "--mac", "01:00:00:00:00:01", err), -EINVAL);
	CHECK(strstr(err, "--mac 01:00:00:00:00:01: not a unicast MAC") == err);
	CHECK(!strchr(err, '\n'));
}

static struct fake_ring dr;
static struct virtio_signal dsig;
static struct virtio_dev_info dinfo;

/* open() as the device host runs it; the host's copy of the config
 * space into the signal included. */
static int dev_open(struct net_opts *o, unsigned index, void **dev)
{
	struct dev_env env = { .gm = &dr.gm };
	int rc;

	memset(&dsig, 0, sizeof(dsig));
	dsig.irqfd = -1;
	memset(&dinfo, 0, sizeof(dinfo));
	dinfo.poll_fd = dinfo.stream_fd = -1;
	rc = net_virtio_ops.open(dev, o, index, &env, &dsig, &dinfo);
	memcpy(dsig.config, dinfo.config, sizeof(dsig.config));
	return rc;
}

static void ifflags(const char *name, short set)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	CHECK_EQ(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags = (short)((ifr.ifr_flags & ~IFF_UP) | set);
	CHECK_EQ(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
}

static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* No IPv6 chatter (router solicitations, MLD) on the test's TAPs. */
static void no_ipv6(void)
{
	int fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		CHECK_EQ(write(fd, "1", 1), 1);
		close(fd);
	}
}

/* open(): the TAP gets the host address and is up, the guest gets the
 * next address on the command line, the config space has the MAC and
 * LINK_UP, the features the offloads. */
static void device_open(void)
{
	struct net_opts o;
	char err[200];
	void *dev = NULL;
	struct ifreq ifr = { 0 };
	int s;

	fr_init(&dr, QS);
	net_opts_init(&o);
	CHECK_EQ(net_parse(&o, "--host-ip", "10.9.0.1", err), 0);
	CHECK_EQ(net_parse(&o, "--netmask", "24", err), 0);
	CHECK_EQ(net_parse(&o, "--tap", "vt0", err), 0);
	CHECK_EQ(net_parse(&o, "--mac", "52:54:00:aa:bb:cc", err), 0);
	CHECK_EQ(dev_open(&o, 0, &dev), 0);
	CHECK(!strcmp(dinfo.name, "virtio-net vt0"));
	CHECK(!strcmp(dinfo.cmdline, "ip=10.9.0.2::10.9.0.1:255.255.255.0:::off"));
	CHECK_EQ(dinfo.config_len, 8);
	CHECK(!memcmp(dinfo.config, "\x52\x54\x00\xaa\xbb\xcc\x01\x00", 8));
	CHECK(dinfo.features & VIRTIO_BIT(VIRTIO_NET_F_STATUS));
	CHECK(dinfo.features & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4));
	CHECK(dinfo.features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	CHECK(dinfo.poll_fd >= 0);
	CHECK(!readable(dinfo.poll_fd, 0));
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "vt0");
	CHECK_EQ(ioctl(s, SIOCGIFADDR, &ifr), 0);
	CHECK_EQ(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr, inet_addr("10.9.0.1"));
	close(s);
	net_virtio_ops.close(dev);
	/* The TAP vmm created goes with its fd. */
	CHECK_EQ(if_nametoindex("vt0"), 0);
	fr_free(&dr);
}

/* A bad combination in any device is the user's error (exit 2), found
 * before the first device's TAP exists. */
static void device_open_bad_input(void)
{
	struct net_opts o;
	char err[200];
	void *dev = NULL;

	fr_init(&dr, QS);
	net_opts_init(&o);
	CHECK_EQ(net_parse(&o, "--net", "tap=ok0", err), 0);
	CHECK_EQ(net_parse(&o, "--net", "tap=bad0,host-ip=10.0.0.1", err), 0);
	int rc = dev_open(&o, 0, &dev);
	CHECK(dev_error_is_input(rc));
	CHECK_EQ(dev_error_errno(rc), -EINVAL);
	CHECK(dev == NULL);
	CHECK_EQ(if_nametoindex("ok0"), 0);
	net_opts_init(&o);
	CHECK_EQ(net_parse(&o, "--tap-fd", "77", err), 0);
	rc = dev_open(&o, 0, &dev);
	CHECK(dev_error_is_input(rc));
	CHECK_EQ(dev_error_errno(rc), -EBADF);
	fr_free(&dr);
}

/* `ip link set vt0 down/up` on the host: STATUS follows, with a
 * configuration change interrupt and a new ConfigGeneration each time. */
static void device_link_down_up(void)
{
	struct net_opts o;
	char err[200];
	void *dev = NULL;

	fr_init(&dr, QS);
	net_opts_init(&o);
	CHECK_EQ(net_parse(&o, "--net", "tap=vt1,host-ip=10.9.1.1,netmask=24", err), 0);
	CHECK_EQ(dev_open(&o, 0, &dev), 0);
	CHECK_EQ(dsig.config[NET_CFG_STATUS], VIRTIO_NET_S_LINK_UP);
	/* The address/up notifications of open() itself report no change. */
	for (int i = 0; i < 5 && readable(dinfo.poll_fd, 100); i++)
		net_virtio_ops.poll(dev);
	CHECK_EQ(dsig.config_gen, 0);
	CHECK_EQ(dsig.isr, 0);
	ifflags("vt1", 0);
	CHECK(readable(dinfo.poll_fd, 2000));
	net_virtio_ops.poll(dev);
	CHECK_EQ(dsig.config[NET_CFG_STATUS], 0);
	CHECK_EQ(dsig.config_gen, 1);
	CHECK_EQ(dsig.isr, VIRTIO_ISR_CONFIG);
	dsig.isr = 0;
	ifflags("vt1", IFF_UP);
	for (int i = 0; i < 5 && dsig.config_gen < 2 && readable(dinfo.poll_fd, 2000); i++)
		net_virtio_ops.poll(dev);
	CHECK_EQ(dsig.config[NET_CFG_STATUS], VIRTIO_NET_S_LINK_UP);
	CHECK_EQ(dsig.config_gen, 2);
	CHECK_EQ(dsig.isr, VIRTIO_ISR_CONFIG);
	net_virtio_ops.close(dev);
	fr_free(&dr);
}

/* Post one receive buffer (chain head i, 2 KiB at FR_DATA + i * 4 KiB). */
static void dev_rx_buf(uint16_t i)
{
	fr_desc(&dr, i, FR_DATA + 0x1000u * i, 2048, VIRTQ_DESC_F_WRITE, 0);
	fr_avail(&dr, i);
}

/* The host side talks to a guest without buffers: poll_fd stays quiet
 * (the TAP is not watched, its queue holds the frames); buffers arriving
 * take the waiting frame at once, and with buffers left the next frame
 * wakes poll_fd and lands through the poll op. */
static void device_rx_backpressure(void)
{
	struct net_opts o;
	char err[200];
	void *dev = NULL;
	struct virtq_config q[2];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	int s;

	no_ipv6();
	fr_init(&dr, QS);
	net_opts_init(&o);
	CHECK_EQ(net_parse(&o, "--net", "tap=vt2,host-ip=10.9.2.1,netmask=24", err), 0);
	CHECK_EQ(dev_open(&o, 0, &dev), 0);
	while (readable(dinfo.poll_fd, 100))
		net_virtio_ops.poll(dev);
	q[VNET_RXQ] = fr_config(&dr);
	q[VNET_TXQ] = (struct virtq_config){ .size = QS, .ready = true, .desc = TXB,
					     .avail = TXB + 0x1000, .used = TXB + 0x2000 };
	CHECK_EQ(net_virtio_ops.activate(dev, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
					  VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), q, 2), 0);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	to.sin_addr.s_addr = inet_addr("10.9.2.2");
	CHECK_EQ(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);  /* an ARP request */
	CHECK(!readable(dinfo.poll_fd, 300));
	CHECK_EQ(fr_used_idx(&dr), 0);
	dev_rx_buf(0);
	dev_rx_buf(1);
	net_virtio_ops.queue_notify(dev, VNET_RXQ);
	CHECK_EQ(fr_used_idx(&dr), 1);
	CHECK(!memcmp(dr.mem + FR_DATA + VNET_HDR_LEN, "\xff\xff\xff\xff\xff\xff", 6));
	CHECK_EQ(dr.mem[FR_DATA + VNET_HDR_LEN + 12], 0x08);
	CHECK_EQ(dr.mem[FR_DATA + VNET_HDR_LEN + 13], 0x06);
	to.sin_addr.s_addr = inet_addr("10.9.2.3");
	CHECK_EQ(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
	CHECK(readable(dinfo.poll_fd, 2000));
	net_virtio_ops.poll(dev);
	CHECK_EQ(fr_used_idx(&dr), 2);
	CHECK(!memcmp(dr.mem + FR_DATA + 0x1000 + VNET_HDR_LEN + 14 + 24, "\x0a\x09\x02\x03", 4));
	CHECK_EQ(net_vnet(dev)->st.rx_packets, 2);
	/* Published after each serve op, where the VMM reads them. */
	{
		struct vnet_stats pub;

		vnet_stats_from_words(dsig.stats, &pub);
		CHECK_EQ(pub.rx_packets, 2);
		CHECK(pub.rx_bytes >= 2 * 42);  /* two ARP requests (42 bytes each, header not counted) */
		CHECK_EQ(pub.rx_bytes, net_vnet(dev)->st.rx_bytes);
	}
	/* Ring empty again: quiet, whatever the host sends. */
	CHECK_EQ(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
	CHECK(!readable(dinfo.poll_fd, 300));
	net_virtio_ops.reset(dev);
	close(s);
	net_virtio_ops.close(dev);
	fr_free(&dr);
}

/* `ip link del` of the TAP while the device holds it: rtnetlink
 * RTM_DELLINK, acknowledged. */
static void del_link(const char *name)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = { .nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_DELLINK,
			  .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK },
		  .ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)if_nametoindex(name) } };
	char ack[256];
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	CHECK(req.ifi.ifi_index > 0);
	CHECK_EQ(send(s, &req, sizeof(req), 0), (ssize_t)sizeof(req));
	CHECK(recv(s, ack, sizeof(ack), 0) > 0);
	close(s);
}

/* The TAP's interface deleted under the device: its fd reports EPOLLERR
 * for good; the device drops it from its set (no busy loop on poll_fd)
 * and reports the link down. */
static void device_tap_deleted(void)
{
	struct net_opts o;
	char err[200];
	void *dev = NULL;
	struct virtq_config q[2];

	fr_init(&dr, QS);
	net_opts_init(&o);
	CHECK_EQ(net_parse(&o, "--net", "tap=vt3,host-ip=10.9.3.1,netmask=24", err), 0);
	CHECK_EQ(dev_open(&o, 0, &dev), 0);
	q[VNET_RXQ] = fr_config(&dr);
	q[VNET_TXQ] = (struct virtq_config){ .size = QS, .ready = true, .desc = TXB,
					     .avail = TXB + 0x1000, .used = TXB + 0x2000 };
	CHECK_EQ(net_virtio_ops.activate(dev, VIRTIO_BIT(VIRTIO_F_VERSION_1), q, 2), 0);
	dev_rx_buf(0);
	net_virtio_ops.queue_notify(dev, VNET_RXQ);
	while (readable(dinfo.poll_fd, 100))
		net_virtio_ops.poll(dev);
	del_link("vt3");
	for (int i = 0; i < 10 && readable(dinfo.poll_fd, 1000); i++)
		net_virtio_ops.poll(dev);
	CHECK(!readable(dinfo.poll_fd, 300));
	CHECK_EQ(dsig.config[NET_CFG_STATUS], 0);
	CHECK(net_vnet(dev)->st.rx_backend_err < 5);
	net_virtio_ops.queue_notify(dev, VNET_RXQ);
	CHECK(!readable(dinfo.poll_fd, 100));
	net_virtio_ops.close(dev);
	fr_free(&dr);
}

/* --tap-fd: the manager's fd is checked, then moved to a close-on-exec
 * number open() created (what the device host keeps for a jailed device)
 * and the original closed. */
static void device_open_tap_fd(void)
{
	struct net_opts o;
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	char err[200], num[16];
	void *dev = NULL;
	int fd = open("/dev/net/tun", O_RDWR);

	fr_init(&dr, QS);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "mgr0");
	CHECK(fd >= 0);
	CHECK_EQ(ioctl(fd, TUNSETIFF, &ifr), 0);
	snprintf(num, sizeof(num), "%d", fd);
	net_opts_init(&o);
	CHECK_EQ(net_parse(&o, "--tap-fd", num, err), 0);
	CHECK_EQ(dev_open(&o, 0, &dev), 0);
	CHECK(!strcmp(dinfo.name, "virtio-net mgr0"));
	/* The number is closed, or reused by another of open()'s fds. */
	memset(&ifr, 0, sizeof(ifr));
	CHECK(fcntl(fd, F_GETFD) < 0 || ioctl(fd, TUNGETIFF, &ifr) < 0);
	CHECK(net_vnet(dev)->fd != fd);
	CHECK(fcntl(net_vnet(dev)->fd, F_GETFD) & FD_CLOEXEC);
	CHECK(!strcmp(dinfo.cmdline, ""));  /* no address given: no ip= */
	net_virtio_ops.close(dev);
	fr_free(&dr);
}

NS(device_open)
NS(device_open_bad_input)
NS(device_link_down_up)
NS(device_rx_backpressure)
NS(device_tap_deleted)
NS(device_open_tap_fd)

int main(void)
{
	t_suite = "virtio_net";
	log_level = -1;
	RUN(config_space);
	RUN(tx_sends_checked_header_and_frame);
	RUN(tx_drops_hostile_requests);
	RUN(tx_backend_error_counted);
	RUN(rx_mergeable_spans_buffers);
	RUN(rx_backpressure_never_reads_ahead);
	RUN(rx_without_mrg_drops_oversize);
	RUN(rx_hostile_buffers);
	RUN(rx_straight_into_buffers);
	RUN(rx_cover_follows_frames);
	RUN(rx_truncated_frame_dropped);
	RUN(rx_bad_buffer_among_taken);
	RUN(budgets_and_requeue);
	RUN(rx_chain_budget);
	RUN(rx_frame_buffers_used_together);
	RUN(rx_event_driven_model);
	RUN(malformed_ring_needs_reset);
	RUN(stats_json);
	RUN(stats_words_render);
	RUN(device_options);
	RUN(ns_device_open);
	RUN(ns_device_open_bad_input);
	RUN(ns_device_link_down_up);
	RUN(ns_device_rx_backpressure);
	RUN(ns_device_tap_deleted);
	RUN(ns_device_open_tap_fd);
	return t_done();
}
