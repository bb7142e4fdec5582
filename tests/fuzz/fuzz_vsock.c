/* libFuzzer target: the virtio-vsock packet path (vmm/devices/virtio_vsock.c)
 * driven by a fuzzer-controlled guest and host at once.
 *
 * Input: a sequence of steps, each one opcode byte and its arguments:
 *   0 PKT   hdr[44] u16 n payload[n]   a guest packet, header as given
 *   1 CONN  k op flags u32 buf u32 fwd u16 n payload[n]
 *                                      a well-formed packet on connection k
 *                                      (ports learnt from the device's packets)
 *   2 RX    n size_lo size_hi          post n rx buffers of that size
 *   3 DIAL  port                       host client: connect, "CONNECT port\n"
 *   4 HOST  k n                        host client k writes n bytes
 *   5 HCLOSE k how                     host client k: shutdown / close
 *   6 POLL                             host events (vsock_poll)
 *   7 INPROC port                      in-process connect
 *   8 RAW   desc[16] x 4               hostile tx chain, raw descriptors
 *   9 RESET                            device reset and re-activation
 * Guest RAM is a malloc of exactly MEM bytes (ASan catches any stray access);
 * host sockets are real unix sockets in a scratch directory; guest-initiated
 * connections to host port 7 reach a listener there. Every fd is closed and
 * the device freed at the end of each input. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/devices/virtio_vsock.h"
#include "vmm/log.h"
#include "vmm/virtq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM (1u << 20)
#define QS 64
#define RXBUF 0x10000u
#define TXBUF 0x60000u
#define TXSLOT 0x1000u
#define MAXCLI 16
#define MAXCONN 32

struct fq {
	uint64_t desc, avail, used;
	uint16_t avail_idx, used_seen;
};

struct fz {
	uint8_t *mem;
	struct gm gm;
	struct fq q[3];
	struct vsock_dev *d;
	struct virtio_signal sig;
	int cli[MAXCLI];
	unsigned ncli;
	struct { uint32_t host, guest; } conn[MAXCONN];
	unsigned nconn;
	uint32_t rxlen[QS];
};

static char fz_dir[64], fz_path[128];
static int fz_listener = -1;

static void fz_init(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	log_level = -1;
	snprintf(fz_dir, sizeof(fz_dir), "/tmp/fuzz_vsock.XXXXXX");
	if (!mkdtemp(fz_dir))
		abort();
	snprintf(fz_path, sizeof(fz_path), "%s/v", fz_dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_7", fz_path);
	fz_listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fz_listener < 0 || bind(fz_listener, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fz_listener, 64) < 0)
		abort();
}

static void q_desc(struct fz *f, struct fq *q, uint16_t i, uint64_t addr, uint32_t len, uint16_t fl, uint16_t next)
{
	struct virtq_desc x = { .addr = addr, .len = len, .flags = fl, .next = next };
	memcpy(f->mem + q->desc + 16u * (i % QS), &x, 16);
}

static void q_avail(struct fz *f, struct fq *q, uint16_t head)
{
	memcpy(f->mem + q->avail + 4 + 2u * (q->avail_idx % QS), &head, 2);
	q->avail_idx++;
	memcpy(f->mem + q->avail + 2, &q->avail_idx, 2);
}

static uint16_t q_used_idx(const struct fz *f, const struct fq *q)
{
	uint16_t v;
	memcpy(&v, f->mem + q->used + 2, 2);
	return v;
}

static void fz_activate(struct fz *f)
{
	struct virtq_config c[3];

	memset(f->mem, 0, 0x10000);
	for (unsigned i = 0; i < 3; i++) {
		f->q[i] = (struct fq){ .desc = 0x1000 + 0x3000 * i, .avail = 0x2000 + 0x3000 * i,
				       .used = 0x3000 + 0x3000 * i };
		c[i] = (struct virtq_config){ .size = QS, .ready = true, .desc = f->q[i].desc,
					      .avail = f->q[i].avail, .used = f->q[i].used };
	}
	vsock_virtio_ops.activate(f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC), c, 3);
}

/* Read what the device returned on rx; learn connection ports. */
static void fz_drain(struct fz *f)
{
	struct fq *q = &f->q[0];

	for (unsigned guard = 0; q->used_seen != q_used_idx(f, q) && guard < 4 * QS; guard++) {
		uint32_t id, len;
		struct vsock_hdr h;
		unsigned k = q->used_seen++ % QS;

		memcpy(&id, f->mem + q->used + 4 + 8 * k, 4);
		memcpy(&len, f->mem + q->used + 8 + 8 * k, 4);
		/* The device must only hand back buffers we posted, never
		 * claiming more than their size. */
		if (id >= QS || len > f->rxlen[id] || (len && len < VSOCK_HDR_SIZE))
			abort();
		if (!len)
			continue;
		vsock_hdr_get(&h, f->mem + RXBUF + id * 0x1000);
		if (h.len != len - VSOCK_HDR_SIZE || h.src_cid != VSOCK_HOST_CID || h.dst_cid != 3)
			abort();
		if ((h.op == VSOCK_OP_REQUEST || h.op == VSOCK_OP_RESPONSE) && f->nconn < MAXCONN) {
			f->conn[f->nconn].host = h.src_port;
			f->conn[f->nconn].guest = h.dst_port;
			f->nconn++;
		}
	}
}

static void fz_send(struct fz *f, const struct vsock_hdr *h, const uint8_t *pl, uint16_t n, bool split)
{
	struct fq *q = &f->q[1];
	uint16_t slot = q->avail_idx % (QS / 2);
	uint64_t a = TXBUF + (uint64_t)slot * TXSLOT;

	if (n > TXSLOT - 64)
		n = TXSLOT - 64;
	vsock_hdr_put(f->mem + a, h);
	if (split && n) {
		memcpy(f->mem + a + 64, pl, n);
		q_desc(f, q, slot, a, VSOCK_HDR_SIZE, VIRTQ_DESC_F_NEXT, slot + QS / 2);
		q_desc(f, q, slot + QS / 2, a + 64, n, 0, 0);
	} else {
		memcpy(f->mem + a + VSOCK_HDR_SIZE, pl, n);
		q_desc(f, q, slot, a, VSOCK_HDR_SIZE + n, 0, 0);
	}
	q_avail(f, q, slot);
	vsock_virtio_ops.queue_notify(f->d, VSOCK_TXQ);
}

struct in {
	const uint8_t *p;
	size_t n;
};

static unsigned in_u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint32_t in_u32(struct in *in)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < 4; i++)
		v |= (uint32_t)in_u8(in) << (8 * i);
	return v;
}

static const uint8_t *in_take(struct in *in, size_t *n)
{
	const uint8_t *p = in->p;
	if (*n > in->n)
		*n = in->n;
	in->p += *n;
	in->n -= *n;
	return p;
}

static void fz_dial(struct fz *f, unsigned port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[32];
	int fd;

	if (f->ncli >= MAXCLI)
		return;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fz_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return;
	}
	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	if (send(fd, line, strlen(line), MSG_NOSIGNAL)) {
	}
	f->cli[f->ncli++] = fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t junk[8192];
	struct in in = { data, size };
	struct fz f = { 0 };

	if (fz_listener < 0)
		fz_init();
	f.mem = malloc(MEM);
	if (!f.mem)
		abort();
	memset(f.mem, 0, MEM);
	gm_init_test(&f.gm, f.mem, MEM);
	f.sig.irqfd = -1;
	if (vsock_open(&f.d, &f.gm, 3, fz_path, &f.sig, NULL) < 0)
		abort();
	fz_activate(&f);
	for (unsigned step = 0; in.n && step < 256; step++) {
		unsigned op = in_u8(&in) % 10;

		switch (op) {
		case 0: {
			size_t hn = VSOCK_HDR_SIZE, n;
			const uint8_t *raw = in_take(&in, &hn);
			uint8_t hb[VSOCK_HDR_SIZE] = { 0 };
			struct vsock_hdr h;
			memcpy(hb, raw, hn);
			vsock_hdr_get(&h, hb);
			n = in_u8(&in) | in_u8(&in) << 8;
			raw = in_take(&in, &n);
			fz_send(&f, &h, raw, (uint16_t)n, n & 1);
			break;
		}
		case 1: {
			unsigned k = in_u8(&in);
			struct vsock_hdr h = { .src_cid = 3, .dst_cid = VSOCK_HOST_CID, .type = VSOCK_TYPE_STREAM };
			size_t n;
			const uint8_t *raw;
			h.op = (uint16_t)(in_u8(&in) % 9);
			h.flags = in_u8(&in) & 3;
			h.buf_alloc = in_u32(&in);
			h.fwd_cnt = in_u32(&in);
			if (f.nconn) {
				h.src_port = f.conn[k % f.nconn].guest;
				h.dst_port = f.conn[k % f.nconn].host;
			} else {
				h.src_port = 1000 + k;
				h.dst_port = k & 8 ? 7 : k;
			}
			n = in_u8(&in) | in_u8(&in) << 8;
			raw = in_take(&in, &n);
			h.len = (uint32_t)n;
			if (k & 0x80)
				h.len += in_u8(&in);  /* sometimes beyond the chain */
			fz_send(&f, &h, raw, (uint16_t)n, k & 0x40);
			break;
		}
		case 2: {
			unsigned n = in_u8(&in) % (QS + 1);
			uint32_t len = (uint32_t)in_u8(&in) | (uint32_t)(in_u8(&in) & 0x1f) << 8;
			fz_drain(&f);
			if (len > 0x1000)
				len = 0x1000;
			for (unsigned i = 0; i < n && (uint16_t)(f.q[0].avail_idx - f.q[0].used_seen) < QS; i++) {
				uint16_t slot = f.q[0].avail_idx % QS;
				f.rxlen[slot] = len;
				q_desc(&f, &f.q[0], slot, RXBUF + slot * 0x1000u, len, VIRTQ_DESC_F_WRITE, 0);
				q_avail(&f, &f.q[0], slot);
			}
			vsock_virtio_ops.queue_notify(f.d, VSOCK_RXQ);
			fz_drain(&f);
			break;
		}
		case 3:
			fz_dial(&f, in_u8(&in) % 4 == 0 ? in_u32(&in) : 5000);
			break;
		case 4: {
			unsigned k = in_u8(&in);
			size_t n = (size_t)in_u8(&in) * 32;
			if (f.ncli && f.cli[k % f.ncli] >= 0 &&
			    send(f.cli[k % f.ncli], junk, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			}
			break;
		}
		case 5: {
			unsigned k = in_u8(&in), how = in_u8(&in) % 3;
			if (!f.ncli || f.cli[k % f.ncli] < 0)
				break;
			if (how == 2) {
				close(f.cli[k % f.ncli]);
				f.cli[k % f.ncli] = -1;
			} else {
				shutdown(f.cli[k % f.ncli], how == 0 ? SHUT_WR : SHUT_RD);
			}
			break;
		}
		case 6: {
			int a;
			vsock_poll(f.d);
			/* Guest-initiated connections: accept one, feed it. */
			a = accept4(fz_listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (a >= 0 && f.ncli < MAXCLI)
				f.cli[f.ncli++] = a;
			else if (a >= 0)
				close(a);
			fz_drain(&f);
			break;
		}
		case 7: {
			int fd = vsock_connect(f.d, in_u8(&in));
			if (fd >= 0 && f.ncli < MAXCLI)
				f.cli[f.ncli++] = fd;
			else if (fd >= 0)
				close(fd);
			break;
		}
		case 8: {
			struct fq *q = &f.q[1];
			uint16_t head = (uint16_t)(q->avail_idx % QS);
			for (unsigned i = 0; i < 4; i++) {
				struct virtq_desc x;
				size_t n = 16;
				const uint8_t *raw = in_take(&in, &n);
				memset(&x, 0, sizeof(x));
				memcpy(&x, raw, n);
				/* Keep most addresses inside RAM so the walk goes on. */
				if (!(x.flags & 0x80))
					x.addr %= MEM;
				memcpy(f.mem + q->desc + 16u * ((head + i) % QS), &x, 16);
			}
			q_avail(&f, q, head);
			vsock_virtio_ops.queue_notify(f.d, VSOCK_TXQ);
			break;
		}
		case 9:
			vsock_virtio_ops.reset(f.d);
			f.nconn = 0;
			fz_activate(&f);
			break;
		}
	}
	vsock_poll(f.d);
	fz_drain(&f);
	vsock_close(f.d);
	for (unsigned i = 0; i < f.ncli; i++)
		if (f.cli[i] >= 0)
			close(f.cli[i]);
	for (int a; (a = accept4(fz_listener, NULL, NULL, SOCK_CLOEXEC)) >= 0;)
		close(a);
	free(f.mem);
	return 0;
}
