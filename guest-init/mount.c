#include "guest-init/mount.h"
#include "guest-init/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

struct mnt_base {
	enum init_mount_phase phase;
	const char *dir;
	const char *fstype;
	unsigned long flags;
	const char *data;
	bool required;
};

/* The fixed set. devpts: gid 5 (tty) and mode 620 as glibc's grantpt expects,
 * ptmxmode 666 so /dev/ptmx inside this instance is usable
 * (Documentation/filesystems/devpts.rst). */
static const struct mnt_base mnt_base[] = {
	{ INIT_MOUNT_EARLY, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, true },
	{ INIT_MOUNT_EARLY, "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, true },
	{ INIT_MOUNT_EARLY, "/dev", "devtmpfs", MS_NOSUID, "mode=0755", true },
	{ INIT_MOUNT_LATE, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	  "gid=5,mode=620,ptmxmode=666", true },
	{ INIT_MOUNT_LATE, "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", true },
	{ INIT_MOUNT_LATE, "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", false },
	{ INIT_MOUNT_LATE, "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", false },
	{ INIT_MOUNT_LATE, "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, false },
};

int init_mkdir_p(const char *path)
{
	char p[INIT_PATH_MAX];
	size_t l = strlen(path);

	if (l >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, path, l + 1);
	for (char *c = p + 1;; c++) {
		if (*c == '/' || !*c) {
			char save = *c;

			*c = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return -errno;
			*c = save;
			if (!save)
				break;
		}
	}
	return 0;
}

/* A directory is a mount point when its device differs from its parent's
 * (or it is the root itself). */
static bool mnt_is_mountpoint(const char *dir)
{
	char parent[INIT_PATH_MAX];
	struct stat a, b;
	const char *slash = strrchr(dir, '/');
	size_t l = slash ? (size_t)(slash - dir) : 0;

	if (l >= sizeof(parent) || stat(dir, &a) < 0)
		return false;
	memcpy(parent, dir, l);
	parent[l ? l : 1] = '\0';
	if (!l)
		parent[0] = '/';
	if (stat(parent, &b) < 0)
		return false;
	return a.st_dev != b.st_dev || (a.st_ino == b.st_ino && a.st_dev == b.st_dev);
}

/* Is fstype listed in /proc/filesystems ("nodev\tcgroup2")? */
static bool mnt_fs_available(const char *fstype)
{
	char buf[4096];
	int fd = open("/proc/filesystems", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	size_t l = strlen(fstype);

	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	for (char *p = buf; (p = strstr(p, fstype)); p += l)
		if ((p == buf || p[-1] == '\t' || p[-1] == ' ') && (p[l] == '\n' || !p[l]))
			return true;
	return false;
}

int init_mount_phase(enum init_mount_phase phase)
{
	int first_err = 0;

	for (size_t i = 0; i < sizeof(mnt_base) / sizeof(mnt_base[0]); i++) {
		const struct mnt_base *m = &mnt_base[i];
		int r;

		if (m->phase != phase)
			continue;
		if (!m->required && !mnt_fs_available(m->fstype)) {
			init_log(INIT_LOG_INFO, "%s: %s not supported by this kernel, skipped",
				 m->dir, m->fstype);
			continue;
		}
		r = init_mkdir_p(m->dir);
		if (!r && mnt_is_mountpoint(m->dir)) {
			init_log(INIT_LOG_DEBUG, "%s: already mounted", m->dir);
			continue;
		}
		if (!r && mount(m->fstype, m->dir, m->fstype, m->flags, m->data) < 0)
			r = -errno;
		if (!r) {
			init_log(INIT_LOG_DEBUG, "mounted %s on %s", m->fstype, m->dir);
			continue;
		}
		init_log(m->required ? INIT_LOG_ERR : INIT_LOG_WARN, "mount %s on %s failed: %s%s",
			 m->fstype, m->dir, strerror(-r), m->required ? "" : " (optional, continuing)");
		if (m->required && !first_err)
			first_err = r;
	}
	return first_err;
}

struct mnt_flag {
	const char *name;
	unsigned long set, clear;
};

static const struct mnt_flag mnt_flags[] = {
	{ "ro", MS_RDONLY, 0 }, { "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 }, { "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 }, { "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 }, { "exec", 0, MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS, 0 }, { "async", 0, MS_SYNCHRONOUS },
	{ "dirsync", MS_DIRSYNC, 0 },
	{ "noatime", MS_NOATIME, 0 }, { "atime", 0, MS_NOATIME },
	{ "nodiratime", MS_NODIRATIME, 0 },
	{ "relatime", MS_RELATIME, 0 }, { "strictatime", MS_STRICTATIME, 0 },
	{ "nofail", 0, 0 }, { "defaults", 0, 0 },
};

int init_mount_opts(const char *opts, unsigned long *flags, char *data, size_t n)
{
	size_t o = 0;

	*flags = 0;
	if (n)
		data[0] = '\0';
	while (opts && *opts) {
		const char *e = strchr(opts, ',');
		size_t l = e ? (size_t)(e - opts) : strlen(opts);
		bool known = false;

		for (size_t i = 0; l && i < sizeof(mnt_flags) / sizeof(mnt_flags[0]); i++) {
			if (strlen(mnt_flags[i].name) == l && !memcmp(mnt_flags[i].name, opts, l)) {
				*flags = (*flags | mnt_flags[i].set) & ~mnt_flags[i].clear;
				known = true;
				break;
			}
		}
		if (!known && l) {
			if (o + (o ? 1 : 0) + l + 1 > n)
				return -E2BIG;
			if (o)
				data[o++] = ',';
			memcpy(data + o, opts, l);
			o += l;
			data[o] = '\0';
		}
		opts = e ? e + 1 : opts + l;
	}
	return 0;
}

const char *init_mount_detect_buf(const unsigned char *b, size_t n)
{
	/* squashfs: s_magic "hsqs" at offset 0 (fs/squashfs/squashfs_fs.h). */
	if (n >= 4 && !memcmp(b, "hsqs", 4))
		return "squashfs";
	/* ext2/3/4: s_magic 0xEF53 little-endian at 1024 + 0x38
	 * (Documentation/filesystems/ext4/super.rst). */
	if (n >= 1024 + 0x3a && b[1024 + 0x38] == 0x53 && b[1024 + 0x39] == 0xef)
		return "ext4";
	errno = EINVAL;
	return NULL;
}

const char *init_mount_detect(const char *path)
{
	unsigned char b[2048];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = pread(fd, b, sizeof(b), 0);
	close(fd);
	if (n < 0)
		return NULL;
	return init_mount_detect_buf(b, (size_t)n);
}

int init_mount_entry(const struct init_mount_spec *m)
{
	bool optional = strstr(m->opts, "nofail") != NULL;
	const char *fstype = m->fstype[0] ? m->fstype : NULL;
	unsigned long flags;
	char data[256];
	int r = init_mount_opts(m->opts, &flags, data, sizeof(data));

	if (!r && !fstype && !(fstype = init_mount_detect(m->src)))
		r = -errno;
	if (!r)
		r = init_mkdir_p(m->dir);
	if (!r && mount(m->src, m->dir, fstype, flags, data[0] ? data : NULL) < 0)
		r = -errno;
	if (!r) {
		init_log(INIT_LOG_INFO, "mounted %s on %s (%s)", m->src, m->dir, fstype);
		return 0;
	}
	init_log(optional ? INIT_LOG_WARN : INIT_LOG_ERR, "init.mount %s:%s failed: %s%s",
		 m->src, m->dir, r == -EINVAL && !fstype ? "unknown filesystem (give FSTYPE)" :
		 strerror(-r), optional ? " (nofail, continuing)" : "");
	return r;
}

int init_mount_user(const struct init_config *cfg)
{
	int first_err = 0;

	for (unsigned i = 0; i < cfg->n_mounts; i++) {
		const struct init_mount_spec *m = &cfg->mounts[i];
		int r = init_mount_entry(m);

		if (r && !strstr(m->opts, "nofail") && !first_err)
			first_err = r;
	}
	return first_err;
}

/* Undo mountinfo's octal escapes (\040 for space, \011, \012, \134). */
static void mnt_unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

static int mnt_copy(char *d, size_t n, const char *s)
{
	size_t l = strlen(s);

	if (l >= n)
		return -1;
	memcpy(d, s, l + 1);
	return 0;
}

int init_mountinfo_parse(char *buf, struct init_mountinfo *mi, int max)
{
	int n = 0;
	char *save = NULL;

	for (char *line = strtok_r(buf, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		/* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw" */
		char *f[6], *sep, *fs, *src, *s2 = NULL;
		int i = 0;

		sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		for (char *t = strtok_r(line, " ", &s2); t && i < 6; t = strtok_r(NULL, " ", &s2))
			f[i++] = t;
		if (i < 5)
			continue;
		fs = strtok_r(sep + 3, " ", &s2);
		src = fs ? strtok_r(NULL, " ", &s2) : NULL;
		if (!fs)
			continue;
		mnt_unescape(f[4]);
		if (mnt_copy(mi[n].dir, sizeof(mi[n].dir), f[4]) ||
		    mnt_copy(mi[n].fstype, sizeof(mi[n].fstype), fs) ||
		    mnt_copy(mi[n].src, sizeof(mi[n].src), src ? src : ""))
			continue;
		n++;
	}
	return n;
}

static bool mnt_block_backed(const struct init_mountinfo *m)
{
	return !strncmp(m->src, "/dev/", 5) && strcmp(m->fstype, "devtmpfs") &&
	       strcmp(m->fstype, "tmpfs");
}

int init_umount_all(void)
{
	static char buf[64 * 1024];
	static struct init_mountinfo mi[256];
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	size_t have = 0;
	int n, failed = 0;

	if (fd < 0) {
		init_log(INIT_LOG_WARN, "cannot read /proc/self/mountinfo: %s; remounting / read-only only",
			 strerror(errno));
		if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
			return 1;
		return 0;
	}
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		if (have == sizeof(buf) - 1)
			break;
	}
	close(fd);
	buf[have] = '\0';
	n = init_mountinfo_parse(buf, mi, (int)(sizeof(mi) / sizeof(mi[0])));
	for (int i = n - 1; i >= 0; i--) {
		const struct init_mountinfo *m = &mi[i];

		if (!strcmp(m->dir, "/"))
			continue;
		if (umount2(m->dir, 0) == 0 || errno == EINVAL || errno == ENOENT)
			continue;
		if (errno != EBUSY) {
			init_log(INIT_LOG_WARN, "umount %s: %s", m->dir, strerror(errno));
			failed++;
			continue;
		}
		if (mnt_block_backed(m)) {
			if (mount(NULL, m->dir, NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0) {
				init_log(INIT_LOG_WARN, "%s busy, read-only remount failed: %s",
					 m->dir, strerror(errno));
				failed++;
			} else {
				init_log(INIT_LOG_INFO, "%s busy, remounted read-only", m->dir);
			}
		} else if (umount2(m->dir, MNT_DETACH) < 0) {
			init_log(INIT_LOG_WARN, "%s busy, detach failed: %s", m->dir, strerror(errno));
			failed++;
		}
	}
	for (int i = 0; i < n; i++) {
		if (strcmp(mi[i].dir, "/") || !mnt_block_backed(&mi[i]))
			continue;
		if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0 && errno != EROFS) {
			init_log(INIT_LOG_WARN, "remount / read-only: %s", strerror(errno));
			failed++;
		}
		break;
	}
	return failed;
}
