/* The host log endpoint: sinks, formatting, the Write handler (logsvc.h). */
#include "vmm/services/logsvc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"

/* One formatted record: the message's 2048 bytes escaped (x4) plus fields. */
#define LOGSVC_LINE_MAX 12288
/* A stalled frame or a response the guest does not read. */
#define LOGSVC_IO_TIMEOUT_MS 10000
/* How long a full host syslog socket may hold a record up. */
#define LOGSVC_SINK_WAIT_MS 1000

struct logsvc {
	pthread_mutex_t lock;
	enum syslog_mode mode;
	char path[256];        /* file, or the syslog socket */
	char name[65];         /* VM name, as validated by the CLI */
	int fd;                /* sink; -1 while unavailable */
	dev_t dev;             /* of the file we have open (rotation check) */
	ino_t ino;
	uint64_t session, acked;
	struct log_ratelimit rl;
	char line[LOGSVC_LINE_MAX];
};

static const char *const logsvc_fac[24] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
	"ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
	"local7",
};
static const char *const logsvc_sev[8] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" };

/* Append src (len bytes) to out at *pos, escaping what could break a line
 * or a terminal: bytes below 0x20, 0x7f and '\'. Stops before n - 1. */
static void logsvc_esc(char *out, size_t n, size_t *pos, const void *src, size_t len)
{
	const unsigned char *p = src;
	size_t o = *pos;

	for (size_t i = 0; i < len && o + 1 < n; i++) {
		unsigned char c = p[i];
		char tmp[5];
		size_t k;

		if (c == '\\')
			k = (size_t)snprintf(tmp, sizeof(tmp), "\\\\");
		else if (c == '\n')
			k = (size_t)snprintf(tmp, sizeof(tmp), "\\n");
		else if (c == '\t')
			k = (size_t)snprintf(tmp, sizeof(tmp), "\\t");
		else if (c < 0x20 || c == 0x7f)
			k = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", c);
		else {
			tmp[0] = (char)c;
			k = 1;
		}
		if (o + k >= n)
			break;
		memcpy(out + o, tmp, k);
		o += k;
	}
	out[o] = 0;
	*pos = o;
}

static void logsvc_str(char *out, size_t n, size_t *pos, const char *s)
{
	logsvc_esc(out, n, pos, s, strlen(s));
}

/* RFC 3339 / RFC 5424 §6.2.3 timestamp in UTC with microseconds. */
static void logsvc_time(char *out, size_t n, size_t *pos, int64_t us)
{
	time_t t = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
	long frac = (long)(us - (int64_t)t * 1000000);
	struct tm tm;
	char buf[40];

	if (!gmtime_r(&t, &tm) || tm.tm_year > 9999 - 1900 || tm.tm_year < 0) {
		logsvc_str(out, n, pos, "-");
		return;
	}
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	logsvc_str(out, n, pos, buf);
}

size_t logsvc_format_line(const vmlog_Record *r, const char *vm, char *out, size_t n)
{
	size_t pos = 0;
	char buf[48];

	out[0] = 0;
	logsvc_time(out, n, &pos, r->time_us);
	logsvc_str(out, n, &pos, " ");
	logsvc_str(out, n, &pos, vm);
	snprintf(buf, sizeof(buf), " %s.%s ", logsvc_fac[r->facility < 24 ? r->facility : 1],
		 logsvc_sev[r->severity & 7]);
	logsvc_str(out, n, &pos, buf);
	logsvc_str(out, n, &pos, r->app[0] ? r->app : "-");
	if (r->pid) {
		snprintf(buf, sizeof(buf), "[%u]", (unsigned)r->pid);
		logsvc_str(out, n, &pos, buf);
	}
	logsvc_str(out, n, &pos, ": ");
	if (r->source == vmlog_Source_KMSG) {
		snprintf(buf, sizeof(buf), "[%5llu.%06llu] ", (unsigned long long)(r->boot_us / 1000000),
			 (unsigned long long)(r->boot_us % 1000000));
		logsvc_str(out, n, &pos, buf);
	}
	if (r->sd[0]) {
		logsvc_str(out, n, &pos, r->sd);
		logsvc_str(out, n, &pos, " ");
	}
	logsvc_esc(out, n, &pos, r->msg.bytes, r->msg.size);
	if (r->truncated)
		logsvc_str(out, n, &pos, " [truncated]");
	if (pos + 1 < n) {
		out[pos++] = '\n';
		out[pos] = 0;
	} else if (pos > 0) {
		out[pos - 1] = '\n';
	}
	return pos;
}

/* RFC 5424 §6.2.5: APP-NAME, PROCID, MSGID are PRINTUSASCII without
 * spaces, or "-". */
static void logsvc_token(char *out, size_t n, size_t *pos, const char *s, size_t max)
{
	size_t o = *pos, k = 0;

	for (; s[k] && k < max && o + 1 < n; k++)
		out[o++] = (s[k] > 32 && s[k] < 127) ? s[k] : '_';
	if (!k && o + 1 < n)
		out[o++] = '-';
	out[o] = 0;
	*pos = o;
}

size_t logsvc_format_5424(const vmlog_Record *r, const char *vm, char *out, size_t n)
{
	size_t pos = 0;
	char buf[32];

	/* §6.2.1: PRI = facility * 8 + severity. */
	snprintf(buf, sizeof(buf), "<%u>1 ", (r->facility < 24 ? r->facility : 1) * 8 + (r->severity & 7));
	out[0] = 0;
	logsvc_str(out, n, &pos, buf);
	logsvc_time(out, n, &pos, r->time_us);
	logsvc_str(out, n, &pos, " ");
	logsvc_token(out, n, &pos, vm, 255);
	logsvc_str(out, n, &pos, " ");
	logsvc_token(out, n, &pos, r->app, 48);
	snprintf(buf, sizeof(buf), " %u ", (unsigned)r->pid);
	logsvc_str(out, n, &pos, r->pid ? buf : " - ");
	logsvc_token(out, n, &pos, r->msgid, 32);
	logsvc_str(out, n, &pos, " ");
	/* The guest's STRUCTURED-DATA was checked by vm_syslog's parser; it
	 * is escaped like everything else, so it cannot break the frame. */
	logsvc_str(out, n, &pos, r->sd[0] ? r->sd : "-");
	logsvc_str(out, n, &pos, " ");
	if (r->source == vmlog_Source_KMSG) {
		snprintf(buf, sizeof(buf), "[%5llu.%06llu] ", (unsigned long long)(r->boot_us / 1000000),
			 (unsigned long long)(r->boot_us % 1000000));
		logsvc_str(out, n, &pos, buf);
	}
	logsvc_esc(out, n, &pos, r->msg.bytes, r->msg.size);
	return pos;
}

/* (Re)open the sink; 0 or -errno. */
static int logsvc_sink_open(struct logsvc *l)
{
	struct stat st;

	if (l->fd >= 0 && l->mode != SYSLOG_STDERR)
		close(l->fd);
	l->fd = -1;
	if (l->mode == SYSLOG_STDERR) {
		l->fd = STDERR_FILENO;
	} else if (l->mode == SYSLOG_FILE) {
		l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
		if (l->fd < 0)
			return -errno;
		if (fstat(l->fd, &st) == 0) {
			l->dev = st.st_dev;
			l->ino = st.st_ino;
		}
	} else {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		if (strlen(l->path) >= sizeof(sa.sun_path))
			return -ENAMETOOLONG;
		memcpy(sa.sun_path, l->path, strlen(l->path));
		l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (l->fd < 0)
			return -errno;
		if (connect(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int e = -errno;
			close(l->fd);
			l->fd = -1;
			return e;
		}
	}
	return 0;
}

/* A rotated file (renamed or removed under us) is reopened by path. */
static void logsvc_check_rotation(struct logsvc *l)
{
	struct stat st;

	if (l->mode != SYSLOG_FILE || l->fd < 0)
		return;
	if (stat(l->path, &st) < 0 || st.st_dev != l->dev || st.st_ino != l->ino)
		logsvc_sink_open(l);
}

static int logsvc_emit(struct logsvc *l, const char *buf, size_t len)
{
	if (l->mode == SYSLOG_HOST) {
		/* One datagram per record; the host syslog sees whole messages.
		 * A syslog that stops reading must not hang this thread (nor
		 * vmm's exit): wait a bounded time for room, then report it
		 * unavailable and let the guest keep the records. */
		for (int tries = 0; tries < 2; tries++) {
			struct pollfd p = { .fd = l->fd, .events = POLLOUT };
			if (send(l->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len)
				return 0;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			if (!tries)
				poll(&p, 1, LOGSVC_SINK_WAIT_MS);
		}
		return -EAGAIN;
	}
	while (len) {
		ssize_t w = write(l->fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Write one record; on failure reopen once and retry. 0 or -errno. */
static int logsvc_store(struct logsvc *l, const vmlog_Record *r)
{
	size_t len = l->mode == SYSLOG_HOST ? logsvc_format_5424(r, l->name, l->line, sizeof(l->line)) :
					      logsvc_format_line(r, l->name, l->line, sizeof(l->line));
	int e = l->fd >= 0 ? logsvc_emit(l, l->line, len) : -EBADF;

	if (e < 0 && (e = logsvc_sink_open(l)) == 0)
		e = logsvc_emit(l, l->line, len);
	return e;
}

uint32_t logsvc_write(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	struct logsvc *l = ctx;
	const vmlog_WriteRequest *q = req;
	vmlog_WriteResponse *o = resp;
	uint32_t code = RPC_OK;

	pthread_mutex_lock(&l->lock);
	if (q->session != l->session) {
		/* A new vm_syslog run numbers from 1 again. */
		l->session = q->session;
		l->acked = 0;
	}
	logsvc_check_rotation(l);
	for (pb_size_t i = 0; i < q->records_count; i++) {
		const vmlog_Record *r = &q->records[i];
		int e;

		if (r->seq <= l->acked)
			continue;  /* a resent batch: stored already */
		e = logsvc_store(l, r);
		if (e < 0) {
			log_ratelimited(&l->rl, "--syslog: %s: %s; the guest keeps the records",
					l->mode == SYSLOG_STDERR ? "stderr" : l->path, strerror(-e));
			rpc_status_set(st, RPC_UNAVAILABLE, "log sink unavailable: %s", strerror(-e));
			code = RPC_UNAVAILABLE;
			break;
		}
		l->acked = r->seq;
	}
	o->acked = l->acked;
	pthread_mutex_unlock(&l->lock);
	return code;
}

void logsvc_serve(void *ctx, int fd)
{
	static const struct rpc_method methods[] = { { &proto_log_write, logsvc_write } };
	struct rpc_server srv = { methods, 1, ctx, .io_timeout_ms = LOGSVC_IO_TIMEOUT_MS };
	int r = rpc_server_serve(&srv, fd);

	if (r < 0 && r != -ECONNRESET)
		log_guest("log endpoint: connection ended: %s", strerror(-r));
}

int logsvc_open(struct logsvc **out, const struct vmm_config *cfg, const char *name)
{
	struct logsvc *l = calloc(1, sizeof(*l));
	int e;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	l->mode = cfg->syslog;
	l->fd = -1;
	snprintf(l->name, sizeof(l->name), "%s", name);
	snprintf(l->path, sizeof(l->path), "%s",
		 cfg->syslog_path ? cfg->syslog_path : l->mode == SYSLOG_HOST ? "/dev/log" : "");
	e = logsvc_sink_open(l);
	/* A host syslog that is down now may come back: records wait in the
	 * guest meanwhile. A file we cannot open is bad input. */
	if (e < 0 && l->mode == SYSLOG_FILE) {
		log_err("--syslog file:%s: %s", l->path, strerror(-e));
		logsvc_close(l);
		return e;
	}
	if (e < 0)
		log_warn("--syslog syslog: %s: %s; records wait in the guest until it answers", l->path, strerror(-e));
	*out = l;
	return 0;
}

void logsvc_close(struct logsvc *l)
{
	if (!l)
		return;
	if (l->fd >= 0 && l->mode != SYSLOG_STDERR)
		close(l->fd);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
