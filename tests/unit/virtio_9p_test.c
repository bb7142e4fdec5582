/* virtio-9p: the --share option parser, and the device on hand-built rings
 * (virtio 1.2 §2.7) over a temporary directory: config space and features,
 * requests gathered from several readable descriptors and replies scattered
 * over several writable ones (Linux's zero-copy Tread/Twrite layout), a
 * read-only share, chains too short for a header or a reply (NEEDS_RESET),
 * and the serving thread's private umask. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tests/unit/t.h"
#include "tests/unit/virtq_fake.h"
#include "vmm/device.h"
#include "vmm/devices/virtio_9p.h"
#include "vmm/log.h"
#include "vmm/sandbox.h"
#include "seccomp-bpf/scbpf_bpf.h"

enum { RLERROR = 7, TLOPEN = 12, TLCREATE = 14, TMKDIR = 72, TVERSION = 100, TATTACH = 104,
       TWALK = 110, TREAD = 116, TWRITE = 118 };

static struct fake_ring r;
static struct virtio_signal sig;
static struct virtio_dev_info info;
static void *dev;
static char tmp[64];
static uint16_t next_desc;

/* ---- options ---- */

static int parse(struct p9dev_opts *o, const char *val, char *err)
{
	static char buf[8][256];
	static unsigned k;
	char *v = buf[k++ % 8];

	snprintf(v, 256, "%s", val);
	err[0] = 0;
	return p9dev_parse_share(o, "--share", v, err, 200);
}

static void options(void)
{
	struct p9dev_opts o = { 0 };
	char err[200];

	CHECK_EQ(parse(&o, "/srv/a:src", err), 0);
	CHECK_EQ(o.n, 1);
	CHECK(!strcmp(o.share[0].dir, "/srv/a") && !strcmp(o.share[0].tag, "src"));
	CHECK(!o.share[0].ro && o.share[0].policy == P9_UID_MAPPED);
	/* HOSTDIR may hold ':'; the tag follows the last one. */
	CHECK_EQ(parse(&o, "/srv/x:y:data,ro,security=passthrough,uid=1000,gid=100", err), 0);
	CHECK(!strcmp(o.share[1].dir, "/srv/x:y") && !strcmp(o.share[1].tag, "data"));
	CHECK(o.share[1].ro && o.share[1].policy == P9_UID_PASSTHROUGH);
	CHECK(o.share[1].uid == 1000 && o.share[1].gid == 100);
	/* Empty HOSTDIR: a root only run-time grants fill. */
	CHECK_EQ(parse(&o, ":grants", err), 0);
	CHECK(!strcmp(o.share[2].dir, ""));
	CHECK_EQ(o.n, 3);

	/* Bad input: one line naming the option and the problem, nothing added. */
	CHECK_EQ(parse(&o, "/srv/a", err), -EINVAL);
	CHECK(strstr(err, "--share '/srv/a': expected HOSTDIR:TAG") != NULL);
	CHECK_EQ(parse(&o, "/srv/a:", err), -EINVAL);
	CHECK(strstr(err, "bad tag ''") != NULL);
	CHECK_EQ(parse(&o, "/srv/a:a/b", err), -EINVAL);
	CHECK_EQ(parse(&o, "/srv/a:..", err), -EINVAL);
	CHECK_EQ(parse(&o, "/srv/a:-x", err), -EINVAL);
	CHECK_EQ(parse(&o, "/srv/a:0123456789012345678901234567890123456789012345678901234567890123456789", err),
		 -EINVAL);
	CHECK_EQ(parse(&o, "/srv/b:src", err), -EINVAL);
	CHECK(strstr(err, "tag 'src' already used") != NULL);
	CHECK_EQ(parse(&o, "/srv/b:t,rw", err), -EINVAL);
	CHECK(strstr(err, "unknown flag 'rw'") != NULL);
	CHECK_EQ(parse(&o, "/srv/b:t,security=none", err), -EINVAL);
	CHECK_EQ(parse(&o, "/srv/b:t,uid=-1", err), -EINVAL);
	CHECK(strstr(err, "uid='-1'") != NULL);
	CHECK_EQ(parse(&o, "/srv/b:t,gid=4294967295", err), -EINVAL);
	CHECK(strchr(err, '\n') == NULL);
	CHECK_EQ(o.n, 3);
	for (unsigned i = 3; i < P9DEV_MAX_SHARES; i++) {
		char v[32];
		snprintf(v, sizeof(v), "/d:t%u", i);
		CHECK_EQ(parse(&o, v, err), 0);
	}
	CHECK_EQ(parse(&o, "/d:one_more", err), -EINVAL);
	CHECK(strstr(err, "too many shares") != NULL);
}

/* ---- the device on a fake ring ---- */

/* Encode a 9P message into guest memory at gpa: fmt as in p9_test.c (b w d
 * q ints, s string). Returns its length. */
static uint32_t put_msg(uint64_t gpa, uint8_t type, const char *fmt, ...)
{
	uint8_t *m = r.mem + gpa;
	uint32_t n = 7;
	va_list ap;

	va_start(ap, fmt);
	for (const char *f = fmt; *f; f++) {
		uint64_t v = 0;
		int w = 0;
		if (*f == 's') {
			const char *s = va_arg(ap, const char *);
			uint16_t l = (uint16_t)strlen(s);
			memcpy(m + n, &l, 2);
			memcpy(m + n + 2, s, l);
			n += 2u + l;
			continue;
		}
		switch (*f) {
		case 'b': v = (uint8_t)va_arg(ap, int); w = 1; break;
		case 'w': v = (uint16_t)va_arg(ap, int); w = 2; break;
		case 'd': v = va_arg(ap, uint32_t); w = 4; break;
		case 'q': v = va_arg(ap, uint64_t); w = 8; break;
		}
		memcpy(m + n, &v, (size_t)w);  /* little-endian host */
		n += (uint32_t)w;
	}
	va_end(ap);
	memcpy(m, &n, 4);
	m[4] = type;
	m[5] = 1;
	m[6] = 0;
	return n;
}

static uint32_t le32_at(uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, r.mem + gpa, 4);
	return v;
}

/* Offer one chain of (gpa, len, writable) segments and serve it. Returns the
 * used length the device reported. */
static uint32_t serve(unsigned nseg, const uint64_t *gpa, const uint32_t *len, const bool *wr)
{
	uint16_t head = next_desc;
	uint32_t id = 0, used = 0;

	for (unsigned i = 0; i < nseg; i++) {
		uint16_t d = (uint16_t)(next_desc++ % r.size);
		fr_desc(&r, d, gpa[i], len[i], (uint16_t)((wr[i] ? VIRTQ_DESC_F_WRITE : 0) |
					(i + 1 < nseg ? VIRTQ_DESC_F_NEXT : 0)),
			(uint16_t)((d + 1) % r.size));
	}
	fr_avail(&r, (uint16_t)(head % r.size));
	p9_virtio_ops.queue_notify(dev, 0);
	fr_used(&r, (unsigned)(r.avail_idx - 1), &id, &used);
	CHECK_EQ(fr_used_idx(&r), r.avail_idx);
	CHECK_EQ(id, head % r.size);
	return used;
}

/* One request at 0x20000, reply into one 64 KiB buffer at 0x40000. */
static uint8_t call(uint32_t reqlen)
{
	uint64_t g[2] = { 0x20000, 0x40000 };
	uint32_t l[2] = { reqlen, 0x10000 };
	bool w[2] = { false, true };
	uint32_t used = serve(2, g, l, w);

	CHECK_EQ(used, le32_at(0x40000));
	return r.mem[0x40004];
}

static int rm_cb(const char *p, const struct stat *s, int f, struct FTW *w)
{
	return remove(p);
}

static void start(bool ro, const char *dir)
{
	struct p9dev_opts o = { 0 };
	struct dev_env env = { 0 };
	struct virtq_config c;
	char v[128], err[200];

	fr_init(&r, 16);
	next_desc = 0;
	env.gm = &r.gm;
	sig = (struct virtio_signal){ .irqfd = -1 };
	memset(&info, 0, sizeof(info));
	snprintf(v, sizeof(v), "%s:hostshare%s", dir, ro ? ",ro" : "");
	CHECK_EQ(p9dev_parse_share(&o, "--share", v, err, sizeof(err)), 0);
	CHECK_EQ(p9_virtio_ops.open(&dev, &o, 0, &env, &sig, &info), 0);
	c = fr_config(&r);
	CHECK_EQ(p9_virtio_ops.activate(dev, VIRTIO_BIT(VIRTIO_F_VERSION_1), &c, 1), 0);
	/* Tversion, Tattach fid 0 to the share (aname ""). */
	CHECK_EQ(call(put_msg(0x20000, TVERSION, "ds", 65536, "9P2000.L")), TVERSION + 1);
	CHECK_EQ(le32_at(0x40007), 65536);
	CHECK_EQ(call(put_msg(0x20000, TATTACH, "ddssd", 0, 0xffffffffu, "root", "", 0)), TATTACH + 1);
}

static void stop(void)
{
	p9_virtio_ops.close(dev);
	fr_free(&r);
}

static void make_tmp(void)
{
	strcpy(tmp, "/tmp/virtio_9p_test.XXXXXX");
	CHECK(mkdtemp(tmp) != NULL);
	char p[128];
	snprintf(p, sizeof(p), "%s/hello", tmp);
	int fd = open(p, O_WRONLY | O_CREAT, 0644);
	CHECK_EQ(write(fd, "hello, guest\n", 13), 13);
	close(fd);
}

static void config_and_features(void)
{
	make_tmp();
	start(false, tmp);
	CHECK_EQ(p9_virtio_ops.device_id, 9);
	CHECK(info.features & VIRTIO_BIT(VIRTIO_9P_MOUNT_TAG));
	CHECK(info.features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	/* struct virtio_9p_config: le16 tag_len, then the tag, no NUL. */
	CHECK_EQ(info.config_len, 2 + 9);
	CHECK(info.config[0] == 9 && info.config[1] == 0);
	CHECK(!memcmp(info.config + 2, "hostshare", 9));
	CHECK(strstr(info.name, "hostshare") != NULL);
	stop();
	nftw(tmp, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

/* The open() of a missing directory is the user's error (exit 2). */
static void open_errors(void)
{
	struct p9dev_opts o = { 0 };
	struct dev_env env = { 0 };
	char v[] = "/nonexistent/virtio_9p_test:t", err[200];
	int rc;

	fr_init(&r, 16);
	env.gm = &r.gm;
	CHECK_EQ(p9dev_parse_share(&o, "--share", v, err, sizeof(err)), 0);
	rc = p9_virtio_ops.open(&dev, &o, 0, &env, &sig, &info);
	CHECK(dev_error_is_input(rc));
	CHECK_EQ(dev_error_errno(rc), -ENOENT);
	fr_free(&r);
}

/* Linux's zero-copy layout: a Tread's reply split into an 11-byte header
 * buffer and the data pages; a Twrite's payload in its own readable
 * descriptor after the header. */
static void read_write_split(void)
{
	char p[128], buf[64] = { 0 };
	int fd;

	make_tmp();
	start(false, tmp);
	CHECK_EQ(call(put_msg(0x20000, TWALK, "ddws", 0, 1, 1, "hello")), TWALK + 1);
	CHECK_EQ(call(put_msg(0x20000, TLOPEN, "dd", 1, O_RDWR)), TLOPEN + 1);
	{
		uint64_t g[3] = { 0x20000, 0x40000, 0x50000 };
		uint32_t l[3] = { put_msg(0x20000, TREAD, "dqd", 1, 0, 4096), 11, 4096 };
		bool w[3] = { false, true, true };
		CHECK_EQ(serve(3, g, l, w), 11 + 13);
		CHECK_EQ(r.mem[0x40004], TREAD + 1);
		CHECK_EQ(le32_at(0x40007), 13);
		CHECK(!memcmp(r.mem + 0x50000, "hello, guest\n", 13));
	}
	{
		/* size[4] Twrite tag[2] fid[4] offset[8] count[4] | payload */
		uint32_t hl = put_msg(0x20000, TWRITE, "dqd", 1, 7, 4);
		uint32_t total = hl + 4;
		uint64_t g[3] = { 0x20000, 0x30000, 0x40000 };
		uint32_t l[3] = { hl, 4, 0x1000 };
		bool w[3] = { false, false, true };
		memcpy(r.mem + 0x20000, &total, 4);
		memcpy(r.mem + 0x30000, "host", 4);
		CHECK_EQ(serve(3, g, l, w), 11);
		CHECK_EQ(r.mem[0x40004], TWRITE + 1);
		CHECK_EQ(le32_at(0x40007), 4);
	}
	snprintf(p, sizeof(p), "%s/hello", tmp);
	fd = open(p, O_RDONLY);
	CHECK_EQ(read(fd, buf, sizeof(buf)), 13);
	close(fd);
	CHECK(!strcmp(buf, "hello, hostt\n"));
	CHECK_EQ(sig.needs_reset, 0);
	stop();
	nftw(tmp, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

/* ",ro" reaches the server: every mutation is EROFS, the host unchanged. */
static void read_only_share(void)
{
	struct stat st;
	char p[128];

	make_tmp();
	start(true, tmp);
	CHECK_EQ(call(put_msg(0x20000, TMKDIR, "dsdd", 0, "newdir", 0755, 0)), RLERROR);
	CHECK_EQ(le32_at(0x40007), EROFS);
	CHECK_EQ(call(put_msg(0x20000, TWALK, "ddws", 0, 1, 1, "hello")), TWALK + 1);
	CHECK_EQ(call(put_msg(0x20000, TLOPEN, "dd", 1, O_WRONLY)), RLERROR);
	CHECK_EQ(le32_at(0x40007), EROFS);
	snprintf(p, sizeof(p), "%s/newdir", tmp);
	CHECK(stat(p, &st) < 0 && errno == ENOENT);
	CHECK_EQ(sig.needs_reset, 0);
	stop();
	nftw(tmp, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

/* A chain with no readable bytes, one shorter than a header, or with a
 * writable part too small for an Rlerror: the driver is confused. The
 * chain still comes back (used length 0), the device asks for a reset and
 * serves nothing more until it gets one. */
static void malformed_chains(void)
{
	const uint32_t lens[3][2] = { { 0, 0x1000 }, { 5, 0x1000 }, { 0, 8 } };

	make_tmp();
	for (unsigned k = 0; k < 3; k++) {
		uint64_t g[2] = { 0x20000, 0x40000 };
		uint32_t l[2] = { lens[k][0], lens[k][1] };
		bool w[2] = { false, true };
		struct virtq_config c;

		start(false, tmp);
		if (k == 2)
			l[0] = put_msg(0x20000, TWALK, "ddws", 0, 1, 1, "hello");
		CHECK_EQ(serve(l[0] ? 2 : 1, l[0] ? g : g + 1, l[0] ? l : l + 1, l[0] ? w : w + 1), 0);
		CHECK_EQ(sig.needs_reset, 1);
		/* Broken until reset: a good request is not served. */
		put_msg(0x20000, TWALK, "ddws", 0, 2, 1, "hello");
		fr_desc(&r, 10, 0x20000, 0x100, VIRTQ_DESC_F_NEXT, 11);
		fr_desc(&r, 11, 0x40000, 0x1000, VIRTQ_DESC_F_WRITE, 0);
		fr_avail(&r, 10);
		p9_virtio_ops.queue_notify(dev, 0);
		CHECK_EQ(fr_used_idx(&r), 3);  /* Tversion, Tattach, the bad one */
		/* After a reset the device serves again. */
		p9_virtio_ops.reset(dev);
		sig.needs_reset = 0;
		fr_free(&r);
		fr_init(&r, 16);
		next_desc = 0;
		c = fr_config(&r);
		CHECK_EQ(p9_virtio_ops.activate(dev, VIRTIO_BIT(VIRTIO_F_VERSION_1), &c, 1), 0);
		CHECK_EQ(call(put_msg(0x20000, TVERSION, "ds", 8192, "9P2000.L")), TVERSION + 1);
		stop();
	}
	nftw(tmp, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

/* The whole session on a thread of its own, as the device host's worker. */
static void *session_thread(void *arg)
{
	start(false, tmp);
	CHECK_EQ(call(put_msg(0x20000, TMKDIR, "dsdd", 0, "shared", 0777, 0)), TMKDIR + 1);
	return arg;
}

/* Guest modes arrive with the guest's umask applied: the server creates
 * with umask 0, but only on its own thread; the process keeps its umask. */
static void private_umask(void)
{
	struct stat st;
	pthread_t t;
	char p[128];
	mode_t old = umask(022);

	make_tmp();
	CHECK_EQ(pthread_create(&t, NULL, session_thread, NULL), 0);
	pthread_join(t, NULL);
	snprintf(p, sizeof(p), "%s/shared", tmp);
	CHECK_EQ(stat(p, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0777);
	CHECK_EQ(umask(old), 022);
	stop();
	nftw(tmp, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static int ctl(const char *msg, int fd)
{
	return p9_virtio_ops.control(dev, msg, strlen(msg), fd);
}

/* Run-time grants through the control op: a directory fd plus one line
 * of text; the guest attaches with aname=NAME; a revoked grant's fids turn
 * stale; messages for another tag are passed on (-ENODEV). */
static void control_grants(void)
{
	char late[128], p[160];
	int fd;

	make_tmp();
	snprintf(late, sizeof(late), "%s/late", tmp);
	CHECK_EQ(mkdir(late, 0755), 0);
	snprintf(p, sizeof(p), "%s/granted", late);
	close(open(p, O_WRONLY | O_CREAT, 0644));
	fd = open(late, O_PATH | O_DIRECTORY);
	start(false, tmp);
	CHECK_EQ(call(put_msg(0x20000, TATTACH, "ddssd", 5, 0xffffffffu, "root", "late", 0)), RLERROR);
	CHECK_EQ(ctl("share othertag late rw", fd), -ENODEV);
	CHECK_EQ(ctl("share hostshare late rw", -1), -EINVAL);
	CHECK_EQ(ctl("share hostshare late maybe", fd), -EINVAL);
	CHECK_EQ(ctl("share hostshare ../x rw", fd), -EINVAL);
	CHECK_EQ(ctl("share hostshare late rw extra", fd), -EINVAL);
	CHECK_EQ(p9_virtio_ops.control(dev, "share\0hostshare late rw", 23, fd), -EINVAL);
	/* "-" addresses the first share, which this one is. */
	CHECK_EQ(ctl("share - late ro", fd), 0);
	CHECK_EQ(ctl("share hostshare late rw", fd), -EEXIST);
	CHECK_EQ(call(put_msg(0x20000, TATTACH, "ddssd", 5, 0xffffffffu, "root", "late", 0)), TATTACH + 1);
	CHECK_EQ(call(put_msg(0x20000, TWALK, "ddws", 5, 6, 1, "granted")), TWALK + 1);
	/* Granted read-only. */
	CHECK_EQ(call(put_msg(0x20000, TMKDIR, "dsdd", 5, "x", 0755, 0)), RLERROR);
	CHECK_EQ(le32_at(0x40007), EROFS);
	CHECK_EQ(ctl("unshare hostshare late", -1), 0);
	CHECK_EQ(ctl("unshare hostshare late", -1), -ENOENT);
	CHECK_EQ(call(put_msg(0x20000, TWALK, "ddws", 6, 7, 0, "")), RLERROR);
	CHECK_EQ(le32_at(0x40007), ESTALE);
	/* The share itself is untouched. */
	CHECK_EQ(call(put_msg(0x20000, TWALK, "ddws", 0, 8, 1, "hello")), TWALK + 1);
	close(fd);
	stop();
	nftw(tmp, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

/* The device process's filter (virtio_9p.policy): what the server calls is
 * allowed, and the arguments that would widen it are not. */
static uint32_t verdict(int nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a4)
{
	struct sock_filter *prog = NULL;
	size_t len = 0;
	struct seccomp_data d = { .nr = nr, .arch = AUDIT_ARCH_X86_64, .args = { a0, a1, a2, 0, a4 } };
	uint32_t act;

	if (sandbox_policy(NULL, "virtio_9p", &prog, &len, NULL, 0) < 0)
		return 0xdeadbeef;
	act = scbpf_interp_run(prog, len, &d, NULL) & SECCOMP_RET_ACTION_FULL;
	free(prog);
	return act;
}

static void policy(void)
{
	CHECK_EQ(verdict(SYS_openat2, 3, 0, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(verdict(SYS_mkdirat, 3, 0, 0755, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(verdict(SYS_unlinkat, 3, 0, AT_REMOVEDIR, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(verdict(SYS_unshare, CLONE_FS, 0, 0, 0), SECCOMP_RET_ALLOW);
	/* Only the fs_struct: no new namespaces from the device. */
	CHECK_EQ(verdict(SYS_unshare, CLONE_NEWUSER, 0, 0, 0), SECCOMP_RET_KILL_PROCESS);
	/* linkat never follows a guest-made link (AT_SYMLINK_FOLLOW). */
	CHECK_EQ(verdict(SYS_linkat, 3, 0, 3, AT_SYMLINK_FOLLOW), SECCOMP_RET_KILL_PROCESS);
	CHECK_EQ(verdict(SYS_linkat, 3, 0, 3, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(verdict(SYS_execve, 0, 0, 0, 0), SECCOMP_RET_KILL_PROCESS);
	CHECK_EQ(verdict(SYS_socket, AF_INET, 1, 0, 0), SECCOMP_RET_KILL_PROCESS);
}

int main(void)
{
	t_suite = "virtio_9p";
	log_level = LOG_ERR;
	RUN(options);
	RUN(config_and_features);
	RUN(open_errors);
	RUN(read_write_split);
	RUN(read_only_share);
	RUN(malformed_chains);
	RUN(private_umask);
	RUN(control_grants);
	RUN(policy);
	return t_done();
}
