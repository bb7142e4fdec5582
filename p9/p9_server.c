/* p9 server: shares (grants), fids, the session (Tversion/Tattach/Twalk/
 * Tclunk/Tflush) and the dispatcher. The request handlers for file-system
 * operations live in p9_ops.c. */
#include "p9/p9_int.h"
#include "p9/p9_path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define P9_MSIZE_DEFAULT (512u * 1024)
#define P9_FID_LIMIT_DEFAULT 4096u
/* Rversion's answer to a version we do not speak (version(5)). */
#define P9_VERSION_L "9P2000.L"

static int p9_share_find(const struct p9_server *s, const char *name, size_t len)
{
	for (int i = 0; i < P9_MAX_SHARES; i++)
		if (s->shares[i] && strlen(s->shares[i]->name) == len &&
		    memcmp(s->shares[i]->name, name, len) == 0)
			return i;
	return -1;
}

int p9_grant_fd(struct p9_server *s, int dirfd, const char *name, int ro)
{
	struct stat st;
	int slot = -1;
	int r = p9_path_name_ok(name, strlen(name));
	if (r < 0)
		return -EINVAL;
	if (p9_share_find(s, name, strlen(name)) >= 0)
		return -EEXIST;
	for (int i = 0; i < P9_MAX_SHARES && slot < 0; i++)
		if (!s->shares[i])
			slot = i;
	if (slot < 0)
		return -ENOSPC;
	/* Re-open "." as O_PATH: the share's root fd carries no access mode
	 * and no file offset, whatever the caller passed. */
	int fd = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = fstat(fd, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (r < 0) {
		close(fd);
		return r;
	}
	struct p9_share *sh = calloc(1, sizeof(*sh));
	if (!sh) {
		close(fd);
		return -ENOMEM;
	}
	strcpy(sh->name, name);
	sh->rootfd = fd;
	sh->ro = !!ro;
	s->shares[slot] = sh;
	return 0;
}

int p9_grant(struct p9_server *s, const char *host_path, const char *name, int ro)
{
	int fd = open(host_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = p9_grant_fd(s, fd, name, ro);
	close(fd);
	return r;
}

int p9_revoke(struct p9_server *s, const char *name)
{
	int i = p9_share_find(s, name, strlen(name));
	if (i < 0)
		return -ENOENT;
	struct p9_share *sh = s->shares[i];
	/* Every fid inside turns stale now: open files are closed so the
	 * guest keeps no access through them. */
	for (int b = 0; b < P9_FID_BUCKETS; b++)
		for (struct p9_fid *f = s->fids[b]; f; f = f->next)
			if (f->share == sh) {
				if (f->fd >= 0)
					close(f->fd);
				f->fd = -1;
				f->open = 0;
				f->share = NULL;
				f->stale = 1;
			}
	close(sh->rootfd);
	free(sh);
	s->shares[i] = NULL;
	return 0;
}

struct p9_server *p9_server_new(const struct p9_config *cfg)
{
	uint32_t msize = cfg->msize_max ? cfg->msize_max : P9_MSIZE_DEFAULT;
	if (msize < P9_MSIZE_MIN || cfg->n_shares > P9_MAX_SHARES ||
	    (cfg->n_shares && !cfg->shares) ||
	    (cfg->uid_policy != P9_UID_MAPPED && cfg->uid_policy != P9_UID_PASSTHROUGH) ||
	    (cfg->uid_policy == P9_UID_PASSTHROUGH && geteuid() != 0) ||
	    (cfg->root_share && p9_path_name_ok(cfg->root_share, strlen(cfg->root_share)) < 0)) {
		errno = EINVAL;
		return NULL;
	}
	struct p9_server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->msize = s->msize_max = msize;
	s->fid_limit = cfg->fid_limit ? cfg->fid_limit : P9_FID_LIMIT_DEFAULT;
	s->policy = cfg->uid_policy;
	s->no_fchmodat2 = cfg->no_fchmodat2;
	s->guest_uid = cfg->guest_uid;
	s->guest_gid = cfg->guest_gid;
	s->euid = geteuid();
	s->egid = getegid();
	s->use_openat2 = p9_path_have_openat2();
#ifdef APPVM_TEST
	if (cfg->force_walk)
		s->use_openat2 = 0;
#endif
	if (cfg->root_share)
		strcpy(s->root_share, cfg->root_share);
	for (size_t i = 0; i < cfg->n_shares; i++) {
		const struct p9_share_config *c = &cfg->shares[i];
		int r = c->dirfd >= 0 ? p9_grant_fd(s, c->dirfd, c->name, c->ro)
				      : p9_grant(s, c->path, c->name, c->ro);
		if (r < 0) {
			p9_server_free(s);
			errno = r == -EEXIST ? EINVAL : -r;
			return NULL;
		}
	}
	return s;
}

/* Closes a fid's open file and frees it (not in the table any more). */
static void p9_fid_free(struct p9_server *s, struct p9_fid *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f);
}

static void p9_fid_free_all(struct p9_server *s)
{
	for (int b = 0; b < P9_FID_BUCKETS; b++) {
		while (s->fids[b]) {
			struct p9_fid *f = s->fids[b];
			s->fids[b] = f->next;
			p9_fid_free(s, f);
		}
	}
	s->nfids = 0;
}

void p9_server_free(struct p9_server *s)
{
	if (!s)
		return;
	p9_fid_free_all(s);
	for (int i = 0; i < P9_MAX_SHARES; i++)
		if (s->shares[i]) {
			close(s->shares[i]->rootfd);
			free(s->shares[i]);
		}
	free(s);
}

uint32_t p9_msize(const struct p9_server *s)
{
	return s->msize;
}

uint32_t p9_fid_count(const struct p9_server *s)
{
	return s->nfids;
}

/* fids */

struct p9_fid *p9_fid_get(struct p9_server *s, uint32_t id)
{
	for (struct p9_fid *f = s->fids[id % P9_FID_BUCKETS]; f; f = f->next)
		if (f->id == id)
			return f;
	return NULL;
}

int p9_fid_use(struct p9_server *s, uint32_t id, struct p9_fid **out)
{
	struct p9_fid *f = p9_fid_get(s, id);
	if (!f)
		return -EBADF;
	if (f->stale)
		return -ESTALE;
	*out = f;
	return 0;
}

/* A new fid (not yet in the table): -EEXIST if id is in use, -EMFILE past
 * the per-connection limit. */
static int p9_fid_new(struct p9_server *s, uint32_t id, struct p9_share *sh, const char *path,
		      struct p9_fid **out)
{
	if (id == P9_NOFID || p9_fid_get(s, id))
		return -EEXIST;
	if (s->nfids >= s->fid_limit)
		return -EMFILE;
	struct p9_fid *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		return -ENOMEM;
	}
	f->id = id;
	f->share = sh;
	f->fd = -1;
	*out = f;
	return 0;
}

static void p9_fid_insert(struct p9_server *s, struct p9_fid *f)
{
	f->next = s->fids[f->id % P9_FID_BUCKETS];
	s->fids[f->id % P9_FID_BUCKETS] = f;
	s->nfids++;
}

void p9_fid_drop(struct p9_server *s, struct p9_fid *f)
{
	for (struct p9_fid **pp = &s->fids[f->id % P9_FID_BUCKETS]; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			s->nfids--;
			break;
		}
	p9_fid_free(s, f);
}

void p9_fid_rename(struct p9_server *s, const struct p9_share *share, const char *from, const char *to)
{
	size_t n = strlen(from);
	char buf[P9_PATH_MAX + 1];
	for (int b = 0; b < P9_FID_BUCKETS; b++)
		for (struct p9_fid *f = s->fids[b]; f; f = f->next) {
			if (f->share != share || strncmp(f->path, from, n) != 0 ||
			    (f->path[n] != '\0' && f->path[n] != '/'))
				continue;
			char *p = NULL;
			if (strlen(to) + strlen(f->path + n) <= P9_PATH_MAX) {
				strcpy(buf, to);
				strcat(buf, f->path + n);
				p = strdup(buf);
			}
			if (!p) {
				/* Cannot follow it: better stale than wrong. */
				if (f->fd >= 0)
					close(f->fd);
				f->fd = -1;
				f->open = 0;
				f->share = NULL;
				f->stale = 1;
				continue;
			}
			free(f->path);
			f->path = p;
		}
}

int p9_fid_open_path(struct p9_server *s, const struct p9_fid *f, int flags)
{
	return p9_path_open(f->share->rootfd, f->path, flags, 0, s->use_openat2);
}

int p9_fid_dir(struct p9_server *s, const struct p9_fid *f, int write)
{
	if (!f->share)
		return write ? -EROFS : -ENOTDIR;
	if (write && f->share->ro)
		return -EROFS;
	return p9_fid_open_path(s, f, O_PATH | O_DIRECTORY);
}

int p9_join(char *out, const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	if (a + !!a + b > P9_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(out, dir, a);
	if (a)
		out[a++] = '/';
	memcpy(out + a, name, b + 1);
	return 0;
}

/* qids: path = device slot (16 bits) and inode (48 bits), so inodes of
 * different host file systems under one share (or two shares) do not
 * collide as long as inode numbers fit 48 bits; beyond that (or past
 * P9_DEV_MAX devices) two files may share a qid, which only confuses the
 * guest's cache=loose inode cache, never access. version stays 0: the
 * Linux client makes a new inode when it changes (fs/9p/vfs_inode_dotl.c
 * v9fs_test_inode_dotl), and host-side changes are not tracked. */
void p9_qid_from_stat(struct p9_server *s, const struct stat *st, struct p9_qid *q)
{
	uint32_t slot = 0;
	while (slot < s->ndevs && s->devs[slot] != st->st_dev)
		slot++;
	if (slot == s->ndevs && s->ndevs < P9_DEV_MAX)
		s->devs[s->ndevs++] = st->st_dev;
	uint64_t ino = (uint64_t)st->st_ino;
	q->type = S_ISDIR(st->st_mode) ? P9_QTDIR : S_ISLNK(st->st_mode) ? P9_QTSYMLINK : P9_QTFILE;
	q->version = 0;
	q->path = ((uint64_t)(slot + 1) << 48) ^ ino;
}

void p9_qid_root(struct p9_qid *q)
{
	q->type = P9_QTDIR;
	q->version = 0;
	q->path = 0;
}

uint32_t p9_uid_show(const struct p9_server *s, uid_t uid)
{
	return s->policy == P9_UID_MAPPED && uid == s->euid ? s->guest_uid : (uint32_t)uid;
}

uint32_t p9_gid_show(const struct p9_server *s, gid_t gid)
{
	return s->policy == P9_UID_MAPPED && gid == s->egid ? s->guest_gid : (uint32_t)gid;
}

/* session */

static int p9_op_version(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t msize = p9_wire_get32(r);
	struct p9_str v = p9_wire_getstr(r);
	if (r->err)
		return -EINVAL;
	/* version(5): a Tversion aborts all outstanding I/O and clunks every
	 * fid of the connection. */
	p9_fid_free_all(s);
	if (msize < P9_MSIZE_MIN)
		return -EINVAL;
	s->msize = msize < s->msize_max ? msize : s->msize_max;
	p9_wire_put32(w, s->msize);
	if (v.len == strlen(P9_VERSION_L) && memcmp(v.p, P9_VERSION_L, v.len) == 0)
		p9_wire_putstr(w, P9_VERSION_L, strlen(P9_VERSION_L));
	else
		p9_wire_putstr(w, "unknown", 7);
	return 0;
}

static int p9_op_attach(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	uint32_t afid = p9_wire_get32(r);
	(void)p9_wire_getstr(r); /* uname: 9P2000.L identifies users by n_uname */
	struct p9_str aname = p9_wire_getstr(r);
	uint32_t uid = p9_wire_get32(r);
	struct p9_share *sh = NULL;
	struct p9_fid *f;
	struct p9_qid q;

	if (r->err)
		return -EINVAL;
	if (afid != P9_NOFID)
		return -EOPNOTSUPP; /* no Tauth */
	while (aname.len && aname.p[0] == '/') {
		aname.p++;
		aname.len--;
	}
	if (!aname.len && s->root_share[0]) {
		aname.p = s->root_share;
		aname.len = (uint16_t)strlen(s->root_share);
	}
	if (aname.len) {
		int i = p9_share_find(s, aname.p, aname.len);
		if (i < 0)
			return -ENOENT;
		sh = s->shares[i];
	}
	int e = p9_fid_new(s, fid, sh, "", &f);
	if (e < 0)
		return e;
	f->from_root = sh == NULL;
	f->uid = uid;
	if (sh) {
		struct stat st;
		if (fstat(sh->rootfd, &st) < 0) {
			e = -errno;
			p9_fid_free(s, f);
			return e;
		}
		p9_qid_from_stat(s, &st, &q);
	} else {
		p9_qid_root(&q);
	}
	p9_fid_insert(s, f);
	p9_wire_putqid(w, &q);
	return 0;
}

/* One Twalk step from (*sh, path) by name; updates both and fills q. */
static int p9_walk_step(struct p9_server *s, int from_root, struct p9_share **sh, char *path,
			struct p9_str name, struct p9_qid *q)
{
	struct stat st;
	if (name.len == 2 && name.p[0] == '.' && name.p[1] == '.') {
		/* Lexical "..": never above a share's root, which leads back
		 * to the synthetic root only for fids attached there. */
		char *slash = strrchr(path, '/');
		if (slash)
			*slash = '\0';
		else if (*path)
			*path = '\0';
		else if (*sh && from_root)
			*sh = NULL;
		if (!*sh) {
			p9_qid_root(q);
			return 0;
		}
	} else {
		int e = p9_path_name_ok(name.p, name.len);
		if (e < 0)
			return e;
		char comp[P9_NAME_MAX + 1];
		memcpy(comp, name.p, name.len);
		comp[name.len] = '\0';
		if (!*sh) {
			int i = p9_share_find(s, name.p, name.len);
			if (i < 0)
				return -ENOENT;
			*sh = s->shares[i];
		} else {
			char next[P9_PATH_MAX + 1];
			e = p9_join(next, path, comp);
			if (e < 0)
				return e;
			strcpy(path, next);
		}
	}
	int fd = p9_path_open((*sh)->rootfd, path, O_PATH, 0, s->use_openat2);
	if (fd < 0)
		return fd;
	int e = fstat(fd, &st) < 0 ? -errno : 0;
	close(fd);
	if (e == 0)
		p9_qid_from_stat(s, &st, q);
	return e;
}

static int p9_op_walk(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	uint32_t newfid = p9_wire_get32(r);
	uint16_t n = p9_wire_get16(r);
	struct p9_str names[P9_MAXWELEM];
	struct p9_qid qids[P9_MAXWELEM];
	char path[P9_PATH_MAX + 1];
	struct p9_fid *f, *nf;
	uint16_t done = 0;
	int e = 0;

	if (n > P9_MAXWELEM)
		return -EINVAL;
	for (uint16_t i = 0; i < n; i++)
		names[i] = p9_wire_getstr(r);
	if (r->err)
		return -EINVAL;
	e = p9_fid_use(s, fid, &f);
	if (e < 0)
		return e;
	if (newfid != fid && p9_fid_get(s, newfid))
		return -EEXIST;
	struct p9_share *sh = f->share;
	strcpy(path, f->path);
	for (; done < n; done++) {
		e = p9_walk_step(s, f->from_root, &sh, path, names[done], &qids[done]);
		if (e < 0)
			break;
	}
	/* walk(5): an error on the first name is an error; a later one is a
	 * short Rwalk, and newfid is not affected. */
	if (done == 0 && n > 0)
		return e;
	p9_wire_put16(w, done);
	for (uint16_t i = 0; i < done; i++)
		p9_wire_putqid(w, &qids[i]);
	if (done < n)
		return 0;
	if (newfid == fid) {
		char *p = strdup(path);
		if (!p)
			return -ENOMEM;
		free(f->path);
		f->path = p;
		f->share = sh;
		if (f->fd >= 0)
			close(f->fd);
		f->fd = -1;
		f->open = 0;
		return 0;
	}
	e = p9_fid_new(s, newfid, sh, path, &nf);
	if (e < 0)
		return e;
	nf->from_root = f->from_root;
	nf->uid = f->uid;
	p9_fid_insert(s, nf);
	return 0;
}

static int p9_op_clunk(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	if (r->err)
		return -EINVAL;
	struct p9_fid *f = p9_fid_get(s, fid);
	if (!f)
		return -EBADF;
	p9_fid_drop(s, f);
	return 0;
}

static int p9_op_flush(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	(void)p9_wire_get16(r);
	/* Requests complete before the next one is read, so the flushed
	 * request has been answered already (flush(5)). */
	return r->err ? -EINVAL : 0;
}

static int p9_op_xattr(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	/* Extended attributes are not served: the host's would leak, and
	 * storing guest ones needs a namespace of its own (docs/P9.md). */
	return -EOPNOTSUPP;
}

typedef int (*p9_op_fn)(struct p9_server *, struct p9_rd *, struct p9_wr *);

static p9_op_fn p9_op_lookup(uint8_t type)
{
	switch (type) {
	case P9_TVERSION: return p9_op_version;
	case P9_TATTACH: return p9_op_attach;
	case P9_TWALK: return p9_op_walk;
	case P9_TCLUNK: return p9_op_clunk;
	case P9_TFLUSH: return p9_op_flush;
	case P9_TXATTRWALK: return p9_op_xattr;
	case P9_TXATTRCREATE: return p9_op_xattr;
	case P9_TLOPEN: return p9_op_lopen;
	case P9_TLCREATE: return p9_op_lcreate;
	case P9_TSYMLINK: return p9_op_symlink;
	case P9_TMKNOD: return p9_op_mknod;
	case P9_TMKDIR: return p9_op_mkdir;
	case P9_TRENAME: return p9_op_rename;
	case P9_TRENAMEAT: return p9_op_renameat;
	case P9_TUNLINKAT: return p9_op_unlinkat;
	case P9_TREMOVE: return p9_op_remove;
	case P9_TLINK: return p9_op_link;
	case P9_TREADLINK: return p9_op_readlink;
	case P9_TGETATTR: return p9_op_getattr;
	case P9_TSETATTR: return p9_op_setattr;
	case P9_TSTATFS: return p9_op_statfs;
	case P9_TREADDIR: return p9_op_readdir;
	case P9_TREAD: return p9_op_read;
	case P9_TWRITE: return p9_op_write;
	case P9_TFSYNC: return p9_op_fsync;
	case P9_TLOCK: return p9_op_lock;
	case P9_TGETLOCK: return p9_op_getlock;
	default: return NULL; /* 9P2000/.u messages, R-messages, unknown */
	}
}

long p9_handle(struct p9_server *s, const uint8_t *req, size_t len, uint8_t *reply, size_t cap)
{
	struct p9_rd r;
	struct p9_wr w;
	int e;

	if (cap < P9_REPLY_MIN)
		return -ENOBUFS;
	if (len < P9_HDR_SIZE)
		return -EINVAL;
	p9_wire_rd_init(&r, req, len);
	uint32_t size = p9_wire_get32(&r);
	uint8_t type = p9_wire_get8(&r);
	uint16_t tag = p9_wire_get16(&r);
	/* Replies stay within msize, whatever buffer the transport offers. */
	p9_wire_wr_init(&w, reply, cap < s->msize ? cap : s->msize);

	p9_op_fn op = p9_op_lookup(type);
	if (size < P9_HDR_SIZE || size > len)
		e = -EINVAL;
	else if (size > s->msize)
		e = -EMSGSIZE;
	else if (!op)
		e = -EOPNOTSUPP;
	else {
		p9_wire_rd_init(&r, req + P9_HDR_SIZE, size - P9_HDR_SIZE);
		p9_wire_begin(&w, (uint8_t)(type + 1), tag);
		e = op(s, &r, &w);
		if (e == 0 && w.err)
			e = -EMSGSIZE; /* reply bigger than the buffer offered */
	}
	if (e < 0) {
		p9_wire_begin(&w, P9_RLERROR, tag);
		p9_wire_put32(&w, (uint32_t)-e);
	}
	return p9_wire_finish(&w);
}
