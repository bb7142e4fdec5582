/* virtio-vsock device-model throughput vs a plain unix socket.
 *
 * The device (vmm/devices/virtio_vsock.c) runs as in the VMM, on the
 * calling thread, fed by synthetic rings in malloc'd "guest memory"; the
 * fake guest driver behaves like Linux's virtio_transport: 4 KiB rx buffers
 * (or the size given), 64 KiB tx packets, a 256 KiB receive window with
 * credit updates once 64 KiB were consumed. The host end is a real unix
 * socket client of the device's --vsock listener, driven by a second
 * thread. The baseline moves the same bytes over one plain unix socket
 * between two threads with the same chunk sizes. Same binary, same
 * compiler flags, so the ratio is like for like.
 *
 *   vsock_bench [MiB] [rx_buf_bytes]     (defaults 512, 4096)
 * Prints one line per measurement and the ratios; never fails on a target. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/devices/virtio_vsock.h"
#include "vmm/log.h"
#include "vmm/virtq.h"

#define MEM (32u << 20)
#define QS 256
#define RXBUF 0x100000u     /* QS buffers of up to 64 KiB + header */
#define RXMAX 0x11000u
#define TXBUF 0x1200000u    /* one shared 64 KiB payload, QS headers */
#define TXPKT (64u << 10)
#define GUEST_BUF (256u << 10)
#define CID 3
#define GPORT 5000

struct fq {
	uint64_t desc, avail, used;
	uint16_t avail_idx, used_seen;
};

struct bench {
	uint8_t *mem;
	struct gm gm;
	struct fq q[3];
	struct vsock_dev *d;
	struct virtio_signal sig;
	char path[128];
	uint32_t rxbuf, stride;  /* guest buffer size; buffers lie back to back */
	/* the guest's view of the connection */
	uint32_t hport;
	uint64_t rcvd, fwd_sent;              /* host -> guest */
	uint64_t sent, peer_fwd, peer_buf;    /* guest -> host */
	bool got_request, got_rst;
};

/* CPU seconds (user + system, all threads) the process has used. */
static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void q_desc(struct bench *b, struct fq *q, uint16_t i, uint64_t addr, uint32_t len, uint16_t fl, uint16_t next)
{
	struct virtq_desc x = { .addr = addr, .len = len, .flags = fl, .next = next };
	memcpy(b->mem + q->desc + 16u * i, &x, 16);
}

static void q_avail(struct bench *b, struct fq *q, uint16_t head)
{
	memcpy(b->mem + q->avail + 4 + 2u * (q->avail_idx % QS), &head, 2);
	q->avail_idx++;
	__atomic_store_n((uint16_t *)(b->mem + q->avail + 2), q->avail_idx, __ATOMIC_RELEASE);
}

static uint16_t q_used_idx(const struct bench *b, const struct fq *q)
{
	return __atomic_load_n((uint16_t *)(b->mem + q->used + 2), __ATOMIC_ACQUIRE);
}

static void bench_start(struct bench *b, uint32_t rxbuf)
{
	struct virtq_config c[3];

	memset(b->mem, 0, RXBUF);
	b->rxbuf = rxbuf;
	b->stride = (rxbuf + VSOCK_HDR_SIZE + 63) & ~63u;
	for (unsigned i = 0; i < 3; i++) {
		b->q[i] = (struct fq){ .desc = 0x1000 + 0x4000 * i, .avail = 0x2000 + 0x4000 * i,
				       .used = 0x3000 + 0x4000 * i };
		c[i] = (struct virtq_config){ .size = QS, .ready = true, .desc = b->q[i].desc,
					      .avail = b->q[i].avail, .used = b->q[i].used };
	}
	if ((b->sig.irqfd = -1, vsock_open(&b->d, &b->gm, CID, b->path, &b->sig, NULL)) < 0 ||
	    vsock_virtio_ops.activate(b->d, VIRTIO_BIT(VIRTIO_F_VERSION_1), c, 3) < 0) {
		fprintf(stderr, "vsock_bench: device setup failed\n");
		exit(1);
	}
	b->rcvd = b->fwd_sent = b->sent = b->peer_fwd = 0;
	b->peer_buf = 0;
	b->got_request = b->got_rst = false;
}

static void bench_stop(struct bench *b)
{
	vsock_close(b->d);
	b->d = NULL;
}

/* Guest: keep the rx ring full. */
static void post_rx(struct bench *b)
{
	struct fq *q = &b->q[0];
	bool any = false;

	while ((uint16_t)(q->avail_idx - q->used_seen) < QS) {
		uint16_t slot = q->avail_idx % QS;
		q_desc(b, q, slot, RXBUF + (uint64_t)slot * b->stride, b->rxbuf + VSOCK_HDR_SIZE, VIRTQ_DESC_F_WRITE, 0);
		q_avail(b, q, slot);
		any = true;
	}
	if (any)
		vsock_virtio_ops.queue_notify(b->d, VSOCK_RXQ);
}

static void send_hdr(struct bench *b, uint16_t op, uint32_t len)
{
	struct fq *q = &b->q[1];
	uint16_t slot = q->avail_idx % QS;
	uint64_t h = TXBUF + TXPKT + (uint64_t)slot * 64;
	struct vsock_hdr x = { .src_cid = CID, .dst_cid = VSOCK_HOST_CID, .src_port = GPORT,
			       .dst_port = b->hport, .len = len, .type = VSOCK_TYPE_STREAM, .op = op,
			       .buf_alloc = GUEST_BUF, .fwd_cnt = (uint32_t)b->rcvd };

	vsock_hdr_put(b->mem + h, &x);
	/* Split like Linux: header descriptor, then the payload. The tx ring
	 * is consumed synchronously, so descriptors (slot, slot + QS/2) are
	 * free again when reused. */
	if (len) {
		q_desc(b, q, slot % (QS / 2), h, VSOCK_HDR_SIZE, VIRTQ_DESC_F_NEXT, slot % (QS / 2) + QS / 2);
		q_desc(b, q, slot % (QS / 2) + QS / 2, TXBUF, len, 0, 0);
	} else {
		q_desc(b, q, slot % (QS / 2), h, VSOCK_HDR_SIZE, 0, 0);
	}
	q_avail(b, q, slot % (QS / 2));
	b->fwd_sent = b->rcvd;
	vsock_virtio_ops.queue_notify(b->d, VSOCK_TXQ);
}

/* Guest: consume rx packets. Returns how many. */
static unsigned drain(struct bench *b)
{
	struct fq *q = &b->q[0];
	unsigned n = 0;

	while (q->used_seen != q_used_idx(b, q)) {
		uint32_t id;
		struct vsock_hdr h;
		unsigned k = q->used_seen++ % QS;

		memcpy(&id, b->mem + q->used + 4 + 8 * k, 4);
		vsock_hdr_get(&h, b->mem + RXBUF + (uint64_t)id * b->stride);
		switch (h.op) {
		case VSOCK_OP_REQUEST:
			b->hport = h.src_port;
			b->got_request = true;
			break;
		case VSOCK_OP_RW:
			b->rcvd += h.len;
			break;
		case VSOCK_OP_RST:
			b->got_rst = true;
			break;
		}
		b->peer_fwd = h.fwd_cnt | (b->peer_fwd & ~0xffffffffull);
		if (h.fwd_cnt < (uint32_t)b->peer_fwd)
			b->peer_fwd += 1ull << 32;
		if (h.buf_alloc)
			b->peer_buf = h.buf_alloc;
		n++;
	}
	return n;
}

/* Wait for host events (like the VMM's loop) and handle them. */
static void wait_host(struct bench *b)
{
	struct pollfd p = { .fd = vsock_event_fd(b->d), .events = POLLIN };

	poll(&p, 1, 100);
	vsock_poll(b->d);
}

static int dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (strlen(path) >= sizeof(sa.sun_path))
		exit(1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("vsock_bench: connect");
		exit(1);
	}
	return fd;
}

struct peer {
	int fd;
	uint64_t bytes;
	uint64_t moved;    /* atomically updated by the thread */
	size_t chunk;
	bool write;
};

static void *peer_thread(void *arg)
{
	struct peer *p = arg;
	uint8_t *buf = calloc(1, p->chunk);
	uint64_t left = p->bytes;

	memset(buf, 0x5a, p->chunk);
	while (left) {
		size_t k = left < p->chunk ? (size_t)left : p->chunk;
		ssize_t n = p->write ? write(p->fd, buf, k) : read(p->fd, buf, k);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		left -= (uint64_t)n;
		__atomic_store_n(&p->moved, p->bytes - left, __ATOMIC_RELEASE);
	}
	p->bytes -= left;
	free(buf);
	return NULL;
}

/* Host client connects, guest accepts. Returns the client fd. */
static int handshake(struct bench *b)
{
	char line[32];
	int fd = dial(b->path);
	size_t n = 0;

	if (write(fd, "CONNECT 5000\n", 13) != 13)
		exit(1);
	post_rx(b);
	while (!b->got_request) {
		wait_host(b);
		drain(b);
		post_rx(b);
	}
	send_hdr(b, VSOCK_OP_RESPONSE, 0);
	while (n < sizeof(line) - 1 && read(fd, line + n, 1) == 1 && line[n] != '\n')
		n++;
	if (strncmp(line, "OK ", 3)) {
		fprintf(stderr, "vsock_bench: no OK line\n");
		exit(1);
	}
	return fd;
}

static double dev_host_to_guest(struct bench *b, uint64_t bytes, uint32_t rxbuf)
{
	struct peer p = { .bytes = bytes, .chunk = 64u << 10, .write = true };
	pthread_t t;
	double t0, dt;

	bench_start(b, rxbuf);
	p.fd = handshake(b);
	t0 = now_s();
	pthread_create(&t, NULL, peer_thread, &p);
	while (b->rcvd < bytes && !b->got_rst) {
		unsigned n = drain(b);
		/* Linux sends a credit update when its free space drops below
		 * 64 KiB; we consume at once, so every 64 KiB is the same. */
		if (b->rcvd - b->fwd_sent >= (64u << 10))
			send_hdr(b, VSOCK_OP_CREDIT_UPDATE, 0);
		post_rx(b);
		if (!n)
			wait_host(b);
	}
	dt = now_s() - t0;
	pthread_join(t, NULL);
	close(p.fd);
	bench_stop(b);
	return b->rcvd == bytes ? bytes / 1048576.0 / dt : -1;
}

static double dev_guest_to_host(struct bench *b, uint64_t bytes)
{
	struct peer p = { .bytes = bytes, .chunk = 64u << 10, .write = false };
	pthread_t t;
	double t0, dt;

	bench_start(b, 4096);
	p.fd = handshake(b);
	b->peer_buf = VSOCK_BUF_ALLOC;
	t0 = now_s();
	pthread_create(&t, NULL, peer_thread, &p);
	while (b->sent < bytes && !b->got_rst) {
		uint64_t credit = b->peer_buf - (b->sent - b->peer_fwd);
		bool moved = false;
		while (credit >= 1 && b->sent < bytes) {
			uint32_t k = credit < TXPKT ? (uint32_t)credit : TXPKT;
			if (k > bytes - b->sent)
				k = (uint32_t)(bytes - b->sent);
			send_hdr(b, VSOCK_OP_RW, k);
			b->sent += k;
			credit -= k;
			moved = true;
		}
		post_rx(b);
		if (!drain(b) && !moved)
			wait_host(b);
	}
	/* The device may still hold bytes the host socket had no room for. */
	while (__atomic_load_n(&p.moved, __ATOMIC_ACQUIRE) < bytes && !b->got_rst)
		wait_host(b);
	pthread_join(t, NULL);
	dt = now_s() - t0;
	close(p.fd);
	bench_stop(b);
	return p.bytes == bytes ? bytes / 1048576.0 / dt : -1;
}

/* The plain socket: a writer thread, the reader here with the guest's
 * buffer size. footprint 0: one buffer, hot in cache; else the reads
 * rotate over QS buffers laid out like the guest's rx ring, so the
 * destination memory is as cold as the device's. */
static double plain(uint64_t bytes, size_t rchunk, bool ring)
{
	struct peer p = { .bytes = bytes, .chunk = 64u << 10, .write = true };
	size_t stride = (rchunk + VSOCK_HDR_SIZE + 63) & ~(size_t)63;
	uint8_t *buf = calloc(ring ? QS : 1, stride);
	uint64_t got = 0;
	unsigned slot = 0;
	int sv[2];
	pthread_t t;
	double t0, dt;

	if (!buf || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		exit(1);
	p.fd = sv[1];
	t0 = now_s();
	pthread_create(&t, NULL, peer_thread, &p);
	while (got < bytes) {
		ssize_t n = read(sv[0], buf + (ring ? slot++ % QS : 0) * stride, rchunk);
		if (n <= 0)
			break;
		got += (uint64_t)n;
	}
	dt = now_s() - t0;
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
	free(buf);
	return got == bytes ? bytes / 1048576.0 / dt : -1;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

#define RUNS 7
#define KINDS 5

static double median(double *v)
{
	qsort(v, RUNS, sizeof(v[0]), cmp_d);
	return v[RUNS / 2];
}

struct args {
	struct bench *b;
	uint64_t bytes;
	uint32_t rxbuf, stride;  /* guest buffer size; buffers lie back to back */
};

static double run_h2g(void *a) { struct args *x = a; return dev_host_to_guest(x->b, x->bytes, x->rxbuf); }
static double run_g2h(void *a) { struct args *x = a; return dev_guest_to_host(x->b, x->bytes); }
static double run_plain_rx(void *a) { struct args *x = a; return plain(x->bytes, x->rxbuf, false); }
static double run_plain_rx_ring(void *a) { struct args *x = a; return plain(x->bytes, x->rxbuf, true); }
static double run_plain_64k(void *a) { struct args *x = a; return plain(x->bytes, 64u << 10, false); }

int main(int argc, char **argv)
{
	struct bench b = { 0 };
	struct args a = { .b = &b };
	char dir[] = "/tmp/vsock_bench.XXXXXX";
	double h2g, g2h, p_rx, p_ring, p_64k, c_gib[KINDS];
	unsigned mib = argc > 1 ? (unsigned)atoi(argv[1]) : 512;

	a.rxbuf = argc > 2 ? (uint32_t)atoi(argv[2]) : 4096;
	if (!mib || a.rxbuf < 64 || a.rxbuf > (64u << 10)) {
		fprintf(stderr, "usage: vsock_bench [MiB] [rx_buf_bytes 64..65536]\n");
		return 2;
	}
	a.bytes = (uint64_t)mib << 20;
	log_level = 0;
	b.mem = calloc(1, MEM);
	if (!b.mem || !mkdtemp(dir))
		return 1;
	gm_init_test(&b.gm, b.mem, MEM);
	snprintf(b.path, sizeof(b.path), "%s/v.sock", dir);

	/* Interleaved, so load from anything else running on the machine hits
	 * both sides of each comparison alike; medians per kind. */
	{
		double (*fn[KINDS])(void *) = { run_plain_rx, run_plain_rx_ring, run_h2g, run_plain_64k, run_g2h };
		double v[KINDS][RUNS], cpu[KINDS][RUNS];
		for (int i = 0; i < RUNS; i++)
			for (int k = 0; k < KINDS; k++) {
				double c0 = cpu_s();
				v[k][i] = fn[k](&a);
				/* CPU per GiB: less sensitive than wall time to
				 * other load on the machine. */
				cpu[k][i] = (cpu_s() - c0) / (a.bytes / 1073741824.0);
			}
		for (int k = 0; k < KINDS; k++)
			c_gib[k] = median(cpu[k]);
		p_rx = median(v[0]);
		p_ring = median(v[1]);
		h2g = median(v[2]);
		p_64k = median(v[3]);
		g2h = median(v[4]);
	}
	printf("vsock: plain unix socket, %u KiB reads, one buffer:        %6.0f MiB/s\n", a.rxbuf >> 10, p_rx);
	printf("vsock: plain unix socket, %u KiB reads, %u-buffer ring:     %6.0f MiB/s\n", a.rxbuf >> 10, QS, p_ring);
	printf("vsock: device host->guest, %u KiB guest rx buffers:        %6.0f MiB/s = %.0f%% of plain "
	       "(%.0f%% of plain into a ring) (target >= 80%%)\n",
	       a.rxbuf >> 10, h2g, 100 * h2g / p_rx, 100 * h2g / p_ring);
	printf("vsock: plain unix socket, 64 KiB reads:                     %6.0f MiB/s\n", p_64k);
	printf("vsock: device guest->host, 64 KiB guest packets:           %6.0f MiB/s = %.0f%% of plain (target >= 80%%)\n",
	       g2h, 100 * g2h / p_64k);
	printf("vsock: CPU s/GiB (both threads): plain %u KiB %.3f, ring %.3f, device host->guest %.3f = %.0f%% of plain's "
	       "efficiency; plain 64 KiB %.3f, device guest->host %.3f = %.0f%%\n",
	       a.rxbuf >> 10, c_gib[0], c_gib[1], c_gib[2], 100 * c_gib[0] / c_gib[2], c_gib[3], c_gib[4],
	       100 * c_gib[3] / c_gib[4]);
	printf("vsock: (%u MiB per run, median of %d runs)\n", mib, RUNS);
	rmdir(dir);
	free(b.mem);
	return 0;
}
