/* p9 internals shared by p9_server.c (sessions, shares, fids, dispatch)
 * and p9_ops.c (the file-system request handlers). */
#ifndef APPVM_P9_INT_H
#define APPVM_P9_INT_H
#include "p9/p9.h"
#include "p9/p9_wire.h"

#include <sys/stat.h>
#include <sys/types.h>

#define P9_FID_BUCKETS 256
#define P9_DEV_MAX 1024
/* Scratch for getdents64 and readlink: one Rreaddir never asks for more. */
#define P9_SCRATCH 65536

struct p9_share {
	char name[P9_NAME_MAX + 1];
	int rootfd; /* O_PATH | O_DIRECTORY, owned */
	int ro;
};

/* A fid names either the synthetic root (share == NULL, !stale) or the
 * object at path (relative, "" = the share's root) inside share. Paths, not
 * fds, are kept so every request re-resolves beneath the share's root fd:
 * nothing a fid holds can point outside its share, and a revoked share
 * leaves nothing behind. Renames rewrite the paths of the fids below
 * (p9_fid_rename). */
struct p9_fid {
	uint32_t id;
	struct p9_fid *next;
	struct p9_share *share;
	char *path;
	int stale;       /* share revoked: everything but clunk gets ESTALE */
	int from_root;   /* attached at the synthetic root: ".." may go back */
	uint32_t uid;    /* n_uname of the attach */
	int fd;          /* after lopen/lcreate: the open file, else -1 */
	int open;        /* lopen'ed (the synthetic root has no fd) */
};

struct p9_server {
	uint32_t msize, msize_max, fid_limit, nfids;
	enum p9_uid_policy policy;
	int no_fchmodat2;           /* config.no_fchmodat2 */
	uint32_t guest_uid, guest_gid;
	uid_t euid;
	gid_t egid;
	int use_openat2;
	char root_share[P9_NAME_MAX + 1];
	struct p9_share *shares[P9_MAX_SHARES];
	struct p9_fid *fids[P9_FID_BUCKETS];
	dev_t devs[P9_DEV_MAX];
	uint32_t ndevs;
	_Alignas(8) uint8_t scratch[P9_SCRATCH]; /* getdents64 records are 8-aligned */
};

/* Looks a fid up: the fid, or NULL. */
struct p9_fid *p9_fid_get(struct p9_server *s, uint32_t id);
/* A fid usable for a request: -EBADF unknown, -ESTALE revoked. */
int p9_fid_use(struct p9_server *s, uint32_t id, struct p9_fid **out);
/* Rewrites the paths of share's fids at or below from to lie below to. */
void p9_fid_rename(struct p9_server *s, const struct p9_share *share, const char *from, const char *to);

/* Resolves the fid's object beneath its share root (flags as p9_path_open). */
int p9_fid_open_path(struct p9_server *s, const struct p9_fid *f, int flags);
/* Resolves the fid's directory for a name operation: -EROFS on the
 * synthetic root or a read-only share when write is set. */
int p9_fid_dir(struct p9_server *s, const struct p9_fid *f, int write);
/* Builds "dir/name" (or "name") in out[P9_PATH_MAX + 1]: 0 or -ENAMETOOLONG. */
int p9_join(char *out, const char *dir, const char *name);

void p9_qid_from_stat(struct p9_server *s, const struct stat *st, struct p9_qid *q);
void p9_qid_root(struct p9_qid *q);
/* The ids the guest sees for st under the uid policy. */
uint32_t p9_uid_show(const struct p9_server *s, uid_t uid);
uint32_t p9_gid_show(const struct p9_server *s, gid_t gid);

/* Request handlers in p9_ops.c: decode the body from r, write the reply
 * body into w (header already written), return 0 or -errno (the dispatcher
 * then answers Rlerror). */
int p9_op_lopen(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_lcreate(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_symlink(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_mknod(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_mkdir(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_rename(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_renameat(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_unlinkat(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_remove(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_link(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_readlink(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_getattr(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_setattr(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_statfs(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_readdir(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_read(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_write(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_fsync(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_lock(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_getlock(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
/* Takes a fid out of the table, closes its open file, frees it (Tclunk,
 * Tremove). */
void p9_fid_drop(struct p9_server *s, struct p9_fid *f);
#endif
