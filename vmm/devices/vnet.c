#include "vmm/devices/vnet.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vmm/devices/tap.h"

void vnet_init(struct vnet *n, const struct gm *gm, int fd, bool is_tap, const uint8_t mac[6],
	       struct virtio_signal *sig)
{
	memset(n, 0, offsetof(struct vnet, chain));
	n->gm = gm;
	n->fd = fd;
	n->tap = is_tap;
	n->sig = sig;
	memcpy(n->mac, mac, 6);
	n->status = VIRTIO_NET_S_LINK_UP;
	n->tx_max = VNET_FRAME_MAX;
}

uint64_t vnet_features(const struct vnet *n)
{
	static const unsigned bits[] = {
		VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_MAC, VIRTIO_NET_F_GUEST_TSO4,
		VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_ECN, VIRTIO_NET_F_HOST_TSO4,
		VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_HOST_ECN, VIRTIO_NET_F_MRG_RXBUF,
		VIRTIO_NET_F_STATUS, VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX,
		VIRTIO_F_VERSION_1,
	};
	uint64_t f = 0;

	for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		f |= VIRTIO_BIT(bits[i]);
	return f;
}

void vnet_config_read(const struct vnet *n, uint32_t off, uint8_t *data, uint32_t len)
{
	/* §5.1.4: mac[6], then status (le16). */
	uint8_t cfg[8];

	memcpy(cfg, n->mac, 6);
	cfg[6] = (uint8_t)n->status;
	cfg[7] = (uint8_t)(n->status >> 8);
	for (uint32_t i = 0; i < len; i++)
		data[i] = off < sizeof(cfg) && i < sizeof(cfg) - off ? cfg[off + i] : 0;
}

static void vnet_rx_clear(struct vnet *n)
{
	n->rx_len = n->rx_off = 0;
	n->rx_nheld = 0;
	n->rx_hb[0] = n->rx_hb[1] = n->rx_hb[2] = NULL;
}

int vnet_activate(struct vnet *n, uint64_t features, const struct virtq_config *q, unsigned nq,
		  uint16_t queue_max)
{
	bool ind = features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	bool ev = features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);

	n->active = false;
	vnet_rx_clear(n);
	n->rx_want = sizeof(n->rx_buf);
	n->features = features;
	if (nq < 2 || !q[VNET_RXQ].ready || !q[VNET_TXQ].ready)
		return 0;
	if (virtq_setup(&n->rxq, n->gm, "virtio-net receiveq", &q[VNET_RXQ], queue_max, ind) < 0 ||
	    virtq_setup(&n->txq, n->gm, "virtio-net transmitq", &q[VNET_TXQ], queue_max, ind) < 0)
		return -EINVAL;
	virtq_set_event_idx(&n->rxq, ev);
	virtq_set_event_idx(&n->txq, ev);
	/* §5.1.6.2: with HOST_TSO* the driver may send GSO frames up to
	 * 64 KiB; otherwise one MTU-sized frame. */
	n->tx_max = features & (VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6)) ?
			    VNET_GSO_FRAME_MAX : VNET_FRAME_MAX;
	/* What the TAP may hand us must match what the guest accepts. */
	if (n->tap && tap_set_offload(n->fd, features) < 0)
		return -EINVAL;
	n->active = true;
	return 0;
}

void vnet_reset(struct vnet *n)
{
	n->active = false;
	n->features = 0;
	vnet_rx_clear(n);
	memset(&n->rxq, 0, sizeof(n->rxq));
	memset(&n->txq, 0, sizeof(n->txq));
}

static void vnet_broken(struct vnet *n)
{
	n->active = false;
	virtio_signal_needs_reset(n->sig);
}

int vnet_tx_check(const struct vnet *n, const struct vnet_hdr *h, uint64_t frame_len)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	bool ecn = h->gso_type & VIRTIO_NET_HDR_GSO_ECN;
	uint64_t f = n->features;

	if (frame_len > n->tx_max)
		return -EMSGSIZE;
	/* §5.1.6.2: the driver sets only NEEDS_CSUM on transmit, and only
	 * with VIRTIO_NET_F_CSUM; the checksum field lies inside the frame. */
	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return -EINVAL;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!(f & VIRTIO_BIT(VIRTIO_NET_F_CSUM)) ||
		    (uint32_t)h->csum_start + h->csum_offset + 2 > frame_len)
			return -EINVAL;
	}
	if (gso == VIRTIO_NET_HDR_GSO_NONE)
		return ecn ? -EINVAL : 0;
	/* GSO kinds only as negotiated (HOST_UFO is not offered), always
	 * with a partial checksum, a segment size and headers inside the
	 * frame. */
	if (gso == VIRTIO_NET_HDR_GSO_TCPV4 && !(f & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4)))
		return -EINVAL;
	if (gso == VIRTIO_NET_HDR_GSO_TCPV6 && !(f & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6)))
		return -EINVAL;
	if (gso != VIRTIO_NET_HDR_GSO_TCPV4 && gso != VIRTIO_NET_HDR_GSO_TCPV6)
		return -EINVAL;
	if (ecn && !(f & VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN)))
		return -EINVAL;
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || !h->gso_size || h->hdr_len > frame_len)
		return -EINVAL;
	return 0;
}

static void vnet_hdr_decode(const uint8_t *b, struct vnet_hdr *h)
{
	uint16_t v[5];

	memcpy(v, b + 2, sizeof(v));
	h->flags = b[0];
	h->gso_type = b[1];
	h->hdr_len = le16toh(v[0]);
	h->gso_size = le16toh(v[1]);
	h->csum_start = le16toh(v[2]);
	h->csum_offset = le16toh(v[3]);
	h->num_buffers = le16toh(v[4]);
}

/* Send one popped TX chain; counts what happened. */
static void vnet_tx_one(struct vnet *n, const struct virtq_chain *c)
{
	struct iovec iov[VIRTQ_MAX_SIZE + 1];
	uint8_t raw[VNET_HDR_LEN];
	struct vnet_hdr h;
	uint64_t frame_len;
	int cnt, r;

	if (c->out_len < VNET_HDR_LEN + VNET_ETH_HLEN) {
		n->st.tx_drop_short++;
		return;
	}
	/* The checked copy is what the backend gets: the guest may rewrite
	 * its buffer after the check. */
	virtq_chain_read(c, 0, raw, sizeof(raw));
	raw[10] = raw[11] = 0;  /* num_buffers: unused on transmit */
	vnet_hdr_decode(raw, &h);
	frame_len = c->out_len - VNET_HDR_LEN;
	r = vnet_tx_check(n, &h, frame_len);
	if (r == -EMSGSIZE) {
		n->st.tx_drop_big++;
		return;
	}
	if (r < 0) {
		n->st.tx_drop_hdr++;
		return;
	}
	iov[0] = (struct iovec){ .iov_base = raw, .iov_len = sizeof(raw) };
	cnt = virtq_chain_iov(c, false, VNET_HDR_LEN, frame_len, iov + 1, VIRTQ_MAX_SIZE);
	if (cnt < 0) {
		n->st.tx_drop_short++;
		return;
	}
	do
		r = (int)writev(n->fd, iov, cnt + 1);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		n->st.tx_drop_backend++;
		return;
	}
	n->st.tx_packets++;
	n->st.tx_bytes += frame_len;
}

/* Serve the transmitq: at most one ring's worth of chains. */
static void vnet_tx(struct vnet *n)
{
	for (unsigned budget = n->txq.size;; budget--) {
		int r;

		if (budget == 0) {
			/* Re-arm before leaving (§2.7.10), then come back. */
			if (virtq_arm_notify(&n->txq))
				virtio_signal_requeue(n->sig, VNET_TXQ);
			break;
		}
		r = virtq_pop(&n->txq, &n->chain);
		if (r == 0) {
			if (virtq_arm_notify(&n->txq))
				continue;
			break;
		}
		if (r < 0) {
			vnet_broken(n);
			return;
		}
		vnet_tx_one(n, &n->chain);
		virtq_push(&n->txq, n->chain.head, 0);
	}
}

/* Remember where header bytes 0 (flags) and 10..11 (num_buffers) of the
 * first chain's writable part are (the header may be split over tiny
 * segments), to finish the header once the frame is in: the chain count
 * is known only then. The chain holds at least VNET_HDR_LEN bytes. */
static void vnet_rx_note_hdr(struct vnet *n, const struct virtq_chain *c)
{
	static const uint8_t at[3] = { 0, 10, 11 };
	uint64_t off = 0;
	unsigned k = 0;

	for (unsigned s = c->nout; s < c->nout + c->nin && k < 3; s++) {
		while (k < 3 && at[k] < off + c->seg[s].len) {
			n->rx_hb[k] = c->seg[s].host + (at[k] - off);
			k++;
		}
		off += c->seg[s].len;
	}
}

/* Give back every held chain with nothing written: the frame is dropped
 * (a Linux driver counts a length error and reposts the buffer). */
static void vnet_rx_drop(struct vnet *n)
{
	for (unsigned i = 0; i < n->rx_nheld; i++)
		virtq_fill(&n->rxq, (uint16_t)i, n->rx_held[i], 0);
	virtq_flush(&n->rxq, (uint16_t)n->rx_nheld);
	n->st.rx_drop_big++;
	vnet_rx_clear(n);
}

/* Place the held frame into guest buffers. 1 when done (delivered or
 * dropped), 0 when the guest has no more buffers (the frame stays held),
 * -EIO when the ring is malformed. */
static int vnet_rx_place(struct vnet *n)
{
	bool mrg = n->features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	uint16_t nb;

	while (n->rx_off < n->rx_len) {
		struct virtq_chain *c = &n->chain;
		uint32_t len;
		int r;

		/* Without MRG_RXBUF one chain takes the whole frame (§5.1.6.3);
		 * with it, a frame the whole ring cannot take is dropped rather
		 * than waiting for buffers that cannot come. */
		if ((!mrg && n->rx_nheld == 1) || n->rx_nheld == n->rxq.size) {
			vnet_rx_drop(n);
			return 1;
		}
		/* The guest may refill as fast as we pop (tiny or bad
		 * buffers): one ring's worth of chains per call, then later. */
		if (!n->rx_chains_left) {
			virtio_signal_requeue(n->sig, VNET_RXQ);
			return 0;
		}
		n->rx_chains_left--;
		r = virtq_pop(&n->rxq, c);
		if (r < 0)
			return -EIO;
		if (r == 0) {
			if (virtq_arm_notify(&n->rxq))
				continue;
			return 0;
		}
		/* §5.1.6.3.1: each buffer holds at least the header. */
		if (c->in_len < VNET_HDR_LEN) {
			n->st.rx_bad_buf++;
			virtq_push(&n->rxq, c->head, 0);
			continue;
		}
		len = n->rx_len - n->rx_off;
		if (len > c->in_len)
			len = (uint32_t)c->in_len;
		if (!mrg && len < n->rx_len) {
			n->rx_held[n->rx_nheld++] = c->head;
			vnet_rx_drop(n);
			return 1;
		}
		if (n->rx_nheld == 0)
			vnet_rx_note_hdr(n, c);
		virtq_chain_write(c, 0, n->rx_buf + n->rx_off, len);
		n->rx_held[n->rx_nheld] = c->head;
		n->rx_held_len[n->rx_nheld++] = len;
		n->rx_off += len;
	}
	/* §5.1.6.4.1: DATA_VALID and partial checksums only when the guest
	 * accepted GUEST_CSUM. §5.1.6.4: num_buffers = chains used (1
	 * without MRG_RXBUF). Written last, in guest memory: the frame may
	 * never have passed through rx_buf. */
	if (!(n->features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)))
		*n->rx_hb[0] = 0;
	nb = (uint16_t)n->rx_nheld;
	*n->rx_hb[1] = (uint8_t)nb;
	*n->rx_hb[2] = (uint8_t)(nb >> 8);
	/* §5.1.6.4.2: the driver must see all num_buffers chains used at
	 * once. Linux reads num_buffers and takes the next used entries right
	 * away; one it cannot find yet drops the frame ("N buffers out of M
	 * missing") and the rest are later parsed as frames of their own,
	 * payload as header. So one used->idx store for the whole frame. */
	for (unsigned i = 0; i < n->rx_nheld; i++)
		virtq_fill(&n->rxq, (uint16_t)i, n->rx_held[i], n->rx_held_len[i]);
	virtq_flush(&n->rxq, (uint16_t)n->rx_nheld);
	n->st.rx_packets++;
	n->st.rx_bytes += n->rx_len - VNET_HDR_LEN;
	vnet_rx_clear(n);
	return 1;
}

/* Give back the last k chains taken for the frame being read: they were
 * never used, so the device takes them again for the next frame (§2.6:
 * buffers need not be used in the order they were made available). */
static void vnet_rx_unpop(struct vnet *n, unsigned k)
{
	virtq_unpop(&n->rxq, (uint16_t)k);
	n->rx_nheld -= k;
	n->rx_chains_left += k;
}

/* One frame from the backend into cnt entries of rx_iov. A TAP returns
 * the frame's whole length even when it cut the frame to the buffers
 * (tun_put_user returns skb->len + vlan + header); a socket backend
 * (tests) does the same with MSG_TRUNC. */
static ssize_t vnet_backend_read(struct vnet *n, int cnt)
{
	ssize_t got;

	do {
		if (n->tap) {
			got = readv(n->fd, n->rx_iov, cnt);
		} else {
			struct msghdr m = { .msg_iov = n->rx_iov, .msg_iovlen = (size_t)cnt };

			got = recvmsg(n->fd, &m, MSG_TRUNC);
		}
	} while (got < 0 && errno == EINTR);
	return got;
}

/* Read the next frame straight into the guest's receive buffers (no
 * bounce copy): take chains until they cover rx_want bytes (with
 * MRG_RXBUF any number of chains; without it one, which must hold the
 * whole frame, §5.1.6.3.1), read once into all of them, then give back
 * the chains the frame did not reach. Whatever the chains cannot take
 * lands in rx_buf at the same offsets, up to the largest frame the
 * backend can deliver, and vnet_rx_place copies it as more buffers come
 * (the held-frame path). So a frame is never refused for lack of posted
 * buffers: reading only once a largest frame's worth is posted would
 * stall a guest posting few large buffers for small frames.
 *
 * rx_want starts at the largest frame and follows the frames read: the
 * larger of the last frame and 7/8 of the previous cover. Taking and
 * giving back a chain costs about 40 ns on the host (a Linux guest's
 * mergeable buffers are 1.5-4 KiB: 17-43 chains for a largest frame), so
 * covering 64 KiB for every 54-byte ACK doubled the per-frame cost,
 * while a stream of large (GSO) frames keeps getting whole frames' worth
 * of chains. A frame larger than the cover costs one copy of the excess.
 * 1: a frame was read (rx_len set, or dropped and counted), 0: nothing
 * more to read, -EIO: the ring is malformed. */
static int vnet_rx_read(struct vnet *n)
{
	bool mrg = n->features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	struct virtq_chain *c = &n->chain;
	uint32_t room = 0, left;
	unsigned used;
	int cnt = 0;
	ssize_t got;

	while (room < n->rx_want && (mrg || !n->rx_nheld) && n->rx_chains_left) {
		uint32_t take = sizeof(n->rx_buf) - room;
		int k, r = virtq_pop(&n->rxq, c);

		if (r < 0)
			return -EIO;
		if (r == 0)
			break;
		n->rx_chains_left--;
		if (c->in_len < VNET_HDR_LEN && !n->rx_nheld) {
			/* §5.1.6.3.1: each buffer holds at least the header. */
			n->st.rx_bad_buf++;
			virtq_push(&n->rxq, c->head, 0);
			continue;
		}
		if (take > c->in_len)
			take = (uint32_t)c->in_len;
		k = c->in_len < VNET_HDR_LEN ? -EINVAL :
			virtq_chain_iov(c, true, 0, take, n->rx_iov + cnt, VIRTQ_MAX_SIZE - cnt);
		if (k < 0) {
			/* A bad buffer after good ones cannot be pushed now:
			 * chains before it may still be given back, and
			 * virtq_unpop only rewinds. Nor a chain with more
			 * segments than rx_iov has left. Both wait for
			 * vnet_rx_place or the next frame. */
			virtq_unpop(&n->rxq, 1);
			n->rx_chains_left++;
			break;
		}
		if (!n->rx_nheld)
			vnet_rx_note_hdr(n, c);
		n->rx_held[n->rx_nheld] = c->head;
		n->rx_held_len[n->rx_nheld++] = take;
		room += take;
		cnt += k;
	}
	if (room < sizeof(n->rx_buf))
		n->rx_iov[cnt++] = (struct iovec){ .iov_base = n->rx_buf + room,
						   .iov_len = sizeof(n->rx_buf) - room };
	got = vnet_backend_read(n, cnt);
	if (got < 0) {
		if (errno != EAGAIN)
			n->st.rx_backend_err++;
		vnet_rx_unpop(n, n->rx_nheld);
		return 0;
	}
	if (got < VNET_HDR_LEN + VNET_ETH_HLEN) {
		/* Written into, never used: the driver may get them again. */
		n->st.rx_backend_err++;
		vnet_rx_unpop(n, n->rx_nheld);
		return 1;
	}
	if ((size_t)got > sizeof(n->rx_buf)) {
		/* Cut to our buffers: never placed, every chain returned
		 * with length 0. */
		vnet_rx_drop(n);
		return 1;
	}
	/* Keep the chains the frame reached, their lengths as written. */
	left = (uint32_t)got;
	for (used = 0; used < n->rx_nheld && left; used++) {
		if (n->rx_held_len[used] > left)
			n->rx_held_len[used] = left;
		left -= n->rx_held_len[used];
	}
	vnet_rx_unpop(n, n->rx_nheld - used);
	n->rx_want -= n->rx_want / 8;
	if (n->rx_want < (uint32_t)got)
		n->rx_want = (uint32_t)got;
	n->rx_len = (uint32_t)got;
	n->rx_off = (uint32_t)got - left;
	return 1;
}

/* Move frames from the backend to the receiveq: read only with a buffer
 * to put the frame in, at most VNET_RX_FRAMES reads per call. */
static void vnet_rx(struct vnet *n)
{
	n->rx_chains_left = n->rxq.size;
	for (unsigned reads = 0;;) {
		int r;

		if (!n->rx_len) {
			if (!virtq_has_avail(&n->rxq) && !virtq_arm_notify(&n->rxq))
				break;  /* no buffers: leave the frame in the TAP */
			if (reads == VNET_RX_FRAMES) {
				virtio_signal_requeue(n->sig, VNET_RXQ);
				break;
			}
			reads++;
			r = vnet_rx_read(n);
			if (r < 0) {
				vnet_broken(n);
				return;
			}
			if (r == 0)
				break;
			if (!n->rx_len)
				continue;  /* dropped, counted */
		}
		r = vnet_rx_place(n);
		if (r < 0) {
			vnet_broken(n);
			return;
		}
		if (r == 0)
			break;
	}
}

void vnet_queue_notify(struct vnet *n, unsigned q)
{
	if (!n->active)
		return;
	if (q == VNET_TXQ)
		vnet_tx(n);
	else if (q == VNET_RXQ)
		vnet_rx(n);
	if (n->active) {
		/* Both: virtq_should_signal also ends each queue's batch. */
		bool rx = virtq_should_signal(&n->rxq), tx = virtq_should_signal(&n->txq);

		if (rx || tx)
			virtio_signal_used(n->sig);
	}
}

void vnet_backend_ready(struct vnet *n)
{
	vnet_queue_notify(n, VNET_RXQ);
}

bool vnet_want_backend(const struct vnet *n)
{
	return n->active && !n->rx_len && virtq_has_avail(&n->rxq);
}

int vnet_stats_json(const struct vnet_stats *s, char *buf, size_t len)
{
	int n = snprintf(buf, len,
			 "{\"rx_packets\":%llu,\"rx_bytes\":%llu,\"tx_packets\":%llu,\"tx_bytes\":%llu,"
			 "\"drops\":{\"tx_short\":%llu,\"tx_header\":%llu,\"tx_too_big\":%llu,"
			 "\"tx_backend\":%llu,\"rx_too_big\":%llu,\"rx_bad_buffer\":%llu,\"rx_backend\":%llu}}",
			 (unsigned long long)s->rx_packets, (unsigned long long)s->rx_bytes,
			 (unsigned long long)s->tx_packets, (unsigned long long)s->tx_bytes,
			 (unsigned long long)s->tx_drop_short, (unsigned long long)s->tx_drop_hdr,
			 (unsigned long long)s->tx_drop_big, (unsigned long long)s->tx_drop_backend,
			 (unsigned long long)s->rx_drop_big, (unsigned long long)s->rx_bad_buf,
			 (unsigned long long)s->rx_backend_err);

	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

/* One table for both directions, so the word order cannot drift. */
static const size_t vnet_stats_off[VNET_STATS_WORDS] = {
	offsetof(struct vnet_stats, rx_packets),      offsetof(struct vnet_stats, rx_bytes),
	offsetof(struct vnet_stats, tx_packets),      offsetof(struct vnet_stats, tx_bytes),
	offsetof(struct vnet_stats, tx_drop_short),   offsetof(struct vnet_stats, tx_drop_hdr),
	offsetof(struct vnet_stats, tx_drop_big),     offsetof(struct vnet_stats, tx_drop_backend),
	offsetof(struct vnet_stats, rx_drop_big),     offsetof(struct vnet_stats, rx_bad_buf),
	offsetof(struct vnet_stats, rx_backend_err),
};
_Static_assert(sizeof(struct vnet_stats) == VNET_STATS_WORDS * sizeof(uint64_t), "a counter without a word");
_Static_assert(VNET_STATS_WORDS <= VIRTIO_STATS_MAX, "more counters than the signal page holds");

void vnet_stats_to_words(const struct vnet_stats *s, uint64_t w[VNET_STATS_WORDS])
{
	for (unsigned i = 0; i < VNET_STATS_WORDS; i++)
		memcpy(&w[i], (const char *)s + vnet_stats_off[i], sizeof(w[i]));
}

void vnet_stats_from_words(const uint64_t w[VNET_STATS_WORDS], struct vnet_stats *s)
{
	for (unsigned i = 0; i < VNET_STATS_WORDS; i++)
		memcpy((char *)s + vnet_stats_off[i], &w[i], sizeof(w[i]));
}
