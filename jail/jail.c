/* Namespace jail; order of the child's setup steps in jail.h and
 * docs/SANDBOX.md.
 *
 * jail_run() clones the child straight into its namespaces (it becomes pid
 * 1 of a new pid namespace) and execs; between clone and exec only raw
 * syscalls and snprintf run, nothing that depends on libc's per-thread
 * state. jail_fork() returns into caller code, so it uses libc's fork() and
 * unshare() (libc's cached thread id stays right); a pid namespace then
 * needs a second fork, with the middle process reaping and mirroring the
 * jailed process's exit. */
#include "jail/jail.h"
#include "jail/jail_mount.h"
#include "seccomp-bpf/scbpf_bpf.h"
#include "seccomp-bpf/scbpf_policy.h"
#include "seccomp-bpf/scbpf.h"
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exit status of a child whose setup failed (s6/tini convention: 111). */
#define JAIL_SETUP_FAILED 111
/* The ids "nobody"/"nogroup" a root caller's jail maps uid/gid 0 to. */
#define JAIL_NOBODY 65534

struct jail_map {
	uint32_t inside, outside, count;
};

struct jail_bindspec {
	char *src, *dst;
	int writable;
};

struct jail {
	int flags;                   /* CLONE_NEW* */
	char hostname[65];
	int set_hostname;
	struct jail_map uid_map[JAIL_MAX_MAPS], gid_map[JAIL_MAX_MAPS];
	int nuid_map, ngid_map;
	int root_tmpfs;
	struct jail_bindspec binds[JAIL_MAX_BINDS];
	int nbinds;
	int change_uid, change_gid;
	uid_t uid;
	gid_t gid;
	struct { int res; struct rlimit lim; } rlimits[JAIL_MAX_RLIMITS];
	int nrlimits;
	int keep[JAIL_MAX_KEEP_FDS];
	int nkeep;
	struct sock_filter *filter;
	size_t filter_len;
	int trace;
	int violation;
	int viol_fd;                 /* jail_fork + pid ns: the reaper's report */
	pid_t jailed_pid;            /* jail_fork: the jailed process (not its reaper) */
	int exec_failed;
	char error[256];
};

/* What a failing child sends back: the step and its errno. */
struct jail_report {
	int err;
	int exec;          /* the failing step was the final execve */
	char step[200];
};

/* Per-run state of the setup code. */
struct jail_ctx {
	int report_fd;     /* write end of the report pipe, -1 for jail_enter */
	int in_pidns;      /* this process is pid 1 of the jail's pid namespace */
	int exec;          /* jail_run: kept fds lose FD_CLOEXEC */
	int pdeathsig;     /* jail_fork: SIGKILL when the parent dies */
	pid_t ppid;        /* the parent pdeathsig watches, 0: not visible (pid ns) */
	struct jail_report rep;
};

struct jail *jail_new(void)
{
	struct jail *j = calloc(1, sizeof(*j));

	if (j) {
		j->violation = -1;
		j->viol_fd = -1;
		j->jailed_pid = -1;
	}
	return j;
}

void jail_destroy(struct jail *j)
{
	if (!j)
		return;
	for (int i = 0; i < j->nbinds; i++) {
		free(j->binds[i].src);
		free(j->binds[i].dst);
	}
	free(j->filter);
	if (j->viol_fd >= 0)
		close(j->viol_fd);
	free(j);
}

int jail_namespace_user(struct jail *j) { j->flags |= CLONE_NEWUSER; return 0; }
/* A pid namespace needs its own /proc, hence its own mount namespace. */
int jail_namespace_pid(struct jail *j) { j->flags |= CLONE_NEWPID | CLONE_NEWNS; return 0; }
int jail_namespace_mount(struct jail *j) { j->flags |= CLONE_NEWNS; return 0; }
int jail_namespace_net(struct jail *j) { j->flags |= CLONE_NEWNET; return 0; }
int jail_namespace_ipc(struct jail *j) { j->flags |= CLONE_NEWIPC; return 0; }
int jail_namespace_cgroup(struct jail *j) { j->flags |= CLONE_NEWCGROUP; return 0; }

int jail_namespace_uts(struct jail *j, const char *hostname)
{
	if (hostname) {
		if (strlen(hostname) >= sizeof(j->hostname) || !*hostname)
			return -EINVAL;
		strcpy(j->hostname, hostname);
		j->set_hostname = 1;
	}
	j->flags |= CLONE_NEWUTS;
	return 0;
}

static int jail_add_map(struct jail_map *m, int *n, uint32_t inside, uint32_t outside, uint32_t count)
{
	if (count == 0 || inside + (uint64_t)count > UINT32_MAX || outside + (uint64_t)count > UINT32_MAX)
		return -EINVAL;
	if (*n >= JAIL_MAX_MAPS)
		return -ENOSPC;
	m[(*n)++] = (struct jail_map){ inside, outside, count };
	return 0;
}

int jail_uid_map(struct jail *j, uint32_t inside, uint32_t outside, uint32_t count)
{
	j->flags |= CLONE_NEWUSER;
	return jail_add_map(j->uid_map, &j->nuid_map, inside, outside, count);
}

int jail_gid_map(struct jail *j, uint32_t inside, uint32_t outside, uint32_t count)
{
	j->flags |= CLONE_NEWUSER;
	return jail_add_map(j->gid_map, &j->ngid_map, inside, outside, count);
}

int jail_root_tmpfs(struct jail *j)
{
	j->root_tmpfs = 1;
	j->flags |= CLONE_NEWNS;
	return 0;
}

/* Absolute, no "." or ".." components, not just "/". */
static int jail_path_ok(const char *p)
{
	if (p[0] != '/' || !p[1] || strlen(p) >= 1024)
		return 0;
	for (const char *s = p; *s;) {
		while (*s == '/')
			s++;
		size_t l = strcspn(s, "/");
		if ((l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		s += l;
	}
	return 1;
}

int jail_bind(struct jail *j, const char *src, const char *dst, int writable)
{
	if (!src || !*src || !dst || !jail_path_ok(dst) || strlen(src) >= 1024)
		return -EINVAL;
	if (j->nbinds >= JAIL_MAX_BINDS)
		return -ENOSPC;
	struct jail_bindspec *b = &j->binds[j->nbinds];
	b->src = strdup(src);
	b->dst = strdup(dst);
	if (!b->src || !b->dst) {
		free(b->src);
		free(b->dst);
		return -ENOMEM;
	}
	b->writable = !!writable;
	j->nbinds++;
	return jail_root_tmpfs(j);
}

int jail_mount_dev(struct jail *j)
{
	static const char *const nodes[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom" };
	int r;

	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		if ((r = jail_bind(j, nodes[i], nodes[i], 0)) < 0)
			return r;
	return 0;
}

int jail_change_uid(struct jail *j, uid_t uid)
{
	if (uid == (uid_t)-1)
		return -EINVAL;
	j->uid = uid;
	j->change_uid = 1;
	return 0;
}

int jail_change_gid(struct jail *j, gid_t gid)
{
	if (gid == (gid_t)-1)
		return -EINVAL;
	j->gid = gid;
	j->change_gid = 1;
	return 0;
}

int jail_rlimit(struct jail *j, int resource, rlim_t cur, rlim_t max)
{
	if (resource < 0 || resource >= RLIMIT_NLIMITS || cur > max)
		return -EINVAL;
	if (j->nrlimits >= JAIL_MAX_RLIMITS)
		return -ENOSPC;
	j->rlimits[j->nrlimits].res = resource;
	j->rlimits[j->nrlimits].lim = (struct rlimit){ cur, max };
	j->nrlimits++;
	return 0;
}

int jail_keep_fd(struct jail *j, int fd)
{
	if (fd < 0)
		return -EBADF;
	for (int i = 0; i < j->nkeep; i++)
		if (j->keep[i] == fd)
			return 0;
	if (j->nkeep >= JAIL_MAX_KEEP_FDS)
		return -ENOSPC;
	j->keep[j->nkeep++] = fd;
	return 0;
}

int jail_seccomp_filter(struct jail *j, const struct sock_filter *prog, size_t len)
{
	struct sock_filter *copy;

	if (len == 0)
		return -EINVAL;
	if (len > SCBPF_MAX_INSNS)
		return -E2BIG;
	copy = malloc(len * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, prog, len * sizeof(*copy));
	free(j->filter);
	j->filter = copy;
	j->filter_len = len;
	return 0;
}

int jail_policy_compile(const char *path, struct sock_filter **out, size_t *len, char *msg, size_t msglen)
{
	struct scbpf_policy p;
	struct scbpf_policy_err err;
	struct sock_filter *prog = malloc(SCBPF_MAX_INSNS * sizeof(*prog));
	int r, n;

	if (!prog)
		return -ENOMEM;
	scbpf_policy_init(&p);
	r = scbpf_policy_parse_file(&p, path, NULL, NULL, &err);
	n = r ? r : scbpf_compile(&p, prog, SCBPF_MAX_INSNS, &err);
	scbpf_policy_free(&p);
	if (n < 0) {
		if (msg && msglen)
			snprintf(msg, msglen, "%s", err.msg);
		free(prog);
		return n == -E2BIG ? -EINVAL : n;
	}
	*out = prog;
	*len = (size_t)n;
	return 0;
}

int jail_seccomp_policy(struct jail *j, const char *path, char *msg, size_t msglen)
{
	struct sock_filter *prog;
	size_t len;
	int r = jail_policy_compile(path, &prog, &len, msg, msglen);

	if (r < 0)
		return r;
	r = jail_seccomp_filter(j, prog, len);
	free(prog);
	return r;
}

int jail_report_violations(struct jail *j)
{
	j->trace = 1;
	return 0;
}

int jail_violation(const struct jail *j)
{
	return j->violation;
}

const char *jail_error(const struct jail *j)
{
	return j->error;
}

int jail_exec_failed(const struct jail *j)
{
	return j->exec_failed;
}

/* Record a failed step; returns -1 so callers can "return jail_fail(...)". */
__attribute__((format(printf, 3, 4)))
static int jail_fail(struct jail_ctx *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->rep.step, sizeof(c->rep.step), fmt, ap);
	va_end(ap);
	c->rep.err = err ? err : EIO;
	return -1;
}

static int jail_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, len);
	int e = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	close(fd);
	return e;
}

static void jail_map_text(const struct jail_map *m, int n, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (int i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%u %u %u\n", m[i].inside, m[i].outside, m[i].count);
}

/* Write the uid/gid maps of process pid (0: this process) from the
 * caller's side. The default maps the jail's 0 to nobody for a root caller
 * (uid 0 outside would own every root file and /proc/sys entry), else to
 * the caller's own ids, the only mapping an unprivileged caller may write. */
static int jail_write_maps(const struct jail *j, pid_t pid, char *what, size_t whatlen)
{
	struct jail_map um[JAIL_MAX_MAPS + 1], gm[JAIL_MAX_MAPS + 1];
	int nu = j->nuid_map, ng = j->ngid_map, root = geteuid() == 0, r;
	char path[64], text[256];

	memcpy(um, j->uid_map, sizeof(j->uid_map));
	memcpy(gm, j->gid_map, sizeof(j->gid_map));
	if (!nu) {
		um[nu++] = (struct jail_map){ 0, root ? JAIL_NOBODY : (uint32_t)geteuid(), 1 };
		if (root && j->change_uid && j->uid != 0 && j->uid != JAIL_NOBODY)
			um[nu++] = (struct jail_map){ j->uid, j->uid, 1 };
	}
	if (!ng) {
		gm[ng++] = (struct jail_map){ 0, root ? JAIL_NOBODY : (uint32_t)getegid(), 1 };
		if (root && j->change_gid && j->gid != 0 && j->gid != JAIL_NOBODY)
			gm[ng++] = (struct jail_map){ j->gid, j->gid, 1 };
	}
	/* An unprivileged writer must give up setgroups() first
	 * (user_namespaces(7)); root keeps it so the jail can drop the
	 * supplementary groups it inherited. */
	if (!root) {
		snprintf(path, sizeof(path), pid ? "/proc/%d/setgroups" : "/proc/self/setgroups", (int)pid);
		if ((r = jail_write_file(path, "deny")) < 0) {
			snprintf(what, whatlen, "write %s", path);
			return r;
		}
	}
	snprintf(path, sizeof(path), pid ? "/proc/%d/uid_map" : "/proc/self/uid_map", (int)pid);
	jail_map_text(um, nu, text, sizeof(text));
	if ((r = jail_write_file(path, text)) < 0) {
		snprintf(what, whatlen, "write %s", path);
		return r;
	}
	snprintf(path, sizeof(path), pid ? "/proc/%d/gid_map" : "/proc/self/gid_map", (int)pid);
	jail_map_text(gm, ng, text, sizeof(text));
	if ((r = jail_write_file(path, text)) < 0) {
		snprintf(what, whatlen, "write %s", path);
		return r;
	}
	return 0;
}

/* lstat(path) must not be a symlink: a bind source's contents may be
 * hostile (a writable bind an earlier jail filled), and a symlink in a
 * nested mountpoint would lead mkdir/move_mount outside the new root. */
static int jail_no_symlink(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return -errno;
	return S_ISLNK(st.st_mode) ? -ELOOP : 0;
}

/* mkdir -p of the parent directories of rel (relative to the cwd),
 * refusing to pass through symlinks. */
static int jail_mkdirs(const char *rel)
{
	char buf[1024];
	size_t len = strlen(rel);
	int r;

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, rel, len + 1);
	for (char *s = buf; (s = strchr(s, '/')); s++) {
		*s = 0;
		if (buf[0] && mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		if (buf[0] && (r = jail_no_symlink(buf)) < 0)
			return r;
		*s = '/';
	}
	return 0;
}

/* Mount ID, parent ID and mount point of one proc(5) mountinfo line
 * ("ID PARENT MAJ:MIN ROOT MOUNTPOINT ..."). Parsed by hand, not sscanf:
 * the guest agents link this library and scanf would add musl's ~15 KiB
 * float scanner to binaries that must stay under 100 KiB (docs/AGENTS.md).
 * 0, or -EINVAL for a malformed line or a mount point longer than n - 1. */
static int jail_mountinfo_line(const char *p, int *id, int *parent, char *mp, size_t n)
{
	int *num[2] = { id, parent };
	size_t l;

	for (int k = 0; k < 2; k++) {
		long v = 0;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++)
			if ((v = v * 10 + (*p - '0')) > 0x7fffffff)
				return -EINVAL;
		*num[k] = (int)v;
		if (*p++ != ' ')
			return -EINVAL;
	}
	for (int k = 0; k < 2; k++) {  /* MAJ:MIN and ROOT */
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	l = strcspn(p, " \n");
	if (!l || l >= n)
		return -EINVAL;
	memcpy(mp, p, l);
	mp[l] = 0;
	return 0;
}

/* Whether the root of this mount namespace is rootfs (the host booted from
 * an initramfs and never switched root): a mount that is its own parent,
 * which pivot_root(2) refuses with EINVAL (fs/namespace.c: the root must
 * have a parent). mountinfo lines are "ID PARENT MAJ:MIN ROOT MOUNTPOINT
 * ..." (proc(5)); the kernel prints the namespace's root mount first. When
 * it is rootfs, every mount on it is detached (MNT_DETACH takes their
 * submounts along), as runc's no-pivot mode does, so the jail's mount
 * namespace holds nothing of the host's but rootfs itself, buried under
 * the new root. Mounts a user namespace inherited are locked to their
 * parent (mount_namespaces(7)) and stay: EINVAL is ignored, the new root
 * covers them all the same. Returns 1 rootfs, 0 not (or no /proc), or
 * -errno. Only raw syscalls: jail_run()'s child runs this. */
static int jail_rootfs_detach(void)
{
	char buf[65536], mp[1024];
	size_t len = 0;
	ssize_t n;
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC), root_id = -1, id, parent;

	if (fd < 0)
		return 0;
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	for (char *line = buf, *end; *line; line = end) {
		end = strchr(line, '\n');
		end = end ? end + 1 : line + strlen(line);
		if (jail_mountinfo_line(line, &id, &parent, mp, sizeof(mp)) < 0)
			continue;
		if (root_id < 0) {
			if (strcmp(mp, "/") || id != parent)
				return 0;
			root_id = id;
		} else if (parent == root_id && strcmp(mp, "/") && umount2(mp, MNT_DETACH) < 0 &&
			   errno != EINVAL && errno != ENOENT) {
			return -errno;
		}
	}
	return root_id >= 0;
}

/* Empty tmpfs root with the binds and /proc, then pivot_root into it, or
 * where / is rootfs, move it over / and chroot (docs/SANDBOX.md). */
static int jail_setup_root(const struct jail *j, struct jail_ctx *c)
{
	static const char *const stages[] = { "/tmp", "/mnt", "/dev" };
	int trees[JAIL_MAX_BINDS], r, rootfs;
	const char *stage = NULL;
	struct stat st;

	/* Clone every source first: the tmpfs mounted below cannot hide one,
	 * and detaching the host's mounts (rootfs) cannot take one away. */
	for (int i = 0; i < j->nbinds; i++) {
		trees[i] = jail_mount_clone_tree(j->binds[i].src);
		if (trees[i] < 0)
			return jail_fail(c, -trees[i], "bind %s", j->binds[i].src);
		if ((r = jail_mount_restrict(trees[i], !j->binds[i].writable)) < 0)
			return jail_fail(c, -r, "restrict bind %s", j->binds[i].src);
	}
	if ((rootfs = jail_rootfs_detach()) < 0)
		return jail_fail(c, -rootfs, "detach the host's mounts from rootfs");
	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]) && !stage; i++)
		if (stat(stages[i], &st) == 0 && S_ISDIR(st.st_mode))
			stage = stages[i];
	if (!stage)
		return jail_fail(c, ENOENT, "find a directory to build the root in (/tmp, /mnt, /dev)");
	if (mount("jail", stage, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0)
		return jail_fail(c, errno, "mount tmpfs root on %s", stage);
	if (chdir(stage) < 0)
		return jail_fail(c, errno, "chdir %s", stage);
	for (int i = 0; i < j->nbinds; i++) {
		const char *rel = j->binds[i].dst;
		while (*rel == '/')
			rel++;
		if ((r = jail_mkdirs(rel)) < 0)
			return jail_fail(c, -r, "mountpoint %s", j->binds[i].dst);
		if (fstat(trees[i], &st) < 0)
			return jail_fail(c, errno, "stat bind %s", j->binds[i].src);
		if (S_ISDIR(st.st_mode)) {
			if (mkdir(rel, 0755) < 0 && errno != EEXIST)
				return jail_fail(c, errno, "mountpoint %s", j->binds[i].dst);
		} else {
			int fd = open(rel, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd < 0)
				return jail_fail(c, errno, "mountpoint %s", j->binds[i].dst);
			close(fd);
		}
		if ((r = jail_no_symlink(rel)) < 0)
			return jail_fail(c, -r, "mountpoint %s", j->binds[i].dst);
		if ((r = jail_mount_attach(trees[i], rel)) < 0)
			return jail_fail(c, -r, "attach bind %s at %s", j->binds[i].src, j->binds[i].dst);
		close(trees[i]);
	}
	/* A fresh, read-only procfs for the new pid namespace: read-only so
	 * /proc/sys and /proc/<pid>/ knobs cannot be written. */
	if (c->in_pidns) {
		if (mkdir("proc", 0555) < 0 && errno != EEXIST)
			return jail_fail(c, errno, "mkdir /proc");
		if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) < 0)
			return jail_fail(c, errno, "mount /proc");
	}
	if (rootfs) {
		/* rootfs cannot be pivoted or unmounted: switch_root(8)'s way
		 * instead. The new root is moved over / and becomes this
		 * process's root and cwd; rootfs stays below it, reachable only
		 * by a ".." past the process root (the path walk stops there),
		 * a chroot out of it (CAP_SYS_CHROOT, dropped below), an
		 * unmount of the new root (CAP_SYS_ADMIN, dropped) or an fd
		 * opened before (none: the bind trees are closed, every fd
		 * not on the keep-list is closed before the caller runs). The
		 * mount namespace is private, so nothing propagates back. */
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
			return jail_fail(c, errno, "move the new root over rootfs");
		if (chroot(".") < 0)
			return jail_fail(c, errno, "chroot into the new root");
	} else {
		/* pivot_root(".", ".") stacks the old root on the new one;
		 * detaching the top of "." then drops the old root
		 * (pivot_root(2) NOTES). */
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			return jail_fail(c, errno, "pivot_root");
		if (umount2(".", MNT_DETACH) < 0)
			return jail_fail(c, errno, "detach old root");
	}
	if (chdir("/") < 0)
		return jail_fail(c, errno, "chdir /");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		return jail_fail(c, errno, "remount root read-only");
	return 0;
}

static int jail_capget_effective(uint64_t *eff)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	*eff = data[0].effective | (uint64_t)data[1].effective << 32;
	return 0;
}

/* Bounding and ambient sets, securebits, uid/gid, then every set cleared.
 * Without CAP_SETPCAP (an unprivileged caller and no user namespace) the
 * bounding set cannot shrink, and need not: no_new_privs, set next, keeps
 * exec from ever gaining a capability. */
static int jail_drop_privs(const struct jail *j, struct jail_ctx *c)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	uint64_t eff = 0;

	if (jail_capget_effective(&eff) < 0)
		return jail_fail(c, errno, "capget");
	if (eff & (1ull << CAP_SETPCAP)) {
		for (int cap = 0; cap < 64; cap++)
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
				if (errno == EINVAL)
					break; /* past CAP_LAST_CAP */
				return jail_fail(c, errno, "drop bounding capability %d", cap);
			}
		/* uid 0 gets no capabilities at exec, uid changes never
		 * touch them, ambient ones cannot be raised: all locked. */
		if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			  SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
			  SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, 0, 0, 0) < 0)
			return jail_fail(c, errno, "lock securebits");
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return jail_fail(c, errno, "clear ambient capabilities");
	if (j->change_gid) {
		if (setgroups(0, NULL) < 0 && !(errno == EPERM && (j->flags & CLONE_NEWUSER)))
			return jail_fail(c, errno, "setgroups");
		if (setresgid(j->gid, j->gid, j->gid) < 0)
			return jail_fail(c, errno, "setresgid %u", (unsigned)j->gid);
	}
	if (j->change_uid && setresuid(j->uid, j->uid, j->uid) < 0)
		return jail_fail(c, errno, "setresuid %u", (unsigned)j->uid);
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return jail_fail(c, errno, "clear capabilities");
	return 0;
}

/* Close every fd but the keep-list and the report pipe. */
static int jail_close_fds(const struct jail *j, struct jail_ctx *c)
{
	int keep[JAIL_MAX_KEEP_FDS + 1], n = 0;

	for (int i = 0; i < j->nkeep; i++) {
		if (fcntl(j->keep[i], F_GETFD) < 0)
			return jail_fail(c, errno, "keep fd %d", j->keep[i]);
		if (c->exec && fcntl(j->keep[i], F_SETFD, 0) < 0)
			return jail_fail(c, errno, "clear FD_CLOEXEC on fd %d", j->keep[i]);
		keep[n++] = j->keep[i];
	}
	if (c->report_fd >= 0)
		keep[n++] = c->report_fd;
	for (int i = 1; i < n; i++)
		for (int k = i; k > 0 && keep[k - 1] > keep[k]; k--) {
			int t = keep[k];
			keep[k] = keep[k - 1];
			keep[k - 1] = t;
		}
	unsigned lo = 0;
	for (int i = 0; i <= n; i++) {
		unsigned hi = i < n ? (unsigned)keep[i] : ~0u;
		if (i < n && hi < lo)
			continue; /* duplicate */
		if (hi > lo && syscall(SYS_close_range, lo, hi - 1 + (i == n), 0) < 0) {
			if (errno != ENOSYS)
				return jail_fail(c, errno, "close fds %u..%u", lo, hi - 1);
			struct rlimit rl;
			unsigned top = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (unsigned)rl.rlim_cur : 65536;
			for (unsigned fd = lo; fd < (i < n ? hi : top); fd++)
				close((int)fd);
		}
		if (i < n)
			lo = hi + 1;
	}
	return 0;
}

/* Everything after the namespaces exist; the process is inside them. */
static int jail_setup(const struct jail *j, struct jail_ctx *c)
{
	if (j->flags & CLONE_NEWUSER) {
		/* Become the jail's root so its capabilities are effective. */
		if (setresgid(0, 0, 0) < 0)
			return jail_fail(c, errno, "setresgid 0 in user namespace");
		if (setresuid(0, 0, 0) < 0)
			return jail_fail(c, errno, "setresuid 0 in user namespace");
		if (setgroups(0, NULL) < 0 && errno != EPERM)
			return jail_fail(c, errno, "setgroups in user namespace");
		/* No nested user namespace: one would hand the process a fresh
		 * full capability set (the limit is per user namespace). */
		int r = jail_write_file("/proc/sys/user/max_user_namespaces", "0");
		if (r < 0)
			return jail_fail(c, -r, "disable nested user namespaces");
	}
	if (j->flags & CLONE_NEWNS) {
		/* Nothing mounted in the jail propagates back to the host. */
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			return jail_fail(c, errno, "make mounts private");
	}
	if (j->root_tmpfs && jail_setup_root(j, c) < 0)
		return -1;
	/* Without a new root, the host's root gets a /proc of the new pid
	 * namespace instead (the mount namespace is private). */
	if (!j->root_tmpfs && c->in_pidns &&
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) < 0)
		return jail_fail(c, errno, "mount /proc");
	if (j->set_hostname && sethostname(j->hostname, strlen(j->hostname)) < 0)
		return jail_fail(c, errno, "sethostname");
	for (int i = 0; i < j->nrlimits; i++)
		if (setrlimit(j->rlimits[i].res, &j->rlimits[i].lim) < 0)
			return jail_fail(c, errno, "setrlimit %d", j->rlimits[i].res);
	if (jail_drop_privs(j, c) < 0)
		return -1;
	/* A jail_fork() child (a device process) must not outlive its parent
	 * (the reaper, or the VMM itself). Set after the uid change, which
	 * clears it (kernel/cred.c commit_creds). */
	if (c->pdeathsig && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return jail_fail(c, errno, "set parent-death signal");
	/* A parent that died before the line above sends no signal: the
	 * child has been reparented already (prctl(2), PR_SET_PDEATHSIG). In
	 * a pid namespace the parent (the reaper) is invisible; it traces
	 * this process with PTRACE_O_EXITKILL from before the setup, which
	 * covers its death at any moment. */
	if (c->pdeathsig && c->ppid && getppid() != c->ppid)
		return jail_fail(c, ESRCH, "parent died during setup");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return jail_fail(c, errno, "no_new_privs");
	if (jail_close_fds(j, c) < 0)
		return -1;
	if (j->filter) {
		struct sock_fprog prog = { (unsigned short)j->filter_len, j->filter };
		/* TSYNC: any other thread (jail_enter) gets the filter too, or
		 * the call fails naming the thread. */
		long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
		if (r < 0)
			return jail_fail(c, errno, "seccomp");
		if (r > 0)
			return jail_fail(c, EAGAIN, "seccomp TSYNC: thread %ld", r);
	}
	return 0;
}

static void jail_report_write(struct jail_ctx *c)
{
	if (c->report_fd >= 0) {
		ssize_t n = write(c->report_fd, &c->rep, sizeof(c->rep));
		(void)n;
	}
}

/* Parent: read the child's report; 0 when it closed the pipe without one. */
static int jail_report_read(struct jail *j, int fd)
{
	struct jail_report rep;
	ssize_t n;

	do
		n = read(fd, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(rep))
		return 0;
	rep.step[sizeof(rep.step) - 1] = 0;
	j->exec_failed = rep.exec;
	snprintf(j->error, sizeof(j->error), "%s: %s", rep.step, strerror(rep.err));
	return -(rep.err ? rep.err : EIO);
}

static int jail_seize(struct jail *j, pid_t pid)
{
	if (!j->trace)
		return 0;
	if (ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL) < 0) {
		int e = errno;
		snprintf(j->error, sizeof(j->error), "ptrace seize: %s", strerror(e));
		return -e;
	}
	return 0;
}

/* Parent side after the child exists: maps, tracing, release, report. */
static pid_t jail_parent(struct jail *j, pid_t pid, int rep_fd, int sync_fd, int maps, int trace)
{
	char what[96];
	int r = 0, st;

	if (maps && (r = jail_write_maps(j, pid, what, sizeof(what))) < 0)
		snprintf(j->error, sizeof(j->error), "%s: %s", what, strerror(-r));
	if (!r && trace)
		r = jail_seize(j, pid);
	if (!r && write(sync_fd, "g", 1) != 1) {
		r = -errno;
		snprintf(j->error, sizeof(j->error), "release child: %s", strerror(errno));
	}
	close(sync_fd);
	if (!r)
		r = jail_report_read(j, rep_fd);
	close(rep_fd);
	if (r < 0) {
		/* Our own child, never 0/-1: kill(2) would broadcast. */
		if (pid > 1)
			kill(pid, SIGKILL);
		jail_wait(j, pid, &st);
		return r;
	}
	return pid;
}

static int jail_wait_sync(int fd, struct jail_ctx *c)
{
	char b;
	ssize_t n;

	do
		n = read(fd, &b, 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n != 1)
		return jail_fail(c, n < 0 ? errno : EPIPE, "wait for the parent");
	return 0;
}

pid_t jail_run(struct jail *j, char *const argv[])
{
	int rep[2], sync[2];
	pid_t pid;

	if (!argv || !argv[0])
		return -EINVAL;
	j->error[0] = 0;
	j->violation = -1;
	j->exec_failed = 0;
	if (pipe2(rep, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(sync, O_CLOEXEC) < 0) {
		int e = -errno;
		close(rep[0]);
		close(rep[1]);
		return e;
	}
	/* Straight into every namespace: the child is pid 1 of a new pid
	 * namespace and the maps can be written before it goes on. */
	pid = (pid_t)syscall(SYS_clone, (unsigned long)j->flags | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid == 0) {
		struct jail_ctx c = { .report_fd = rep[1], .in_pidns = !!(j->flags & CLONE_NEWPID), .exec = 1 };
		close(rep[0]);
		close(sync[1]);
		if (jail_wait_sync(sync[0], &c) == 0 && jail_setup(j, &c) == 0) {
			execvp(argv[0], argv);
			jail_fail(&c, errno, "execve %s", argv[0]);
			c.rep.exec = 1;
		}
		jail_report_write(&c);
		_exit(JAIL_SETUP_FAILED);
	}
	close(rep[1]);
	close(sync[0]);
	if (pid < 0) {
		int e = -errno;
		snprintf(j->error, sizeof(j->error), "clone: %s", strerror(errno));
		close(rep[0]);
		close(sync[1]);
		return e;
	}
	return jail_parent(j, pid, rep[0], sync[1], !!(j->flags & CLONE_NEWUSER), 1);
}

/* Mirror a waitpid status as this process's own exit. */
static void jail_mirror_exit(int st)
{
	if (WIFSIGNALED(st)) {
		/* Die of the same signal, without a core file of our own. */
		struct rlimit none = { 0, 0 };
		setrlimit(RLIMIT_CORE, &none);
		signal(WTERMSIG(st), SIG_DFL);
		sigset_t all;
		sigfillset(&all);
		sigdelset(&all, WTERMSIG(st));
		sigprocmask(SIG_SETMASK, &all, NULL);
		raise(WTERMSIG(st)); /* this thread only: never a pid computation */
		_exit(128 + WTERMSIG(st));
	}
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : JAIL_SETUP_FAILED);
}

/* Child of jail_fork(): unshare into the namespaces and set up. Returns 0
 * in the jailed process; never returns in a pid-namespace reaper. */
/* The reaper's own filter: what jail_wait(), jail_mirror_exit() and the
 * libc under them call (musl and glibc), nothing else; kill-process for
 * the rest. Hand-written: it must not depend on a policy file. */
#define JAIL_ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
/* (sigaltstack: the sanitizer runtime of the unit tests.) */
static const struct sock_filter jail_reaper_filter[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SCBPF_AUDIT_ARCH, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	JAIL_ALLOW(SYS_wait4), JAIL_ALLOW(SYS_waitid), JAIL_ALLOW(SYS_ptrace), JAIL_ALLOW(SYS_write),
	JAIL_ALLOW(SYS_close), JAIL_ALLOW(SYS_exit), JAIL_ALLOW(SYS_exit_group), JAIL_ALLOW(SYS_rt_sigaction),
	JAIL_ALLOW(SYS_rt_sigprocmask), JAIL_ALLOW(SYS_rt_sigreturn), JAIL_ALLOW(SYS_restart_syscall),
	JAIL_ALLOW(SYS_setrlimit), JAIL_ALLOW(SYS_prlimit64), JAIL_ALLOW(SYS_getpid), JAIL_ALLOW(SYS_gettid),
	JAIL_ALLOW(SYS_tkill), JAIL_ALLOW(SYS_tgkill), JAIL_ALLOW(SYS_sigaltstack),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
};

/* The reaper keeps nothing it does not need: every capability (bounding
 * set included, where it may drop it), no_new_privs, its own filter. */
static int jail_reaper_lockdown(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = { 0 };
	struct sock_fprog prog = { sizeof(jail_reaper_filter) / sizeof(jail_reaper_filter[0]),
				   (struct sock_filter *)jail_reaper_filter };
	uint64_t eff = 0;

	if (jail_capget_effective(&eff) < 0)
		return -1;
	for (int cap = 0; cap < 64 && (eff & (1ull << CAP_SETPCAP)); cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break;
	if (syscall(SYS_capset, &hdr, data) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0 ? -1 : 0;
}

/* The reaper of jail_fork() with a pid namespace: traces the jailed
 * process (its child, so the caller cannot) with PTRACE_O_EXITKILL, so the
 * jailed process dies with it at any moment, sends the jailed pid and
 * later the violation up viol_fd, and dies the way the jailed process
 * did. go_fd releases the jailed process once it is seized. Before it
 * waits it drops every capability and installs jail_reaper_filter: no
 * unfiltered privileged process stays behind per jail. */
static void jail_reaper(struct jail *j, pid_t pid, int go_fd, int viol_fd)
{
	int st = 0;

	if (ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL) < 0)
		_exit(JAIL_SETUP_FAILED); /* the jailed process sees EOF on go_fd and fails */
	if (write(viol_fd, &pid, sizeof(pid)) != (ssize_t)sizeof(pid) || write(go_fd, "g", 1) != 1)
		_exit(JAIL_SETUP_FAILED);
	/* Keep only viol_fd, as fd 3. */
	if (viol_fd != 3 && dup2(viol_fd, 3) < 0)
		_exit(JAIL_SETUP_FAILED);
	if (syscall(SYS_close_range, 4, ~0u, 0) < 0)
		for (int fd = 4; fd < 1024; fd++)
			close(fd);
	if (jail_reaper_lockdown() < 0)
		_exit(JAIL_SETUP_FAILED);
	j->violation = -1;
	j->viol_fd = -1;
	if (jail_wait(j, pid, &st) < 0)
		_exit(JAIL_SETUP_FAILED);
	ssize_t n = write(3, &j->violation, sizeof(j->violation));
	(void)n;
	jail_mirror_exit(st);
}

/* Child of jail_fork(): unshare into the namespaces and set up. Returns 0
 * in the jailed process; never returns in a pid-namespace reaper. */
static int jail_fork_child(struct jail *j, pid_t parent, int rep_fd, int ready_fd, int sync_fd, int viol_fd)
{
	struct jail_ctx c = { .report_fd = rep_fd };

	if (j->flags & CLONE_NEWUSER) {
		if (unshare(CLONE_NEWUSER) < 0) {
			jail_fail(&c, errno, "unshare user namespace");
			goto fail;
		}
	}
	/* Tell the parent the user namespace exists (maps, tracing), wait. */
	if (write(ready_fd, "r", 1) != 1) {
		jail_fail(&c, errno, "signal the parent");
		goto fail;
	}
	close(ready_fd);
	if (jail_wait_sync(sync_fd, &c) < 0)
		goto fail;
	/* Die with the caller, the reaper included; a caller that died
	 * before the prctl is seen by getppid() (we are in its pid ns). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		jail_fail(&c, errno, "set parent-death signal");
		goto fail;
	}
	if (getppid() != parent) {
		jail_fail(&c, ESRCH, "parent died during setup");
		goto fail;
	}
	if (unshare(j->flags & ~CLONE_NEWUSER) < 0) {
		jail_fail(&c, errno, "unshare namespaces");
		goto fail;
	}
	if (j->flags & CLONE_NEWPID) {
		/* unshare(CLONE_NEWPID) only moves our children: fork the
		 * jailed process as pid 1 and stay behind as its reaper. */
		int go[2];
		if (pipe2(go, O_CLOEXEC) < 0) {
			jail_fail(&c, errno, "pipe");
			goto fail;
		}
		pid_t pid = fork();
		if (pid < 0) {
			jail_fail(&c, errno, "fork into the pid namespace");
			goto fail;
		}
		if (pid > 0) {
			close(rep_fd);
			close(go[0]);
			jail_reaper(j, pid, go[1], viol_fd);
		}
		close(viol_fd);
		close(go[1]);
		if (jail_wait_sync(go[0], &c) < 0)
			goto fail;
		c.in_pidns = 1;
	} else {
		c.ppid = parent;
	}
	c.pdeathsig = 1;
	if (jail_setup(j, &c) < 0)
		goto fail;
	close(rep_fd);
	return 0;
fail:
	jail_report_write(&c);
	_exit(JAIL_SETUP_FAILED);
}

pid_t jail_fork(struct jail *j)
{
	int rep[2], sync[2], ready[2], viol[2] = { -1, -1 };
	pid_t pid, parent = getpid();

	j->error[0] = 0;
	j->violation = -1;
	j->exec_failed = 0;
	j->jailed_pid = -1;
	if (j->viol_fd >= 0) {
		close(j->viol_fd);
		j->viol_fd = -1;
	}
	if (pipe2(rep, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(sync, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0 ||
	    ((j->flags & CLONE_NEWPID) && pipe2(viol, O_CLOEXEC) < 0)) {
		int e = -errno;
		close(rep[0]);
		close(rep[1]);
		return e;
	}
	pid = fork();
	if (pid == 0) {
		close(rep[0]);
		close(sync[1]);
		close(ready[0]);
		if (viol[0] >= 0)
			close(viol[0]);
		return jail_fork_child(j, parent, rep[1], ready[1], sync[0], viol[1]);
	}
	close(rep[1]);
	close(sync[0]);
	close(ready[1]);
	if (viol[1] >= 0)
		close(viol[1]);
	if (pid < 0) {
		int e = -errno;
		close(rep[0]);
		close(sync[1]);
		close(ready[0]);
		if (viol[0] >= 0)
			close(viol[0]);
		return e;
	}
	j->viol_fd = viol[0];
	char b;
	ssize_t n;
	do
		n = read(ready[0], &b, 1);
	while (n < 0 && errno == EINTR);
	close(ready[0]);
	if (n != 1) {
		/* The child failed before the handshake: its report says why. */
		close(sync[1]);
		int r = jail_report_read(j, rep[0]);
		close(rep[0]);
		int st;
		jail_wait(j, pid, &st);
		return r < 0 ? r : -EIO;
	}
	/* With a pid namespace the caller's child is the reaper, which traces
	 * the jailed process itself and reports over viol_fd: first the
	 * jailed pid, at the end the violation (jail_wait). */
	pid = jail_parent(j, pid, rep[0], sync[1], !!(j->flags & CLONE_NEWUSER), !(j->flags & CLONE_NEWPID));
	if (pid > 0) {
		j->jailed_pid = pid;
		if (j->viol_fd >= 0 && read(j->viol_fd, &j->jailed_pid, sizeof(j->jailed_pid)) != (ssize_t)sizeof(pid_t))
			j->jailed_pid = -1;
	}
	return pid;
}

pid_t jail_jailed_pid(const struct jail *j)
{
	return j->jailed_pid;
}

/* jail_enter()'s uid/gid maps: once this process is in the new user
 * namespace it has no capability left in the parent one, so a root caller
 * could only map uid 0 to itself (user_namespaces(7), "Defining user and
 * group ID mappings"). A helper forked beforehand stays outside and writes
 * the maps, as jail_run()'s parent does. Returns 0 or -errno (what names
 * the failing write). */
static int jail_enter_userns(const struct jail *j, char *what, size_t whatlen)
{
	int go[2], done[2], r = 0, st;
	pid_t me = getpid(), helper;
	char b;

	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0) {
		snprintf(what, whatlen, "pipe");
		return -errno;
	}
	helper = fork();
	if (helper < 0) {
		snprintf(what, whatlen, "fork the map writer");
		return -errno;
	}
	if (helper == 0) {
		close(go[1]);
		close(done[0]);
		if (read(go[0], &b, 1) != 1)
			_exit(1);
		r = jail_write_maps(j, me, what, whatlen);
		ssize_t n = write(done[1], &r, sizeof(r));
		if (r < 0 && n == (ssize_t)sizeof(r))
			n = write(done[1], what, whatlen);
		_exit(n < 0);
	}
	close(go[0]);
	close(done[1]);
	if (unshare(CLONE_NEWUSER) < 0) {
		r = -errno;
		snprintf(what, whatlen, "unshare user namespace");
	} else if (write(go[1], "g", 1) != 1) {
		r = -errno;
		snprintf(what, whatlen, "start the map writer");
	} else if (read(done[0], &r, sizeof(r)) != (ssize_t)sizeof(r)) {
		r = -EIO;
		snprintf(what, whatlen, "map writer died");
	} else if (r < 0 && read(done[0], what, whatlen) <= 0) {
		snprintf(what, whatlen, "write uid/gid maps");
	}
	what[whatlen - 1] = 0;
	close(go[1]);
	close(done[0]);
	while (waitpid(helper, &st, 0) < 0 && errno == EINTR)
		;
	return r;
}

void jail_enter(struct jail *j)
{
	struct jail_ctx c = { .report_fd = -1 };
	char what[96];
	int r;

	if (j->flags & CLONE_NEWPID) {
		fprintf(stderr, "jail: jail_enter: a pid namespace needs jail_run() or jail_fork()\n");
		abort();
	}
	if ((j->flags & CLONE_NEWUSER) && (r = jail_enter_userns(j, what, sizeof(what))) < 0) {
		fprintf(stderr, "jail: %s: %s\n", what, strerror(-r));
		abort();
	}
	if (unshare(j->flags & ~CLONE_NEWUSER) < 0) {
		fprintf(stderr, "jail: unshare namespaces: %s\n", strerror(errno));
		abort();
	}
	if (jail_setup(j, &c) < 0) {
		fprintf(stderr, "jail: %s: %s\n", c.rep.step, strerror(c.rep.err));
		abort();
	}
}

/* The syscall a stopped tracee was in, as seccomp saw it: number, PC and
 * the six arguments from the syscall ABI's registers (x86-64: nr in
 * orig_rax, args rdi rsi rdx r10 r8 r9; arm64: nr in x8, args x0-x5, read
 * with PTRACE_GETREGSET since arm64 has no PTRACE_GETREGS; x0 still holds
 * the first argument: the kill comes at syscall entry, before a return
 * value could overwrite it). */
static int jail_tracee_syscall(pid_t pid, struct seccomp_data *d)
{
	struct user_regs_struct regs;

	memset(d, 0, sizeof(*d));
	d->arch = SCBPF_AUDIT_ARCH;
#if defined(__aarch64__)
	struct iovec iov = { .iov_base = &regs, .iov_len = sizeof(regs) };

	if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &iov) < 0)
		return -errno;
	d->nr = (int)regs.regs[8];
	d->instruction_pointer = regs.pc;
	for (int i = 0; i < 6; i++)
		d->args[i] = regs.regs[i];
#else
	if (ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0)
		return -errno;
	d->nr = (int)regs.orig_rax;
	d->instruction_pointer = regs.rip;
	d->args[0] = regs.rdi;
	d->args[1] = regs.rsi;
	d->args[2] = regs.rdx;
	d->args[3] = regs.r10;
	d->args[4] = regs.r8;
	d->args[5] = regs.r9;
#endif
	return 0;
}

/* At the traced child's exit stop: if it is dying of SIGSYS, find the
 * syscall in its registers and keep it when the filter really kills it
 * (another thread may have been the culprit). */
static void jail_exit_stop(struct jail *j, pid_t pid)
{
	unsigned long msg = 0;
	struct seccomp_data d;

	if (ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg) < 0 || !WIFSIGNALED((int)msg) ||
	    WTERMSIG((int)msg) != SIGSYS)
		return;
	if (jail_tracee_syscall(pid, &d) < 0)
		return;
	if (!j->filter) {
		j->violation = d.nr;
		return;
	}
	uint32_t act = scbpf_interp_run(j->filter, j->filter_len, &d, NULL) & SECCOMP_RET_ACTION_FULL;
	if (act == SECCOMP_RET_KILL_PROCESS || act == SECCOMP_RET_KILL_THREAD || act == SECCOMP_RET_TRAP)
		j->violation = d.nr;
}

pid_t jail_wait(struct jail *j, pid_t pid, int *status)
{
	if (pid <= 0)
		return -EINVAL; /* one child, never "any" or a group */
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, __WALL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!WIFSTOPPED(st)) {
			/* A jail_fork() reaper wrote the violation before it died. */
			if (j->viol_fd >= 0) {
				int v;
				if (read(j->viol_fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
					j->violation = v;
				close(j->viol_fd);
				j->viol_fd = -1;
			}
			*status = st;
			return r;
		}
		int event = st >> 16;
		if (event == PTRACE_EVENT_EXIT) {
			jail_exit_stop(j, pid);
			ptrace(PTRACE_CONT, pid, 0, 0);
		} else if (event == PTRACE_EVENT_STOP) {
			/* Group stop of a seized tracee: stay stopped like an
			 * untraced process would, without blocking us. */
			ptrace(PTRACE_LISTEN, pid, 0, 0);
		} else {
			/* Signal-delivery stop: deliver it unchanged. */
			ptrace(PTRACE_CONT, pid, 0, WSTOPSIG(st));
		}
	}
}
