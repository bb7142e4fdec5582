/* virtio-vsock device model (virtio 1.2 §5.10): stream sockets between the
 * guest and unix sockets on the host, with the connection state machine
 * and credit-based flow control of §5.10.6 done here instead of vhost.
 *
 * Flow control, both directions (§5.10.6.3):
 *  - host -> guest: we never read more from a host socket than the guest
 *    has credit for (buf_alloc - (tx_cnt - fwd_cnt) from its last header),
 *    and read straight into the guest's rx buffer; with no rx buffer posted
 *    we stop reading (the socket's own buffer holds the bytes) until the
 *    driver notifies the rx queue.
 *  - guest -> host: we advertise VSOCK_BUF_ALLOC, and fwd_cnt counts the
 *    bytes the host peer has read (written minus what still sits in the
 *    socket, SIOCOUTQ), as a real socket's receive window would: a slow host
 *    reader stops the guest instead of growing memory, and the whole window
 *    normally fits in the socket's own send buffer. What the socket does not
 *    take at once waits in a per-connection ring of VSOCK_BUF_ALLOC. A guest
 *    exceeding the credit we granted is reset.
 * Packets we must send (RST, RESPONSE, credit updates) wait for rx buffers
 * in bounded state: per-connection flags, plus a ring of RSTs for packets
 * that belong to no connection; when that ring fills we stop taking tx
 * packets until it drains (the guest is throttled, nothing is dropped). */
#include "vmm/devices/virtio_vsock.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/device.h"
#include "vmm/log.h"
#include "vmm/usock.h"
#include "vmm/virtq.h"

#define VSOCK_QUEUE_MAX 256
#define VSOCK_NUM_QUEUES 3
/* Pending RSTs for packets that match no connection. Past VSOCK_RST_STALL
 * queued we stop popping tx packets; the rest of the ring absorbs RSTs of
 * connections closed by host events meanwhile. */
#define VSOCK_RST_RING 2048
#define VSOCK_RST_STALL 1024
/* Tell the guest about freed buffer space once this much accumulated
 * (a guest out of credit always has at least buf_alloc unacknowledged, so
 * it is never left waiting). */
#define VSOCK_CREDIT_THRESH (VSOCK_BUF_ALLOC / 4)
/* "CONNECT 4294967295\n" is 19 bytes. */
#define VSOCK_LINE_MAX 24
#define VSOCK_TAG_LISTEN 0x100000000ull
#define VSOCK_TAG_STREAMS 0x400000000ull
#define VSOCK_TAG_TIMER 0x200000000ull
#define VSOCK_TAG_AGAIN 0x300000000ull
#define VSOCK_TIMER_MS 250
/* Bytes queued in a socket not yet read by its peer (linux/sockios.h). */
#ifndef SIOCOUTQ
#define SIOCOUTQ TIOCOUTQ
#endif

enum vsock_state {
	VSOCK_FREE = 0,
	VSOCK_LINE,        /* host client connected, CONNECT line not read yet */
	VSOCK_CONNECTING,  /* we asked the guest (REQUEST pending or sent) */
	VSOCK_ESTABLISHED,
};

/* Control packets owed to the guest for one connection. */
#define VSOCK_PEND_REQUEST 1
#define VSOCK_PEND_RESPONSE 2
#define VSOCK_PEND_CREDIT 4

struct vsock_conn {
	int fd;
	enum vsock_state state;
	uint32_t host_port, guest_port;
	bool inproc;        /* vsock_connect socketpair: no OK line */
	bool guest_knows;   /* REQUEST sent or received: a close owes an RST */
	bool readable;      /* host fd may have input (edge seen, no EAGAIN yet) */
	bool host_eof;      /* host sent EOF; SHUTDOWN(SEND) went to the guest */
	bool guest_no_send, guest_no_rcv;  /* guest's SHUTDOWN flags */
	bool host_wr_shut;  /* shutdown(SHUT_WR) done on the host fd */
	uint8_t pend;
	uint32_t armed;     /* epoll events currently requested */
	/* host -> guest accounting (the guest's receive side). */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	/* guest -> host: bytes the host socket took (wr_cnt), of those the
	 * bytes the host peer has read (fwd_cnt), and what we last told. */
	uint32_t wr_cnt, fwd_cnt, fwd_sent;
	uint64_t deadline_ms;  /* 0: none */
	uint8_t *obuf;         /* VSOCK_BUF_ALLOC ring, allocated on first use */
	uint32_t ohead, olen;
	uint16_t act;          /* position in the active list */
	uint8_t line_len;
	char line[VSOCK_LINE_MAX];
};

struct vsock_rst {
	uint32_t host_port, guest_port;
};

struct vsock_dev {
	/* Serialises the serve ops against direct callers (tests, the
	 * benchmark); under the device host they are serialised already. */
	pthread_mutex_t lock;
	struct virtio_signal *sig;
	const struct gm *gm;
	uint32_t cid;
	char *path;
	char *svc_dir;                   /* vmm's own endpoints (vsock_set_svc_dir) */
	int listen_fd, ep, timer_fd;
	int again_fd;                    /* eventfd in ep: budget spent, come back */
	unsigned tx_left, rx_left;       /* chains left in this kick's budgets */
	int streams_fd;                  /* our end of the guest-stream connector */
	bool timer_armed;
	bool active, broken, tx_stalled;
	struct virtq q[VSOCK_NUM_QUEUES];
	bool rx_have;                    /* rxc holds a popped, unused chain */
	struct virtq_chain rxc, txc;
	uint32_t next_port;
	unsigned nactive, rr;
	uint16_t active_list[VSOCK_MAX_CONNS];
	struct vsock_conn conns[VSOCK_MAX_CONNS];
	unsigned rst_head, rst_len;
	struct vsock_rst rst[VSOCK_RST_RING];
	struct iovec iov[VIRTQ_MAX_SIZE];
};

static uint64_t vsock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void vsock_hdr_put(uint8_t out[VSOCK_HDR_SIZE], const struct vsock_hdr *h)
{
	uint64_t q;
	uint32_t w;
	uint16_t s;

#define PUT(off, v, conv, var) do { var = conv(v); memcpy(out + (off), &var, sizeof(var)); } while (0)
	PUT(0, h->src_cid, htole64, q);
	PUT(8, h->dst_cid, htole64, q);
	PUT(16, h->src_port, htole32, w);
	PUT(20, h->dst_port, htole32, w);
	PUT(24, h->len, htole32, w);
	PUT(28, h->type, htole16, s);
	PUT(30, h->op, htole16, s);
	PUT(32, h->flags, htole32, w);
	PUT(36, h->buf_alloc, htole32, w);
	PUT(40, h->fwd_cnt, htole32, w);
#undef PUT
}

void vsock_hdr_get(struct vsock_hdr *h, const uint8_t in[VSOCK_HDR_SIZE])
{
	uint64_t q;
	uint32_t w;
	uint16_t s;

#define GET(off, f, conv, var) do { memcpy(&var, in + (off), sizeof(var)); h->f = conv(var); } while (0)
	GET(0, src_cid, le64toh, q);
	GET(8, dst_cid, le64toh, q);
	GET(16, src_port, le32toh, w);
	GET(20, dst_port, le32toh, w);
	GET(24, len, le32toh, w);
	GET(28, type, le16toh, s);
	GET(30, op, le16toh, s);
	GET(32, flags, le32toh, w);
	GET(36, buf_alloc, le32toh, w);
	GET(40, fwd_cnt, le32toh, w);
#undef GET
}

/* ---- connections ------------------------------------------------------ */

/* Input stays armed (edge-triggered: one wake-up per arrival, and the
 * readable flag remembers it until a read says EAGAIN, so toggling it would
 * only cost two syscalls per drain); output only while bytes wait in obuf
 * or in the socket unread (the host peer's reads wake us then, to return
 * credit), else every read by the host peer would wake us for nothing. */
static void vsock_conn_arm(struct vsock_dev *d, struct vsock_conn *c)
{
	uint32_t want = EPOLLET | EPOLLIN | EPOLLRDHUP | (c->olen || c->wr_cnt != c->fwd_cnt ? EPOLLOUT : 0);
	struct epoll_event ev = { .events = want, .data.u64 = (uint64_t)(c - d->conns) };

	if (want == c->armed)
		return;
	if (epoll_ctl(d->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->armed = want;
}

static void vsock_timer_arm(struct vsock_dev *d)
{
	struct itimerspec its = {
		.it_interval = { 0, VSOCK_TIMER_MS * 1000000L },
		.it_value = { 0, VSOCK_TIMER_MS * 1000000L },
	};

	if (d->timer_armed || timerfd_settime(d->timer_fd, 0, &its, NULL) < 0)
		return;
	d->timer_armed = true;
}

static struct vsock_conn *vsock_conn_new(struct vsock_dev *d, int fd, enum vsock_state st)
{
	struct epoll_event ev = { .events = EPOLLET | EPOLLIN | EPOLLRDHUP };
	struct vsock_conn *c = NULL;

	if (d->nactive >= VSOCK_MAX_CONNS)
		return NULL;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		if (d->conns[i].state == VSOCK_FREE) {
			c = &d->conns[i];
			break;
		}
	}
	if (!c)
		return NULL;
	ev.data.u64 = (uint64_t)(c - d->conns);
	if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return NULL;
	/* Let the host socket itself hold a whole window of guest bytes (a
	 * unix stream writer is limited by its own send buffer, by default a
	 * little under 256 KiB), so obuf, an extra copy, is needed only when
	 * the host reader is really behind. The kernel caps this at
	 * net.core.wmem_max; failing is harmless. Memory stays bounded by the
	 * credit window either way: the guest cannot send more. */
	{
		int sz = VSOCK_BUF_ALLOC;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->state = st;
	c->armed = ev.events;
	c->act = (uint16_t)d->nactive;
	d->active_list[d->nactive++] = (uint16_t)(c - d->conns);
	if (st != VSOCK_ESTABLISHED) {
		c->deadline_ms = vsock_now_ms() + VSOCK_CONNECT_TIMEOUT_MS;
		vsock_timer_arm(d);
	}
	return c;
}

static void vsock_rst_push(struct vsock_dev *d, uint32_t host_port, uint32_t guest_port)
{
	if (d->rst_len >= VSOCK_RST_RING) {
		log_guest("virtio-vsock: reset queue full, dropping RST for port %u", guest_port);
		return;
	}
	d->rst[(d->rst_head + d->rst_len) % VSOCK_RST_RING] = (struct vsock_rst){ host_port, guest_port };
	d->rst_len++;
}

/* Forget a connection; the guest gets an RST when it knows of it. */
static void vsock_conn_free(struct vsock_dev *d, struct vsock_conn *c, bool rst)
{
	unsigned last;

	if (rst && c->guest_knows)
		vsock_rst_push(d, c->host_port, c->guest_port);
	epoll_ctl(d->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->obuf);
	last = d->active_list[--d->nactive];
	d->active_list[c->act] = (uint16_t)last;
	d->conns[last].act = c->act;
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static struct vsock_conn *vsock_find(struct vsock_dev *d, uint32_t host_port, uint32_t guest_port)
{
	for (unsigned i = 0; i < d->nactive; i++) {
		struct vsock_conn *c = &d->conns[d->active_list[i]];
		if (c->host_port == host_port && c->guest_port == guest_port && c->state != VSOCK_LINE)
			return c;
	}
	return NULL;
}

/* A host port for a host-initiated connection, unused by any other. */
static uint32_t vsock_local_port(struct vsock_dev *d)
{
	for (;;) {
		uint32_t p = d->next_port++;
		bool used = false;

		if (d->next_port < VSOCK_LOCAL_PORT_BASE || d->next_port == UINT32_MAX)
			d->next_port = VSOCK_LOCAL_PORT_BASE;
		for (unsigned i = 0; i < d->nactive && !used; i++)
			used = d->conns[d->active_list[i]].host_port == p;
		if (!used)
			return p;
	}
}

static uint32_t vsock_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight > c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static void vsock_credit_note(struct vsock_conn *c, const struct vsock_hdr *h)
{
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
}

static void vsock_check_done(struct vsock_dev *d, struct vsock_conn *c);

/* Write what waits in obuf to the host socket until it would block.
 * 0, or -1 on a write error (the caller closes the connection). */
static int vsock_obuf_write(struct vsock_conn *c)
{
	while (c->olen) {
		uint32_t first = VSOCK_BUF_ALLOC - c->ohead;
		struct iovec iov[2] = {
			{ c->obuf + c->ohead, first < c->olen ? first : c->olen },
			{ c->obuf, first < c->olen ? c->olen - first : 0 },
		};
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = iov[1].iov_len ? 2 : 1 };
		ssize_t n = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			log_debug("virtio-vsock: port %u: host write: %s", c->guest_port, strerror(errno));
			return -1;
		}
		c->ohead = (uint32_t)((c->ohead + (uint32_t)n) % VSOCK_BUF_ALLOC);
		c->olen -= (uint32_t)n;
		c->wr_cnt += (uint32_t)n;
	}
	return 0;
}

/* Advance fwd_cnt to what the host peer has read: written minus what is
 * still queued. SIOCOUTQ counts the queued buffers' full size, which is
 * at least the bytes in them, so this never counts a byte too early; once
 * the peer has read everything it is exact. Without SIOCOUTQ, bytes count
 * as read when the socket took them. Queues a credit update when enough
 * accumulated since the last header we sent. */
static void vsock_consumed(struct vsock_conn *c)
{
	uint32_t written = c->wr_cnt - c->fwd_cnt;
	int q = 0;

	if (written && ioctl(c->fd, SIOCOUTQ, &q) == 0 && q > 0)
		written = (uint32_t)q < written ? written - (uint32_t)q : 0;
	c->fwd_cnt += written;
	if (c->fwd_cnt - c->fwd_sent >= VSOCK_CREDIT_THRESH)
		c->pend |= VSOCK_PEND_CREDIT;
}

/* The host socket has room again, or the peer read (EPOLLOUT). May free c. */
static void vsock_flush(struct vsock_dev *d, struct vsock_conn *c)
{
	if (vsock_obuf_write(c) < 0) {
		vsock_conn_free(d, c, true);
		return;
	}
	vsock_consumed(c);
	vsock_conn_arm(d, c);
	vsock_check_done(d, c);
}

/* Both directions finished: close, telling the guest (§5.10.6.5: a clean
 * disconnect ends with an RST from the peer of the SHUTDOWNs). */
static void vsock_check_done(struct vsock_dev *d, struct vsock_conn *c)
{
	if (c->state != VSOCK_ESTABLISHED)
		return;
	if (c->guest_no_send && !c->olen && !c->host_wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->host_wr_shut = true;
	}
	if (c->host_wr_shut && (c->host_eof || c->guest_no_rcv))
		vsock_conn_free(d, c, true);
}

/* ---- rx queue: device -> driver --------------------------------------- */

static void vsock_fail(struct vsock_dev *d)
{
	d->broken = true;
	virtio_signal_needs_reset(d->sig);
}

/* Make sure rxc holds a chain. 1: yes; 0: the driver posted none; -1: the
 * ring is malformed (device now needs reset). */
static int vsock_rx_get(struct vsock_dev *d)
{
	int r;

	if (d->rx_have)
		return 1;
	if (!d->rx_left)
		return 0;  /* budget spent: as if no buffer, until we come back */
	r = virtq_pop(&d->q[VSOCK_RXQ], &d->rxc);
	if (r < 0) {
		vsock_fail(d);
		return -1;
	}
	if (r == 0)
		return 0;
	d->rx_left--;
	if (d->rxc.nout || d->rxc.in_len < VSOCK_HDR_SIZE) {
		/* §5.10.6.1: rx buffers are device-writable and hold a header. */
		log_guest("virtio-vsock: rx buffer of %llu writable bytes (%u readable segments)",
			  (unsigned long long)d->rxc.in_len, d->rxc.nout);
		vsock_fail(d);
		virtq_push(&d->q[VSOCK_RXQ], d->rxc.head, 0);
		return -1;
	}
	d->rx_have = true;
	return 1;
}

/* Fill in rxc's header and hand it to the driver (payload already there). */
static void vsock_rx_put(struct vsock_dev *d, uint32_t host_port, uint32_t guest_port, uint16_t op,
			 uint32_t flags, uint32_t len, struct vsock_conn *c)
{
	struct vsock_hdr h = {
		.src_cid = VSOCK_HOST_CID, .dst_cid = d->cid, .src_port = host_port, .dst_port = guest_port,
		.len = len, .type = VSOCK_TYPE_STREAM, .op = op, .flags = flags,
	};
	uint8_t raw[VSOCK_HDR_SIZE];

	if (c) {
		/* Every header carries our credit (§5.10.6.3). */
		h.buf_alloc = VSOCK_BUF_ALLOC;
		h.fwd_cnt = c->fwd_cnt;
		c->fwd_sent = c->fwd_cnt;
		c->pend &= (uint8_t)~VSOCK_PEND_CREDIT;
	}
	vsock_hdr_put(raw, &h);
	virtq_chain_write(&d->rxc, 0, raw, sizeof(raw));
	virtq_push(&d->q[VSOCK_RXQ], d->rxc.head, VSOCK_HDR_SIZE + len);
	d->rx_have = false;
}

/* Send at most one packet for c. 1: sent (or c changed); 0: nothing owed;
 * -1: no rx buffer (or broken). */
static int vsock_rx_conn(struct vsock_dev *d, struct vsock_conn *c)
{
	int r;

	if (c->state == VSOCK_LINE)
		return 0;
	if (c->pend & (VSOCK_PEND_REQUEST | VSOCK_PEND_RESPONSE)) {
		uint16_t op = (c->pend & VSOCK_PEND_REQUEST) ? VSOCK_OP_REQUEST : VSOCK_OP_RESPONSE;
		if ((r = vsock_rx_get(d)) <= 0)
			return -1;
		c->pend &= (uint8_t)~(VSOCK_PEND_REQUEST | VSOCK_PEND_RESPONSE);
		c->guest_knows = true;
		vsock_rx_put(d, c->host_port, c->guest_port, op, 0, 0, c);
		return 1;
	}
	if (c->state != VSOCK_ESTABLISHED)
		return 0;
	if (c->readable && !c->host_eof && !c->guest_no_rcv && vsock_peer_credit(c) > 0) {
		uint64_t room;
		uint32_t want;
		ssize_t n;
		int niov;

		if ((r = vsock_rx_get(d)) <= 0)
			return -1;
		room = d->rxc.in_len - VSOCK_HDR_SIZE;
		want = vsock_peer_credit(c);
		if (want > VSOCK_MAX_PKT)
			want = VSOCK_MAX_PKT;
		if (want > room)
			want = (uint32_t)room;
		if (want == 0) {
			/* A header-only buffer: fine for control packets below. */
			goto credit;
		}
		niov = virtq_chain_iov(&d->rxc, true, VSOCK_HDR_SIZE, want, d->iov, VIRTQ_MAX_SIZE);
		if (niov <= 0) {
			vsock_fail(d);
			return -1;
		}
		/* Every host fd is O_NONBLOCK; plain read/readv are the cheapest
		 * calls for the one- or two-segment buffers drivers post. */
		do
			n = niov == 1 ? read(c->fd, d->iov[0].iov_base, d->iov[0].iov_len)
				      : readv(c->fd, d->iov, niov);
		while (n < 0 && errno == EINTR);
		if (n > 0) {
			c->tx_cnt += (uint32_t)n;
			vsock_rx_put(d, c->host_port, c->guest_port, VSOCK_OP_RW, 0, (uint32_t)n, c);
			return 1;
		}
		if (n == 0) {
			/* The host will send nothing more (§5.10.6.5). */
			c->host_eof = true;
			vsock_rx_put(d, c->host_port, c->guest_port, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND, 0, c);
			vsock_check_done(d, c);
			return 1;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			log_debug("virtio-vsock: port %u: host read: %s", c->guest_port, strerror(errno));
			vsock_conn_free(d, c, true);
			return 1;
		}
		c->readable = false;
	}
credit:
	if (c->pend & VSOCK_PEND_CREDIT) {
		if ((r = vsock_rx_get(d)) <= 0)
			return -1;
		vsock_rx_put(d, c->host_port, c->guest_port, VSOCK_OP_CREDIT_UPDATE, 0, 0, c);
		return 1;
	}
	return 0;
}

/* Send everything owed while the driver has rx buffers: queued RSTs first,
 * then one packet per connection per round, round-robin, so one busy
 * stream cannot starve the others. */
static void vsock_rx_service(struct vsock_dev *d)
{
	if (!d->active || d->broken)
		return;
	for (;;) {
		bool progress = false;

		while (d->rst_len) {
			struct vsock_rst *x = &d->rst[d->rst_head];
			if (vsock_rx_get(d) <= 0)
				return;
			vsock_rx_put(d, x->host_port, x->guest_port, VSOCK_OP_RST, 0, 0, NULL);
			d->rst_head = (d->rst_head + 1) % VSOCK_RST_RING;
			d->rst_len--;
		}
		for (unsigned k = 0; k < d->nactive; k++) {
			struct vsock_conn *c = &d->conns[d->active_list[(d->rr + k) % d->nactive]];
			int r = vsock_rx_conn(d, c);
			if (r < 0)
				return;
			progress |= r > 0;
		}
		d->rr++;
		if (!progress && !d->rst_len)
			break;
	}
}

/* ---- tx queue: driver -> device --------------------------------------- */

/* Append [off, off+len) of the chain's readable part to c's ring. */
static void vsock_obuf_add(struct vsock_conn *c, const struct virtq_chain *ch, uint64_t off, uint32_t len)
{
	while (len) {
		uint32_t tail = (c->ohead + c->olen) % VSOCK_BUF_ALLOC;
		uint32_t n = VSOCK_BUF_ALLOC - tail;
		if (n > len)
			n = len;
		virtq_chain_read(ch, off, c->obuf + tail, n);
		c->olen += n;
		off += n;
		len -= n;
	}
}

/* OP_RW: forward the payload to the host socket, the rest into obuf.
 * Older bytes go first: obuf is flushed before the payload is tried
 * directly, so it is copied only when the host socket really is full. */
static void vsock_tx_rw(struct vsock_dev *d, struct vsock_conn *c, const struct virtq_chain *ch, uint32_t len)
{
	/* Guest bytes not yet acknowledged in a header we sent: the guest may
	 * have at most buf_alloc of those (§5.10.6.3). This also bounds obuf. */
	uint32_t unacked = c->wr_cnt + c->olen - c->fwd_sent, done = 0;

	if (unacked > VSOCK_BUF_ALLOC || len > VSOCK_BUF_ALLOC - unacked) {
		log_guest("virtio-vsock: port %u: guest sent %u bytes beyond the credit we granted",
			  c->guest_port, len);
		vsock_conn_free(d, c, true);
		return;
	}
	if (!len)
		return;
	if (c->olen && vsock_obuf_write(c) < 0)
		goto fail;
	if (!c->olen) {
		struct msghdr mh = { .msg_iov = d->iov };
		int niov = virtq_chain_iov(ch, false, VSOCK_HDR_SIZE, len, d->iov, VIRTQ_MAX_SIZE);
		ssize_t n;

		if (niov > 0) {
			mh.msg_iovlen = (size_t)niov;
			do
				n = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
			while (n < 0 && errno == EINTR);
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
				log_debug("virtio-vsock: port %u: host write: %s", c->guest_port, strerror(errno));
				goto fail;
			}
			if (n > 0) {
				done = (uint32_t)n;
				c->wr_cnt += done;
			}
		}
	}
	if (done < len) {
		if (!c->obuf && !(c->obuf = malloc(VSOCK_BUF_ALLOC))) {
			log_err("virtio-vsock: out of memory for a connection buffer");
			goto fail;
		}
		vsock_obuf_add(c, ch, VSOCK_HDR_SIZE + (uint64_t)done, len - done);
	}
	vsock_consumed(c);
	vsock_conn_arm(d, c);
	return;
fail:
	vsock_conn_free(d, c, true);
}

/* OP_REQUEST from the guest: connect to PATH_<port>. */
static void vsock_tx_request(struct vsock_dev *d, const struct vsock_hdr *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_conn *c;
	int fd, n;

	if (d->nactive >= VSOCK_MAX_CONNS)
		goto refuse;
	/* vmm's own endpoint for this port first (SVC_DIR/<port>), else the
	 * user's PATH_<port>. */
	fd = -1;
	for (int i = 0; i < 2 && fd < 0; i++) {
		const char *base = i ? d->path : d->svc_dir;

		if (!base)
			continue;
		n = snprintf(sa.sun_path, sizeof(sa.sun_path), i ? "%s_%u" : "%s/%u", base, h->dst_port);
		if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
			continue;
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto refuse;
		/* A unix stream connect completes at once or fails (EAGAIN: the
		 * listener's backlog is full; treated as a refusal too). */
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			log_debug("virtio-vsock: guest port %u -> %s: %s", h->src_port, sa.sun_path, strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0)
		goto refuse;
	c = vsock_conn_new(d, fd, VSOCK_ESTABLISHED);
	if (!c) {
		close(fd);
		goto refuse;
	}
	c->host_port = h->dst_port;
	c->guest_port = h->src_port;
	c->guest_knows = true;
	c->readable = true;  /* find out on the first read */
	vsock_credit_note(c, h);
	c->pend |= VSOCK_PEND_RESPONSE;
	return;
refuse:
	vsock_rst_push(d, h->dst_port, h->src_port);
}

/* One packet from the guest. Returns -1 when the device must be reset. */
static int vsock_tx_pkt(struct vsock_dev *d, const struct virtq_chain *ch)
{
	uint8_t raw[VSOCK_HDR_SIZE];
	struct vsock_hdr h;
	struct vsock_conn *c;

	if (ch->nin || ch->out_len < VSOCK_HDR_SIZE) {
		log_guest("virtio-vsock: tx chain of %llu readable bytes (%u writable segments)",
			  (unsigned long long)ch->out_len, ch->nin);
		return -1;
	}
	virtq_chain_read(ch, 0, raw, sizeof(raw));
	vsock_hdr_get(&h, raw);
	c = vsock_find(d, h.dst_port, h.src_port);
	if (h.len > ch->out_len - VSOCK_HDR_SIZE || h.type != VSOCK_TYPE_STREAM ||
	    h.src_cid != d->cid || h.dst_cid != VSOCK_HOST_CID) {
		log_guest("virtio-vsock: bad packet (op %u type %u len %u of %llu, cid %llu -> %llu)", h.op,
			  h.type, h.len, (unsigned long long)(ch->out_len - VSOCK_HDR_SIZE),
			  (unsigned long long)h.src_cid, (unsigned long long)h.dst_cid);
		goto reset;
	}
	switch (h.op) {
	case VSOCK_OP_REQUEST:
		if (c)
			goto reset;  /* a second request for a live connection */
		vsock_tx_request(d, &h);
		return 0;
	case VSOCK_OP_RESPONSE:
		if (!c || c->state != VSOCK_CONNECTING || !c->guest_knows)
			goto reset;
		vsock_credit_note(c, &h);
		c->state = VSOCK_ESTABLISHED;
		c->deadline_ms = 0;
		if (!c->inproc) {
			char ok[24];
			int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);
			/* A fresh socket's buffer is empty: this cannot be short. */
			if (send(c->fd, ok, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n) {
				vsock_conn_free(d, c, true);
				return 0;
			}
		}
		c->readable = true;
		return 0;
	case VSOCK_OP_RST:
		if (c)
			vsock_conn_free(d, c, false);
		return 0;
	case VSOCK_OP_SHUTDOWN:
		if (!c || c->state != VSOCK_ESTABLISHED)
			goto reset;
		vsock_credit_note(c, &h);
		c->guest_no_rcv |= !!(h.flags & VSOCK_SHUTDOWN_RCV);
		c->guest_no_send |= !!(h.flags & VSOCK_SHUTDOWN_SEND);
		vsock_check_done(d, c);
		return 0;
	case VSOCK_OP_RW:
		if (!c || c->state != VSOCK_ESTABLISHED || c->guest_no_send)
			goto reset;
		vsock_credit_note(c, &h);
		vsock_tx_rw(d, c, ch, h.len);
		return 0;
	case VSOCK_OP_CREDIT_UPDATE:
		if (!c)
			goto reset;
		vsock_credit_note(c, &h);
		return 0;
	case VSOCK_OP_CREDIT_REQUEST:
		if (!c)
			goto reset;
		vsock_credit_note(c, &h);
		if (c->state == VSOCK_ESTABLISHED)
			vsock_consumed(c);
		c->pend |= VSOCK_PEND_CREDIT;
		return 0;
	default:
		log_guest("virtio-vsock: unknown op %u", h.op);
		goto reset;
	}
reset:
	/* Never answer an RST with one (two confused peers would loop). */
	if (c)
		vsock_conn_free(d, c, true);
	else if (h.op != VSOCK_OP_RST)
		vsock_rst_push(d, h.dst_port, h.src_port);
	return 0;
}

static void vsock_tx_service(struct vsock_dev *d)
{
	if (!d->active || d->broken)
		return;
	d->tx_stalled = false;
	for (;;) {
		int r;

		if (d->rst_len >= VSOCK_RST_STALL) {
			/* The guest is not taking our answers: stop taking its
			 * packets until it does (resumed from rx service). */
			d->tx_stalled = true;
			return;
		}
		if (!d->tx_left)
			return;
		r = virtq_pop(&d->q[VSOCK_TXQ], &d->txc);
		if (r == 0)
			return;
		if (r < 0) {
			vsock_fail(d);
			return;
		}
		d->tx_left--;
		r = vsock_tx_pkt(d, &d->txc);
		/* NEEDS_RESET before the bad chain shows as used: a driver
		 * that reads the status once it sees the used entry must find
		 * it set (§2.1.2; the hostile guest does, and saw a clean
		 * status when the order was the other way round). */
		if (r < 0)
			vsock_fail(d);
		virtq_push(&d->q[VSOCK_TXQ], d->txc.head, 0);
		if (r < 0)
			return;
	}
}

/* Process both queues until neither makes progress or a budget is spent,
 * then interrupt once. True when a budget ran out with work possibly left:
 * the caller arranges to come back (vsock_again, or the transport's
 * requeue) after the event loop has served everything else. */
static bool vsock_kick(struct vsock_dev *d)
{
	if (!d->active || d->broken)
		return false;
	d->tx_left = d->rx_left = VSOCK_BUDGET;
	for (unsigned i = 0; i < 64; i++) {
		vsock_tx_service(d);
		vsock_rx_service(d);
		if (!d->tx_stalled || d->rst_len >= VSOCK_RST_STALL)
			break;
	}
	/* Both calls: each also resets its queue's "pushed" mark. */
	bool tx = virtq_should_signal(&d->q[VSOCK_TXQ]);
	bool rx = virtq_should_signal(&d->q[VSOCK_RXQ]);
	if (tx || rx)
		virtio_signal_used(d->sig);
	if (d->broken)
		return false;
	return (!d->tx_left && !d->tx_stalled && virtq_has_avail(&d->q[VSOCK_TXQ])) || !d->rx_left;
}

/* A kick off the transport's path (host events, the control socket's
 * connector) left work: make our epoll fd readable again, so the event
 * loop calls vsock_poll once more after its other ready fds. */
static void vsock_again(struct vsock_dev *d)
{
	uint64_t one = 1;

	if (write(d->again_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_guest("virtio-vsock: re-arming: %s", strerror(errno));
}

/* ---- host side: listener, CONNECT lines, timeouts --------------------- */

/* Read "CONNECT <port>\n" without consuming any byte after it. */
static void vsock_line(struct vsock_dev *d, struct vsock_conn *c)
{
	char buf[VSOCK_LINE_MAX];
	size_t room = sizeof(c->line) - 1 - c->line_len;
	ssize_t n = recv(c->fd, buf, room, MSG_PEEK | MSG_DONTWAIT);
	char *nl, *end;
	unsigned long port;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		c->readable = false;
		return;
	}
	if (n <= 0) {
		vsock_conn_free(d, c, false);
		return;
	}
	nl = memchr(buf, '\n', (size_t)n);
	n = nl ? nl - buf + 1 : n;
	if (recv(c->fd, c->line + c->line_len, (size_t)n, MSG_DONTWAIT) != n) {
		vsock_conn_free(d, c, false);
		return;
	}
	c->line_len = (uint8_t)(c->line_len + n);
	c->line[c->line_len] = 0;
	if (!nl) {
		if (c->line_len >= sizeof(c->line) - 1) {
			log_warn("virtio-vsock: %s: handshake line too long, closing", d->path);
			vsock_conn_free(d, c, false);
		}
		return;  /* the rest of the line is still to come */
	}
	errno = 0;
	if (strncmp(c->line, "CONNECT ", 8) || c->line[8] < '0' || c->line[8] > '9' ||
	    (port = strtoul(c->line + 8, &end, 10), errno) || port > UINT32_MAX || *end != '\n') {
		log_warn("virtio-vsock: %s: bad handshake line (want \"CONNECT <port>\\n\")", d->path);
		vsock_conn_free(d, c, false);
		return;
	}
	c->state = VSOCK_CONNECTING;
	c->guest_port = (uint32_t)port;
	c->host_port = vsock_local_port(d);
	c->pend |= VSOCK_PEND_REQUEST;
	c->readable = true;  /* bytes may follow the line already */
}

static void vsock_accept(struct vsock_dev *d)
{
	for (unsigned i = 0; i < 64; i++) {
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct vsock_conn *c;

		if (fd < 0)
			return;
		if (!usock_peer_ok(fd, d->path)) {
			close(fd);
			continue;
		}
		c = vsock_conn_new(d, fd, VSOCK_LINE);
		if (!c) {
			log_guest("virtio-vsock: %s: %u connections open, refusing one", d->path, d->nactive);
			close(fd);
			continue;
		}
		c->readable = true;
		vsock_line(d, c);
	}
}

static void vsock_timer(struct vsock_dev *d)
{
	uint64_t now = vsock_now_ms(), cnt;
	bool waiting = false;

	if (read(d->timer_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return;
	for (unsigned i = 0; i < d->nactive;) {
		struct vsock_conn *c = &d->conns[d->active_list[i]];
		if (c->deadline_ms && now >= c->deadline_ms) {
			log_debug("virtio-vsock: connection to guest port %u timed out", c->guest_port);
			vsock_conn_free(d, c, true);  /* the list shifted: same i */
			continue;
		}
		waiting |= c->deadline_ms != 0;
		i++;
	}
	if (!waiting) {
		struct itimerspec off = { 0 };
		timerfd_settime(d->timer_fd, 0, &off, NULL);
		d->timer_armed = false;
	}
}

/* Wire fd, a stream socket the VMM holds the other end of, to guest port
 * as a host-initiated connection without the OK line. On success the fd
 * is the device's. Lock held. */
static int vsock_attach(struct vsock_dev *d, int fd, uint32_t port)
{
	struct vsock_conn *c;

	if (!d->active || d->broken)
		return -ENOTCONN;  /* the guest driver is not up (yet) */
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	if (!(c = vsock_conn_new(d, fd, VSOCK_CONNECTING)))
		return d->nactive >= VSOCK_MAX_CONNS ? -EMFILE : -ENOMEM;
	c->inproc = true;
	c->guest_port = port;
	c->host_port = vsock_local_port(d);
	c->pend |= VSOCK_PEND_REQUEST;
	return 0;
}

/* Requests on the guest-stream connector (the protocol in vmm/virtio.h):
 * "CONNECT <port>\n" with one stream fd. Whatever we cannot wire is
 * closed, which the VMM side reads as EOF. */
static void vsock_streams(struct vsock_dev *d)
{
	for (unsigned i = 0; i < 64; i++) {
		char buf[32], *end;
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;
		unsigned long port;
		ssize_t n = recvmsg(d->streams_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		int fd = -1, r;

		if (n <= 0)
			return;  /* drained, or the VMM closed its end */
		buf[n] = 0;
		cm = CMSG_FIRSTHDR(&mh);
		if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		errno = 0;
		if (fd < 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
		    strncmp(buf, VIRTIO_STREAM_CONNECT " ", sizeof(VIRTIO_STREAM_CONNECT)) ||
		    (port = strtoul(buf + sizeof(VIRTIO_STREAM_CONNECT), &end, 10), errno) || port > UINT32_MAX ||
		    *end != '\n') {
			log_warn("virtio-vsock: malformed guest-stream request");
			if (fd >= 0)
				close(fd);
			continue;
		}
		r = vsock_attach(d, fd, (uint32_t)port);
		if (r < 0) {
			log_debug("virtio-vsock: stream to guest port %lu: %s", port, strerror(-r));
			close(fd);
		}
	}
}

static void vsock_poll_locked(struct vsock_dev *d)
{
	struct epoll_event ev[64];

	for (unsigned round = 0; round < 16; round++) {
		int n = epoll_pwait(d->ep, ev, 64, 0, NULL);  /* the call device policies allow */

		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			uint64_t tag = ev[i].data.u64;
			struct vsock_conn *c;

			if (tag == VSOCK_TAG_LISTEN) {
				vsock_accept(d);
				continue;
			}
			if (tag == VSOCK_TAG_TIMER) {
				vsock_timer(d);
				continue;
			}
			if (tag == VSOCK_TAG_AGAIN) {
				uint64_t cnt;
				if (read(d->again_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
					log_guest("virtio-vsock: again: %s", strerror(errno));
				continue;
			}
			if (tag == VSOCK_TAG_STREAMS) {
				vsock_streams(d);
				continue;
			}
			if (tag >= VSOCK_MAX_CONNS)
				continue;
			c = &d->conns[tag];
			/* The slot may have been freed (or reused) by an earlier
			 * event of this batch: flags only, errors show on I/O. */
			if (c->state == VSOCK_FREE)
				continue;
			if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
				c->readable = true;
				if (c->state == VSOCK_LINE)
					vsock_line(d, c);
			}
			if (c->state != VSOCK_FREE && (c->olen || c->wr_cnt != c->fwd_cnt) &&
			    (ev[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
				vsock_flush(d, c);
		}
		if (n < 64)
			break;
	}
	if (vsock_kick(d))
		vsock_again(d);
}

void vsock_poll(struct vsock_dev *d)
{
	pthread_mutex_lock(&d->lock);
	vsock_poll_locked(d);
	pthread_mutex_unlock(&d->lock);
}

int vsock_connect(void *dev, uint32_t port)
{
	struct vsock_dev *d = dev;
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pthread_mutex_lock(&d->lock);
	rc = vsock_attach(d, sv[0], port);
	if (rc == 0 && vsock_kick(d))
		vsock_again(d);
	pthread_mutex_unlock(&d->lock);
	if (rc < 0) {
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	return sv[1];
}

/* ---- serve ops ----------------------------------------------------- */

/* Forget every connection (the driver forgot them too). Lock held. */
static void vsock_drop_all(struct vsock_dev *d)
{
	while (d->nactive)
		vsock_conn_free(d, &d->conns[d->active_list[0]], false);
	d->rst_len = d->rst_head = 0;
	d->rx_have = false;
	d->tx_stalled = false;
}

static void vsock_reset_locked(struct vsock_dev *d)
{
	d->active = false;
	d->broken = false;
	vsock_drop_all(d);
	memset(d->q, 0, sizeof(d->q));
}

static int vsock_activate(void *dev, uint64_t features, const struct virtq_config *q, unsigned nq)
{
	static const char *const names[VSOCK_NUM_QUEUES] = {
		"virtio-vsock rx queue", "virtio-vsock tx queue", "virtio-vsock event queue",
	};
	struct vsock_dev *d = dev;
	bool ind = features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	int rc = 0;

	pthread_mutex_lock(&d->lock);
	vsock_reset_locked(d);
	if (nq < VSOCK_NUM_QUEUES || !q[VSOCK_RXQ].ready || !q[VSOCK_TXQ].ready) {
		log_guest("virtio-vsock: driver started without rx and tx queues");
		rc = -EINVAL;
		goto out;
	}
	for (unsigned i = 0; i < VSOCK_NUM_QUEUES; i++) {
		if (q[i].ready && virtq_setup(&d->q[i], d->gm, names[i], &q[i], VSOCK_QUEUE_MAX, ind) < 0) {
			rc = -EINVAL;
			goto out;
		}
	}
	d->active = true;
out:
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static void vsock_queue_notify(void *dev, unsigned q)
{
	struct vsock_dev *d = dev;

	/* The event queue (§5.10.6.7) only holds buffers for transport
	 * resets, which we never send: nothing to do on its notifies. */
	if (q == VSOCK_EVQ)
		return;
	pthread_mutex_lock(&d->lock);
	if (vsock_kick(d))
		virtio_signal_requeue(d->sig, q);
	pthread_mutex_unlock(&d->lock);
}

static void vsock_reset(void *dev)
{
	struct vsock_dev *d = dev;

	pthread_mutex_lock(&d->lock);
	vsock_reset_locked(d);
	pthread_mutex_unlock(&d->lock);
}

/* ---- lifetime --------------------------------------------------------- */

/* Bind PATH; replace a stale socket file, refuse one in use. */
static int vsock_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, e;

	/* PATH_<port> must fit too: room for '_' and ten digits. */
	if (strlen(path) + 12 > sizeof(sa.sun_path)) {
		log_err("--vsock %s: path too long (at most %zu bytes)", path, sizeof(sa.sun_path) - 12);
		return dev_input_error(-ENAMETOOLONG);
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("--vsock %s: exists and is not a socket", path);
			close(fd);
			return dev_input_error(-EEXIST);
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN) {
			log_err("--vsock %s: another process is listening on it", path);
			close(fd);
			return dev_input_error(-EADDRINUSE);
		}
		close(fd);
		unlink(path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
	}
	/* Mode 0600 and only our uid or root served (vsock_accept): to the
	 * guest, a CONNECT from here comes from the host. A failure is the
	 * user's path (a missing directory, no permission). */
	e = usock_bind_private(fd, &sa);
	if (e == 0 && listen(fd, 128) < 0)
		e = -errno;
	if (e < 0) {
		log_err("--vsock %s: %s", path, strerror(-e));
		close(fd);
		return dev_input_error(e);
	}
	return fd;
}

int vsock_open(struct vsock_dev **out, const struct gm *gm, uint32_t cid, const char *path,
	       struct virtio_signal *sig, int *streams)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct vsock_dev *d;
	int e, sv[2];

	*out = NULL;
	if (streams)
		*streams = -1;
	/* §5.10.4: CIDs 0, 1, 2 and 0xffffffff are reserved. */
	if (cid <= VSOCK_HOST_CID || cid == UINT32_MAX) {
		log_err("--cid %u: reserved (use 3 or above)", cid);
		return dev_input_error(-EINVAL);
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	d->sig = sig;
	d->gm = gm;
	d->cid = cid;
	d->listen_fd = d->timer_fd = d->again_fd = d->streams_fd = -1;
	d->next_port = VSOCK_LOCAL_PORT_BASE;
	/* Free slots are known by state == VSOCK_FREE (0) and their fd is never
	 * read, so the 1024-slot table is left as calloc returned it: pages
	 * the guest never uses are never touched (private RSS, BENCHMARKS.md). */
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	d->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->again_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->ep < 0 || d->timer_fd < 0 || d->again_fd < 0) {
		e = -errno;
		goto fail;
	}
	ev.data.u64 = VSOCK_TAG_TIMER;
	if (epoll_ctl(d->ep, EPOLL_CTL_ADD, d->timer_fd, &ev) < 0) {
		e = -errno;
		goto fail;
	}
	ev.data.u64 = VSOCK_TAG_AGAIN;
	if (epoll_ctl(d->ep, EPOLL_CTL_ADD, d->again_fd, &ev) < 0) {
		e = -errno;
		goto fail;
	}
	/* The guest-stream connector: datagrams keep each request whole
	 * whichever of the VMM's threads sends it. */
	if (streams) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
			e = -errno;
			goto fail;
		}
		d->streams_fd = sv[0];
		*streams = sv[1];
		ev.data.u64 = VSOCK_TAG_STREAMS;
		if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0 || epoll_ctl(d->ep, EPOLL_CTL_ADD, sv[0], &ev) < 0) {
			e = -errno;
			goto fail;
		}
	}
	if (path) {
		if (!(d->path = strdup(path))) {
			e = -ENOMEM;
			goto fail;
		}
		if ((e = vsock_listen(path)) < 0) {
			free(d->path);
			d->path = NULL;  /* not ours to unlink */
			goto fail;
		}
		d->listen_fd = e;
		ev.data.u64 = VSOCK_TAG_LISTEN;
		if (epoll_ctl(d->ep, EPOLL_CTL_ADD, d->listen_fd, &ev) < 0) {
			e = -errno;
			goto fail;
		}
	}
	*out = d;
	return 0;
fail:
	if (streams && *streams >= 0) {
		close(*streams);
		*streams = -1;
	}
	vsock_close(d);
	return e;
}

int vsock_set_svc_dir(struct vsock_dev *d, const char *dir)
{
	char *p = dir ? strdup(dir) : NULL;

	if (dir && !p)
		return -ENOMEM;
	free(d->svc_dir);
	d->svc_dir = p;
	return 0;
}

void vsock_close(struct vsock_dev *d)
{
	if (!d)
		return;
	free(d->svc_dir);
	vsock_drop_all(d);
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		unlink(d->path);
	}
	if (d->timer_fd >= 0)
		close(d->timer_fd);
	if (d->again_fd >= 0)
		close(d->again_fd);
	if (d->streams_fd >= 0)
		close(d->streams_fd);
	if (d->ep >= 0)
		close(d->ep);
	free(d->path);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

struct virtio_signal *vsock_signal(struct vsock_dev *d)
{
	return d->sig;
}

int vsock_event_fd(const struct vsock_dev *d)
{
	return d->ep;
}

unsigned vsock_conn_count(const struct vsock_dev *d)
{
	return d->nactive;
}

/* SIGUSR2: the device, its queues and every connection, one line each
 * (the connection lines capped: a guest can open a thousand). */
void vsock_dump(struct vsock_dev *d)
{
	static const char *const st[] = { "free", "line", "connecting", "established" };

	pthread_mutex_lock(&d->lock);
	log_state("virtio-vsock: cid %u active %d broken %d tx_stalled %d rx_have %d rst queued %u conns %u",
		  d->cid, d->active, d->broken, d->tx_stalled, d->rx_have, d->rst_len, d->nactive);
	for (unsigned i = 0; i < VSOCK_NUM_QUEUES; i++)
		virtq_log_state(&d->q[i], "virtio-vsock", i);
	for (unsigned i = 0; i < d->nactive && i < 32; i++) {
		const struct vsock_conn *c = &d->conns[d->active_list[i]];
		int outq = -1, inq = -1;

		ioctl(c->fd, SIOCOUTQ, &outq);
		ioctl(c->fd, FIONREAD, &inq);
		log_state("virtio-vsock: host %u guest %u %s pend %#x readable %d eof %d guest_shut %d%d wr_shut %d "
			  "armed %#x | to guest: tx_cnt %u peer buf %u fwd %u credit %u, socket unread %d | "
			  "from guest: wr_cnt %u fwd_cnt %u sent %u obuf %u, socket queued %d",
			  c->host_port, c->guest_port, st[c->state], c->pend, c->readable, c->host_eof,
			  c->guest_no_send, c->guest_no_rcv, c->host_wr_shut, c->armed, c->tx_cnt,
			  c->peer_buf_alloc, c->peer_fwd_cnt, vsock_peer_credit(c), inq, c->wr_cnt, c->fwd_cnt,
			  c->fwd_sent, c->olen, outq);
	}
	if (d->nactive > 32)
		log_state("virtio-vsock: ... and %u more connections", d->nactive - 32);
	pthread_mutex_unlock(&d->lock);
}

/* ---- the device host's view --------------------------------------------- */

static unsigned vsock_instances(const void *cfg)
{
	return 1;
}

static int vsock_dev_open(void **dev, const void *cfg, unsigned index, const struct dev_env *env,
			  struct virtio_signal *sig, struct virtio_dev_info *info)
{
	const struct vsock_opts *o = cfg;
	struct vsock_dev *d;
	uint64_t cid = htole64(o->cid);
	char path[VIRTIO_JAIL_PATH_MAX], *slash;
	int e;

	/* PATH_<port> is connected to later, from a jailed process whose
	 * working directory is its empty root: make it absolute now. */
	if (o->path && o->path[0] != '/') {
		char cwd[VIRTIO_JAIL_PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)) ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", strcmp(cwd, "/") ? cwd : "", o->path) >= sizeof(path)) {
			log_err("--vsock %s: path too long", o->path);
			return dev_input_error(-ENAMETOOLONG);
		}
	} else if (o->path && (size_t)snprintf(path, sizeof(path), "%s", o->path) >= sizeof(path)) {
		log_err("--vsock %s: path too long", o->path);
		return dev_input_error(-ENAMETOOLONG);
	}
	e = vsock_open(&d, env->gm, o->cid, o->path ? path : NULL, sig, &info->stream_fd);
	if (e == 0 && env->svc_dir && (e = vsock_set_svc_dir(d, env->svc_dir)) < 0) {
		close(info->stream_fd);
		info->stream_fd = -1;
		vsock_close(d);
	}
	if (e < 0)
		return e;
	/* Stream sockets only: no VIRTIO_VSOCK_F_SEQPACKET (§5.10.3). */
	info->features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	/* §5.10.4: le64 guest_cid (upper 32 bits reserved, zero). */
	info->config_len = sizeof(cid);
	memcpy(info->config, &cid, sizeof(cid));
	info->poll_fd = d->ep;
	/* Jailed: accepted connections, guest-initiated sockets and streams
	 * received from vmm are new fds; PATH's directory and vmm's own
	 * endpoints are reached by path. */
	info->nofile = VSOCK_MAX_CONNS + 64;
	if (o->path) {
		snprintf(info->bind[0], sizeof(info->bind[0]), "%s", path);
		slash = strrchr(info->bind[0], '/');
		*slash = 0;
		/* Never the host's whole root: with PATH in /, a jailed
		 * device reaches no PATH_<port>. */
		if (!info->bind[0][0])
			log_warn("--vsock %s: a socket in / cannot be reached by guest connections "
				 "from the jailed device (use a directory, or --disable-sandbox)", path);
	}
	if (env->svc_dir)
		snprintf(info->bind[1], sizeof(info->bind[1]), "%s", env->svc_dir);
	*dev = d;
	return 0;
}

static void vsock_dev_close(void *dev)
{
	vsock_close(dev);
}

static void vsock_dev_poll(void *dev)
{
	vsock_poll(dev);
}

static void vsock_dev_dump(void *dev)
{
	vsock_dump(dev);
}

const struct virtio_device vsock_virtio_ops = {
	.name = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.num_queues = VSOCK_NUM_QUEUES,
	.queue_max = VSOCK_QUEUE_MAX,
	.instances = vsock_instances,
	.open = vsock_dev_open,
	.close = vsock_dev_close,
	.activate = vsock_activate,
	.queue_notify = vsock_queue_notify,
	.poll = vsock_dev_poll,
	.reset = vsock_reset,
	.dump = vsock_dev_dump,
};

/* ---- options ------------------------------------------------------------ */

static int vsock_opt_cid(void *cfg, const char *opt, const char *val, char *err, size_t errlen)
{
	unsigned long long n;

	/* 0-2 are reserved (hypervisor, local, host); -1U is VMADDR_CID_ANY. */
	if (dev_option_u64(val, 3, 0xfffffffeULL, &n))
		return dev_option_error(err, errlen, "--cid '%s': guest CID must be 3 to 4294967294", val);
	((struct vsock_opts *)cfg)->cid = (uint32_t)n;
	return 0;
}

static int vsock_opt_path(void *cfg, const char *opt, const char *val, char *err, size_t errlen)
{
	if (!*val)
		return dev_option_error(err, errlen, "--vsock: empty path");
	((struct vsock_opts *)cfg)->path = val;
	return 0;
}

static const struct dev_option vsock_options[] = {
	{ .name = "--cid", .takes_value = true, .parse = vsock_opt_cid,
	  .usage = "      --cid N           guest vsock context id (default 3)\n" },
	{ .name = "--vsock", .takes_value = true, .parse = vsock_opt_path,
	  .usage = "      --vsock PATH      host side of vsock as a unix socket: connect and send\n"
		   "                        \"CONNECT <port>\\n\"; guest connections to host port P\n"
		   "                        go to PATH_P (Firecracker's hybrid vsock)\n" },
	{ 0 },
};

static void vsock_cfg_init(void *cfg)
{
	((struct vsock_opts *)cfg)->cid = 3;
}

static int vsock_status_json(const void *cfg, char *buf, size_t len)
{
	int n = snprintf(buf, len, "\"cid\":%u,\"vsock\":true", ((const struct vsock_opts *)cfg)->cid);

	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

const struct device_ops virtio_vsock_device = {
	.name = "virtio-vsock",
	.options = vsock_options,
	.cfg_size = sizeof(struct vsock_opts),
	.cfg_init = vsock_cfg_init,
	.status_json = vsock_status_json,
	.virtio = &vsock_virtio_ops,
};
