/* vm_syslog's loop (vm_syslog.h): sockets, privilege drop, batching, acks,
 * reconnecting. One batch is in flight at a time; it is kept (outside the
 * queue's budget, at most 16 records) until the host acknowledges it, and
 * sent again after a reconnect or an UNAVAILABLE answer; the host skips
 * records it already stored (docs/AGENTS.md). */
#include "guest-agents/vm_syslog/vm_syslog.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "guest-agents/common/agent.h"

/* Records read per wake-up from each source, so neither starves the other
 * or the connection. */
#define VSL_READ_BUDGET 64
/* A response is a status, at most 255 bytes of text and a small message. */
#define VSL_RESP_MAX 1024
#define VSL_CALL_TIMEOUT_MS 5000
#define VSL_CONNECT_TIMEOUT_MS 1000

struct vsl {
	const struct vsl_opts *o;
	int devlog, kmsg, sfd, conn;
	struct agent_endpoint ep;
	struct agent_backoff bo;
	struct vsl_queue q;
	uint64_t session, next_seq;
	uint64_t kseq_next;
	bool kseq_known;
	/* The batch in flight. */
	vmlog_WriteRequest req;
	bool inflight, sent;
	uint32_t stream;
	struct rpc_buf out;
	size_t out_off;
	uint8_t in[RPC_HDR_SIZE + VSL_RESP_MAX];
	size_t in_len;
	uint64_t retry_at, call_deadline, oldest_at;
	bool term;
	uint64_t term_deadline;
	uint8_t dgram[VSL_DGRAM_MAX + 1];
	char kbuf[8192];
};

static int64_t vsl_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Wall clock minus the kernel's printk clock (CLOCK_MONOTONIC). */
static int64_t vsl_boot_to_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return vsl_wall_us() - ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

void vsl_opts_default(struct vsl_opts *o)
{
	*o = (struct vsl_opts){
		.socket_path = "/dev/log", .kmsg_path = "/dev/kmsg", .buffer = 1u << 20, .flush_records = 16,
		.flush_bytes = 16u << 10, .flush_ms = 50, .term_grace_ms = 3000, .jail = true,
	};
}

static void vsl_push(struct vsl *v, const vmlog_Record *r)
{
	if (!v->q.count)
		v->oldest_at = agent_now_ms();
	vsl_queue_push(&v->q, r);
}

/* A record of vm_syslog's own: "N <what>", with N in lost too. */
static void vsl_notice(vmlog_Record *r, uint64_t n, const char *what)
{
	int l;

	memset(r, 0, sizeof(*r));
	r->source = vmlog_Source_AGENT;
	r->time_us = vsl_wall_us();
	r->facility = 5;  /* syslog */
	r->severity = 4;  /* warning */
	r->lost = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	strcpy(r->app, "vm_syslog");
	l = snprintf((char *)r->msg.bytes, sizeof(r->msg.bytes), "%llu %s", (unsigned long long)n, what);
	r->msg.size = (pb_size_t)l;
}

static void vsl_read_devlog(struct vsl *v)
{
	for (int i = 0; i < VSL_READ_BUDGET; i++) {
		ssize_t n = recv(v->devlog, v->dgram, VSL_DGRAM_MAX, MSG_DONTWAIT | MSG_TRUNC);
		vmlog_Record r;

		if (n < 0)
			return;
		vsl_parse_devlog(v->dgram, n > VSL_DGRAM_MAX ? VSL_DGRAM_MAX : (size_t)n, vsl_wall_us(), &r);
		if (n > VSL_DGRAM_MAX)
			r.truncated = true;
		vsl_push(v, &r);
	}
}

static void vsl_read_kmsg(struct vsl *v)
{
	int64_t off = vsl_boot_to_wall_us();

	for (int i = 0; i < VSL_READ_BUDGET; i++) {
		ssize_t n = read(v->kmsg, v->kbuf, sizeof(v->kbuf));
		vmlog_Record r;
		uint64_t kseq;

		if (n < 0 && errno == EPIPE)
			continue;  /* overwritten while we were away: the seq gap counts them */
		if (n <= 0)
			return;
		if (vsl_parse_kmsg(v->kbuf, (size_t)n, off, &kseq, &r) < 0)
			continue;
		if (v->kseq_known && kseq > v->kseq_next) {
			vmlog_Record lost;
			vsl_notice(&lost, kseq - v->kseq_next, "kernel messages lost (kmsg ring overwritten)");
			vsl_push(v, &lost);
		}
		v->kseq_known = true;
		v->kseq_next = kseq + 1;
		vsl_push(v, &r);
	}
}

static void vsl_disconnect(struct vsl *v, const char *why, int err)
{
	if (v->conn >= 0) {
		fprintf(stderr, "vm_syslog: host endpoint: %s: %s; retrying\n", why, strerror(-err));
		close(v->conn);
	}
	v->conn = -1;
	v->sent = false;
	v->out.len = v->out_off = v->in_len = 0;
	v->retry_at = agent_now_ms() + agent_backoff_next(&v->bo);
}

/* Take the next batch from the queue: a loss notice first when records
 * were dropped, then the oldest records, numbered. */
static void vsl_take_batch(struct vsl *v)
{
	vmlog_WriteRequest *q = &v->req;

	q->session = v->session;
	q->records_count = 0;
	if (v->q.dropped) {
		/* The dropped records were older than everything queued: the
		 * notice goes first, where the gap is. */
		vsl_notice(&q->records[0], v->q.dropped,
			   "records lost (vm_syslog buffer full while the host was away)");
		q->records[0].seq = ++v->next_seq;
		q->records_count = 1;
		v->q.dropped = 0;
	}
	while (q->records_count < v->o->flush_records && q->records_count < 16 && v->q.count) {
		vmlog_Record *r = &q->records[q->records_count];
		vsl_queue_pop(&v->q, r);
		r->seq = ++v->next_seq;
		q->records_count++;
	}
	v->inflight = q->records_count > 0;
	v->sent = false;
	if (v->q.count)
		v->oldest_at = agent_now_ms();
}

/* Encode the in-flight batch as a REQUEST frame. */
static int vsl_encode(struct vsl *v)
{
	int e;

	v->stream = v->stream >= 0x7ffffffd ? 1 : v->stream + 2;
	e = rpc_frame_request(&v->out, v->stream, proto_log_write.id, proto_log_write.req_fields, &v->req);
	if (e < 0)
		return e;
	v->out_off = 0;
	v->in_len = 0;
	v->sent = true;
	v->call_deadline = agent_now_ms() + VSL_CALL_TIMEOUT_MS;
	return 0;
}

static void vsl_send(struct vsl *v)
{
	while (v->out_off < v->out.len) {
		ssize_t n = send(v->conn, v->out.data + v->out_off, v->out.len - v->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			vsl_disconnect(v, "send", n < 0 ? -errno : -EPIPE);
			return;
		}
		v->out_off += (size_t)n;
	}
}

/* The response: acknowledged records leave the batch. */
static void vsl_on_response(struct vsl *v, const uint8_t *p, size_t len)
{
	struct rpc_status st;
	const uint8_t *msg;
	size_t mlen;
	vmlog_WriteResponse resp;
	vmlog_WriteRequest *q = &v->req;
	pb_size_t keep = 0;

	if (rpc_frame_parse_response(p, len, &st, &msg, &mlen) < 0) {
		vsl_disconnect(v, "malformed response", -EPROTO);
		return;
	}
	v->sent = false;
	v->out.len = v->out_off = 0;
	if (st.code != RPC_OK) {
		/* UNAVAILABLE: the host's sink is away; keep everything. */
		v->retry_at = agent_now_ms() + agent_backoff_next(&v->bo);
		return;
	}
	if (rpc_msg_decode(vmlog_WriteResponse_fields, &resp, msg, mlen, NULL) < 0) {
		vsl_disconnect(v, "undecodable response", -EBADMSG);
		return;
	}
	agent_backoff_reset(&v->bo);
	v->retry_at = 0;
	for (pb_size_t i = 0; i < q->records_count; i++)
		if (q->records[i].seq > resp.acked)
			q->records[keep++] = q->records[i];
	q->records_count = keep;
	v->inflight = keep > 0;
}

static void vsl_recv(struct vsl *v)
{
	for (;;) {
		struct rpc_hdr h;
		size_t want = RPC_HDR_SIZE;
		ssize_t n;

		if (v->in_len >= RPC_HDR_SIZE) {
			if (rpc_frame_get_hdr(v->in, &h) < 0 || h.type != RPC_TYPE_RESPONSE || h.stream != v->stream ||
			    h.len > VSL_RESP_MAX || !v->sent) {
				vsl_disconnect(v, "unexpected frame", -EPROTO);
				return;
			}
			want = RPC_HDR_SIZE + h.len;
			if (v->in_len == want) {
				v->in_len = 0;
				vsl_on_response(v, v->in + RPC_HDR_SIZE, h.len);
				return;
			}
		}
		n = recv(v->conn, v->in + v->in_len, want - v->in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			vsl_disconnect(v, "closed", n < 0 ? -errno : -ECONNRESET);
			return;
		}
		v->in_len += (size_t)n;
	}
}

/* Back-pressure: while the host takes records (connected, not backing
 * off) and half the buffer is used, /dev/log is not read, so its senders
 * block in send() instead of records being dropped. While the host is away
 * the socket is read and the buffer drops its oldest records instead: a
 * logging program must never hang on an absent host. /dev/kmsg is always
 * read (the kernel's ring cannot wait either). */
static bool vsl_hold(const struct vsl *v, uint64_t now)
{
	return v->conn >= 0 && v->retry_at <= now && !v->term && v->q.used > v->q.cap / 2;
}

static bool vsl_batch_due(const struct vsl *v, uint64_t now)
{
	return v->q.count && (v->term || v->q.count >= v->o->flush_records || v->q.used >= v->o->flush_bytes ||
			      now >= v->oldest_at + v->o->flush_ms);
}

static void vsl_step(struct vsl *v, uint64_t now)
{
	if (v->conn < 0 && (v->inflight || v->q.count) && now >= v->retry_at) {
		int fd = agent_connect(&v->ep, VSL_CONNECT_TIMEOUT_MS);
		if (fd < 0) {
			v->retry_at = agent_now_ms() + agent_backoff_next(&v->bo);
			return;
		}
		v->conn = fd;
		v->sent = false;
	}
	if (v->conn < 0)
		return;
	if (!v->inflight && vsl_batch_due(v, now))
		vsl_take_batch(v);
	if (v->inflight && !v->sent && now >= v->retry_at) {
		int e = vsl_encode(v);
		if (e < 0) {
			fprintf(stderr, "vm_syslog: encoding a batch: %s; dropping it\n", strerror(-e));
			v->inflight = false;
			return;
		}
	}
	if (v->sent && v->out_off < v->out.len)
		vsl_send(v);
	if (v->sent && v->conn >= 0 && now >= v->call_deadline)
		vsl_disconnect(v, "no answer", -ETIMEDOUT);
}

static int vsl_bind(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, bufsz = 1 << 20;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);  /* a previous run's socket */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	/* Room for bursts; senders block (not lose) beyond it. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	return fd;
}

static int vsl_timeout(const struct vsl *v, uint64_t now)
{
	uint64_t t = UINT64_MAX;

	if (v->q.count && !v->inflight)
		t = v->oldest_at + v->o->flush_ms;
	if ((v->inflight || v->q.count) && (v->conn < 0 || !v->sent) && v->retry_at < t)
		t = v->retry_at;
	if (v->sent && v->call_deadline < t)
		t = v->call_deadline;
	if (v->term && v->term_deadline < t)
		t = v->term_deadline;
	if (t == UINT64_MAX)
		return -1;
	return t <= now ? 0 : (int)(t - now > 60000 ? 60000 : t - now);
}

int vsl_run(const struct vsl_opts *o)
{
	struct vsl *v = calloc(1, sizeof(*v));
	sigset_t ss;
	int e;

	if (!v)
		return -ENOMEM;
	v->o = o;
	v->devlog = v->kmsg = v->sfd = v->conn = -1;
	agent_backoff_init(&v->bo, 100, 2000);
	e = agent_endpoint_get(o->cmdline ? o->cmdline : "", "syslog", &v->ep);
	if (e < 0) {
		fprintf(stderr, "vm_syslog: no host log endpoint (appvm.syslog=): %s\n", strerror(-e));
		free(v);
		return e;
	}
	if ((e = vsl_queue_init(&v->q, o->buffer)) < 0)
		goto out;
	/* A random session, so the host tells our numbering from an earlier
	 * run's. */
	if (getentropy(&v->session, sizeof(v->session)) < 0)
		v->session = (uint64_t)vsl_wall_us() ^ ((uint64_t)getpid() << 32);
	v->session |= 1;
	v->devlog = vsl_bind(o->socket_path);
	if (v->devlog < 0) {
		e = v->devlog;
		fprintf(stderr, "vm_syslog: %s: %s\n", o->socket_path, strerror(-e));
		goto out;
	}
	if (o->kmsg_path) {
		v->kmsg = open(o->kmsg_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (v->kmsg < 0)
			fprintf(stderr, "vm_syslog: %s: %s; no kernel messages\n", o->kmsg_path, strerror(errno));
	}
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGPIPE);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	v->sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
	if (v->sfd < 0) {
		e = -errno;
		goto out;
	}
	if (o->jail) {
		int keep[3], nk = 0;
		keep[nk++] = v->devlog;
		keep[nk++] = v->sfd;
		if (v->kmsg >= 0)
			keep[nk++] = v->kmsg;
		agent_jail(AGENT_UID_SYSLOG, AGENT_UID_SYSLOG, keep, (size_t)nk, NULL);
	}
	for (;;) {
		struct pollfd p[4];
		uint64_t now = agent_now_ms();
		int n = 0, ic = -1, r;

		if (v->term && ((!v->q.count && !v->inflight) || now >= v->term_deadline))
			break;
		vsl_step(v, now);
		p[n++] = (struct pollfd){ .fd = v->sfd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = v->devlog, .events = vsl_hold(v, now) ? 0 : POLLIN };
		p[n++] = (struct pollfd){ .fd = v->kmsg, .events = POLLIN };
		if (v->conn >= 0) {
			ic = n;
			p[n++] = (struct pollfd){ .fd = v->conn,
						  .events = (short)(POLLIN | (v->out_off < v->out.len ? POLLOUT : 0)) };
		}
		r = poll(p, (nfds_t)n, vsl_timeout(v, now));
		if (r < 0 && errno != EINTR) {
			e = -errno;
			break;
		}
		if (r <= 0)
			continue;
		if (p[0].revents) {
			struct signalfd_siginfo si;
			while (read(v->sfd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo != SIGPIPE && !v->term) {
					v->term = true;
					v->term_deadline = agent_now_ms() + o->term_grace_ms;
				}
		}
		if (p[1].revents)
			vsl_read_devlog(v);
		if (p[2].revents)
			vsl_read_kmsg(v);
		if (ic >= 0 && v->conn >= 0 && (p[ic].revents & (POLLIN | POLLHUP | POLLERR)))
			vsl_recv(v);
		if (ic >= 0 && v->conn >= 0 && (p[ic].revents & POLLOUT))
			vsl_send(v);
	}
	if (v->term && (v->q.count || v->inflight))
		fprintf(stderr, "vm_syslog: %u records not sent at shutdown (host endpoint away)\n",
			v->q.count + (v->inflight ? v->req.records_count : 0));
out:
	if (v->conn >= 0)
		close(v->conn);
	if (v->devlog >= 0)
		close(v->devlog);
	if (v->kmsg >= 0)
		close(v->kmsg);
	if (v->sfd >= 0)
		close(v->sfd);
	rpc_buf_free(&v->out);
	vsl_queue_free(&v->q);
	free(v);
	return e < 0 ? e : 0;
}
