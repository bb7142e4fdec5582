/* p9 server: real 9P2000.L messages (encoded here, independently of
 * p9_wire.c) against a temporary directory. Every escape case runs with
 * both resolvers (openat2 and the O_NOFOLLOW walk). Layout made per case:
 *   TMP/share      granted as "sh"    file "hello", dir/, links up -> ../outside,
 *                                     abs -> TMP/outside, root -> /
 *   TMP/ro         granted as "ro", read-only, file "r"
 *   TMP/outside    not granted: file "secret" must never be reachable */
#include "p9/p9.h"
#include "tests/unit/t.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

enum {
	TLERROR = 6, RLERROR, TSTATFS, RSTATFS, TLOPEN = 12, RLOPEN, TLCREATE, RLCREATE,
	TSYMLINK, RSYMLINK, TMKNOD, RMKNOD, TRENAME, RRENAME, TREADLINK, RREADLINK,
	TGETATTR, RGETATTR, TSETATTR, RSETATTR, TXATTRWALK = 30, TREADDIR = 40, RREADDIR,
	TFSYNC = 50, RFSYNC, TLOCK, RLOCK, TGETLOCK, RGETLOCK, TLINK = 70, RLINK, TMKDIR, RMKDIR,
	TRENAMEAT, RRENAMEAT, TUNLINKAT, RUNLINKAT, TVERSION = 100, RVERSION, TATTACH = 104,
	RATTACH, TFLUSH = 108, RFLUSH, TWALK, RWALK, TREAD = 116, RREAD, TWRITE, RWRITE,
	TCLUNK, RCLUNK, TREMOVE, RREMOVE, TSTAT,
};
#define NOFID 0xffffffffu

static char tmp[256], share_dir[300], ro_dir[300], out_dir[300];
static struct p9_server *srv;
static int force_walk;
static uint8_t req[70000], rep[70000];
static long rlen;

/* Encoder: b w d q (ints), s (C string), S (uint16 len + pointer), D
 * (uint32 count + pointer: count[4] then the bytes). */
static size_t enc(uint8_t type, const char *fmt, va_list ap)
{
	size_t n = 7;
	for (const char *f = fmt; *f; f++) {
		uint64_t v = 0;
		int w = 0;
		switch (*f) {
		case 'b': v = (uint8_t)va_arg(ap, int); w = 1; break;
		case 'w': v = (uint16_t)va_arg(ap, int); w = 2; break;
		case 'd': v = va_arg(ap, uint32_t); w = 4; break;
		case 'q': v = va_arg(ap, uint64_t); w = 8; break;
		case 's': case 'S': {
			size_t len;
			const char *p;
			if (*f == 's') {
				p = va_arg(ap, const char *);
				len = strlen(p);
			} else {
				len = va_arg(ap, unsigned);
				p = va_arg(ap, const char *);
			}
			req[n] = (uint8_t)len;
			req[n + 1] = (uint8_t)(len >> 8);
			memcpy(req + n + 2, p, len);
			n += 2 + len;
			continue;
		}
		case 'D': {
			uint32_t len = va_arg(ap, uint32_t);
			const void *p = va_arg(ap, const void *);
			for (int i = 0; i < 4; i++)
				req[n + i] = (uint8_t)(len >> (8 * i));
			memcpy(req + n + 4, p, len);
			n += 4 + len;
			continue;
		}
		}
		for (int i = 0; i < w; i++)
			req[n + i] = (uint8_t)(v >> (8 * i));
		n += (size_t)w;
	}
	for (int i = 0; i < 4; i++)
		req[i] = (uint8_t)(n >> (8 * i));
	req[4] = type;
	req[5] = 0x34;
	req[6] = 0x12;
	return n;
}

static uint64_t get(size_t at, int w)
{
	uint64_t v = 0;
	for (int i = 0; i < w; i++)
		v |= (uint64_t)rep[at + i] << (8 * i);
	return v;
}


/* Sends one message with a reply buffer of cap bytes; returns 0 for the
 * expected R-type, the errno of an Rlerror, or -1 for anything else (after
 * checking the reply header: size field, tag). */
static int rpc_cap(size_t cap, uint8_t type, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = enc(type, fmt, ap);
	va_end(ap);
	memset(rep, 0xee, sizeof(rep));
	rlen = p9_handle(srv, req, n, rep, cap);
	if (rlen < 7 || (size_t)rlen > cap || get(0, 4) != (uint64_t)rlen || get(5, 2) != 0x1234) {
		printf("  bad reply to type %u: len %ld\n", type, rlen);
		return -1;
	}
	if (rep[4] == RLERROR)
		return (int)get(7, 4);
	return rep[4] == type + 1 ? 0 : -1;
}
#define rpc(...) rpc_cap(sizeof(rep), __VA_ARGS__)

static void put_file(const char *dir, const char *name, const char *text)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, text, strlen(text)), (long)strlen(text));
	close(fd);
}

static int host_read(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return (int)n;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void setup_cfg(struct p9_config *cfg)
{
	strcpy(tmp, "/tmp/p9test.XXXXXX");
	CHECK(mkdtemp(tmp) != NULL);
	snprintf(share_dir, sizeof(share_dir), "%s/share", tmp);
	snprintf(ro_dir, sizeof(ro_dir), "%s/ro", tmp);
	snprintf(out_dir, sizeof(out_dir), "%s/outside", tmp);
	CHECK_EQ(mkdir(share_dir, 0755), 0);
	CHECK_EQ(mkdir(ro_dir, 0755), 0);
	CHECK_EQ(mkdir(out_dir, 0755), 0);
	put_file(out_dir, "secret", "SECRET");
	put_file(share_dir, "hello", "hello world");
	put_file(ro_dir, "r", "read only");
	char p[600];
	snprintf(p, sizeof(p), "%s/dir", share_dir);
	CHECK_EQ(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/up", share_dir);
	CHECK_EQ(symlink("../outside", p), 0);
	snprintf(p, sizeof(p), "%s/abs", share_dir);
	CHECK_EQ(symlink(out_dir, p), 0);
	snprintf(p, sizeof(p), "%s/root", share_dir);
	CHECK_EQ(symlink("/", p), 0);
	static struct p9_share_config sh[2];
	sh[0] = (struct p9_share_config){ .name = "sh", .path = share_dir, .dirfd = -1 };
	sh[1] = (struct p9_share_config){ .name = "ro", .path = ro_dir, .dirfd = -1, .ro = 1 };
	memset(cfg, 0, sizeof(*cfg));
	cfg->shares = sh;
	cfg->n_shares = 2;
	cfg->msize_max = 65536;
	cfg->fid_limit = 64;
	cfg->guest_uid = 1000;
	cfg->guest_gid = 1001;
	cfg->force_walk = force_walk;
}

static void start_cfg(struct p9_config *cfg)
{
	srv = p9_server_new(cfg);
	CHECK(srv != NULL);
	CHECK_EQ(rpc(TVERSION, "ds", 65536, "9P2000.L"), 0);
}

static void start(void)
{
	struct p9_config cfg;
	setup_cfg(&cfg);
	start_cfg(&cfg);
}

static void stop(void)
{
	p9_server_free(srv);
	srv = NULL;
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* fid 1 = synthetic root, fid 2 = "sh" attached directly. */
static void attach(void)
{
	CHECK_EQ(rpc(TATTACH, "ddssd", 1, NOFID, "u", "", 0), 0);
	CHECK_EQ(rpc(TATTACH, "ddssd", 2, NOFID, "u", "sh", 0), 0);
}

/* Walks from fid to newfid through NULL-terminated names: 0 when all were
 * walked, the number walked for a short Rwalk, or -errno. */
static int walk(uint32_t fid, uint32_t newfid, ...)
{
	const char *names[20];
	int n = 0;
	va_list ap;
	va_start(ap, newfid);
	while (n < 20 && (names[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	/* encode by hand: variable count of strings */
	size_t at = 7;
	uint8_t *p = req;
	for (int i = 0; i < 4; i++) {
		p[at + i] = (uint8_t)(fid >> (8 * i));
		p[at + 4 + i] = (uint8_t)(newfid >> (8 * i));
	}
	at += 8;
	p[at++] = (uint8_t)n;
	p[at++] = 0;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(names[i]);
		p[at] = (uint8_t)l;
		p[at + 1] = (uint8_t)(l >> 8);
		memcpy(p + at + 2, names[i], l);
		at += 2 + l;
	}
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(at >> (8 * i));
	p[4] = TWALK;
	p[5] = 0x34;
	p[6] = 0x12;
	rlen = p9_handle(srv, req, at, rep, sizeof(rep));
	if (rlen < 7 || get(0, 4) != (uint64_t)rlen)
		return -1000;
	if (rep[4] == RLERROR)
		return -(int)get(7, 4);
	if (rep[4] != RWALK)
		return -1000;
	int got = (int)get(7, 2);
	if ((long)(9 + 13 * got) != rlen)
		return -1001;
	return got == n ? 0 : got;
}

static int lopen(uint32_t fid, uint32_t flags)
{
	return rpc(TLOPEN, "dd", fid, flags);
}

/* Reads up to cap-1 bytes at off into buf (NUL-terminated): count or -errno. */
static int rd(uint32_t fid, uint64_t off, char *buf, size_t cap)
{
	int e = rpc(TREAD, "dqd", fid, off, (uint32_t)(cap - 1));
	if (e)
		return -e;
	uint32_t n = (uint32_t)get(7, 4);
	memcpy(buf, rep + 11, n);
	buf[n] = '\0';
	return (int)n;
}

static uint64_t qid_path_at(size_t at)
{
	return get(at + 5, 8);
}

static int getattr_mode(uint32_t fid, uint32_t *mode)
{
	int e = rpc(TGETATTR, "dq", fid, (uint64_t)0x3fff);
	if (e == 0)
		*mode = (uint32_t)get(7 + 8 + 13, 4);
	return e;
}

/* Every readdir entry name of an opened directory fid, joined by ' '. */
static int list(uint32_t fid, char *out, size_t cap, uint32_t count)
{
	uint64_t off = 0;
	out[0] = '\0';
	for (int guard = 0; guard < 10000; guard++) {
		int e = rpc(TREADDIR, "dqd", fid, off, count);
		if (e)
			return -e;
		uint32_t n = (uint32_t)get(7, 4);
		if (n == 0)
			return 0;
		size_t at = 11, end = 11 + n;
		while (at < end) {
			off = get(at + 13, 8);
			size_t l = get(at + 22, 2);
			if (strlen(out) + l + 2 < cap) {
				strcat(out, " ");
				strncat(out, (const char *)rep + at + 24, l);
			}
			at += 24 + l;
		}
		if (at != end)
			return -1;
	}
	return -1;
}

static void test_version(void)
{
	struct p9_config cfg;
	setup_cfg(&cfg);
	srv = p9_server_new(&cfg);
	CHECK(srv != NULL);
	CHECK_EQ(rpc(TVERSION, "ds", 8192, "9P2000.L"), 0);
	CHECK_EQ(get(7, 4), 8192);
	CHECK_EQ(p9_msize(srv), 8192);
	CHECK_EQ(get(11, 2), 8);
	CHECK(memcmp(rep + 13, "9P2000.L", 8) == 0);
	CHECK_EQ(rpc(TVERSION, "ds", 1 << 20, "9P2000.L"), 0);
	CHECK_EQ(get(7, 4), 65536);
	CHECK_EQ(rpc(TVERSION, "ds", 65536, "9P2000.u"), 0);
	CHECK_EQ(get(11, 2), 7);
	CHECK(memcmp(rep + 13, "unknown", 7) == 0);
	CHECK_EQ(rpc(TVERSION, "ds", 1024, "9P2000.L"), EINVAL);
	CHECK_EQ(rpc(TVERSION, "ds", 65536, "9P2000.L"), 0);
	attach();
	CHECK_EQ(walk(2, 3, "hello", NULL), 0);
	CHECK_EQ(p9_fid_count(srv), 3);
	/* version(5): a new session clunks every fid. */
	CHECK_EQ(rpc(TVERSION, "ds", 65536, "9P2000.L"), 0);
	CHECK_EQ(p9_fid_count(srv), 0);
	CHECK_EQ(lopen(3, 0), EBADF);
	stop();
}

static void test_walk_semantics(void)
{
	char p[600];
	start();
	attach();
	/* walk(5): a later name failing is a short Rwalk, newfid untouched */
	CHECK_EQ(walk(2, 3, "dir", "missing", NULL), 1);
	CHECK_EQ(p9_fid_count(srv), 2);
	CHECK_EQ(walk(2, 3, "missing", NULL), -ENOENT);
	CHECK_EQ(walk(2, 3, "hello", "x", NULL), 1); /* not a directory */
	CHECK_EQ(walk(9, 3, NULL), -EBADF);
	/* in place: fid 2 moves to dir */
	CHECK_EQ(walk(2, 2, "dir", NULL), 0);
	CHECK_EQ(rpc(TGETATTR, "dq", 2, (uint64_t)0x7ff), 0);
	CHECK_EQ(rep[15], 0x80);
	CHECK_EQ(walk(2, 2, "..", NULL), 0);
	/* an open file stays usable after its name is gone */
	CHECK_EQ(walk(2, 4, NULL), 0);
	CHECK_EQ(rpc(TLCREATE, "dsddd", 4, "tmp", 02, 0600, 0), 0);
	CHECK_EQ(rpc(TUNLINKAT, "dsd", 2, "tmp", 0), 0);
	CHECK_EQ(rpc(TWRITE, "dqD", 4, (uint64_t)0, 3, "abc"), 0);
	CHECK_EQ(rpc(TGETATTR, "dq", 4, (uint64_t)0x7ff), 0);
	CHECK_EQ(get(40, 8), 0); /* nlink */
	CHECK_EQ(get(56, 8), 3); /* size */
	/* Tremove of an opened fid removes the name and clunks it */
	CHECK_EQ(walk(2, 5, "hello", NULL), 0);
	CHECK_EQ(lopen(5, 0), 0);
	CHECK_EQ(rpc(TREMOVE, "d", 5), 0);
	snprintf(p, sizeof(p), "%s/hello", share_dir);
	CHECK_EQ(access(p, F_OK), -1);
	CHECK_EQ(lopen(5, 0), EBADF);
	stop();
}

static void test_read_write(void)
{
	char buf[4096], p[600];
	start();
	attach();
	CHECK_EQ(walk(2, 3, "hello", NULL), 0);
	CHECK_EQ(lopen(3, 0), 0);
	CHECK_EQ(rd(3, 0, buf, sizeof(buf)), 11);
	CHECK(strcmp(buf, "hello world") == 0);
	CHECK_EQ(rd(3, 6, buf, sizeof(buf)), 5);
	CHECK(strcmp(buf, "world") == 0);
	CHECK_EQ(rd(3, 100, buf, sizeof(buf)), 0);
	CHECK_EQ(rpc(TWRITE, "dqD", 3, (uint64_t)0, 2, "xx"), EBADF); /* opened O_RDONLY */
	CHECK_EQ(lopen(3, 0), EBUSY);
	/* create through the synthetic root: walk "sh", then lcreate. */
	CHECK_EQ(walk(1, 4, "sh", NULL), 0);
	CHECK_EQ(rpc(TLCREATE, "dsddd", 4, "new", 02 /* RDWR */, 0640, 0), 0);
	CHECK_EQ(rep[7], 0); /* qid.type file */
	CHECK_EQ(rpc(TWRITE, "dqD", 4, (uint64_t)0, 5, "abcde"), 0);
	CHECK_EQ(get(7, 4), 5);
	CHECK_EQ(rpc(TWRITE, "dqD", 4, (uint64_t)3, 4, "XYZW"), 0);
	CHECK_EQ(rd(4, 0, buf, sizeof(buf)), 7);
	CHECK(strcmp(buf, "abcXYZW") == 0);
	CHECK_EQ(rpc(TFSYNC, "dd", 4, 0), 0);
	CHECK_EQ(rpc(TFSYNC, "dd", 4, 1), 0);
	snprintf(p, sizeof(p), "%s/new", share_dir);
	CHECK_EQ(host_read(p, buf, sizeof(buf)), 7);
	CHECK(strcmp(buf, "abcXYZW") == 0);
	struct stat st;
	CHECK_EQ(stat(p, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0640);
	/* lcreate never opens an existing name (it may be a FIFO or device). */
	CHECK_EQ(walk(2, 5, NULL), 0);
	CHECK_EQ(rpc(TLCREATE, "dsddd", 5, "hello", 02, 0644, 0), EEXIST);
	/* Twrite's count must not exceed the data that came with it. */
	CHECK_EQ(rpc(TWRITE, "dqd", 4, (uint64_t)0, 100), EINVAL);
	/* clunk, then the fid is gone */
	CHECK_EQ(rpc(TCLUNK, "d", 4), 0);
	CHECK_EQ(rpc(TCLUNK, "d", 4), EBADF);
	stop();
}

static void test_readdir(void)
{
	char names[20000], want[16], p[600];
	start();
	attach();
	snprintf(p, sizeof(p), "%s/dir", share_dir);
	for (int i = 0; i < 300; i++) {
		snprintf(want, sizeof(want), "f%03d", i);
		put_file(p, want, "");
	}
	CHECK_EQ(walk(2, 3, "dir", NULL), 0);
	CHECK_EQ(lopen(3, 0), 0);
	/* small chunks: the server resumes at each last offset */
	CHECK_EQ(list(3, names, sizeof(names), 200), 0);
	int seen = 0;
	for (int i = 0; i < 300; i++) {
		snprintf(want, sizeof(want), " f%03d", i);
		char *at = strstr(names, want);
		seen += at && (at[5] == ' ' || at[5] == '\0') && !strstr(at + 1, want);
	}
	CHECK_EQ(seen, 300);
	CHECK(strstr(names, " . ") || strstr(names, " .. "));
	/* the synthetic root lists the grants */
	CHECK_EQ(lopen(1, 0), 0);
	CHECK_EQ(list(1, names, sizeof(names), 8000), 0);
	CHECK(strcmp(names, " . .. sh ro") == 0);
	/* readdir needs an opened fid */
	CHECK_EQ(walk(2, 4, "dir", NULL), 0);
	CHECK_EQ(rpc(TREADDIR, "dqd", 4, (uint64_t)0, 1000), EBADF);
	stop();
}

static void test_namespace_ops(void)
{
	char p[600], buf[600];
	struct stat st;
	uint32_t mode;
	start();
	attach();
	CHECK_EQ(rpc(TMKDIR, "dsdd", 2, "d1", 0750, 0), 0);
	CHECK_EQ(rep[7], 0x80);
	snprintf(p, sizeof(p), "%s/d1", share_dir);
	CHECK_EQ(stat(p, &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0750);
	/* symlink + readlink: the target is stored as given */
	CHECK_EQ(rpc(TSYMLINK, "dssd", 2, "ln", "d1/x", 0), 0);
	CHECK_EQ(rep[7], 0x02);
	CHECK_EQ(walk(2, 3, "ln", NULL), 0);
	CHECK_EQ(rpc(TREADLINK, "d", 3), 0);
	CHECK_EQ(get(7, 2), 4);
	CHECK(memcmp(rep + 9, "d1/x", 4) == 0);
	CHECK_EQ(getattr_mode(3, &mode), 0);
	CHECK(S_ISLNK(mode));
	/* link */
	CHECK_EQ(walk(2, 4, "hello", NULL), 0);
	CHECK_EQ(rpc(TLINK, "dds", 2, 4, "hello2"), 0);
	snprintf(p, sizeof(p), "%s/hello2", share_dir);
	CHECK_EQ(host_read(p, buf, sizeof(buf)), 11);
	CHECK_EQ(stat(p, &st), 0);
	CHECK_EQ(st.st_nlink, 2);
	/* renameat, and the fids below the old name follow it */
	CHECK_EQ(rpc(TMKDIR, "dsdd", 2, "d2", 0755, 0), 0);
	CHECK_EQ(walk(2, 5, "d1", NULL), 0);
	CHECK_EQ(rpc(TLCREATE, "dsddd", 5, "in", 02, 0644, 0), 0);
	CHECK_EQ(walk(2, 6, "d1", NULL), 0);
	CHECK_EQ(rpc(TRENAMEAT, "dsds", 2, "d1", 2, "d3"), 0);
	snprintf(p, sizeof(p), "%s/d3/in", share_dir);
	CHECK_EQ(access(p, F_OK), 0);
	CHECK_EQ(walk(6, 7, "in", NULL), 0); /* fid 6 now names d3 */
	CHECK_EQ(rpc(TWRITE, "dqD", 5, (uint64_t)0, 3, "abc"), 0);
	CHECK_EQ(host_read(p, buf, sizeof(buf)), 3);
	/* Trename: fid 7 (d3/in) into d2 as "moved" */
	CHECK_EQ(walk(2, 8, "d2", NULL), 0);
	CHECK_EQ(rpc(TRENAME, "dds", 7, 8, "moved"), 0);
	snprintf(p, sizeof(p), "%s/d2/moved", share_dir);
	CHECK_EQ(access(p, F_OK), 0);
	CHECK_EQ(lopen(7, 0), 0);
	CHECK_EQ(rd(7, 0, buf, sizeof(buf)), 3);
	/* unlinkat: a file, a non-empty dir, then the dir */
	CHECK_EQ(rpc(TUNLINKAT, "dsd", 2, "hello2", 0), 0);
	snprintf(p, sizeof(p), "%s/hello2", share_dir);
	CHECK_EQ(access(p, F_OK), -1);
	CHECK_EQ(rpc(TUNLINKAT, "dsd", 2, "d2", 0x200), ENOTEMPTY);
	CHECK_EQ(rpc(TUNLINKAT, "dsd", 8, "moved", 0), 0);
	CHECK_EQ(rpc(TUNLINKAT, "dsd", 2, "d2", 0x200), 0);
	CHECK_EQ(rpc(TUNLINKAT, "dsd", 2, "d3", 0x4), EINVAL);
	/* Tremove clunks the fid either way */
	CHECK_EQ(walk(2, 9, "ln", NULL), 0);
	CHECK_EQ(rpc(TREMOVE, "d", 9), 0);
	snprintf(p, sizeof(p), "%s/ln", share_dir);
	CHECK_EQ(access(p, F_OK), -1);
	CHECK_EQ(rpc(TCLUNK, "d", 9), EBADF);
	CHECK_EQ(walk(2, 9, NULL), 0);
	CHECK_EQ(rpc(TREMOVE, "d", 9), EBUSY); /* the share's root */
	CHECK_EQ(rpc(TCLUNK, "d", 9), EBADF);
	/* mknod: FIFOs and sockets as inert names, device nodes never */
	CHECK_EQ(rpc(TMKNOD, "dsdddd", 2, "fifo", S_IFIFO | 0644, 0, 0, 0), 0);
	snprintf(p, sizeof(p), "%s/fifo", share_dir);
	CHECK_EQ(lstat(p, &st), 0);
	CHECK(S_ISFIFO(st.st_mode));
	CHECK_EQ(rpc(TMKNOD, "dsdddd", 2, "null", S_IFCHR | 0666, 1, 3, 0), EPERM);
	CHECK_EQ(rpc(TMKNOD, "dsdddd", 2, "sda", S_IFBLK | 0666, 8, 0, 0), EPERM);
	snprintf(p, sizeof(p), "%s/null", share_dir);
	CHECK_EQ(access(p, F_OK), -1);
	/* statfs */
	CHECK_EQ(rpc(TSTATFS, "d", 2), 0);
	CHECK(get(11, 4) > 0); /* bsize */
	CHECK_EQ(get(7 + 4 + 4 + 8 * 6, 4), 255);
	CHECK_EQ(rpc(TSTATFS, "d", 1), 0);
	CHECK_EQ(get(7, 4), 0x01021997);
	stop();
}

static void test_attrs(void)
{
	char p[600];
	struct stat st;
	start();
	attach();
	snprintf(p, sizeof(p), "%s/hello", share_dir);
	CHECK_EQ(walk(2, 3, "hello", NULL), 0);
	CHECK_EQ(rpc(TGETATTR, "dq", 3, (uint64_t)0x7ff), 0);
	CHECK_EQ(get(7, 8), 0x7ff);
	CHECK_EQ(stat(p, &st), 0);
	CHECK_EQ(get(15 + 5, 8) & 0xffffffffffffull, st.st_ino);
	CHECK_EQ(get(28, 4), st.st_mode);
	/* mapped: files the server owns show as guest_uid/guest_gid */
	CHECK_EQ(get(32, 4), 1000);
	CHECK_EQ(get(36, 4), 1001);
	CHECK_EQ(get(56, 8), 11); /* size */
	/* setattr: mode (set-id bits dropped), size, mtime */
	CHECK_EQ(rpc(TSETATTR, "dddddqqqqq", 3, 0x1 | 0x8 | 0x20 | 0x100, 04741, 0, 0, (uint64_t)4,
		     (uint64_t)0, (uint64_t)0, (uint64_t)1000000, (uint64_t)5), 0);
	CHECK_EQ(stat(p, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0741);
	CHECK_EQ(st.st_size, 4);
	CHECK_EQ(st.st_mtim.tv_sec, 1000000);
	CHECK_EQ(st.st_mtim.tv_nsec, 5);
	/* mapped chown: only to the ids already shown */
	CHECK_EQ(rpc(TSETATTR, "dddddqqqqq", 3, 0x2 | 0x4, 0, 1000, 1001, (uint64_t)0, (uint64_t)0,
		     (uint64_t)0, (uint64_t)0, (uint64_t)0), 0);
	CHECK_EQ(rpc(TSETATTR, "dddddqqqqq", 3, 0x2, 0, 0, 0, (uint64_t)0, (uint64_t)0, (uint64_t)0,
		     (uint64_t)0, (uint64_t)0), EPERM);
	CHECK_EQ(rpc(TSETATTR, "dddddqqqqq", 3, 0x20 | 0x100, 0, 0, 0, (uint64_t)0, (uint64_t)0,
		     (uint64_t)0, (uint64_t)0, (uint64_t)2000000000), EINVAL);
	/* size on a directory */
	CHECK_EQ(walk(2, 4, "dir", NULL), 0);
	CHECK_EQ(rpc(TSETATTR, "dddddqqqqq", 4, 0x8, 0, 0, 0, (uint64_t)0, (uint64_t)0, (uint64_t)0,
		     (uint64_t)0, (uint64_t)0), EISDIR);
	/* locks: granted on an open fid, refused on an unopened one */
	CHECK_EQ(rpc(TLOCK, "dbdqqds", 3, 1, 0, (uint64_t)0, (uint64_t)0, 42, "guest"), EBADF);
	CHECK_EQ(lopen(3, 2), 0);
	CHECK_EQ(rpc(TLOCK, "dbdqqds", 3, 1, 1, (uint64_t)0, (uint64_t)0, 42, "guest"), 0);
	CHECK_EQ(rep[7], 0);
	CHECK_EQ(rpc(TLOCK, "dbdqqds", 3, 7, 0, (uint64_t)0, (uint64_t)0, 42, "guest"), EINVAL);
	CHECK_EQ(rpc(TGETLOCK, "dbqqds", 3, 1, (uint64_t)10, (uint64_t)20, 42, "guest"), 0);
	CHECK_EQ(rep[7], 2); /* unlocked */
	CHECK_EQ(get(8, 8), 10);
	CHECK_EQ(get(16, 8), 20);
	CHECK_EQ(get(24, 4), 42);
	CHECK_EQ(get(28, 2), 5);
	CHECK_EQ(rpc(TLOCK, "dbdqqds", 3, 2, 0, (uint64_t)0, (uint64_t)0, 42, "guest"), 0);
	/* unsupported: refused cleanly with a Linux errno */
	CHECK_EQ(rpc(TXATTRWALK, "dds", 3, 10, "user.x"), EOPNOTSUPP);
	CHECK_EQ(rpc(TSTAT, "d", 3), EOPNOTSUPP);
	CHECK_EQ(rpc(99, ""), EOPNOTSUPP);
	CHECK_EQ(rpc(TFLUSH, "w", 7), 0);
	stop();
}

static void test_passthrough(void)
{
	struct p9_config cfg;
	char p[600];
	struct stat st;
	setup_cfg(&cfg);
	cfg.uid_policy = P9_UID_PASSTHROUGH;
	srv = p9_server_new(&cfg);
	if (geteuid() != 0) {
		/* Refused for a server that cannot chown. */
		CHECK(srv == NULL);
		CHECK_EQ(errno, EINVAL);
		stop();
		return;
	}
	CHECK(srv != NULL);
	CHECK_EQ(rpc(TVERSION, "ds", 65536, "9P2000.L"), 0);
	CHECK_EQ(rpc(TATTACH, "ddssd", 2, NOFID, "u", "sh", 1234), 0);
	CHECK_EQ(walk(2, 3, NULL), 0);
	CHECK_EQ(rpc(TLCREATE, "dsddd", 3, "mine", 02, 0600, 5678), 0);
	snprintf(p, sizeof(p), "%s/mine", share_dir);
	CHECK_EQ(stat(p, &st), 0);
	CHECK_EQ(st.st_uid, 1234);
	CHECK_EQ(st.st_gid, 5678);
	CHECK_EQ(rpc(TMKDIR, "dsdd", 2, "md", 0700, 77), 0);
	snprintf(p, sizeof(p), "%s/md", share_dir);
	CHECK_EQ(stat(p, &st), 0);
	CHECK_EQ(st.st_uid, 1234);
	CHECK_EQ(st.st_gid, 77);
	CHECK_EQ(rpc(TSETATTR, "dddddqqqqq", 3, 0x2 | 0x4, 0, 42, 43, (uint64_t)0, (uint64_t)0,
		     (uint64_t)0, (uint64_t)0, (uint64_t)0), 0);
	snprintf(p, sizeof(p), "%s/mine", share_dir);
	CHECK_EQ(stat(p, &st), 0);
	CHECK_EQ(st.st_uid, 42);
	CHECK_EQ(st.st_gid, 43);
	CHECK_EQ(rpc(TGETATTR, "dq", 3, (uint64_t)0x7ff), 0);
	CHECK_EQ(get(32, 4), 42);
	stop();
}

/* Tries every way at TMP/outside/secret through the links in the share;
 * checks the outside stays as it was. */
static void escapes(void)
{
	char buf[600], p[600];
	struct stat st_before, st_after;
	uint32_t mode;
	start();
	attach();
	CHECK_EQ(stat(out_dir, &st_before), 0);
	/* walking through symlinks: relative, absolute, to / */
	CHECK(walk(2, 3, "up", "secret", NULL) == 1);
	CHECK(walk(2, 3, "abs", "secret", NULL) == 1);
	CHECK(walk(2, 3, "root", "etc", "passwd", NULL) == 1);
	CHECK_EQ(p9_fid_count(srv), 2);
	/* the link itself can be walked to, and stays a link */
	CHECK_EQ(walk(2, 3, "up", NULL), 0);
	CHECK_EQ(getattr_mode(3, &mode), 0);
	CHECK(S_ISLNK(mode));
	CHECK_EQ(lopen(3, 0), ELOOP);
	CHECK_EQ(rpc(TREADDIR, "dqd", 3, (uint64_t)0, 1000), EBADF);
	/* name operations with the link as directory */
	CHECK(rpc(TLCREATE, "dsddd", 3, "planted", 02, 0644, 0) != 0);
	CHECK(rpc(TMKDIR, "dsdd", 3, "planted", 0755, 0) != 0);
	CHECK(rpc(TSYMLINK, "dssd", 3, "planted", "x", 0) != 0);
	CHECK(rpc(TUNLINKAT, "dsd", 3, "secret", 0) != 0);
	CHECK(rpc(TRENAMEAT, "dsds", 3, "secret", 2, "stolen") != 0);
	CHECK(rpc(TRENAMEAT, "dsds", 2, "hello", 3, "secret") != 0);
	CHECK_EQ(walk(2, 4, "hello", NULL), 0);
	CHECK(rpc(TRENAME, "dds", 4, 3, "secret") != 0);
	CHECK(rpc(TLINK, "dds", 3, 4, "hl") != 0);
	/* chmod/truncate of a link never reach its target */
	CHECK_EQ(walk(2, 5, "root", NULL), 0);
	CHECK_EQ(rpc(TSETATTR, "dddddqqqqq", 5, 0x1, 0777, 0, 0, (uint64_t)0, (uint64_t)0, (uint64_t)0,
		     (uint64_t)0, (uint64_t)0), EOPNOTSUPP);
	CHECK_EQ(rpc(TSETATTR, "dddddqqqqq", 3, 0x8, 0, 0, 0, (uint64_t)0, (uint64_t)0, (uint64_t)0,
		     (uint64_t)0, (uint64_t)0), EINVAL);
	CHECK_EQ(rpc(TSETATTR, "dddddqqqqq", 3, 0x20 | 0x100, 0, 0, 0, (uint64_t)0, (uint64_t)0,
		     (uint64_t)0, (uint64_t)1, (uint64_t)0), 0);
	CHECK_EQ(lstat(out_dir, &st_after), 0);
	CHECK_EQ(st_after.st_mtim.tv_sec, st_before.st_mtim.tv_sec);
	/* hard link of a link is a link, not its target */
	CHECK_EQ(rpc(TLINK, "dds", 2, 3, "up2"), 0);
	snprintf(p, sizeof(p), "%s/up2", share_dir);
	CHECK_EQ(readlink(p, buf, sizeof(buf)), 10);
	/* "..": lexical, never above the share (attached at "sh") */
	CHECK_EQ(walk(2, 6, "..", NULL), 0);
	uint64_t q_up = qid_path_at(9);
	CHECK_EQ(walk(2, 7, NULL), 0);
	CHECK_EQ(rpc(TGETATTR, "dq", 7, (uint64_t)0x7ff), 0);
	CHECK_EQ(qid_path_at(15), q_up);
	CHECK_EQ(rpc(TCLUNK, "d", 7), 0);
	CHECK(walk(2, 7, "..", "outside", "secret", NULL) == 1);
	CHECK(walk(2, 7, "..", "..", "..", "etc", NULL) == 3);
	CHECK(walk(2, 7, "dir", "..", "..", "outside", NULL) == 3);
	/* from the synthetic root ".." leads back to the root only */
	CHECK(walk(1, 7, "sh", "..", "outside", NULL) == 2);
	CHECK(walk(1, 7, "..", "..", "tmp", NULL) == 2);
	/* names that are not one component */
	CHECK_EQ(walk(2, 7, "dir/..", NULL), -EINVAL);
	CHECK_EQ(walk(2, 7, "../outside", NULL), -EINVAL);
	CHECK_EQ(walk(2, 7, "up/secret", NULL), -EINVAL);
	CHECK_EQ(walk(2, 7, ".", NULL), -EINVAL);
	CHECK_EQ(walk(2, 7, "", NULL), -EINVAL);
	CHECK_EQ(rpc(TLCREATE, "dsddd", 2, "../outside/x", 02, 0644, 0), EINVAL);
	CHECK_EQ(rpc(TMKDIR, "dsdd", 2, "..", 0755, 0), EINVAL);
	CHECK_EQ(rpc(TSYMLINK, "dssd", 2, "a/b", "x", 0), EINVAL);
	CHECK_EQ(rpc(TRENAMEAT, "dsds", 2, "hello", 2, "../outside/hello"), EINVAL);
	CHECK_EQ(rpc(TUNLINKAT, "dsd", 2, "../outside/secret", 0), EINVAL);
	CHECK_EQ(rpc(TLINK, "dds", 2, 4, "up/x"), EINVAL);
	{
		char nul[5] = { 'a', 0, 'b', 'c', 'd' };
		CHECK_EQ(rpc(TMKDIR, "dSdd", 2, 5, nul, 0755, 0), EINVAL);
	}
	/* a directory swapped for a symlink after the walk (host side):
	 * the fid's path no longer resolves */
	CHECK_EQ(walk(2, 8, "dir", NULL), 0);
	snprintf(p, sizeof(p), "%s/dir", share_dir);
	snprintf(buf, sizeof(buf), "%s/dir.old", share_dir);
	CHECK_EQ(rename(p, buf), 0);
	CHECK_EQ(symlink(out_dir, p), 0);
	CHECK(walk(8, 9, "secret", NULL) < 0);
	CHECK(lopen(8, 0) != 0);
	CHECK(rpc(TLCREATE, "dsddd", 8, "planted", 02, 0644, 0) != 0);
	CHECK(rpc(TUNLINKAT, "dsd", 8, "secret", 0) != 0);
	CHECK_EQ(getattr_mode(8, &mode), 0);
	CHECK(S_ISLNK(mode)); /* the link itself, not the outside dir */
	/* nothing outside moved */
	snprintf(p, sizeof(p), "%s/secret", out_dir);
	CHECK_EQ(host_read(p, buf, sizeof(buf)), 6);
	DIR *d = opendir(out_dir);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n++;
	if (d)
		closedir(d);
	CHECK_EQ(n, 3);
	stop();
}

static void test_escape_openat2(void)
{
	force_walk = 0;
	escapes();
}

static void test_escape_walk(void)
{
	force_walk = 1;
	escapes();
	force_walk = 0;
}

static void test_special_files(void)
{
	char p[600];
	start();
	attach();
	snprintf(p, sizeof(p), "%s/fifo", share_dir);
	CHECK_EQ(mkfifo(p, 0666), 0);
	/* a FIFO opened would block the server: never opened */
	CHECK_EQ(walk(2, 3, "fifo", NULL), 0);
	CHECK_EQ(lopen(3, 0), ENXIO);
	CHECK_EQ(lopen(3, 1), ENXIO);
	CHECK_EQ(rpc(TSETATTR, "dddddqqqqq", 3, 0x8, 0, 0, 0, (uint64_t)0, (uint64_t)0, (uint64_t)0,
		     (uint64_t)0, (uint64_t)0), EINVAL);
	/* chmod without opening it: fchmodat2 on its O_PATH fd (Linux 6.6),
	 * else refused */
	struct stat st;
	int have2 = syscall(452, AT_FDCWD, "/nonexistent/x", 0, 0) < 0 && errno != ENOSYS;
	CHECK_EQ(rpc(TSETATTR, "dddddqqqqq", 3, 0x1, 04600, 0, 0, (uint64_t)0, (uint64_t)0, (uint64_t)0,
		     (uint64_t)0, (uint64_t)0), have2 ? 0 : EPERM);
	CHECK_EQ(lstat(p, &st), 0);
	CHECK_EQ(st.st_mode & 07777, have2 ? 0600 : 0666);
	CHECK(S_ISFIFO(st.st_mode));
	/* a unix socket */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", share_dir);
	int sfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_EQ(bind(sfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ(walk(2, 4, "sock", NULL), 0);
	CHECK_EQ(lopen(4, 2), ENXIO);
	close(sfd);
	/* a device node made on the host (root only) */
	snprintf(p, sizeof(p), "%s/zero", share_dir);
	if (mknod(p, S_IFCHR | 0666, makedev(1, 5)) == 0) {
		CHECK_EQ(walk(2, 5, "zero", NULL), 0);
		CHECK_EQ(lopen(5, 0), ENXIO);
		char buf[16];
		CHECK_EQ(rd(5, 0, buf, sizeof(buf)), -EBADF);
	}
	stop();
}

static void test_ro_share(void)
{
	char buf[64];
	start();
	CHECK_EQ(rpc(TATTACH, "ddssd", 2, NOFID, "u", "/ro", 0), 0);
	CHECK_EQ(walk(2, 3, "r", NULL), 0);
	CHECK_EQ(lopen(3, 1), EROFS);
	CHECK_EQ(lopen(3, 2), EROFS);
	CHECK_EQ(lopen(3, 01000), EROFS); /* O_TRUNC */
	CHECK_EQ(lopen(3, 0), 0);
	CHECK_EQ(rd(3, 0, buf, sizeof(buf)), 9);
	CHECK_EQ(rpc(TWRITE, "dqD", 3, (uint64_t)0, 1, "x"), EBADF);
	CHECK_EQ(walk(2, 4, NULL), 0);
	CHECK_EQ(rpc(TLCREATE, "dsddd", 4, "n", 02, 0644, 0), EROFS);
	CHECK_EQ(rpc(TMKDIR, "dsdd", 2, "n", 0755, 0), EROFS);
	CHECK_EQ(rpc(TSYMLINK, "dssd", 2, "n", "x", 0), EROFS);
	CHECK_EQ(rpc(TMKNOD, "dsdddd", 2, "n", S_IFIFO | 0644, 0, 0, 0), EROFS);
	CHECK_EQ(rpc(TUNLINKAT, "dsd", 2, "r", 0), EROFS);
	CHECK_EQ(rpc(TRENAMEAT, "dsds", 2, "r", 2, "n"), EROFS);
	CHECK_EQ(rpc(TRENAME, "dds", 3, 2, "n"), EROFS);
	CHECK_EQ(rpc(TLINK, "dds", 2, 3, "n"), EROFS);
	CHECK_EQ(rpc(TSETATTR, "dddddqqqqq", 3, 0x1, 0777, 0, 0, (uint64_t)0, (uint64_t)0, (uint64_t)0,
		     (uint64_t)0, (uint64_t)0), EROFS);
	CHECK_EQ(walk(2, 5, "r", NULL), 0);
	CHECK_EQ(rpc(TREMOVE, "d", 5), EROFS);
	CHECK_EQ(rpc(TGETATTR, "dq", 3, (uint64_t)0x7ff), 0);
	/* still there */
	char p[600];
	snprintf(p, sizeof(p), "%s/r", ro_dir);
	CHECK_EQ(host_read(p, buf, sizeof(buf)), 9);
	/* and cross-share rename/link: EXDEV */
	CHECK_EQ(rpc(TATTACH, "ddssd", 6, NOFID, "u", "sh", 0), 0);
	CHECK_EQ(walk(6, 7, "hello", NULL), 0);
	CHECK_EQ(rpc(TATTACH, "ddssd", 8, NOFID, "u", "", 0), 0);
	CHECK_EQ(rpc(TRENAME, "dds", 7, 2, "x"), EXDEV);
	CHECK_EQ(rpc(TLINK, "dds", 2, 7, "x"), EXDEV);
	/* the synthetic root is read-only too */
	CHECK_EQ(rpc(TMKDIR, "dsdd", 8, "n", 0755, 0), EROFS);
	CHECK_EQ(rpc(TRENAMEAT, "dsds", 8, "sh", 8, "n"), EROFS);
	CHECK_EQ(lopen(8, 2), EISDIR);
	stop();
}

static void test_grants(void)
{
	char names[1000], buf[64];
	start();
	attach();
	CHECK_EQ(walk(2, 3, "hello", NULL), 0);
	CHECK_EQ(lopen(3, 0), 0);
	CHECK_EQ(walk(1, 4, "sh", "dir", NULL), 0);
	/* run-time grant appears at the root */
	CHECK_EQ(p9_grant(srv, out_dir, "out", 1), 0);
	CHECK_EQ(p9_grant(srv, out_dir, "out", 1), -EEXIST);
	CHECK_EQ(p9_grant(srv, out_dir, "a/b", 1), -EINVAL);
	CHECK_EQ(p9_grant(srv, out_dir, "..", 1), -EINVAL);
	CHECK_EQ(p9_grant(srv, "/nonexistent/x", "x", 1), -ENOENT);
	CHECK_EQ(lopen(1, 0), 0);
	CHECK_EQ(list(1, names, sizeof(names), 8000), 0);
	CHECK(strcmp(names, " . .. sh ro out") == 0);
	CHECK_EQ(walk(1, 5, "out", "secret", NULL), 0);
	CHECK_EQ(lopen(5, 0), 0);
	CHECK_EQ(rd(5, 0, buf, sizeof(buf)), 6);
	/* revoke while fids (one open) are inside: all stale at once */
	CHECK_EQ(p9_revoke(srv, "sh"), 0);
	CHECK_EQ(p9_revoke(srv, "sh"), -ENOENT);
	CHECK_EQ(rd(3, 0, buf, sizeof(buf)), -ESTALE);
	CHECK_EQ(walk(4, 6, "x", NULL), -ESTALE);
	CHECK_EQ(rpc(TGETATTR, "dq", 2, (uint64_t)0x7ff), ESTALE);
	CHECK_EQ(rpc(TLCREATE, "dsddd", 4, "n", 02, 0644, 0), ESTALE);
	CHECK_EQ(walk(1, 6, "sh", NULL), -ENOENT);
	CHECK_EQ(rpc(TATTACH, "ddssd", 6, NOFID, "u", "sh", 0), ENOENT);
	CHECK_EQ(list(1, names, sizeof(names), 8000), 0);
	CHECK(strcmp(names, " . .. ro out") == 0);
	/* a new grant under the old name does not revive old fids */
	CHECK_EQ(p9_grant(srv, share_dir, "sh", 0), 0);
	CHECK_EQ(rd(3, 0, buf, sizeof(buf)), -ESTALE);
	CHECK_EQ(walk(4, 6, NULL), -ESTALE);
	CHECK_EQ(rpc(TCLUNK, "d", 3), 0);
	CHECK_EQ(rpc(TCLUNK, "d", 4), 0);
	CHECK_EQ(rd(5, 0, buf, sizeof(buf)), 6); /* other grants untouched */
	for (int i = 0; i < P9_MAX_SHARES - 3; i++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "g%d", i);
		CHECK_EQ(p9_grant(srv, out_dir, nm, 1), 0);
	}
	CHECK_EQ(p9_grant(srv, out_dir, "full", 1), -ENOSPC);
	stop();
}

static void test_bounds(void)
{
	struct p9_config cfg;
	char buf[200];
	setup_cfg(&cfg);
	cfg.fid_limit = 8;
	start_cfg(&cfg);
	CHECK_EQ(rpc(TVERSION, "ds", 8192, "9P2000.L"), 0);
	attach();
	/* fid limit */
	for (uint32_t i = 3; i <= 8; i++)
		CHECK_EQ(walk(2, i, NULL), 0);
	CHECK_EQ(walk(2, 9, NULL), -EMFILE);
	CHECK_EQ(rpc(TATTACH, "ddssd", 9, NOFID, "u", "", 0), EMFILE);
	CHECK_EQ(p9_fid_count(srv), 8);
	CHECK_EQ(walk(2, 3, NULL), -EEXIST);
	CHECK_EQ(rpc(TATTACH, "ddssd", 3, NOFID, "u", "", 0), EEXIST);
	CHECK_EQ(rpc(TATTACH, "ddssd", 9, 5, "u", "", 0), EOPNOTSUPP);
	CHECK_EQ(rpc(TCLUNK, "d", 8), 0);
	/* reads never exceed msize, nor the buffer offered */
	char p[600];
	snprintf(p, sizeof(p), "%s/big", share_dir);
	int fd = open(p, O_WRONLY | O_CREAT, 0644);
	CHECK_EQ(ftruncate(fd, 100000), 0);
	close(fd);
	CHECK_EQ(walk(2, 8, "big", NULL), 0);
	CHECK_EQ(lopen(8, 0), 0);
	CHECK_EQ(rpc(TREAD, "dqd", 8, (uint64_t)0, 1000000), 0);
	CHECK_EQ(rlen, 8192);
	CHECK_EQ(get(7, 4), 8192 - 11);
	CHECK_EQ(rpc_cap(100, TREAD, "dqd", 8, (uint64_t)0, 1000000), 0);
	CHECK_EQ(rlen, 100);
	/* requests over msize, short or lying headers */
	memset(buf, 'a', sizeof(buf));
	static char big[9000];
	memset(big, 'a', sizeof(big));
	CHECK_EQ(rpc(TWRITE, "dqD", 8, (uint64_t)0, 8500, big), EMSGSIZE);
	CHECK_EQ(p9_handle(srv, (const uint8_t *)"\x07\0\0\0", 4, rep, sizeof(rep)), -EINVAL);
	CHECK_EQ(p9_handle(srv, (const uint8_t *)"\x07\0\0\0\x78\0\0", 7, rep, 10), -ENOBUFS);
	CHECK_EQ(p9_handle(srv, (const uint8_t *)"\x50\0\0\0\x78\x01\x02", 7, rep, sizeof(rep)), 11);
	CHECK_EQ(rep[4], RLERROR);
	CHECK_EQ(get(5, 2), 0x0201);
	CHECK_EQ(get(7, 4), EINVAL);
	CHECK_EQ(p9_handle(srv, (const uint8_t *)"\x03\0\0\0\x78\x01\x02", 7, rep, sizeof(rep)), 11);
	CHECK_EQ(get(7, 4), EINVAL);
	/* truncated body and string lengths past the end */
	CHECK_EQ(rpc(TCLUNK, "w", 1), EINVAL);
	CHECK_EQ(rpc(TATTACH, "ddw", 20, NOFID, 5000), EINVAL);
	/* names: 255 is fine, 256 is too long; 17 walk elements too many */
	char n255[256], n256[257];
	memset(n255, 'n', 255);
	n255[255] = '\0';
	memset(n256, 'n', 256);
	n256[256] = '\0';
	for (uint32_t i = 3; i <= 7; i++)
		CHECK_EQ(rpc(TCLUNK, "d", i), 0);
	CHECK_EQ(walk(2, 3, NULL), 0);
	CHECK_EQ(rpc(TMKDIR, "dsdd", 2, n255, 0755, 0), 0);
	CHECK_EQ(rpc(TMKDIR, "dsdd", 2, n256, 0755, 0), ENAMETOOLONG);
	CHECK_EQ(walk(2, 4, n256, NULL), -ENAMETOOLONG);
	CHECK_EQ(walk(2, 4, "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a",
		      "a", "a", "a", NULL), -EINVAL);
	/* paths deeper than P9_PATH_MAX: fid 3 walks down 16 x 255 */
	int e = walk(3, 3, n255, NULL), depth = 1;
	while (e == 0 && depth < 20) {
		CHECK_EQ(rpc(TMKDIR, "dsdd", 3, n255, 0755, 0), 0);
		e = walk(3, 3, n255, NULL);
		depth += e == 0;
	}
	CHECK_EQ(e, -ENAMETOOLONG);
	CHECK_EQ(depth, 16); /* 16 * 256 - 1 = 4095 bytes */
	stop();
}

int main(void)
{
	t_suite = "p9";
	umask(0);
	RUN(test_version);
	RUN(test_walk_semantics);
	RUN(test_read_write);
	RUN(test_readdir);
	RUN(test_namespace_ops);
	RUN(test_attrs);
	RUN(test_passthrough);
	RUN(test_escape_openat2);
	RUN(test_escape_walk);
	RUN(test_special_files);
	RUN(test_ro_share);
	RUN(test_grants);
	RUN(test_bounds);
	return t_done();
}
