/* The host crash endpoint (crashsvc.h). */
#include "vmm/services/crashsvc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"

#define CRASHSVC_IO_TIMEOUT_MS 10000
#define CRASHSVC_RATE_SLOTS 32

struct crashsvc_rate {
	char exe[64];
	time_t t[CRASHSVC_RATE];   /* the last starts, oldest first */
	unsigned n;
};

struct crashsvc {
	pthread_mutex_t lock;
	char dir[129];         /* crashsvc_open checks the length */
	char vm[65];
	unsigned stored;
	unsigned next_slot;
	struct crashsvc_rate rate[CRASHSVC_RATE_SLOTS];
};

/* One connection's crash in progress. */
struct crashsvc_conn {
	struct crashsvc *c;
	bool begun;
	char base[300];            /* DIR/<vm>-<time>-<exe>[.N] */
	int fd[2];                 /* .json.part, .dmp.part */
	uint64_t size[2], got[2];
};

void crashsvc_name_part(const char *in, char *out, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; in[i] && o + 1 < n && o < 32; i++) {
		char ch = in[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			  ch == '_' || ch == '-' || (ch == '.' && o > 0);
		out[o++] = ok ? ch : '_';
	}
	out[o] = 0;
	if (!o)
		snprintf(out, n, "unknown");
}

/* Per-exe rate limit: 1 when another crash of exe may be stored now. */
static int crashsvc_rate_ok(struct crashsvc *c, const char *exe, time_t now)
{
	struct crashsvc_rate *r = NULL;

	for (unsigned i = 0; i < CRASHSVC_RATE_SLOTS && !r; i++)
		if (c->rate[i].n && !strcmp(c->rate[i].exe, exe))
			r = &c->rate[i];
	if (!r) {
		/* A new exe takes the slots in turn (the oldest entry goes). */
		r = &c->rate[c->next_slot++ % CRASHSVC_RATE_SLOTS];
		memset(r, 0, sizeof(*r));
		snprintf(r->exe, sizeof(r->exe), "%s", exe);
	}
	if (r->n == CRASHSVC_RATE) {
		if (now - r->t[0] < CRASHSVC_RATE_WINDOW_S)
			return 0;
		memmove(r->t, r->t + 1, sizeof(r->t[0]) * (CRASHSVC_RATE - 1));
		r->n--;
	}
	r->t[r->n++] = now;
	return 1;
}

static void crashsvc_abort(struct crashsvc_conn *k)
{
	static const char *const ext[2] = { ".json.part", ".dmp.part" };

	for (int i = 0; i < 2; i++) {
		char p[320];
		if (k->fd[i] < 0)
			continue;
		close(k->fd[i]);
		k->fd[i] = -1;
		snprintf(p, sizeof(p), "%s%s", k->base, ext[i]);
		unlink(p);
	}
	k->begun = false;
}

static uint32_t crashsvc_begin(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	static const char *const ext[2] = { ".json.part", ".dmp.part" };
	struct crashsvc_conn *k = ctx;
	struct crashsvc *c = k->c;
	const vmcrash_BeginRequest *q = req;
	char exe[33], stamp[20];
	time_t now = time(NULL);
	struct tm tm;
	int ok;

	if (k->begun)
		crashsvc_abort(k);
	if (q->json_size > CRASHSVC_JSON_MAX || q->dmp_size > CRASHSVC_DMP_MAX) {
		log_guest("crash endpoint: a report of %llu + %llu bytes is over the caps (%u + %u)",
			  (unsigned long long)q->json_size, (unsigned long long)q->dmp_size, CRASHSVC_JSON_MAX,
			  CRASHSVC_DMP_MAX);
		rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "over the size caps (%u + %u bytes)", CRASHSVC_JSON_MAX,
			       CRASHSVC_DMP_MAX);
		return st->code;
	}
	crashsvc_name_part(q->exe, exe, sizeof(exe));
	pthread_mutex_lock(&c->lock);
	ok = c->stored < CRASHSVC_KEEP && crashsvc_rate_ok(c, exe, now);
	if (ok)
		c->stored++;
	pthread_mutex_unlock(&c->lock);
	if (!ok) {
		log_guest("crash endpoint: %s: more than %d crashes in %d s (or %d this run), not stored", exe,
			  CRASHSVC_RATE, CRASHSVC_RATE_WINDOW_S, CRASHSVC_KEEP);
		rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "rate limit for %s", exe);
		return st->code;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	/* Several crashes of one exe within a second: number them. */
	for (unsigned n = 0; n < 100; n++) {
		char p[320];
		if (n)
			snprintf(k->base, sizeof(k->base), "%s/%s-%s-%s.%u", c->dir, c->vm, stamp, exe, n);
		else
			snprintf(k->base, sizeof(k->base), "%s/%s-%s-%s", c->dir, c->vm, stamp, exe);
		snprintf(p, sizeof(p), "%s.dmp", k->base);
		if (access(p, F_OK) < 0)
			break;
	}
	for (int i = 0; i < 2; i++) {
		char p[320];
		snprintf(p, sizeof(p), "%s%s", k->base, ext[i]);
		k->fd[i] = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (k->fd[i] < 0) {
			int e = errno;
			log_warn("--crash-dir: %s: %s", p, strerror(e));
			crashsvc_abort(k);
			rpc_status_set(st, RPC_INTERNAL, "cannot store: %s", strerror(e));
			return st->code;
		}
		k->got[i] = 0;
	}
	k->size[0] = q->json_size;
	k->size[1] = q->dmp_size;
	k->begun = true;
	log_info("crash in the guest: %s (pid %u, signal %u)", exe, (unsigned)q->pid, (unsigned)q->signal);
	return RPC_OK;
}

static uint32_t crashsvc_chunk(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	struct crashsvc_conn *k = ctx;
	const vmcrash_ChunkRequest *q = req;
	unsigned f = q->file == vmcrash_File_DMP ? 1 : 0;
	const uint8_t *p = q->data.bytes;
	size_t len = q->data.size;

	if (!k->begun) {
		rpc_status_set(st, RPC_FAILED_PRECONDITION, "Chunk before Begin");
		return st->code;
	}
	if (q->offset != k->got[f] || len > k->size[f] - k->got[f]) {
		crashsvc_abort(k);
		rpc_status_set(st, RPC_INVALID_ARGUMENT, "chunk at %llu+%zu: expected offset %llu, size %llu",
			       (unsigned long long)q->offset, len, (unsigned long long)k->got[f],
			       (unsigned long long)k->size[f]);
		return st->code;
	}
	while (len) {
		ssize_t w = write(k->fd[f], p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			crashsvc_abort(k);
			rpc_status_set(st, RPC_INTERNAL, "write: %s", strerror(e));
			return st->code;
		}
		p += w;
		len -= (size_t)w;
		k->got[f] += (uint64_t)w;
	}
	return RPC_OK;
}

static uint32_t crashsvc_end(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	static const char *const ext[2] = { ".json", ".dmp" };
	struct crashsvc_conn *k = ctx;
	vmcrash_EndResponse *o = resp;

	if (!k->begun || k->got[0] != k->size[0] || k->got[1] != k->size[1]) {
		if (k->begun)
			crashsvc_abort(k);
		rpc_status_set(st, RPC_FAILED_PRECONDITION, "End before every byte arrived");
		return st->code;
	}
	for (int i = 0; i < 2; i++) {
		char from[320], to[310];
		snprintf(to, sizeof(to), "%s%s", k->base, ext[i]);
		snprintf(from, sizeof(from), "%s.part", to);
		if (fsync(k->fd[i]) < 0 || rename(from, to) < 0)
			log_warn("--crash-dir: %s: %s", to, strerror(errno));
		close(k->fd[i]);
		k->fd[i] = -1;
	}
	k->begun = false;
	snprintf(o->name, sizeof(o->name), "%s", strrchr(k->base, '/') + 1);
	log_info("crash stored: %s.{json,dmp}", k->base);
	return RPC_OK;
}

void crashsvc_serve(void *ctx, int fd)
{
	struct crashsvc_conn k = { .c = ctx, .fd = { -1, -1 } };
	const struct rpc_method methods[] = {
		{ &proto_crash_methods[PROTO_CRASH_BEGIN], crashsvc_begin },
		{ &proto_crash_methods[PROTO_CRASH_CHUNK], crashsvc_chunk },
		{ &proto_crash_methods[PROTO_CRASH_END], crashsvc_end },
	};
	struct rpc_server srv = { methods, PROTO_CRASH_N, &k, .io_timeout_ms = CRASHSVC_IO_TIMEOUT_MS };
	int r = rpc_server_serve(&srv, fd);

	if (r < 0 && r != -ECONNRESET)
		log_guest("crash endpoint: connection ended: %s", strerror(-r));
	if (k.begun)
		crashsvc_abort(&k);
}

int crashsvc_open(struct crashsvc **out, const char *dir, const char *vm_name)
{
	struct crashsvc *c;
	struct stat st;

	*out = NULL;
	if (stat(dir, &st) < 0) {
		int e = -errno;
		log_err("--crash-dir %s: %s", dir, strerror(-e));
		return e;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_err("--crash-dir %s: not a directory", dir);
		return -ENOTDIR;
	}
	if (access(dir, W_OK | X_OK) < 0) {
		int e = -errno;
		log_err("--crash-dir %s: not writable: %s", dir, strerror(-e));
		return e;
	}
	if (strlen(dir) > 128) {
		log_err("--crash-dir %s: path too long (at most 128 bytes)", dir);
		return -ENAMETOOLONG;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	snprintf(c->vm, sizeof(c->vm), "%s", vm_name);
	*out = c;
	return 0;
}

void crashsvc_close(struct crashsvc *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}
