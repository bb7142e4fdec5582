/* p9 request handlers for file-system operations (9P2000.L). Each one
 * decodes its body, checks the fid and the share's ro flag, resolves host
 * objects only through p9_path.c, and writes the reply body. Message
 * layouts are those of the Linux client (net/9p/client.c p9_client_*). */
#include "p9/p9_int.h"
#include "p9/p9_path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* statfs f_type the Linux client shows for the synthetic root. */
#define P9_V9FS_MAGIC 0x01021997u
/* Rread/Rreaddir: size[4] type[1] tag[2] count[4] before the data. */
#define P9_IOHDR_SIZE 11
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* Copies a request string that must be one path component into comp. */
static int p9_ops_name(struct p9_str n, char comp[P9_NAME_MAX + 1])
{
	int e = p9_path_name_ok(n.p, n.len);
	if (e < 0)
		return e;
	memcpy(comp, n.p, n.len);
	comp[n.len] = '\0';
	return 0;
}

/* The stat of a fid's object: its open file if any, else resolved. */
static int p9_ops_stat(struct p9_server *s, const struct p9_fid *f, struct stat *st)
{
	if (f->fd >= 0)
		return fstat(f->fd, st) < 0 ? -errno : 0;
	int fd = p9_fid_open_path(s, f, O_PATH);
	if (fd < 0)
		return fd;
	int e = fstat(fd, st) < 0 ? -errno : 0;
	close(fd);
	return e;
}

/* Splits a fid's path into its parent directory (opened O_PATH) and its
 * last component; the share's root has no parent here (-EBUSY). */
static int p9_ops_parent(struct p9_server *s, const struct p9_fid *f, char base[P9_NAME_MAX + 1])
{
	char dir[P9_PATH_MAX + 1];
	if (!f->share)
		return -EROFS;
	if (!f->path[0])
		return -EBUSY;
	const char *slash = strrchr(f->path, '/');
	const char *b = slash ? slash + 1 : f->path;
	size_t dl = slash ? (size_t)(slash - f->path) : 0;
	memcpy(dir, f->path, dl);
	dir[dl] = '\0';
	strcpy(base, b);
	return p9_path_open(f->share->rootfd, dir, O_PATH | O_DIRECTORY, 0, s->use_openat2);
}

/* Puts the qid of name inside dirfd (never following it). */
static int p9_ops_qid_at(struct p9_server *s, int dirfd, const char *name, struct p9_wr *w)
{
	struct stat st;
	struct p9_qid q;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	p9_qid_from_stat(s, &st, &q);
	p9_wire_putqid(w, &q);
	return 0;
}

/* Tlopen flags -> open(2) flags for the host. O_CREAT/O_EXCL mean nothing
 * without a name; O_NOATIME and O_DIRECT are dropped (the first needs
 * ownership, the second alignment the guest cannot see). */
static int p9_ops_oflags(uint32_t fl)
{
	int o = (int)(fl & P9_DOTL_ACCMODE);
	if (fl & P9_DOTL_TRUNC)
		o |= O_TRUNC;
	if (fl & P9_DOTL_APPEND)
		o |= O_APPEND;
	if (fl & P9_DOTL_DSYNC)
		o |= O_DSYNC;
	if (fl & P9_DOTL_SYNC)
		o |= O_SYNC;
	return o;
}

static int p9_ops_writes(uint32_t fl)
{
	return (fl & P9_DOTL_ACCMODE) != 0 || (fl & P9_DOTL_TRUNC);
}

int p9_op_lopen(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	uint32_t fl = p9_wire_get32(r);
	struct p9_fid *f;
	struct p9_qid q;
	struct stat st;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, fid, &f);
	if (e < 0)
		return e;
	if (f->open)
		return -EBUSY;
	if ((fl & P9_DOTL_ACCMODE) == P9_DOTL_NOACCESS)
		return -EINVAL;
	if (!f->share) {
		if (p9_ops_writes(fl))
			return -EISDIR;
		f->open = 1;
		p9_qid_root(&q);
	} else {
		if (f->share->ro && p9_ops_writes(fl))
			return -EROFS;
		int fd = p9_path_open_obj(f->share->rootfd, f->path, p9_ops_oflags(fl), s->use_openat2, &st);
		if (fd < 0)
			return fd;
		f->fd = fd;
		f->open = 1;
		p9_qid_from_stat(s, &st, &q);
	}
	p9_wire_putqid(w, &q);
	p9_wire_put32(w, 0); /* iounit 0: the client uses msize - 24 */
	return 0;
}

int p9_op_lcreate(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	struct p9_str name = p9_wire_getstr(r);
	uint32_t fl = p9_wire_get32(r);
	uint32_t mode = p9_wire_get32(r);
	uint32_t gid = p9_wire_get32(r);
	char comp[P9_NAME_MAX + 1], path[P9_PATH_MAX + 1];
	struct p9_fid *f;
	struct p9_qid q;
	struct stat st;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, fid, &f);
	if (e < 0)
		return e;
	if (f->open)
		return -EBUSY;
	if ((e = p9_ops_name(name, comp)) < 0 || (e = p9_join(path, f->path, comp)) < 0)
		return e;
	if ((fl & P9_DOTL_ACCMODE) == P9_DOTL_NOACCESS)
		return -EINVAL;
	int dfd = p9_fid_dir(s, f, 1);
	if (dfd < 0)
		return dfd;
	/* Always O_EXCL: an existing name might be a symlink, FIFO or device
	 * node, which only p9_path_open_obj may look at. The Linux client only
	 * creates names its lookup found absent. Set-id bits never reach the
	 * host (docs/P9.md "Ownership"). */
	int fd = p9_path_open(dfd, comp, p9_ops_oflags(fl) | O_CREAT | O_EXCL, mode & 0777, s->use_openat2);
	if (fd < 0) {
		close(dfd);
		return fd;
	}
	if (s->policy == P9_UID_PASSTHROUGH && fchown(fd, f->uid, gid) < 0) {
		e = -errno;
		unlinkat(dfd, comp, 0);
		close(fd);
		close(dfd);
		return e;
	}
	close(dfd);
	if (fstat(fd, &st) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	char *p = strdup(path);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	free(f->path);
	f->path = p;
	f->fd = fd;
	f->open = 1;
	p9_qid_from_stat(s, &st, &q);
	p9_wire_putqid(w, &q);
	p9_wire_put32(w, 0);
	return 0;
}

/* Gives a freshly made name the attaching user's ids (passthrough only). */
static int p9_ops_own(struct p9_server *s, int dfd, const char *name, uint32_t uid, uint32_t gid)
{
	if (s->policy != P9_UID_PASSTHROUGH)
		return 0;
	if (fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	return -errno;
}

/* The tail of symlink/mknod/mkdir: ownership, then the qid; on failure the
 * new name is removed again. */
static int p9_ops_made(struct p9_server *s, int dfd, const char *name, const struct p9_fid *f,
		       uint32_t gid, int isdir, struct p9_wr *w)
{
	int e = p9_ops_own(s, dfd, name, f->uid, gid);
	if (e == 0)
		e = p9_ops_qid_at(s, dfd, name, w);
	if (e < 0)
		unlinkat(dfd, name, isdir ? AT_REMOVEDIR : 0);
	close(dfd);
	return e;
}

int p9_op_symlink(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	struct p9_str name = p9_wire_getstr(r);
	struct p9_str target = p9_wire_getstr(r);
	uint32_t gid = p9_wire_get32(r);
	char comp[P9_NAME_MAX + 1], tgt[P9_PATH_MAX + 1];
	struct p9_fid *f;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, fid, &f);
	if (e < 0)
		return e;
	if ((e = p9_ops_name(name, comp)) < 0)
		return e;
	/* The target is only data to the server: it is stored, never
	 * resolved (every resolution refuses symlinks). */
	if (target.len == 0 || memchr(target.p, '\0', target.len))
		return -EINVAL;
	if (target.len > P9_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(tgt, target.p, target.len);
	tgt[target.len] = '\0';
	int dfd = p9_fid_dir(s, f, 1);
	if (dfd < 0)
		return dfd;
	if (symlinkat(tgt, dfd, comp) < 0) {
		e = -errno;
		close(dfd);
		return e;
	}
	return p9_ops_made(s, dfd, comp, f, gid, 0, w);
}

int p9_op_mknod(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	struct p9_str name = p9_wire_getstr(r);
	uint32_t mode = p9_wire_get32(r);
	(void)p9_wire_get32(r); /* major */
	(void)p9_wire_get32(r); /* minor */
	uint32_t gid = p9_wire_get32(r);
	char comp[P9_NAME_MAX + 1];
	struct p9_fid *f;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, fid, &f);
	if (e < 0)
		return e;
	if ((e = p9_ops_name(name, comp)) < 0)
		return e;
	/* Device nodes never: a guest-made node would give whoever opens it
	 * on the host a device. FIFOs and sockets are inert names for the
	 * host (never opened by the server) and the guest needs them for
	 * mkfifo and bind() on the share. */
	mode_t type = mode & S_IFMT;
	if (type == S_IFCHR || type == S_IFBLK)
		return -EPERM;
	if (type != S_IFIFO && type != S_IFSOCK && type != S_IFREG && type != 0)
		return -EINVAL;
	int dfd = p9_fid_dir(s, f, 1);
	if (dfd < 0)
		return dfd;
	if (mknodat(dfd, comp, (type ? type : S_IFREG) | (mode & 0777), 0) < 0) {
		e = -errno;
		close(dfd);
		return e;
	}
	return p9_ops_made(s, dfd, comp, f, gid, 0, w);
}

int p9_op_mkdir(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	struct p9_str name = p9_wire_getstr(r);
	uint32_t mode = p9_wire_get32(r);
	uint32_t gid = p9_wire_get32(r);
	char comp[P9_NAME_MAX + 1];
	struct p9_fid *f;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, fid, &f);
	if (e < 0)
		return e;
	if ((e = p9_ops_name(name, comp)) < 0)
		return e;
	int dfd = p9_fid_dir(s, f, 1);
	if (dfd < 0)
		return dfd;
	if (mkdirat(dfd, comp, mode & (0777 | S_ISVTX)) < 0) {
		e = -errno;
		close(dfd);
		return e;
	}
	return p9_ops_made(s, dfd, comp, f, gid, 1, w);
}

/* Two fids in the same share, for rename and link (-EXDEV otherwise). */
static int p9_ops_same_share(const struct p9_fid *a, const struct p9_fid *b)
{
	if (!a->share || !b->share)
		return -EROFS;
	if (a->share != b->share)
		return -EXDEV;
	return a->share->ro ? -EROFS : 0;
}

/* renameat(ofd/oname -> nd/nname) where ofd is the directory at odir in
 * share, then the fids below the old name follow it. */
static int p9_ops_renameat(struct p9_server *s, const struct p9_share *share, const char *odir,
			   int ofd, const char *oname, struct p9_fid *nd, const char *nname)
{
	char from[P9_PATH_MAX + 1], to[P9_PATH_MAX + 1];
	int e = p9_join(from, odir, oname);
	if (e == 0)
		e = p9_join(to, nd->path, nname);
	int nfd = e < 0 ? e : p9_fid_dir(s, nd, 1);
	if (nfd < 0)
		return nfd;
	if (renameat(ofd, oname, nfd, nname) < 0)
		e = -errno;
	close(nfd);
	if (e == 0)
		p9_fid_rename(s, share, from, to);
	return e;
}

int p9_op_rename(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	uint32_t dfid = p9_wire_get32(r);
	struct p9_str name = p9_wire_getstr(r);
	char comp[P9_NAME_MAX + 1], base[P9_NAME_MAX + 1], dir[P9_PATH_MAX + 1];
	struct p9_fid *f, *d;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, fid, &f);
	if (e == 0)
		e = p9_fid_use(s, dfid, &d);
	if (e == 0)
		e = p9_ops_same_share(f, d);
	if (e == 0)
		e = p9_ops_name(name, comp);
	if (e < 0)
		return e;
	int pfd = p9_ops_parent(s, f, base);
	if (pfd < 0)
		return pfd;
	strcpy(dir, f->path);
	char *slash = strrchr(dir, '/');
	*(slash ? slash : dir) = '\0';
	e = p9_ops_renameat(s, f->share, dir, pfd, base, d, comp);
	close(pfd);
	return e;
}

int p9_op_renameat(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t ofid = p9_wire_get32(r);
	struct p9_str oname = p9_wire_getstr(r);
	uint32_t nfid = p9_wire_get32(r);
	struct p9_str nname = p9_wire_getstr(r);
	char oc[P9_NAME_MAX + 1], nc[P9_NAME_MAX + 1];
	struct p9_fid *od, *nd;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, ofid, &od);
	if (e == 0)
		e = p9_fid_use(s, nfid, &nd);
	if (e == 0)
		e = p9_ops_same_share(od, nd);
	if (e == 0)
		e = p9_ops_name(oname, oc);
	if (e == 0)
		e = p9_ops_name(nname, nc);
	if (e < 0)
		return e;
	int ofd = p9_fid_dir(s, od, 1);
	if (ofd < 0)
		return ofd;
	e = p9_ops_renameat(s, od->share, od->path, ofd, oc, nd, nc);
	close(ofd);
	return e;
}

int p9_op_unlinkat(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	struct p9_str name = p9_wire_getstr(r);
	uint32_t fl = p9_wire_get32(r);
	char comp[P9_NAME_MAX + 1];
	struct p9_fid *f;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, fid, &f);
	if (e < 0)
		return e;
	if (fl & ~(uint32_t)P9_AT_REMOVEDIR)
		return -EINVAL;
	if ((e = p9_ops_name(name, comp)) < 0)
		return e;
	int dfd = p9_fid_dir(s, f, 1);
	if (dfd < 0)
		return dfd;
	e = unlinkat(dfd, comp, (fl & P9_AT_REMOVEDIR) ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
	close(dfd);
	return e;
}

int p9_op_remove(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	char base[P9_NAME_MAX + 1];
	struct p9_fid *f;
	struct stat st;

	if (r->err)
		return -EINVAL;
	f = p9_fid_get(s, fid);
	if (!f)
		return -EBADF;
	/* remove(5): the fid is clunked whether or not the remove works. */
	int e = f->stale ? -ESTALE : !f->share ? -EROFS : f->share->ro ? -EROFS : 0;
	int pfd = e < 0 ? e : p9_ops_parent(s, f, base);
	if (pfd >= 0) {
		if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
			e = -errno;
		else if (unlinkat(pfd, base, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
			e = -errno;
		close(pfd);
	} else {
		e = pfd;
	}
	p9_fid_drop(s, f);
	return e;
}

int p9_op_link(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t dfid = p9_wire_get32(r);
	uint32_t fid = p9_wire_get32(r);
	struct p9_str name = p9_wire_getstr(r);
	char comp[P9_NAME_MAX + 1], base[P9_NAME_MAX + 1];
	struct p9_fid *d, *f;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, dfid, &d);
	if (e == 0)
		e = p9_fid_use(s, fid, &f);
	if (e == 0)
		e = p9_ops_same_share(d, f);
	if (e == 0)
		e = p9_ops_name(name, comp);
	if (e < 0)
		return e;
	int pfd = p9_ops_parent(s, f, base);
	if (pfd < 0)
		return pfd;
	int dfd = p9_fid_dir(s, d, 1);
	if (dfd < 0) {
		close(pfd);
		return dfd;
	}
	/* linkat without AT_SYMLINK_FOLLOW links a symlink itself. */
	e = linkat(pfd, base, dfd, comp, 0) < 0 ? -errno : 0;
	close(pfd);
	close(dfd);
	return e;
}

int p9_op_readlink(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	struct p9_fid *f;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, fid, &f);
	if (e < 0)
		return e;
	if (!f->share)
		return -EINVAL;
	int fd = p9_fid_open_path(s, f, O_PATH);
	if (fd < 0)
		return fd;
	/* readlinkat(fd, "") reads the symlink an O_PATH fd refers to. */
	ssize_t n = readlinkat(fd, "", (char *)s->scratch, P9_PATH_MAX + 1);
	e = n < 0 ? -errno : 0;
	close(fd);
	if (e < 0)
		return e;
	if (n > P9_PATH_MAX)
		return -ENAMETOOLONG;
	p9_wire_putstr(w, (const char *)s->scratch, (size_t)n);
	return 0;
}

int p9_op_getattr(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	(void)p9_wire_get64(r); /* request_mask: we always answer BASIC */
	struct p9_fid *f;
	struct p9_qid q;
	struct stat st;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, fid, &f);
	if (e < 0)
		return e;
	if (!f->share) {
		memset(&st, 0, sizeof(st));
		st.st_mode = S_IFDIR | 0555;
		st.st_uid = s->euid;
		st.st_gid = s->egid;
		st.st_nlink = 2;
		st.st_blksize = 4096;
		p9_qid_root(&q);
	} else {
		if ((e = p9_ops_stat(s, f, &st)) < 0)
			return e;
		p9_qid_from_stat(s, &st, &q);
	}
	p9_wire_put64(w, P9_GETATTR_BASIC);
	p9_wire_putqid(w, &q);
	p9_wire_put32(w, st.st_mode);
	p9_wire_put32(w, p9_uid_show(s, st.st_uid));
	p9_wire_put32(w, p9_gid_show(s, st.st_gid));
	p9_wire_put64(w, st.st_nlink);
	p9_wire_put64(w, st.st_rdev);
	p9_wire_put64(w, (uint64_t)st.st_size);
	p9_wire_put64(w, (uint64_t)st.st_blksize);
	p9_wire_put64(w, (uint64_t)st.st_blocks);
	p9_wire_put64(w, (uint64_t)st.st_atim.tv_sec);
	p9_wire_put64(w, (uint64_t)st.st_atim.tv_nsec);
	p9_wire_put64(w, (uint64_t)st.st_mtim.tv_sec);
	p9_wire_put64(w, (uint64_t)st.st_mtim.tv_nsec);
	p9_wire_put64(w, (uint64_t)st.st_ctim.tv_sec);
	p9_wire_put64(w, (uint64_t)st.st_ctim.tv_nsec);
	for (int i = 0; i < 4; i++)
		p9_wire_put64(w, 0); /* btime sec/nsec, gen, data_version */
	return 0;
}

/* A real fd on a fid's regular file or directory for fchmod/futimens/
 * ftruncate: the open one when its mode suits, else a fresh one (readable,
 * or writable when the file is not readable to the server). */
static int p9_ops_obj_fd(struct p9_server *s, const struct p9_fid *f, int need_write, int *owned)
{
	struct stat st;
	*owned = 0;
	if (f->fd >= 0) {
		int fl = fcntl(f->fd, F_GETFL);
		if (fl >= 0 && (!need_write || (fl & O_ACCMODE) != O_RDONLY))
			return f->fd;
	}
	int fd = p9_path_open_obj(f->share->rootfd, f->path, need_write ? O_WRONLY : O_RDONLY,
				  s->use_openat2, &st);
	if (fd == -EACCES && !need_write)
		fd = p9_path_open_obj(f->share->rootfd, f->path, O_WRONLY, s->use_openat2, &st);
	if (fd >= 0)
		*owned = 1;
	return fd;
}

/* chmod of a FIFO, socket or device node, which must not be opened:
 * fchmodat2(2) (Linux 6.6) on its O_PATH fd with AT_EMPTY_PATH changes that
 * inode and nothing a link could point to. Without it: EPERM. */
static int p9_ops_chmod_special(struct p9_server *s, const struct p9_fid *f, mode_t mode)
{
	if (s->no_fchmodat2)
		return -EPERM;
	int fd = p9_fid_open_path(s, f, O_PATH);
	if (fd < 0)
		return fd;
	int e = syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) < 0 ? -errno : 0;
	close(fd);
	return e == -ENOSYS ? -EPERM : e;
}

static int p9_ops_setattr_ids(struct p9_server *s, const struct p9_fid *f, const struct stat *st,
			      uint32_t valid, uint32_t uid, uint32_t gid)
{
	if (s->policy == P9_UID_MAPPED) {
		/* Ownership is not stored: only a no-op chown succeeds. */
		if (((valid & P9_ATTR_UID) && uid != p9_uid_show(s, st->st_uid)) ||
		    ((valid & P9_ATTR_GID) && gid != p9_gid_show(s, st->st_gid)))
			return -EPERM;
		return 0;
	}
	int fd = p9_fid_open_path(s, f, O_PATH);
	if (fd < 0)
		return fd;
	int e = fchownat(fd, "", (valid & P9_ATTR_UID) ? uid : (uint32_t)-1,
			 (valid & P9_ATTR_GID) ? gid : (uint32_t)-1, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	e = e < 0 ? -errno : 0;
	close(fd);
	return e;
}

static int p9_ops_setattr_times(struct p9_server *s, const struct p9_fid *f, const struct stat *st,
				const struct timespec ts[2])
{
	int owned, e;
	if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) {
		int fd = p9_ops_obj_fd(s, f, 0, &owned);
		if (fd < 0)
			return fd;
		e = futimens(fd, ts) < 0 ? -errno : 0;
		if (owned)
			close(fd);
		return e;
	}
	/* Symlinks and inert special files: by name, never followed. */
	char base[P9_NAME_MAX + 1];
	int pfd = p9_ops_parent(s, f, base);
	if (pfd < 0)
		return pfd;
	e = utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	close(pfd);
	return e;
}

int p9_op_setattr(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	uint32_t valid = p9_wire_get32(r);
	uint32_t mode = p9_wire_get32(r);
	uint32_t uid = p9_wire_get32(r);
	uint32_t gid = p9_wire_get32(r);
	uint64_t size = p9_wire_get64(r);
	struct timespec ts[2];
	ts[0].tv_sec = (time_t)p9_wire_get64(r);
	ts[0].tv_nsec = (long)p9_wire_get64(r);
	ts[1].tv_sec = (time_t)p9_wire_get64(r);
	ts[1].tv_nsec = (long)p9_wire_get64(r);
	struct p9_fid *f;
	struct stat st;
	int owned;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, fid, &f);
	if (e < 0)
		return e;
	if (!f->share || f->share->ro)
		return -EROFS;
	if ((e = p9_ops_stat(s, f, &st)) < 0)
		return e;
	if (valid & P9_ATTR_MODE) {
		/* chmod needs a real fd (fchmodat would follow a symlink
		 * swapped in by the host: CVE-2016-9602), or fchmodat2 on an
		 * O_PATH fd for the files never opened; set-id bits never
		 * reach the host. */
		if (S_ISLNK(st.st_mode))
			return -EOPNOTSUPP;
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
			e = p9_ops_chmod_special(s, f, mode & (0777 | S_ISVTX));
		} else {
			int fd = p9_ops_obj_fd(s, f, 0, &owned);
			if (fd < 0)
				return fd;
			e = fchmod(fd, mode & (0777 | S_ISVTX)) < 0 ? -errno : 0;
			if (owned)
				close(fd);
		}
		if (e < 0)
			return e;
	}
	if (valid & (P9_ATTR_UID | P9_ATTR_GID)) {
		if ((e = p9_ops_setattr_ids(s, f, &st, valid, uid, gid)) < 0)
			return e;
	}
	if (valid & P9_ATTR_SIZE) {
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		if (!S_ISREG(st.st_mode))
			return -EINVAL;
		if (size > INT64_MAX)
			return -EFBIG;
		int fd = p9_ops_obj_fd(s, f, 1, &owned);
		if (fd < 0)
			return fd;
		e = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
		if (owned)
			close(fd);
		if (e < 0)
			return e;
	}
	if (valid & (P9_ATTR_ATIME | P9_ATTR_MTIME)) {
		/* setattr(2) in diod's protocol.md: ATIME without ATIME_SET
		 * means "now"; a time not named is left alone. */
		if (!(valid & P9_ATTR_ATIME))
			ts[0].tv_nsec = UTIME_OMIT;
		else if (!(valid & P9_ATTR_ATIME_SET))
			ts[0].tv_nsec = UTIME_NOW;
		if (!(valid & P9_ATTR_MTIME))
			ts[1].tv_nsec = UTIME_OMIT;
		else if (!(valid & P9_ATTR_MTIME_SET))
			ts[1].tv_nsec = UTIME_NOW;
		for (int i = 0; i < 2; i++)
			if (ts[i].tv_nsec != UTIME_OMIT && ts[i].tv_nsec != UTIME_NOW &&
			    (ts[i].tv_nsec < 0 || ts[i].tv_nsec >= 1000000000L))
				return -EINVAL;
		if ((e = p9_ops_setattr_times(s, f, &st, ts)) < 0)
			return e;
	}
	return 0;
}

int p9_op_statfs(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	struct p9_fid *f;
	struct statfs sf;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, fid, &f);
	if (e < 0)
		return e;
	memset(&sf, 0, sizeof(sf));
	if (!f->share) {
		sf.f_type = P9_V9FS_MAGIC;
		sf.f_bsize = 4096;
		sf.f_namelen = P9_NAME_MAX;
	} else {
		int fd = p9_fid_open_path(s, f, O_PATH);
		if (fd < 0)
			return fd;
		e = fstatfs(fd, &sf) < 0 ? -errno : 0;
		close(fd);
		if (e < 0)
			return e;
	}
	uint64_t fsid;
	memcpy(&fsid, &sf.f_fsid, sizeof(fsid));
	p9_wire_put32(w, (uint32_t)sf.f_type);
	p9_wire_put32(w, (uint32_t)sf.f_bsize);
	p9_wire_put64(w, sf.f_blocks);
	p9_wire_put64(w, sf.f_bfree);
	p9_wire_put64(w, sf.f_bavail);
	p9_wire_put64(w, sf.f_files);
	p9_wire_put64(w, sf.f_ffree);
	p9_wire_put64(w, fsid);
	p9_wire_put32(w, (uint32_t)sf.f_namelen);
	return 0;
}

/* Payload room for Rread/Rreaddir within the reply buffer. */
static uint32_t p9_ops_room(const struct p9_wr *w, uint32_t count)
{
	size_t room = w->cap > P9_IOHDR_SIZE ? w->cap - P9_IOHDR_SIZE : 0;
	return count < room ? count : (uint32_t)room;
}

/* One readdir entry: qid[13] offset[8] type[1] name[s]; 0 if it fit. */
static int p9_ops_dirent(struct p9_wr *w, const struct p9_qid *q, uint64_t off, uint8_t type,
			 const char *name, size_t len, size_t end)
{
	if (w->len + P9_QID_SIZE + 8 + 1 + 2 + len > end)
		return -1;
	p9_wire_putqid(w, q);
	p9_wire_put64(w, off);
	p9_wire_put8(w, type);
	p9_wire_putstr(w, name, len);
	return 0;
}

/* The synthetic root lists ".", ".." and the grants; an entry's offset is
 * its index + 1 (the offset to resume after it). */
static void p9_ops_readdir_root(struct p9_server *s, uint64_t off, struct p9_wr *w, size_t end)
{
	struct p9_qid q;
	struct stat st;
	uint64_t idx = 0;
	p9_qid_root(&q);
	for (int i = -2; i < P9_MAX_SHARES; i++) {
		const char *name;
		if (i < 0) {
			name = i == -2 ? "." : "..";
		} else {
			if (!s->shares[i])
				continue;
			name = s->shares[i]->name;
			if (fstat(s->shares[i]->rootfd, &st) == 0)
				p9_qid_from_stat(s, &st, &q);
			else
				p9_qid_root(&q);
		}
		idx++;
		if (idx <= off)
			continue;
		if (p9_ops_dirent(w, &q, idx, DT_DIR, name, strlen(name), end) < 0)
			return;
	}
}

/* getdents64 record (include/linux/dirent.h: struct linux_dirent64). */
struct p9_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

int p9_op_readdir(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	uint64_t off = p9_wire_get64(r);
	uint32_t count = p9_wire_get32(r);
	struct p9_fid *f;
	struct stat dst;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, fid, &f);
	if (e < 0)
		return e;
	if (!f->open)
		return -EBADF;
	count = p9_ops_room(w, count);
	uint8_t *cnt = p9_wire_reserve(w, 4);
	if (!cnt)
		return -EMSGSIZE;
	size_t start = w->len, end = start + count;
	if (!f->share) {
		p9_ops_readdir_root(s, off, w, end);
	} else {
		if (fstat(f->fd, &dst) < 0)
			return -errno;
		if (!S_ISDIR(dst.st_mode))
			return -ENOTDIR;
		if (off > INT64_MAX)
			return -EINVAL;
		if (lseek(f->fd, (off_t)off, SEEK_SET) < 0)
			return -errno;
		int full = 0;
		while (!full) {
			/* Ask for no more than could fit, so that entries read
			 * but not sent stay few; the next Treaddir resumes at
			 * the last sent entry's offset anyway. */
			size_t want = count < 1024 ? 1024 : count < sizeof(s->scratch) ? count : sizeof(s->scratch);
			long n = syscall(SYS_getdents64, f->fd, s->scratch, want);
			if (n < 0) {
				if (w->len == start)
					return -errno;
				break;
			}
			if (n == 0)
				break;
			for (long pos = 0; pos < n;) {
				const struct p9_dirent64 *d = (const void *)(s->scratch + pos);
				struct stat est = dst;
				struct p9_qid q;
				est.st_ino = d->d_ino;
				est.st_mode = d->d_type == DT_DIR ? S_IFDIR : d->d_type == DT_LNK ? S_IFLNK : S_IFREG;
				p9_qid_from_stat(s, &est, &q);
				if (p9_ops_dirent(w, &q, (uint64_t)d->d_off, d->d_type, d->d_name,
						  strlen(d->d_name), end) < 0) {
					full = 1;
					break;
				}
				pos += d->d_reclen;
			}
		}
	}
	uint32_t used = (uint32_t)(w->len - start);
	for (int i = 0; i < 4; i++)
		cnt[i] = (uint8_t)(used >> (8 * i));
	return 0;
}

int p9_op_read(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	uint64_t off = p9_wire_get64(r);
	uint32_t count = p9_wire_get32(r);
	struct p9_fid *f;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, fid, &f);
	if (e < 0)
		return e;
	if (!f->open)
		return -EBADF;
	if (f->fd < 0)
		return -EISDIR;
	if (off > INT64_MAX)
		return -EINVAL;
	count = p9_ops_room(w, count);
	uint8_t *cnt = p9_wire_reserve(w, 4);
	uint8_t *data = cnt ? p9_wire_reserve(w, count) : NULL;
	if (!data)
		return -EMSGSIZE;
	ssize_t n;
	do
		n = pread(f->fd, data, count, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	w->len -= count - (size_t)n;
	for (int i = 0; i < 4; i++)
		cnt[i] = (uint8_t)((uint32_t)n >> (8 * i));
	return 0;
}

int p9_op_write(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	uint64_t off = p9_wire_get64(r);
	uint32_t count = p9_wire_get32(r);
	const uint8_t *data = p9_wire_getbytes(r, count);
	struct p9_fid *f;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, fid, &f);
	if (e < 0)
		return e;
	if (!f->open)
		return -EBADF;
	if (f->fd < 0)
		return -EISDIR;
	if (off > INT64_MAX)
		return -EINVAL;
	ssize_t n;
	do
		n = pwrite(f->fd, data, count, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	p9_wire_put32(w, (uint32_t)n);
	return 0;
}

int p9_op_fsync(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	uint32_t datasync = p9_wire_get32(r);
	struct p9_fid *f;

	if (r->err)
		return -EINVAL;
	int e = p9_fid_use(s, fid, &f);
	if (e < 0)
		return e;
	if (!f->open)
		return -EBADF;
	if (f->fd < 0)
		return 0;
	return (datasync ? fdatasync(f->fd) : fsync(f->fd)) < 0 ? -errno : 0;
}

/* Tlock/Tgetlock: the Linux client takes every POSIX lock in the guest
 * kernel before asking the server (fs/9p/vfs_file.c v9fs_file_do_lock calls
 * locks_lock_file_wait first), so locks between the guest's processes are
 * already enforced there. The server grants every well-formed request, as
 * QEMU's does: locks are not shared with host processes or other VMs
 * (docs/P9.md). */
static int p9_ops_lock_fid(struct p9_server *s, uint32_t fid, uint8_t type)
{
	struct p9_fid *f;
	int e = p9_fid_use(s, fid, &f);
	if (e < 0)
		return e;
	if (!f->open)
		return -EBADF;
	if (type > P9_LOCK_TYPE_UNLCK)
		return -EINVAL;
	return 0;
}

int p9_op_lock(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	uint8_t type = p9_wire_get8(r);
	uint32_t flags = p9_wire_get32(r);
	(void)p9_wire_get64(r); /* start */
	(void)p9_wire_get64(r); /* length */
	(void)p9_wire_get32(r); /* proc_id */
	(void)p9_wire_getstr(r); /* client_id */

	if (r->err)
		return -EINVAL;
	if (flags & ~(uint32_t)(P9_LOCK_FLAGS_BLOCK | P9_LOCK_FLAGS_RECLAIM))
		return -EINVAL;
	int e = p9_ops_lock_fid(s, fid, type);
	if (e < 0)
		return e;
	p9_wire_put8(w, P9_LOCK_SUCCESS);
	return 0;
}

int p9_op_getlock(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_wire_get32(r);
	uint8_t type = p9_wire_get8(r);
	uint64_t start = p9_wire_get64(r);
	uint64_t length = p9_wire_get64(r);
	uint32_t proc_id = p9_wire_get32(r);
	struct p9_str client = p9_wire_getstr(r);

	if (r->err)
		return -EINVAL;
	int e = p9_ops_lock_fid(s, fid, type);
	if (e < 0)
		return e;
	/* No conflicting lock is known here: the range is free. */
	p9_wire_put8(w, P9_LOCK_TYPE_UNLCK);
	p9_wire_put64(w, start);
	p9_wire_put64(w, length);
	p9_wire_put32(w, proc_id);
	p9_wire_putstr(w, client.p, client.len);
	return 0;
}
