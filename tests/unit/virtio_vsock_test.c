/* virtio-vsock (virtio 1.2 §5.10) against a fake driver: rx, tx and event
 * rings hand-built in malloc'd guest memory, host sides as real unix
 * sockets in a scratch directory. Covers the handshake both ways, data both
 * ways, credit exhaustion and updates in both directions, rx starvation,
 * shutdown and RST, guest connects to missing host ports, the in-process
 * connector, reset, and hostile packets (short headers, lengths beyond the
 * chain, unknown ops, unknown connections, floods), and a randomized model
 * of a Linux guest streaming three ways at once that must never stall; and
 * bounds under abuse: 1e6 malformed packets and a 10k-connection flood leave
 * RSS growth under 1 MiB and a legit connection working. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/t.h"
#include "vmm/device.h"
#include "vmm/devices/virtio_vsock.h"
#include "vmm/log.h"
#include "vmm/virtq.h"

#define MEM (8u << 20)
#define QSIZE 64
#define RXBUF 0x10000u      /* QSIZE buffers of RXLEN */
#define RXLEN 4096u
#define TXBUF 0x100000u     /* QSIZE slots of TXSLOT */
#define TXSLOT 0x11000u
#define CID 3

struct fq {
	uint64_t desc, avail, used;
	uint16_t avail_idx, used_seen;
};

struct pkt {
	struct vsock_hdr h;
	uint32_t n;
	uint8_t data[RXLEN];
};

static uint8_t *mem;
static struct gm gm;
static struct fq q[3];
static struct vsock_dev *d;
static struct virtio_signal sig;  /* the device host's, here the test's */
static char dir[64], path[128];
static struct pkt pk[1024];

static void q_desc(struct fq *f, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc x = { .addr = addr, .len = len, .flags = flags, .next = next };
	memcpy(mem + f->desc + 16u * i, &x, 16);
}

static void q_avail(struct fq *f, uint16_t head)
{
	memcpy(mem + f->avail + 4 + 2u * (f->avail_idx % QSIZE), &head, 2);
	f->avail_idx++;
	memcpy(mem + f->avail + 2, &f->avail_idx, 2);
}

static uint16_t q_used_idx(const struct fq *f)
{
	uint16_t v;
	memcpy(&v, mem + f->used + 2, 2);
	return v;
}

/* Sizes of the rx and tx queues (the event queue is QSIZE); the helpers
 * below (q_avail, post_rx, drain) assume QSIZE. */
static uint16_t rxsize = QSIZE, txsize = QSIZE;

/* Fresh rings (zeroed, indices back to 0) and an active device again. */
static void rings_activate(void)
{
	struct virtq_config c[3];

	memset(mem + 0x1000, 0, 0x9000);
	for (unsigned i = 0; i < 3; i++) {
		q[i] = (struct fq){ .desc = 0x1000 + 0x3000 * i, .avail = 0x2000 + 0x3000 * i,
				    .used = 0x3000 + 0x3000 * i };
		c[i] = (struct virtq_config){ .size = i == VSOCK_TXQ ? txsize : i == VSOCK_RXQ ? rxsize : QSIZE, .ready = true, .desc = q[i].desc,
					      .avail = q[i].avail, .used = q[i].used };
	}
	sig = (struct virtio_signal){ .irqfd = -1 };
	CHECK_EQ(vsock_virtio_ops.activate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1), c, 3), 0);
}

static void start_path(const char *p)
{
	mem = calloc(1, MEM);
	gm_init_test(&gm, mem, MEM);
	CHECK_EQ(vsock_open(&d, &gm, CID, p, &sig, NULL), 0);
	rings_activate();
}

static void start(void)
{
	start_path(path);
}

static void stop(void)
{
	vsock_close(d);
	d = NULL;
	free(mem);
}

/* Post up to n rx buffers (descriptor i <-> buffer i; never more than the
 * ring holds, counting buffers returned but not drained yet) and notify. */
static void post_rx(unsigned n)
{
	for (unsigned i = 0; i < n && (uint16_t)(q[0].avail_idx - q[0].used_seen) < QSIZE; i++) {
		uint16_t slot = q[0].avail_idx % QSIZE;
		q_desc(&q[0], slot, RXBUF + slot * RXLEN, RXLEN, VIRTQ_DESC_F_WRITE, 0);
		q_avail(&q[0], slot);
	}
	vsock_virtio_ops.queue_notify(d, VSOCK_RXQ);
}

/* Take every rx packet the device returned; returns how many (into pk). */
static unsigned drain(void)
{
	unsigned n = 0;

	while (q[0].used_seen != q_used_idx(&q[0]) && n < 1024) {
		uint32_t id, len;
		unsigned k = q[0].used_seen++ % QSIZE;
		memcpy(&id, mem + q[0].used + 4 + 8 * k, 4);
		memcpy(&len, mem + q[0].used + 8 + 8 * k, 4);
		CHECK(id < QSIZE);
		CHECK(len >= VSOCK_HDR_SIZE && len <= RXLEN);
		if (id >= QSIZE || len < VSOCK_HDR_SIZE || len > RXLEN)
			break;
		vsock_hdr_get(&pk[n].h, mem + RXBUF + id * RXLEN);
		pk[n].n = len - VSOCK_HDR_SIZE;
		CHECK_EQ(pk[n].h.len, pk[n].n);
		memcpy(pk[n].data, mem + RXBUF + id * RXLEN + VSOCK_HDR_SIZE, pk[n].n);
		n++;
	}
	return n;
}

static struct vsock_hdr hdr(uint16_t op, uint32_t gport, uint32_t hport, uint32_t len)
{
	return (struct vsock_hdr){ .src_cid = CID, .dst_cid = VSOCK_HOST_CID, .src_port = gport,
				   .dst_port = hport, .len = len, .type = VSOCK_TYPE_STREAM, .op = op,
				   .buf_alloc = 1u << 20 };
}

/* Send one packet from the guest: header and payload in one descriptor, or
 * split in two like Linux does (split = true). Notifies the tx queue. */
static void send_pkt(const struct vsock_hdr *h, const void *data, uint32_t n, bool split)
{
	uint16_t slot = q[1].avail_idx % QSIZE;
	uint64_t a = TXBUF + (uint64_t)slot * TXSLOT;

	vsock_hdr_put(mem + a, h);
	if (n)
		memcpy(mem + a + 64, data, n);
	if (split && n) {
		/* Descriptors slot (header) and slot ^ 32 (payload). */
		q_desc(&q[1], slot, a, VSOCK_HDR_SIZE, VIRTQ_DESC_F_NEXT, slot ^ 32);
		q_desc(&q[1], slot ^ 32, a + 64, n, 0, 0);
	} else {
		memmove(mem + a + VSOCK_HDR_SIZE, mem + a + 64, n);
		q_desc(&q[1], slot, a, VSOCK_HDR_SIZE + n, 0, 0);
	}
	q_avail(&q[1], slot);
	vsock_virtio_ops.queue_notify(d, VSOCK_TXQ);
}

static void send_op(uint16_t op, uint32_t gport, uint32_t hport, uint32_t flags, uint32_t buf_alloc, uint32_t fwd)
{
	struct vsock_hdr h = hdr(op, gport, hport, 0);
	h.flags = flags;
	h.buf_alloc = buf_alloc;
	h.fwd_cnt = fwd;
	send_pkt(&h, NULL, 0, false);
}

static int client(const char *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int listener(const char *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
	unlink(p);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read exactly n bytes (blocking, with a generous poll timeout so a bug
 * fails the test instead of hanging it). Returns bytes read. */
static size_t read_n(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;
		if (poll(&p, 1, 2000) <= 0)
			break;
		r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* 0: closed (EOF, or reset when it had unread bytes) within the timeout;
 * 1: data; -1: nothing. */
static int peer_state(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t r;
	char c;

	if (poll(&p, 1, 500) <= 0)
		return -1;
	r = recv(fd, &c, 1, MSG_DONTWAIT);
	return r == 0 || (r < 0 && errno == ECONNRESET) ? 0 : 1;
}

/* Host-initiated handshake to guest port gport; returns the client fd and
 * the host port the device chose. */
static int host_connect(uint32_t gport, uint32_t *hport)
{
	char line[32], want[32];
	int fd = client(path);
	unsigned n;

	CHECK(fd >= 0);
	snprintf(line, sizeof(line), "CONNECT %u\n", gport);
	CHECK_EQ(write(fd, line, strlen(line)), (long)strlen(line));
	vsock_poll(d);
	n = drain();
	CHECK_EQ(n, 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_REQUEST);
	CHECK_EQ(pk[0].h.src_cid, VSOCK_HOST_CID);
	CHECK_EQ(pk[0].h.dst_cid, CID);
	CHECK_EQ(pk[0].h.dst_port, gport);
	CHECK_EQ(pk[0].h.type, VSOCK_TYPE_STREAM);
	CHECK_EQ(pk[0].h.buf_alloc, VSOCK_BUF_ALLOC);
	CHECK(pk[0].h.src_port >= VSOCK_LOCAL_PORT_BASE);
	*hport = pk[0].h.src_port;
	send_op(VSOCK_OP_RESPONSE, gport, *hport, 0, 1u << 20, 0);
	snprintf(want, sizeof(want), "OK %u\n", *hport);
	memset(line, 0, sizeof(line));
	CHECK_EQ(read_n(fd, line, strlen(want)), strlen(want));
	CHECK(strcmp(line, want) == 0);
	return fd;
}

static void pattern(uint8_t *p, size_t n, size_t off)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((off + i) * 131 + ((off + i) >> 9));
}

/* ---- cases ------------------------------------------------------------ */

static void header_layout(void)
{
	struct vsock_hdr h = { .src_cid = 0x0102030405060708ull, .dst_cid = 2, .src_port = 0x11223344,
			       .dst_port = 5, .len = 6, .type = 1, .op = 5, .flags = 3, .buf_alloc = 7,
			       .fwd_cnt = 0xaabbccdd }, g;
	uint8_t raw[VSOCK_HDR_SIZE], again[VSOCK_HDR_SIZE];

	vsock_hdr_put(raw, &h);
	/* §5.10.6: little-endian fields at fixed offsets. */
	CHECK_EQ(raw[0], 0x08);
	CHECK_EQ(raw[7], 0x01);
	CHECK_EQ(raw[8], 2);
	CHECK_EQ(raw[16], 0x44);
	CHECK_EQ(raw[24], 6);
	CHECK_EQ(raw[28], 1);
	CHECK_EQ(raw[30], 5);
	CHECK_EQ(raw[32], 3);
	CHECK_EQ(raw[36], 7);
	CHECK_EQ(raw[43], 0xaa);
	vsock_hdr_get(&g, raw);
	CHECK(g.src_cid == h.src_cid && g.dst_cid == h.dst_cid && g.src_port == h.src_port &&
	      g.dst_port == h.dst_port && g.len == h.len && g.type == h.type && g.op == h.op &&
	      g.flags == h.flags && g.buf_alloc == h.buf_alloc && g.fwd_cnt == h.fwd_cnt);
	vsock_hdr_put(again, &g);
	CHECK(memcmp(raw, again, sizeof(raw)) == 0);
}

static void config_and_features(void)
{
	uint8_t b[12];

	start();
	CHECK_EQ(vsock_virtio_ops.device_id, 19);
	CHECK_EQ(vsock_virtio_ops.num_queues, 3);
	stop();
	/* What the device host gets from open: plain data. */
	{
		struct vsock_opts o = { .cid = CID };
		struct virtio_dev_info info = { .poll_fd = -1, .stream_fd = -1 };
		void *dev = NULL;

		struct dev_env env = { .gm = &gm };

		mem = calloc(1, MEM);
		gm_init_test(&gm, mem, MEM);
		CHECK_EQ(vsock_virtio_ops.open(&dev, &o, 0, &env, &sig, &info), 0);
		CHECK(info.features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
		CHECK_EQ(info.config_len, 8);  /* §5.10.4 le64 guest_cid */
		memcpy(b, info.config, 8);
		CHECK_EQ(b[0], CID);
		CHECK_EQ(b[1] | b[2] | b[3] | b[4] | b[5] | b[6] | b[7], 0);
		CHECK_EQ(info.poll_fd, vsock_event_fd(dev));
		CHECK(info.stream_fd >= 0);
		close(info.stream_fd);
		vsock_virtio_ops.close(dev);
		free(mem);
	}
	/* Reserved CIDs are refused up front, as the user's error. */
	CHECK_EQ(vsock_open(&d, &gm, 2, NULL, &sig, NULL), dev_input_error(-EINVAL));
	CHECK_EQ(vsock_open(&d, &gm, UINT32_MAX, NULL, &sig, NULL), dev_input_error(-EINVAL));
}

static void host_initiated_data_and_close(void)
{
	uint32_t hp;
	char buf[16];
	int fd;

	start();
	post_rx(16);
	fd = host_connect(5000, &hp);
	CHECK_EQ(vsock_conn_count(d), 1);
	/* host -> guest */
	CHECK_EQ(write(fd, "hello", 5), 5);
	vsock_poll(d);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RW);
	CHECK_EQ(pk[0].h.src_port, hp);
	CHECK_EQ(pk[0].h.dst_port, 5000);
	CHECK_EQ(pk[0].n, 5);
	CHECK(memcmp(pk[0].data, "hello", 5) == 0);
	CHECK(sig.isr & VIRTIO_ISR_USED);
	/* guest -> host, header and payload in separate descriptors */
	{
		struct vsock_hdr h = hdr(VSOCK_OP_RW, 5000, hp, 5);
		send_pkt(&h, "world", 5, true);
	}
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(read_n(fd, buf, 5), 5);
	CHECK(strcmp(buf, "world") == 0);
	/* The host half-closes: the guest hears SHUTDOWN(SEND) (§5.10.6.5). */
	shutdown(fd, SHUT_WR);
	vsock_poll(d);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_SHUTDOWN);
	CHECK_EQ(pk[0].h.flags, VSOCK_SHUTDOWN_SEND);
	/* The guest can still send after that. */
	{
		struct vsock_hdr h = hdr(VSOCK_OP_RW, 5000, hp, 3);
		send_pkt(&h, "abc", 3, false);
	}
	CHECK_EQ(read_n(fd, buf, 3), 3);
	CHECK(memcmp(buf, "abc", 3) == 0);
	/* The guest closes: SHUTDOWN both ways -> RST back, host sees EOF. */
	send_op(VSOCK_OP_SHUTDOWN, 5000, hp, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND, 1u << 20, 0);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RST);
	CHECK_EQ(pk[0].h.dst_port, 5000);
	CHECK_EQ(vsock_conn_count(d), 0);
	CHECK_EQ(peer_state(fd), 0);
	close(fd);
	stop();
}

static void host_initiated_refused(void)
{
	uint32_t hp;
	int fd;

	start();
	post_rx(8);
	fd = client(path);
	CHECK_EQ(write(fd, "CONNECT 77\n", 11), 11);
	vsock_poll(d);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_REQUEST);
	hp = pk[0].h.src_port;
	/* Nothing listens on 77 in the guest: it answers RST. */
	send_op(VSOCK_OP_RST, 77, hp, 0, 0, 0);
	CHECK_EQ(peer_state(fd), 0);
	CHECK_EQ(vsock_conn_count(d), 0);
	CHECK_EQ(drain(), 0);  /* no RST answered to an RST */
	close(fd);
	/* Bad handshake lines are closed without bothering the guest. */
	fd = client(path);
	CHECK_EQ(write(fd, "CONNECT x\n", 10), 10);
	vsock_poll(d);
	CHECK_EQ(peer_state(fd), 0);
	close(fd);
	fd = client(path);
	CHECK_EQ(write(fd, "CONNECT 123456789012345678901234567890", 38), 38);
	vsock_poll(d);
	CHECK_EQ(peer_state(fd), 0);
	close(fd);
	CHECK_EQ(drain(), 0);
	CHECK_EQ(vsock_conn_count(d), 0);
	stop();
}

/* The line may arrive in pieces, and bytes after it are payload. */
static void handshake_split_and_early_data(void)
{
	uint32_t hp;
	char ok[32];
	int fd;

	start();
	post_rx(8);
	fd = client(path);
	CHECK_EQ(write(fd, "CONN", 4), 4);
	vsock_poll(d);
	CHECK_EQ(drain(), 0);
	CHECK_EQ(write(fd, "ECT 9\nearly", 11), 11);
	vsock_poll(d);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_REQUEST);
	CHECK_EQ(pk[0].h.dst_port, 9);
	hp = pk[0].h.src_port;
	send_op(VSOCK_OP_RESPONSE, 9, hp, 0, 1u << 20, 0);
	CHECK(read_n(fd, ok, 3) == 3 && memcmp(ok, "OK ", 3) == 0);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RW);
	CHECK_EQ(pk[0].n, 5);
	CHECK(memcmp(pk[0].data, "early", 5) == 0);
	close(fd);
	stop();
}

static void guest_initiated(void)
{
	char lp[160], buf[8];
	int l, s;

	start();
	post_rx(8);
	snprintf(lp, sizeof(lp), "%s_7000", path);
	l = listener(lp);
	CHECK(l >= 0);
	send_op(VSOCK_OP_REQUEST, 1234, 7000, 0, 1u << 20, 0);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RESPONSE);
	CHECK_EQ(pk[0].h.src_port, 7000);
	CHECK_EQ(pk[0].h.dst_port, 1234);
	CHECK_EQ(pk[0].h.buf_alloc, VSOCK_BUF_ALLOC);
	s = accept(l, NULL, NULL);
	CHECK(s >= 0);
	{
		struct vsock_hdr h = hdr(VSOCK_OP_RW, 1234, 7000, 4);
		send_pkt(&h, "ping", 4, false);
	}
	CHECK_EQ(read_n(s, buf, 4), 4);
	CHECK(memcmp(buf, "ping", 4) == 0);
	CHECK_EQ(write(s, "pong", 4), 4);
	vsock_poll(d);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RW);
	CHECK(memcmp(pk[0].data, "pong", 4) == 0);
	/* The host side closes completely: SHUTDOWN(SEND) first; then the
	 * guest's SHUTDOWN(SEND) finishes the connection with an RST. */
	close(s);
	vsock_poll(d);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_SHUTDOWN);
	send_op(VSOCK_OP_SHUTDOWN, 1234, 7000, VSOCK_SHUTDOWN_SEND, 1u << 20, 4);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RST);
	CHECK_EQ(vsock_conn_count(d), 0);
	/* A second connection's RST from the guest closes the host socket. */
	send_op(VSOCK_OP_REQUEST, 1235, 7000, 0, 1u << 20, 0);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RESPONSE);
	s = accept(l, NULL, NULL);
	send_op(VSOCK_OP_RST, 1235, 7000, 0, 0, 0);
	CHECK_EQ(peer_state(s), 0);
	CHECK_EQ(vsock_conn_count(d), 0);
	close(s);
	close(l);
	unlink(lp);
	stop();
}

static void guest_connect_missing_port(void)
{
	start();
	post_rx(8);
	send_op(VSOCK_OP_REQUEST, 4321, 7001, 0, 1u << 20, 0);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RST);
	CHECK_EQ(pk[0].h.src_port, 7001);
	CHECK_EQ(pk[0].h.dst_port, 4321);
	CHECK_EQ(pk[0].h.src_cid, VSOCK_HOST_CID);
	CHECK_EQ(pk[0].h.dst_cid, CID);
	CHECK_EQ(vsock_conn_count(d), 0);
	stop();
	/* Without --vsock every guest connect is refused. */
	start_path(NULL);
	post_rx(8);
	send_op(VSOCK_OP_REQUEST, 4321, 7000, 0, 1u << 20, 0);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RST);
	stop();
}

/* vmm's own endpoints: SVC_DIR/<port> is tried before PATH_<port>, and
 * works without --vsock. */
static void guest_connect_svc_dir(void)
{
	char sp[160], lp[160], buf[4];
	int ls, lu, s;

	start();
	post_rx(8);
	snprintf(sp, sizeof(sp), "%s/9002", dir);
	snprintf(lp, sizeof(lp), "%s_9002", path);
	ls = listener(sp);
	lu = listener(lp);
	CHECK(ls >= 0 && lu >= 0);
	/* Non-blocking listeners: an accept finds out whether a connection
	 * is there without hanging the test. */
	fcntl(ls, F_SETFL, O_NONBLOCK);
	fcntl(lu, F_SETFL, O_NONBLOCK);
	CHECK_EQ(vsock_set_svc_dir(d, dir), 0);
	send_op(VSOCK_OP_REQUEST, 1500, 9002, 0, 1u << 20, 0);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RESPONSE);
	s = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
	CHECK(s >= 0);
	CHECK(accept4(lu, NULL, NULL, SOCK_NONBLOCK) < 0);  /* not the user's */
	{
		struct vsock_hdr h = hdr(VSOCK_OP_RW, 1500, 9002, 4);
		send_pkt(&h, "logs", 4, false);
	}
	CHECK_EQ(read_n(s, buf, 4), 4);
	CHECK(memcmp(buf, "logs", 4) == 0);
	close(s);
	/* Port 9003 has no endpoint in the directory: PATH_9003 still works. */
	close(ls);
	unlink(sp);
	send_op(VSOCK_OP_REQUEST, 1501, 9002, 0, 1u << 20, 0);
	vsock_poll(d);
	CHECK_EQ(drain() >= 1, 1);
	s = accept4(lu, NULL, NULL, SOCK_NONBLOCK);
	CHECK(s >= 0);
	close(s);
	close(lu);
	unlink(lp);
	stop();
	/* Without --vsock, the directory alone. */
	start_path(NULL);
	post_rx(8);
	ls = listener(sp);
	CHECK_EQ(vsock_set_svc_dir(d, dir), 0);
	send_op(VSOCK_OP_REQUEST, 1502, 9002, 0, 1u << 20, 0);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RESPONSE);
	send_op(VSOCK_OP_REQUEST, 1503, 9004, 0, 1u << 20, 0);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RST);
	CHECK_EQ(vsock_set_svc_dir(d, NULL), 0);
	send_op(VSOCK_OP_REQUEST, 1504, 9002, 0, 1u << 20, 0);
	vsock_poll(d);
	CHECK_EQ(drain() >= 1, 1);
	CHECK_EQ(pk[0].h.op == VSOCK_OP_RST || pk[1].h.op == VSOCK_OP_RST, 1);
	close(ls);
	unlink(sp);
	stop();
}

/* host -> guest: the device sends no more than the guest's credit, and
 * resumes exactly when a credit update makes room. */
static void credit_host_to_guest(void)
{
	static uint8_t src[20000], got[20000];
	uint32_t hp, total = 0, fwd = 0;
	int fd;

	start();
	post_rx(16);
	fd = host_connect(6000, &hp);
	/* The guest has an 8 KiB receive buffer. */
	send_op(VSOCK_OP_CREDIT_UPDATE, 6000, hp, 0, 8192, 0);
	pattern(src, sizeof(src), 0);
	CHECK_EQ(write(fd, src, sizeof(src)), (long)sizeof(src));
	for (int round = 0; round < 10 && total < sizeof(src); round++) {
		uint32_t batch = 0;
		unsigned n;
		vsock_poll(d);
		n = drain();
		for (unsigned i = 0; i < n; i++) {
			CHECK_EQ(pk[i].h.op, VSOCK_OP_RW);
			if (total + pk[i].n > sizeof(got))
				break;
			memcpy(got + total, pk[i].data, pk[i].n);
			total += pk[i].n;
			batch += pk[i].n;
		}
		/* Never beyond the credit: 8192 per round at most. */
		CHECK(total - fwd <= 8192);
		CHECK(batch > 0);
		/* More buffers alone give nothing while credit is used up. */
		post_rx(16);
		vsock_poll(d);
		if (total - fwd == 8192)
			CHECK_EQ(drain(), 0);
		/* The guest consumed everything: credit update. */
		fwd = total;
		send_op(VSOCK_OP_CREDIT_UPDATE, 6000, hp, 0, 8192, fwd);
	}
	CHECK_EQ(total, sizeof(src));
	CHECK(memcmp(got, src, sizeof(src)) == 0);
	close(fd);
	stop();
}

/* guest -> host: a host that does not read makes the device buffer up to
 * buf_alloc and hold back credit; reading resumes credit; a guest that
 * ignores its credit is reset, and the host still gets an unbroken prefix. */
static void credit_guest_to_host(void)
{
	static uint8_t src[65536], buf[1 << 16];
	uint32_t hp, sent = 0, fwd_seen = 0, rcvd = 0;
	bool rst = false;
	int fd;

	start();
	post_rx(32);
	fd = host_connect(6001, &hp);
	/* An honest guest: 256 KiB (our buf_alloc) in 64 KiB packets. */
	for (unsigned i = 0; i < VSOCK_BUF_ALLOC / sizeof(src); i++) {
		struct vsock_hdr h = hdr(VSOCK_OP_RW, 6001, hp, sizeof(src));
		pattern(src, sizeof(src), sent);
		send_pkt(&h, src, sizeof(src), i & 1);
		sent += sizeof(src);
	}
	/* Whatever credit updates came, they never exceed what was sent. */
	for (unsigned n = drain(), i = 0; i < n; i++) {
		CHECK_EQ(pk[i].h.op, VSOCK_OP_CREDIT_UPDATE);
		CHECK(pk[i].h.fwd_cnt <= sent);
		fwd_seen = pk[i].h.fwd_cnt;
	}
	CHECK_EQ(vsock_conn_count(d), 1);
	/* The host reads it all: the device flushes and tells the guest. */
	for (unsigned idle = 0; rcvd < sent && idle < 1000;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		uint8_t exp[sizeof(buf)];
		vsock_poll(d);
		if (n <= 0) {
			idle++;
			continue;
		}
		pattern(exp, (size_t)n, rcvd);
		CHECK(memcmp(buf, exp, (size_t)n) == 0);
		rcvd += (uint32_t)n;
	}
	CHECK_EQ(rcvd, sent);
	for (unsigned n = drain(), i = 0; i < n; i++) {
		CHECK_EQ(pk[i].h.op, VSOCK_OP_CREDIT_UPDATE);
		fwd_seen = pk[i].h.fwd_cnt;
	}
	/* Updates go out in steps; never behind by a quarter of buf_alloc. */
	CHECK(fwd_seen <= sent && sent - fwd_seen < VSOCK_BUF_ALLOC / 4);
	/* A guest ignoring credit while the host does not read: reset before
	 * the device holds more than buf_alloc (plus what the socket takes). */
	for (unsigned i = 0; i < 64 && !rst; i++) {
		struct vsock_hdr h = hdr(VSOCK_OP_RW, 6001, hp, sizeof(src));
		pattern(src, sizeof(src), sent);
		send_pkt(&h, src, sizeof(src), false);
		sent += sizeof(src);
		for (unsigned n = drain(), k = 0; k < n; k++)
			rst |= pk[k].h.op == VSOCK_OP_RST;
	}
	CHECK(rst);
	CHECK_EQ(vsock_conn_count(d), 0);
	/* What reached the host is an unbroken continuation. */
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		uint8_t exp[sizeof(buf)];
		if (n <= 0)
			break;
		pattern(exp, (size_t)n, rcvd);
		CHECK(memcmp(buf, exp, (size_t)n) == 0);
		rcvd += (uint32_t)n;
	}
	CHECK(rcvd > fwd_seen);
	close(fd);
	stop();
}

/* Credit is enforced exactly: a window's worth is fine while the host
 * reads nothing, one byte more resets the connection. */
static void credit_exact(void)
{
	static uint8_t src[65536];
	uint32_t hp;
	int fd;

	start();
	post_rx(8);
	fd = host_connect(6004, &hp);
	for (unsigned i = 0; i < VSOCK_BUF_ALLOC / sizeof(src); i++) {
		struct vsock_hdr h = hdr(VSOCK_OP_RW, 6004, hp, sizeof(src));
		send_pkt(&h, src, sizeof(src), false);
	}
	CHECK_EQ(drain(), 0);  /* no reset, and no credit: the host read nothing */
	CHECK_EQ(vsock_conn_count(d), 1);
	{
		struct vsock_hdr h = hdr(VSOCK_OP_RW, 6004, hp, 1);
		send_pkt(&h, "!", 1, false);
	}
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RST);
	CHECK_EQ(vsock_conn_count(d), 0);
	close(fd);
	stop();
}

/* CREDIT_REQUEST is always answered with our current credit. */
static void credit_request(void)
{
	uint32_t hp;
	char buf[16];
	int fd;

	start();
	post_rx(8);
	fd = host_connect(6002, &hp);
	{
		struct vsock_hdr h = hdr(VSOCK_OP_RW, 6002, hp, 10);
		send_pkt(&h, "0123456789", 10, false);
	}
	CHECK_EQ(drain(), 0);
	/* fwd_cnt counts what the host peer has read: nothing yet. */
	send_op(VSOCK_OP_CREDIT_REQUEST, 6002, hp, 0, 1u << 20, 0);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_CREDIT_UPDATE);
	CHECK_EQ(pk[0].h.fwd_cnt, 0);
	CHECK_EQ(pk[0].h.buf_alloc, VSOCK_BUF_ALLOC);
	CHECK_EQ(read_n(fd, buf, 10), 10);
	send_op(VSOCK_OP_CREDIT_REQUEST, 6002, hp, 0, 1u << 20, 0);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_CREDIT_UPDATE);
	CHECK_EQ(pk[0].h.fwd_cnt, 10);
	close(fd);
	stop();
}

/* No rx buffers: nothing is read or lost; posting buffers resumes. */
static void rx_starvation(void)
{
	static uint8_t src[100000], got[100000];
	uint32_t hp, total = 0;
	int fd;

	start();
	post_rx(1);
	fd = host_connect(6003, &hp);
	pattern(src, sizeof(src), 7);
	CHECK_EQ(write(fd, src, sizeof(src)), (long)sizeof(src));
	for (int i = 0; i < 5; i++)
		vsock_poll(d);
	CHECK_EQ(drain(), 0);
	for (int round = 0; round < 100 && total < sizeof(src); round++) {
		unsigned n;
		post_rx(QSIZE);
		vsock_poll(d);
		n = drain();
		for (unsigned i = 0; i < n && total + pk[i].n <= sizeof(got); i++) {
			CHECK_EQ(pk[i].h.op, VSOCK_OP_RW);
			memcpy(got + total, pk[i].data, pk[i].n);
			total += pk[i].n;
		}
		send_op(VSOCK_OP_CREDIT_UPDATE, 6003, hp, 0, 1u << 20, total);
	}
	CHECK_EQ(total, sizeof(src));
	CHECK(memcmp(got, src, sizeof(src)) == 0);
	close(fd);
	stop();
}

static void inproc_connect(void)
{
	uint32_t hp;
	char buf[8];
	int fd;

	start();
	post_rx(8);
	fd = vsock_connect(d, 8888);
	CHECK(fd >= 0);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_REQUEST);
	CHECK_EQ(pk[0].h.dst_port, 8888);
	hp = pk[0].h.src_port;
	send_op(VSOCK_OP_RESPONSE, 8888, hp, 0, 1u << 20, 0);
	/* No "OK" line on in-process connections: straight to the payload. */
	CHECK_EQ(write(fd, "req", 3), 3);
	vsock_poll(d);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RW);
	CHECK(memcmp(pk[0].data, "req", 3) == 0);
	{
		struct vsock_hdr h = hdr(VSOCK_OP_RW, 8888, hp, 4);
		send_pkt(&h, "resp", 4, false);
	}
	CHECK_EQ(read_n(fd, buf, 4), 4);
	CHECK(memcmp(buf, "resp", 4) == 0);
	close(fd);
	/* The guest refuses a second one: the caller reads EOF. */
	fd = vsock_connect(d, 8889);
	CHECK_EQ(drain(), 1);
	send_op(VSOCK_OP_RST, 8889, pk[0].h.src_port, 0, 0, 0);
	CHECK_EQ(peer_state(fd), 0);
	close(fd);
	stop();
	/* Before the driver is up there is nobody to ask. */
	CHECK_EQ(vsock_open(&d, &gm, CID, NULL, &sig, NULL), 0);
	CHECK_EQ(vsock_connect(d, 8888), -ENOTCONN);
	vsock_close(d);
}

/* One guest-stream request as the control socket sends it: line + fd
 * (fd < 0: none). */
static void stream_request(int streams, const char *line, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)line, .iov_len = strlen(line) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *cm;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	CHECK_EQ(sendmsg(streams, &mh, 0), (long long)iov.iov_len);
}

/* The VMM reaches a guest port only by handing the device an fd over the
 * guest-stream connector (SCM_RIGHTS, vmm/virtio.h): a well-formed request
 * becomes a connection without an OK line; a malformed one, one without an
 * fd, or one before the driver is up closes what was handed over. */
static void stream_connector_handover(void)
{
	struct virtq_config c[3];
	int streams, sv[2];
	uint32_t hp;
	char buf[8];

	mem = calloc(1, MEM);
	gm_init_test(&gm, mem, MEM);
	for (unsigned i = 0; i < 3; i++) {
		q[i] = (struct fq){ .desc = 0x1000 + 0x3000 * i, .avail = 0x2000 + 0x3000 * i,
				    .used = 0x3000 + 0x3000 * i };
		c[i] = (struct virtq_config){ .size = QSIZE, .ready = true, .desc = q[i].desc,
					      .avail = q[i].avail, .used = q[i].used };
	}
	sig = (struct virtio_signal){ .irqfd = -1 };
	CHECK_EQ(vsock_open(&d, &gm, CID, NULL, &sig, &streams), 0);
	CHECK(streams >= 0);
	/* Driver not up yet: the handed fd is closed. */
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	stream_request(streams, "CONNECT 8888\n", sv[1]);
	close(sv[1]);
	vsock_poll(d);
	CHECK_EQ(peer_state(sv[0]), 0);
	close(sv[0]);
	CHECK_EQ(vsock_virtio_ops.activate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1), c, 3), 0);
	post_rx(8);

	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	stream_request(streams, "CONNECT 8888\n", sv[1]);
	close(sv[1]);  /* the device holds its own copy now */
	vsock_poll(d);
	CHECK_EQ(vsock_conn_count(d), 1);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_REQUEST);
	CHECK_EQ(pk[0].h.dst_port, 8888);
	hp = pk[0].h.src_port;
	send_op(VSOCK_OP_RESPONSE, 8888, hp, 0, 1u << 20, 0);
	CHECK_EQ(write(sv[0], "req", 3), 3);
	vsock_poll(d);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RW);
	CHECK(memcmp(pk[0].data, "req", 3) == 0);
	{
		struct vsock_hdr h = hdr(VSOCK_OP_RW, 8888, hp, 4);
		send_pkt(&h, "resp", 4, false);
	}
	CHECK_EQ(read_n(sv[0], buf, 4), 4);
	CHECK(memcmp(buf, "resp", 4) == 0);
	close(sv[0]);

	/* Malformed lines close the fd and wire nothing. */
	static const char *const bad[] = { "CONNECT\n", "CONNECT x\n", "CONNECT 4294967296\n", "CONNECT 5",
					   "LISTEN 5\n" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		stream_request(streams, bad[i], sv[1]);
		close(sv[1]);
		vsock_poll(d);
		CHECK_EQ(peer_state(sv[0]), 0);
		close(sv[0]);
	}
	/* No fd at all: ignored (no new REQUEST to the guest). */
	stream_request(streams, "CONNECT 8888\n", -1);
	vsock_poll(d);
	for (unsigned i = 0, n = drain(); i < n; i++)
		CHECK(pk[i].h.op != VSOCK_OP_REQUEST);
	CHECK(vsock_conn_count(d) <= 1);
	close(streams);
	vsock_poll(d);  /* the VMM's end gone: nothing to do, nothing breaks */
	stop();
}

/* A device reset forgets every connection and closes the host sides. */
static void reset_closes_all(void)
{
	struct virtq_config c[3];
	uint32_t hp;
	int a, b;

	start();
	post_rx(8);
	a = host_connect(100, &hp);
	b = host_connect(101, &hp);
	CHECK_EQ(vsock_conn_count(d), 2);
	vsock_virtio_ops.reset(d);
	CHECK_EQ(vsock_conn_count(d), 0);
	CHECK_EQ(peer_state(a), 0);
	CHECK_EQ(peer_state(b), 0);
	close(a);
	close(b);
	/* And it works again after a fresh activate. */
	memset(mem, 0, 0x10000);
	for (unsigned i = 0; i < 3; i++) {
		q[i].avail_idx = q[i].used_seen = 0;
		c[i] = (struct virtq_config){ .size = QSIZE, .ready = true, .desc = q[i].desc,
					      .avail = q[i].avail, .used = q[i].used };
	}
	CHECK_EQ(vsock_virtio_ops.activate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1), c, 3), 0);
	post_rx(8);
	a = host_connect(102, &hp);
	CHECK_EQ(vsock_conn_count(d), 1);
	close(a);
	stop();
}

static void hostile_packets(void)
{
	uint32_t hp;
	int fd;

	start();
	post_rx(32);
	fd = host_connect(200, &hp);
	/* Unknown connection: RW, SHUTDOWN, CREDIT_* and RESPONSE get RST. */
	send_op(VSOCK_OP_RW, 999, 888, 0, 0, 0);
	send_op(VSOCK_OP_SHUTDOWN, 999, 888, 3, 0, 0);
	send_op(VSOCK_OP_CREDIT_UPDATE, 999, 888, 0, 0, 0);
	send_op(VSOCK_OP_RESPONSE, 999, 888, 0, 0, 0);
	send_op(VSOCK_OP_RST, 999, 888, 0, 0, 0);  /* no answer to this one */
	CHECK_EQ(drain(), 4);
	for (unsigned i = 0; i < 4; i++) {
		CHECK_EQ(pk[i].h.op, VSOCK_OP_RST);
		CHECK_EQ(pk[i].h.dst_port, 999);
		CHECK_EQ(pk[i].h.src_port, 888);
	}
	/* Unknown op, wrong type, wrong CIDs: RST. */
	send_op(42, 999, 888, 0, 0, 0);
	{
		struct vsock_hdr h = hdr(VSOCK_OP_REQUEST, 999, 888, 0);
		h.type = 2;  /* SEQPACKET, not negotiated */
		send_pkt(&h, NULL, 0, false);
		h = hdr(VSOCK_OP_REQUEST, 999, 888, 0);
		h.src_cid = 77;
		send_pkt(&h, NULL, 0, false);
		h = hdr(VSOCK_OP_REQUEST, 999, 888, 0);
		h.dst_cid = 5;
		send_pkt(&h, NULL, 0, false);
	}
	CHECK_EQ(drain(), 4);
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(pk[i].h.op, VSOCK_OP_RST);
	/* The live connection is untouched by all of that... */
	CHECK_EQ(vsock_conn_count(d), 1);
	/* ...but a length beyond its chain resets it. */
	{
		struct vsock_hdr h = hdr(VSOCK_OP_RW, 200, hp, 5000);
		send_pkt(&h, "x", 1, false);
	}
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RST);
	CHECK_EQ(pk[0].h.dst_port, 200);
	CHECK_EQ(vsock_conn_count(d), 0);
	CHECK_EQ(peer_state(fd), 0);
	close(fd);
	/* A second REQUEST for a live connection resets it. */
	fd = host_connect(201, &hp);
	send_op(VSOCK_OP_REQUEST, 201, hp, 0, 0, 0);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RST);
	CHECK_EQ(vsock_conn_count(d), 0);
	close(fd);
	CHECK_EQ(sig.needs_reset, 0);
	/* A tx chain shorter than a header cannot even be answered: the
	 * device needs a reset and stops touching its queues. */
	q_desc(&q[1], 5, TXBUF, 10, 0, 0);
	q_avail(&q[1], 5);
	vsock_virtio_ops.queue_notify(d, VSOCK_TXQ);
	CHECK_EQ(sig.needs_reset, 1);
	send_op(VSOCK_OP_REQUEST, 1, 2, 0, 0, 0);
	CHECK_EQ(drain(), 0);
	stop();
	/* A device-readable rx buffer is malformed too. */
	start();
	q_desc(&q[0], 0, RXBUF, RXLEN, 0, 0);
	q_avail(&q[0], 0);
	send_op(VSOCK_OP_REQUEST, 1, 2, 0, 0, 0);
	CHECK_EQ(sig.needs_reset, 1);
	stop();
}

/* A driver that reads the device status as soon as it sees a malformed
 * chain used (the hostile guest does) must find NEEDS_RESET already set
 * (§2.1.2). A thread spins on used->idx and reads the flag the moment the
 * entry appears; the device once published first and set the flag after,
 * which the nested hostile run caught (v_tx_writable read PASS). Many
 * rounds, since the window was a few instructions wide. */
static volatile const uint16_t *nr_idx;
static volatile int nr_go, nr_done;
static unsigned long nr_late;

static void *nr_watch(void *arg)
{
	(void)arg;
	for (;;) {
		int go;
		while (!(go = __atomic_load_n(&nr_go, __ATOMIC_ACQUIRE)))
			;
		if (go < 0)
			return NULL;
		while (!__atomic_load_n(nr_idx, __ATOMIC_ACQUIRE))
			;
		if (!__atomic_load_n(&sig.needs_reset, __ATOMIC_SEQ_CST))
			nr_late++;
		__atomic_store_n(&nr_go, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&nr_done, 1, __ATOMIC_RELEASE);
	}
}

static void bad_chain_needs_reset_before_used(void)
{
	pthread_t t;

	nr_late = 0;
	CHECK_EQ(pthread_create(&t, NULL, nr_watch, NULL), 0);
	start();
	for (unsigned round = 0; round < 3000; round++) {
		bool rx = round & 1;

		vsock_virtio_ops.reset(d);
		rings_activate();
		nr_idx = (const uint16_t *)(mem + q[rx ? 0 : 1].used + 2);
		nr_done = 0;
		__atomic_store_n(&nr_go, 1, __ATOMIC_RELEASE);
		if (rx) {  /* a device-readable rx buffer, found on a send */
			q_desc(&q[0], 0, RXBUF, RXLEN, 0, 0);
			q_avail(&q[0], 0);
			send_op(VSOCK_OP_REQUEST, 1, 2, 0, 0, 0);
		} else {  /* a device-writable tx chain */
			q_desc(&q[1], 0, TXBUF, 64, VIRTQ_DESC_F_WRITE, 0);
			q_avail(&q[1], 0);
			vsock_virtio_ops.queue_notify(d, VSOCK_TXQ);
		}
		CHECK_EQ(sig.needs_reset, 1);
		while (!__atomic_load_n(&nr_done, __ATOMIC_ACQUIRE))
			;
	}
	stop();
	__atomic_store_n(&nr_go, -1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	CHECK_EQ(nr_late, 0);
}

/* A guest flooding requests while taking none of the answers is throttled
 * (its tx queue stops moving) and every answer still arrives. */
static void flood_throttled_not_dropped(void)
{
	unsigned sent = 0, rsts = 0;
	uint16_t used;

	start();
	/* Bounded, so a device that never throttles fails instead of hanging. */
	for (unsigned round = 0; round < 40; round++) {
		while ((uint16_t)(q[1].avail_idx - q_used_idx(&q[1])) < QSIZE && sent < 1024 + 4 * QSIZE) {
			send_op(VSOCK_OP_REQUEST, 10000 + sent, 7002, 0, 0, 0);
			sent++;
		}
	}
	used = q_used_idx(&q[1]);
	CHECK(sent >= 1024 + QSIZE);
	CHECK_EQ(used, 1024);  /* stopped at the stall mark */
	for (unsigned round = 0; round < 200 && rsts < sent; round++) {
		unsigned n;
		post_rx(QSIZE);
		n = drain();
		for (unsigned i = 0; i < n; i++) {
			CHECK_EQ(pk[i].h.op, VSOCK_OP_RST);
			CHECK_EQ(pk[i].h.dst_port, 10000 + rsts);  /* in order */
			rsts++;
		}
	}
	CHECK_EQ(rsts, sent);
	CHECK_EQ(q_used_idx(&q[1]), (uint16_t)sent);
	stop();
}

/* A guest on another vCPU refilling the tx ring with RSTs for connections
 * that do not exist: they owe no answer, so the RST throttle never trips. */
#define BIGQ 256
struct rst_guest {
	unsigned limit, added;
	int done, stop;
};

static void rst_guest_add(struct rst_guest *g)
{
	uint16_t slot = q[1].avail_idx % BIGQ;

	memcpy(mem + q[1].avail + 4 + 2u * slot, &slot, 2);
	q[1].avail_idx++;
	__atomic_store_n((uint16_t *)(void *)(mem + q[1].avail + 2), q[1].avail_idx, __ATOMIC_RELEASE);
	g->added++;
}

static void *rst_guest_main(void *arg)
{
	struct rst_guest *g = arg;
	uint16_t *used_idx = (uint16_t *)(void *)(mem + q[1].used + 2);

	while (g->added < g->limit && !__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE)) {
		if ((uint16_t)(q[1].avail_idx - __atomic_load_n(used_idx, __ATOMIC_ACQUIRE)) < BIGQ)
			rst_guest_add(g);
		else
			sched_yield();
	}
	__atomic_store_n(&g->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* One tx notification serves at most VSOCK_BUDGET chains and asks to be
 * called again (virtio_signal_requeue): before, a guest refilling as fast
 * as the device served kept the event-loop thread -- SIGTERM, the control
 * socket, every other device -- to itself until it chose to stop (the
 * audit measured 2,000,063 chains in one notify). Meanwhile the control
 * path (vsock_connect) gets its turn and its REQUEST through. */
static void tx_budget_requeues(void)
{
	struct rst_guest g = { .limit = 16 * BIGQ };
	struct virtio_signal *s;
	pthread_t th;
	uint16_t before, served;
	unsigned calls = 0;
	bool requested = false;
	int fd = -1;

	txsize = BIGQ;
	start();
	txsize = QSIZE;
	s = vsock_signal(d);
	for (uint16_t i = 0; i < BIGQ; i++) {
		struct vsock_hdr h = hdr(VSOCK_OP_RST, 40000 + i, 9999, 0);
		vsock_hdr_put(mem + TXBUF + 64u * i, &h);
		q_desc(&q[1], i, TXBUF + 64u * i, VSOCK_HDR_SIZE, 0, 0);
	}
	/* A full ring: exactly one budget's worth per notification. */
	for (unsigned i = 0; i < BIGQ; i++)
		rst_guest_add(&g);
	vsock_virtio_ops.queue_notify(d, VSOCK_TXQ);
	CHECK_EQ(q_used_idx(&q[1]), VSOCK_BUDGET);
	CHECK(s->requeue & (1u << VSOCK_TXQ));
	/* Now with the guest refilling on another thread (notifying each
	 * time: we call queue_notify in a loop). Bounded, so a device without
	 * a budget fails instead of hanging. */
	CHECK_EQ(pthread_create(&th, NULL, rst_guest_main, &g), 0);
	for (; calls < 1000000 && !t_case_failed; calls++) {
		if (__atomic_load_n(&g.done, __ATOMIC_ACQUIRE) && q_used_idx(&q[1]) == (uint16_t)g.limit)
			break;
		before = q_used_idx(&q[1]);
		__atomic_store_n(&s->requeue, 0, __ATOMIC_SEQ_CST);
		vsock_virtio_ops.queue_notify(d, VSOCK_TXQ);
		served = (uint16_t)(q_used_idx(&q[1]) - before);
		CHECK(served <= VSOCK_BUDGET);
		if (!served)
			sched_yield();  /* let the guest refill */
		if (calls == 2) {
			fd = vsock_connect(d, 5000);
			CHECK(fd >= 0);
		}
	}
	__atomic_store_n(&g.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	CHECK_EQ(q_used_idx(&q[1]), (uint16_t)g.limit);
	CHECK(fd >= 0);
	for (unsigned round = 0; round < 4 && !requested; round++) {
		post_rx(4);
		for (unsigned i = 0, n = drain(); i < n; i++)
			requested |= pk[i].h.op == VSOCK_OP_REQUEST && pk[i].h.dst_port == 5000;
	}
	CHECK(requested);
	if (fd >= 0)
		close(fd);
	stop();
}

/* The rx side has the same budget: 200 RSTs owed and a 256-entry rx ring
 * full of buffers go out VSOCK_BUDGET per notification, requeued, in
 * order (before, one notification sent all 200). */
static void rx_budget_requeues(void)
{
	struct virtio_signal *s;
	uint16_t *avail_idx;
	unsigned got = 0;

	rxsize = BIGQ;
	start();
	rxsize = QSIZE;
	s = vsock_signal(d);
	for (unsigned i = 0; i < 200; i++)
		send_op(VSOCK_OP_REQUEST, 20000 + i, 7002, 0, 0, 0);  /* nobody on PATH_7002 */
	CHECK_EQ(q_used_idx(&q[0]), 0);
	avail_idx = (uint16_t *)(void *)(mem + q[0].avail + 2);
	for (uint16_t i = 0; i < BIGQ; i++) {
		q_desc(&q[0], i, 0x700000 + 64u * i, 64, VIRTQ_DESC_F_WRITE, 0);
		memcpy(mem + q[0].avail + 4 + 2u * i, &i, 2);
	}
	*avail_idx = BIGQ;
	vsock_virtio_ops.queue_notify(d, VSOCK_RXQ);
	CHECK_EQ(q_used_idx(&q[0]), VSOCK_BUDGET);
	CHECK(s->requeue & (1u << VSOCK_RXQ));
	for (unsigned calls = 0; calls < 10 && q_used_idx(&q[0]) < 200; calls++) {
		uint16_t before = q_used_idx(&q[0]);
		s->requeue = 0;
		vsock_virtio_ops.queue_notify(d, VSOCK_RXQ);
		CHECK((uint16_t)(q_used_idx(&q[0]) - before) <= VSOCK_BUDGET);
	}
	CHECK_EQ(q_used_idx(&q[0]), 200);
	for (unsigned k = 0; k < 200; k++) {
		uint32_t id;
		struct vsock_hdr h;
		memcpy(&id, mem + q[0].used + 4 + 8 * k, 4);
		vsock_hdr_get(&h, mem + 0x700000 + 64u * id);
		got += h.op == VSOCK_OP_RST && h.dst_port == 20000 + k;
	}
	CHECK_EQ(got, 200);
	stop();
}

/* Many host connections at once, each with its own bytes. */
static void many_connections(void)
{
	enum { N = 100 };
	int fd[N];
	uint32_t hp[N];
	unsigned ok = 0;

	start();
	post_rx(QSIZE);
	for (unsigned i = 0; i < N; i++) {
		fd[i] = host_connect(3000 + i, &hp[i]);
		post_rx(1);
	}
	CHECK_EQ(vsock_conn_count(d), N);
	for (unsigned i = 0; i < N; i++) {
		char m[16];
		int n = snprintf(m, sizeof(m), "conn %u", i);
		CHECK_EQ(write(fd[i], m, (size_t)n), n);
	}
	for (unsigned round = 0; round < 10 && ok < N; round++) {
		unsigned n;
		vsock_poll(d);
		n = drain();
		for (unsigned k = 0; k < n; k++) {
			char m[16];
			unsigned i = pk[k].h.dst_port - 3000;
			int len = snprintf(m, sizeof(m), "conn %u", i);
			CHECK(i < N);
			CHECK_EQ(pk[k].h.src_port, hp[i < N ? i : 0]);
			CHECK_EQ(pk[k].n, (uint32_t)len);
			CHECK(memcmp(pk[k].data, m, (size_t)len) == 0);
			ok++;
		}
		post_rx(n);
	}
	CHECK_EQ(ok, N);
	for (unsigned i = 0; i < N; i++)
		close(fd[i]);
	stop();
}

/* A client that never finishes its CONNECT line, and a guest that never
 * answers, are both closed after the timeout (the guest gets an RST). */
static void connect_timeout(void)
{
	int a, b;

	start();
	post_rx(8);
	a = client(path);
	CHECK_EQ(write(a, "CONN", 4), 4);
	b = client(path);
	CHECK_EQ(write(b, "CONNECT 300\n", 12), 12);
	vsock_poll(d);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_REQUEST);
	usleep((VSOCK_CONNECT_TIMEOUT_MS + 600) * 1000);
	vsock_poll(d);
	CHECK_EQ(peer_state(a), 0);
	CHECK_EQ(peer_state(b), 0);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(pk[0].h.op, VSOCK_OP_RST);
	CHECK_EQ(pk[0].h.dst_port, 300);
	CHECK_EQ(vsock_conn_count(d), 0);
	close(a);
	close(b);
	stop();
}

static void listen_path_checks(void)
{
	char p[160];
	int l;

	/* A live listener on PATH is not stolen. */
	snprintf(p, sizeof(p), "%s/busy", dir);
	l = listener(p);
	CHECK(l >= 0);
	CHECK_EQ(vsock_open(&d, &gm, CID, p, &sig, NULL), dev_input_error(-EADDRINUSE));
	close(l);
	/* A stale socket file is replaced. */
	CHECK_EQ(vsock_open(&d, &gm, CID, p, &sig, NULL), 0);
	vsock_close(d);
	CHECK(access(p, F_OK) < 0);  /* removed on close */
	/* A regular file is not ours to remove. */
	snprintf(p, sizeof(p), "%s/file", dir);
	close(open(p, O_CREAT | O_WRONLY, 0600));
	CHECK_EQ(vsock_open(&d, &gm, CID, p, &sig, NULL), dev_input_error(-EEXIST));
	CHECK_EQ(access(p, F_OK), 0);
	unlink(p);
}

/* `CONNECT 5000` on --vsock as uid (a forked child): 0 when the device
 * closed the connection without answering within wait_ms, 1 when it kept
 * it that long, 4 when connect() was refused by the file mode. The parent
 * polls the device. A refusal is expected at once, so it may be given long
 * on a loaded machine; a kept connection must be looked at before
 * VSOCK_CONNECT_TIMEOUT_MS closes it. */
static int connect_as(uid_t uid, int wait_ms)
{
	pid_t pid;
	int st = -1;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct pollfd pf;
		char c;
		int fd;

		alarm(60);
		if (uid && setresuid(uid, uid, uid) < 0)
			_exit(3);
		fd = client(path);
		if (fd < 0)
			_exit(fd == -EACCES ? 4 : 5);
		if (write(fd, "CONNECT 5000\n", 13) != 13)
			_exit(6);
		pf = (struct pollfd){ .fd = fd, .events = POLLIN };
		/* Closed (EOF, or reset: our line was unread), or still open
		 * after wait_ms. */
		_exit(poll(&pf, 1, wait_ms) == 1 && read(fd, &c, 1) <= 0 ? 0 : 1);
	}
	/* Bounded by the child's alarm; a loaded machine may need long. */
	for (int i = 0; i < 6000; i++) {
		vsock_poll(d);
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* Whoever reaches --vsock and sends CONNECT 8888 is, to the guest, the
 * host: root command execution. So the listener is created 0600 whatever
 * the umask, and a peer that is neither our uid nor root is closed
 * unheard even when the file's mode lets it connect (SO_PEERCRED). */
static void listener_private_and_peer_checked(void)
{
	struct stat st;
	mode_t old = umask(0);
	bool requested = false;

	start();
	umask(old);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
	if (geteuid() == 0) {
		CHECK_EQ(connect_as(65534, 10000), 4);
		CHECK_EQ(chmod(path, 0666), 0);
		/* Buffers first: a REQUEST the device sent would be there to
		 * see even after its connect timeout closed the connection. */
		post_rx(4);
		CHECK_EQ(connect_as(65534, 10000), 0);
		for (unsigned i = 0, n = drain(); i < n; i++)
			requested |= pk[i].h.op == VSOCK_OP_REQUEST;
		CHECK(!requested);
		CHECK_EQ(vsock_conn_count(d), 0);
	}
	/* Our own uid is served: the guest gets the REQUEST. */
	CHECK_EQ(connect_as(0, 1000), 1);
	post_rx(4);
	for (unsigned i = 0, n = drain(); i < n; i++)
		requested |= pk[i].h.op == VSOCK_OP_REQUEST && pk[i].h.dst_port == 5000;
	CHECK(requested);
	stop();
}

/* ---- randomized model of a Linux guest (net/vmw_vsock/virtio_transport*) */

/* One guest stream socket: the receive side as Linux keeps it (fwd_cnt
 * moves only when a whole packet has been read; a credit update goes out
 * when less than 64 KiB of window would be left, or the queue ran dry) and
 * the send side (credit from the device's last header). */
#define ST_ALLOC (256u << 10)
struct gsock {
	uint32_t gport, hport;
	/* receive */
	uint32_t rx_bytes, fwd_cnt, last_fwd_cnt;
	uint32_t qlen[512], qhead, qn, qoff;  /* packet lengths queued, offset in the first */
	uint64_t rcvd;
	/* send */
	uint32_t tx_cnt, peer_alloc, peer_fwd;
	uint64_t sent, want_snd;
	uint32_t seed_rcv, seed_snd;
	bool overrun;
};

static uint32_t st_rand(uint64_t *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return (uint32_t)(*r >> 11);
}

static uint8_t st_byte(uint32_t seed, uint64_t off)
{
	return (uint8_t)((off * 2654435761u) >> 13 ^ seed ^ (off >> 17));
}

/* The next chunk of a pattern stream: at most k bytes, no more than remain
 * of want or fit in buf (cap). Returns the byte count filled in. */
static uint32_t st_chunk(uint8_t *buf, uint32_t cap, uint32_t k, uint64_t sent, uint64_t want, uint32_t seed)
{
	if (k > want - sent)
		k = (uint32_t)(want - sent);
	if (k > cap)
		k = cap;
	for (uint32_t b = 0; b < k; b++)
		buf[b] = st_byte(seed, sent + b);
	return k;
}

/* A header from this guest socket: every packet carries its window, and
 * Linux remembers what it last told (last_fwd_cnt). */
static struct vsock_hdr st_hdr(struct gsock *g, uint16_t op, uint32_t len)
{
	struct vsock_hdr h = hdr(op, g->gport, g->hport, len);

	h.buf_alloc = ST_ALLOC;
	h.fwd_cnt = g->fwd_cnt;
	g->last_fwd_cnt = g->fwd_cnt;
	return h;
}

/* The guest's rx work: take every returned buffer, queue data. Returns
 * how many packets came back. */
static unsigned st_rx(struct gsock *gs, unsigned ngs, bool *bad)
{
	unsigned n = drain();

	for (unsigned i = 0; i < n; i++) {
		struct gsock *g = NULL;
		for (unsigned k = 0; k < ngs; k++)
			if (gs[k].gport == pk[i].h.dst_port && gs[k].hport == pk[i].h.src_port)
				g = &gs[k];
		if (!g) {
			printf("  packet op %u for unknown guest port %u\n", pk[i].h.op, pk[i].h.dst_port);
			*bad = true;
			continue;
		}
		g->peer_alloc = pk[i].h.buf_alloc;
		g->peer_fwd = pk[i].h.fwd_cnt;
		if (pk[i].h.op != VSOCK_OP_RW) {
			if (pk[i].h.op != VSOCK_OP_CREDIT_UPDATE && pk[i].h.op != VSOCK_OP_RESPONSE) {
				printf("  unexpected op %u for guest port %u\n", pk[i].h.op, g->gport);
				*bad = true;
			}
			continue;
		}
		/* virtio_transport_inc_rx_pkt: beyond the window is dropped. */
		if (g->rx_bytes + pk[i].n > ST_ALLOC || g->qn == 512) {
			g->overrun = true;
			continue;
		}
		for (uint32_t b = 0; b < pk[i].n && !*bad; b++)
			if (pk[i].data[b] != st_byte(g->seed_rcv, g->rcvd + g->rx_bytes - g->qoff + b)) {
				printf("  guest port %u: wrong byte at %llu\n", g->gport,
				       (unsigned long long)(g->rcvd + g->rx_bytes - g->qoff + b));
				*bad = true;
			}
		g->rx_bytes += pk[i].n;
		g->qlen[(g->qhead + g->qn++) % 512] = pk[i].n;
	}
	return n;
}

/* The guest application reads up to k bytes (virtio_transport_stream_do_dequeue). */
static uint32_t st_read(struct gsock *g, uint32_t k)
{
	uint32_t got = 0;

	while (got < k && g->qn) {
		uint32_t left = g->qlen[g->qhead] - g->qoff, b = k - got < left ? k - got : left;
		got += b;
		g->qoff += b;
		if (g->qoff == g->qlen[g->qhead]) {
			g->rx_bytes -= g->qlen[g->qhead];
			g->fwd_cnt += g->qlen[g->qhead];
			g->qhead = (g->qhead + 1) % 512;
			g->qn--;
			g->qoff = 0;
		}
	}
	g->rcvd += got;
	{
		uint32_t delta = g->fwd_cnt - g->last_fwd_cnt;
		if (delta && (ST_ALLOC - delta < (64u << 10) || g->rx_bytes == 0)) {
			struct vsock_hdr h = st_hdr(g, VSOCK_OP_CREDIT_UPDATE, 0);
			send_pkt(&h, NULL, 0, false);
		}
	}
	return got;
}

/* The guest application writes up to k bytes, as much as credit allows. */
static uint32_t st_write(struct gsock *g, uint32_t k)
{
	static uint8_t buf[64u << 10];
	uint32_t space = g->peer_alloc - (g->tx_cnt - g->peer_fwd);

	if (g->tx_cnt - g->peer_fwd > g->peer_alloc)
		space = 0;
	k = st_chunk(buf, sizeof(buf), k < space ? k : space, g->sent, g->want_snd, g->seed_snd);
	if (!k)
		return 0;
	{
		struct vsock_hdr h = st_hdr(g, VSOCK_OP_RW, k);
		send_pkt(&h, buf, k, true);
	}
	g->tx_cnt += k;
	g->sent += k;
	return k;
}

/* A host peer: a nonblocking unix socket streaming one way or both. */
struct hpeer {
	int fd;
	uint64_t sent, want_snd, rcvd;
	uint32_t seed_snd, seed_rcv;
	bool bad;
};

static uint32_t hp_write(struct hpeer *h, uint32_t k)
{
	static uint8_t buf[128u << 10];
	ssize_t n;

	k = st_chunk(buf, sizeof(buf), k, h->sent, h->want_snd, h->seed_snd);
	if (!k)
		return 0;
	n = send(h->fd, buf, k, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n <= 0)
		return 0;
	h->sent += (uint64_t)n;
	return (uint32_t)n;
}

static uint32_t hp_read(struct hpeer *h, uint32_t k)
{
	static uint8_t buf[128u << 10];
	ssize_t n;

	if (k > sizeof(buf))
		k = sizeof(buf);
	n = recv(h->fd, buf, k, MSG_DONTWAIT);
	if (n <= 0)
		return 0;
	for (ssize_t b = 0; b < n; b++)
		if (buf[b] != st_byte(h->seed_rcv, h->rcvd + (uint64_t)b))
			h->bad = true;
	h->rcvd += (uint64_t)n;
	return (uint32_t)n;
}

/* The vmm's event loop runs the device only when its epoll fd says so:
 * a device that waits for an event that never comes stalls here too. */
static bool st_loop(void)
{
	struct pollfd p = { .fd = vsock_event_fd(d), .events = POLLIN };

	if (poll(&p, 1, 0) <= 0)
		return false;
	vsock_poll(d);
	return true;
}

/* Three streams at once, like the vsock_a e2e scenario: host->guest and
 * guest->host on a host-initiated connection, guest->host on a
 * guest-initiated one, every actor (host peers, the guest driver's rx
 * refill and rx work, guest readers and writers, the vmm event loop)
 * stepping in a random order by random amounts, with Linux's credit rules
 * on the guest side. The device must never exceed the guest's window, lose
 * or reorder a byte, or get stuck: once every actor does all it can, the
 * streams must finish. */
static void bidirectional_stress(void)
{
	static const uint64_t size = 3u << 20;

	for (uint64_t seed = 1; seed <= 6 && !t_case_failed; seed++) {
		uint64_t r = seed * 0x9e3779b97f4a7c15ull;
		struct gsock gs[2];
		struct hpeer hs[2];
		char lp[160];
		int l;
		bool bad = false;
		unsigned idle = 0, steps = 0;

		memset(gs, 0, sizeof(gs));
		memset(hs, 0, sizeof(hs));
		start();
		post_rx(QSIZE);
		/* A: host-initiated, both directions. */
		hs[0].fd = host_connect(5000, &gs[0].hport);
		gs[0].gport = 5000;
		fcntl(hs[0].fd, F_SETFL, O_NONBLOCK);
		gs[0].peer_alloc = VSOCK_BUF_ALLOC;
		hs[0].want_snd = gs[0].want_snd = size;
		hs[0].seed_snd = gs[0].seed_rcv = 11;
		hs[0].seed_rcv = gs[0].seed_snd = 22;
		/* B: guest-initiated to PATH_6000, guest -> host. */
		snprintf(lp, sizeof(lp), "%s_6000", path);
		l = listener(lp);
		CHECK(l >= 0);
		gs[1].gport = 1234;
		gs[1].hport = 6000;
		{
			struct vsock_hdr h = st_hdr(&gs[1], VSOCK_OP_REQUEST, 0);
			send_pkt(&h, NULL, 0, false);
		}
		CHECK_EQ(st_rx(gs, 2, &bad), 1);
		CHECK_EQ(gs[1].peer_alloc, VSOCK_BUF_ALLOC);
		hs[1].fd = accept(l, NULL, NULL);
		CHECK(hs[1].fd >= 0);
		close(l);
		fcntl(hs[1].fd, F_SETFL, O_NONBLOCK);
		gs[1].want_snd = size;
		hs[1].seed_rcv = gs[1].seed_snd = 33;

		while (!t_case_failed && !bad) {
			bool done = hs[0].sent == size && gs[0].rcvd == size && gs[0].sent == size &&
				    hs[0].rcvd == size && gs[1].sent == size && hs[1].rcvd == size;
			uint32_t progress = 0;
			/* Mostly random steps; every so often a full round in
			 * which each actor does all it can (the stall test). */
			bool full = (++steps % 64) == 0;
			unsigned which = st_rand(&r) % 9;
			uint32_t amt = 1 + st_rand(&r) % (96u << 10);

			if (done)
				break;
			if (full || which == 0)
				progress += hp_write(&hs[0], full ? UINT32_MAX : amt);
			if (full || which == 1)
				progress += hp_read(&hs[0], full ? UINT32_MAX : amt);
			if (full || which == 2)
				progress += hp_read(&hs[1], full ? UINT32_MAX : amt);
			if (full || which == 3)
				progress += st_loop();
			if (full || which == 4)
				progress += st_rx(gs, 2, &bad);
			if (full || which == 5) {
				/* The driver refills its rx ring (sometimes partly). */
				uint16_t before = q[0].avail_idx;
				post_rx(full ? QSIZE : 1 + st_rand(&r) % QSIZE);
				progress += q[0].avail_idx != before;
			}
			if (full || which == 6)
				progress += st_read(&gs[0], full ? UINT32_MAX : amt);
			if (full || which == 7)
				progress += st_write(&gs[0], full ? UINT32_MAX : amt);
			if (full || which == 8)
				progress += st_write(&gs[1], full ? UINT32_MAX : amt);
			if (full) {
				idle = progress ? 0 : idle + 1;
				if (idle >= 3) {
					printf("  seed %llu: stuck: A host sent %llu rcvd %llu, guest rcvd %llu sent %llu "
					       "(credit %u); B guest sent %llu host rcvd %llu (credit %u)\n",
					       (unsigned long long)seed, (unsigned long long)hs[0].sent,
					       (unsigned long long)hs[0].rcvd, (unsigned long long)gs[0].rcvd,
					       (unsigned long long)gs[0].sent,
					       gs[0].peer_alloc - (gs[0].tx_cnt - gs[0].peer_fwd),
					       (unsigned long long)gs[1].sent, (unsigned long long)hs[1].rcvd,
					       gs[1].peer_alloc - (gs[1].tx_cnt - gs[1].peer_fwd));
					log_level = LOG_ERR;
					vsock_dump(d);
					log_level = -1;
					CHECK(!"streams stuck");
				}
			}
		}
		CHECK(!bad);
		CHECK(!gs[0].overrun && !gs[1].overrun);
		CHECK(!hs[0].bad && !hs[1].bad);
		CHECK_EQ(gs[0].rcvd, size);
		CHECK_EQ(hs[0].rcvd, size);
		CHECK_EQ(hs[1].rcvd, size);
		CHECK_EQ(vsock_conn_count(d), 2);
		close(hs[0].fd);
		close(hs[1].fd);
		stop();
	}
}

/* ---- bounds under abuse (issue 12) -------------------------------------
 * Count-bounded, never timed: a device that fails to bound its state shows
 * as RSS growth, a wrong count or a dead legit connection, not a timeout. */

/* Resident set of this process in KiB (VmRSS, proc(5)); -1 if unknown. */
static long rss_kib(void)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

static uint64_t xs_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The legit host-initiated connection every abuse case keeps alive: a
 * ping from the host must reach the guest, and a pong the host, while and
 * after the device is abused. rx counts bytes the guest took (fwd_cnt). */
struct legit {
	int fd;
	uint32_t gport, hport, rx;
	unsigned seq;
};

static void legit_open(struct legit *l, uint32_t gport)
{
	l->gport = gport;
	l->rx = 0;
	l->seq = 0;
	l->fd = host_connect(gport, &l->hport);
}

/* Rx buffers out, host events in, every rx packet taken; returns how many
 * packets were for l (checked as its ping) and leaves the rest in pk. */
static unsigned legit_pump(struct legit *l, const char *want, unsigned *n)
{
	unsigned hits = 0;

	post_rx(QSIZE);
	vsock_poll(d);
	*n = drain();
	for (unsigned i = 0; i < *n; i++) {
		if (pk[i].h.dst_port != l->gport || pk[i].h.src_port != l->hport || pk[i].h.op != VSOCK_OP_RW)
			continue;
		l->rx += pk[i].n;
		CHECK(want && pk[i].n == strlen(want) && memcmp(pk[i].data, want, pk[i].n) == 0);
		hits++;
	}
	return hits;
}

/* One ping host -> guest and a pong guest -> host on l; the guest's
 * header also tells the device its honest credit. */
static void legit_check(struct legit *l)
{
	char m[32], got[32] = { 0 };
	unsigned hits = 0, n;
	int len = snprintf(m, sizeof(m), "ping %u", l->seq++);

	CHECK_EQ(write(l->fd, m, (size_t)len), len);
	for (unsigned round = 0; round < 8 && !hits; round++)
		hits = legit_pump(l, m, &n);
	CHECK_EQ(hits, 1);
	{
		struct vsock_hdr h = hdr(VSOCK_OP_RW, l->gport, l->hport, 4);
		h.fwd_cnt = l->rx;
		send_pkt(&h, "pong", 4, false);
	}
	CHECK_EQ(read_n(l->fd, got, 4), 4);
	CHECK(memcmp(got, "pong", 4) == 0);
}

/* Put one malformed packet from s into the tx ring without notifying:
 * random ops (unknown ones too), types, CIDs, ports, flags, credit fields,
 * and a len that may lie about the chain; header and payload in one or two
 * descriptors. Ports stay clear of the legit connection's, except for
 * credit lies (CREDIT_UPDATE/REQUEST with any buf_alloc/fwd_cnt) aimed at
 * it. Nothing here is fatal to the device (no short or writable chain). */
static void abuse_put(uint64_t *s, const struct legit *l)
{
	uint64_t r = xs_next(s), r2 = xs_next(s);
	uint16_t slot = q[1].avail_idx % QSIZE;
	uint64_t a = TXBUF + (uint64_t)slot * TXSLOT;
	uint32_t n = (uint32_t)(r >> 58);  /* real payload, 0..63 bytes */
	struct vsock_hdr h = hdr((uint16_t)(r & 7), 10000 + (uint32_t)(r >> 8 & 0xfff),
				 20000 + (uint32_t)(r >> 20 & 0xffff), n);

	switch (r >> 36 & 7) {
	case 0: h.len = n + 1 + (uint32_t)(r2 & 0xffff); break;  /* beyond the chain */
	case 1: h.len = (uint32_t)r2; break;
	case 2: h.type = (uint16_t)r2; break;
	case 3: h.src_cid = r2; break;
	case 4: h.dst_cid = r2 & 0xff; break;
	case 5: h.op = (uint16_t)r2; break;
	case 6:  /* credit lies to a live connection */
		h.op = r2 & 1 ? VSOCK_OP_CREDIT_UPDATE : VSOCK_OP_CREDIT_REQUEST;
		h.src_port = l->gport;
		h.dst_port = l->hport;
		h.len = 0;
		n = 0;
		break;
	default: h.dst_port = (uint32_t)r2 & 0x3fffffff; break;  /* below the local ports */
	}
	h.flags = (uint32_t)(r2 >> 32);
	h.buf_alloc = (uint32_t)(r2 >> 16);
	h.fwd_cnt = (uint32_t)(r2 >> 24);
	vsock_hdr_put(mem + a, &h);
	memset(mem + a + VSOCK_HDR_SIZE, (int)r2, n);
	if (r >> 40 & 1 && n) {
		q_desc(&q[1], slot, a, VSOCK_HDR_SIZE, VIRTQ_DESC_F_NEXT, slot ^ 32);
		q_desc(&q[1], slot ^ 32, a + VSOCK_HDR_SIZE, n, 0, 0);
	} else {
		q_desc(&q[1], slot, a, VSOCK_HDR_SIZE + n, 0, 0);
	}
	q_avail(&q[1], slot);
}

/* 1e6 malformed packets: the device answers what it must, keeps the legit
 * connection, and its memory stays put (RSS growth under 1 MiB after a
 * warm-up of the first 5%). */
#define ABUSE_PKTS 1000000u
#define ABUSE_BATCH 32u
static void malformed_million(void)
{
	struct legit l;
	uint64_t s = 0x9e3779b97f4a7c15ull;
	long base = 0, end;
	unsigned n;

	start();
	post_rx(QSIZE);
	legit_open(&l, 5);
	for (unsigned b = 0; b < ABUSE_PKTS / ABUSE_BATCH; b++) {
		uint16_t before = q_used_idx(&q[1]);
		for (unsigned k = 0; k < ABUSE_BATCH; k++)
			abuse_put(&s, &l);
		vsock_virtio_ops.queue_notify(d, VSOCK_TXQ);
		/* Every chain was taken in this notification (32 < budget). */
		if ((uint16_t)(q_used_idx(&q[1]) - before) != ABUSE_BATCH) {
			CHECK_EQ((uint16_t)(q_used_idx(&q[1]) - before), ABUSE_BATCH);
			break;
		}
		legit_pump(&l, NULL, &n);
		if (b % 2048 == 0) {
			/* An honest credit update undoes the lies, then data flows. */
			send_op(VSOCK_OP_CREDIT_UPDATE, l.gport, l.hport, 0, 1u << 20, l.rx);
			legit_check(&l);
		}
		if (b == ABUSE_PKTS / ABUSE_BATCH / 20)
			base = rss_kib();
	}
	CHECK_EQ(vsock_signal(d)->needs_reset, 0);
	CHECK_EQ(vsock_conn_count(d), 1);
	send_op(VSOCK_OP_CREDIT_UPDATE, l.gport, l.hport, 0, 1u << 20, l.rx);
	legit_check(&l);
	end = rss_kib();
	printf("  malformed_million: VmRSS %ld -> %ld KiB (+%ld)\n", base, end, end - base);
	CHECK(base > 0 && end - base < 1024);
	close(l.fd);
	stop();
}

/* The 10k-connection flood: rounds of host CONNECTs (the guest accepts
 * half, refuses half) and guest REQUESTs to a forwarded port, up to the
 * connection cap and past it; then the guest resets every connection. The
 * cap holds, the legit connection works at the cap and after, every
 * connection is gone after each round, and RSS stays put after round 1. */
#define FLOOD_ROUNDS 7
#define FLOOD_HOST 700      /* host CONNECTs per round */
#define FLOOD_GUEST 800     /* guest REQUESTs per round */
struct flood {
	struct legit l;
	int cl[FLOOD_HOST], acc[FLOOD_GUEST];
	unsigned ncl, nacc;
	uint32_t gp[VSOCK_MAX_CONNS], hp[VSOCK_MAX_CONNS];  /* live, guest's view */
	unsigned nlive, requests, responses, rsts;
};

/* Take every rx packet: host REQUESTs get RESPONSE (even guest port) or
 * RST (odd); RESPONSE/RST to the guest's own REQUESTs are counted. */
static void flood_pump(struct flood *f)
{
	for (unsigned round = 0; round < 64; round++) {
		unsigned n;

		legit_pump(&f->l, NULL, &n);
		for (unsigned i = 0; i < n; i++) {
			const struct vsock_hdr *h = &pk[i].h;
			if (h->op == VSOCK_OP_REQUEST) {
				f->requests++;
				if (h->dst_port & 1) {
					send_op(VSOCK_OP_RST, h->dst_port, h->src_port, 0, 0, 0);
					continue;
				}
				send_op(VSOCK_OP_RESPONSE, h->dst_port, h->src_port, 0, 1u << 20, 0);
			} else if (h->op == VSOCK_OP_RESPONSE) {
				f->responses++;
			} else {
				f->rsts += h->op == VSOCK_OP_RST;
				continue;
			}
			if (f->nlive < VSOCK_MAX_CONNS) {
				f->gp[f->nlive] = h->dst_port;
				f->hp[f->nlive++] = h->src_port;
			}
		}
		if (!n && round >= 2)
			break;
	}
}

static void flood_round(struct flood *f, int lfd)
{
	unsigned want_rst;

	f->ncl = f->nacc = f->nlive = f->requests = f->responses = f->rsts = 0;
	for (unsigned i = 0; i < FLOOD_HOST; i++) {
		char line[32];
		int len = snprintf(line, sizeof(line), "CONNECT %u\n", 30000 + i);
		int fd = client(path);
		CHECK(fd >= 0);
		if (fd < 0)
			break;
		CHECK_EQ(write(fd, line, (size_t)len), len);
		f->cl[f->ncl++] = fd;
		if (i % 100 == 99)  /* the listener's backlog is 128 */
			flood_pump(f);
	}
	flood_pump(f);
	CHECK_EQ(f->requests, FLOOD_HOST);
	CHECK_EQ(vsock_conn_count(d), 1 + FLOOD_HOST / 2);
	for (unsigned j = 0; j < FLOOD_GUEST; j++) {
		send_op(VSOCK_OP_REQUEST, 40000 + j, 7100, 0, 1u << 20, 0);
		if (j % 64 == 63 || j + 1 == FLOOD_GUEST) {
			int s;
			flood_pump(f);
			while (f->nacc < FLOOD_GUEST && (s = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
				f->acc[f->nacc++] = s;
		}
	}
	/* Up to the cap and not one more; the rest were refused. */
	want_rst = 1 + FLOOD_HOST / 2 + FLOOD_GUEST - VSOCK_MAX_CONNS;
	CHECK_EQ(vsock_conn_count(d), VSOCK_MAX_CONNS);
	CHECK_EQ(f->responses, FLOOD_GUEST - want_rst);
	CHECK_EQ(f->rsts, want_rst);
	CHECK_EQ(f->nacc, FLOOD_GUEST - want_rst);
	legit_check(&f->l);
	/* The guest resets everything it holds; the host closes its ends. */
	for (unsigned i = 0; i < f->nlive; i++)
		send_op(VSOCK_OP_RST, f->gp[i], f->hp[i], 0, 0, 0);
	for (unsigned i = 0; i < f->ncl; i++)
		close(f->cl[i]);
	for (unsigned i = 0; i < f->nacc; i++)
		close(f->acc[i]);
	flood_pump(f);
	CHECK_EQ(vsock_conn_count(d), 1);
	legit_check(&f->l);
}

static void connection_flood(void)
{
	static struct flood f;
	char lp[160];
	long base = 0, end;
	int lfd;

	start();
	post_rx(QSIZE);
	legit_open(&f.l, 5);
	snprintf(lp, sizeof(lp), "%s_7100", path);
	lfd = listener(lp);
	CHECK(lfd >= 0);
	CHECK_EQ(listen(lfd, 128), 0);
	CHECK_EQ(fcntl(lfd, F_SETFL, O_NONBLOCK), 0);
	for (unsigned r = 0; r < FLOOD_ROUNDS; r++) {
		flood_round(&f, lfd);
		if (r == 0)
			base = rss_kib();
	}
	end = rss_kib();
	printf("  connection_flood: %u connections, VmRSS %ld -> %ld KiB (+%ld)\n",
	       FLOOD_ROUNDS * (FLOOD_HOST + FLOOD_GUEST), base, end, end - base);
	CHECK(base > 0 && end - base < 1024);
	close(lfd);
	unlink(lp);
	close(f.l.fd);
	stop();
}

int main(void)
{
	t_suite = "virtio_vsock";
	signal(SIGPIPE, SIG_IGN);  /* a failed check must not die writing to a closed peer */
	log_level = -1;
	snprintf(dir, sizeof(dir), "/tmp/vsock_test.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	chmod(dir, 0755);  /* other uids may reach the socket files in it */
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	RUN(header_layout);
	RUN(config_and_features);
	RUN(host_initiated_data_and_close);
	RUN(host_initiated_refused);
	RUN(handshake_split_and_early_data);
	RUN(guest_initiated);
	RUN(guest_connect_missing_port);
	RUN(guest_connect_svc_dir);
	RUN(credit_host_to_guest);
	RUN(credit_guest_to_host);
	RUN(credit_exact);
	RUN(credit_request);
	RUN(rx_starvation);
	RUN(inproc_connect);
	RUN(stream_connector_handover);
	RUN(reset_closes_all);
	RUN(hostile_packets);
	RUN(bad_chain_needs_reset_before_used);
	RUN(flood_throttled_not_dropped);
	RUN(tx_budget_requeues);
	RUN(rx_budget_requeues);
	RUN(many_connections);
	RUN(connect_timeout);
	RUN(listen_path_checks);
	RUN(listener_private_and_peer_checked);
	RUN(bidirectional_stress);
	RUN(malformed_million);
	RUN(connection_flood);
	rmdir(dir);
	return t_done();
}
