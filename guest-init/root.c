#include "guest-init/root.h"
#include "guest-init/log.h"
#include "guest-init/mount.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define ROOT_DIR "/sysroot"
#define ROOT_RAMFS_MAGIC 0x858458f6
#define ROOT_TMPFS_MAGIC 0x01021994

int init_root_is_initramfs(void)
{
	struct statfs sf;

	if (statfs("/", &sf) < 0)
		return 0;
	return sf.f_type == ROOT_RAMFS_MAGIC || sf.f_type == ROOT_TMPFS_MAGIC;
}

static uint64_t root_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Delete the initramfs' files to free its memory: everything on the root
 * device, never crossing into another mount (the new root, /dev, ...). */
static void root_wipe(int dfd, dev_t rootdev, int depth)
{
	DIR *d;
	struct dirent *de;

	if (depth > 64) {
		close(dfd);
		return;
	}
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != rootdev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0)
				root_wipe(sub, rootdev, depth + 1);
			/* Fails for mount points: they stay, as they must. */
			unlinkat(dfd, de->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dfd, de->d_name, 0);
		}
	}
	closedir(d);
}

/* /dev/loopN exists once the loop driver added the device (devtmpfs); when
 * /dev is not devtmpfs (a test harness), make the node from sysfs. */
static int root_loop_node(int nr, char *dev, size_t n)
{
	char sys[64], buf[32];
	unsigned maj, min;
	struct stat st;
	int fd;
	ssize_t got;

	snprintf(dev, n, "/dev/loop%d", nr);
	if (stat(dev, &st) == 0)
		return S_ISBLK(st.st_mode) ? 0 : -ENOTBLK;
	snprintf(sys, sizeof(sys), "/sys/block/loop%d/dev", nr);
	fd = open(sys, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0)
		return -EIO;
	buf[got] = '\0';
	/* "MAJOR:MINOR\n" by hand: sscanf would pull musl's whole scanf
	 * (with its float parser) into a binary that has a size budget. */
	{
		char *colon, *end;

		errno = 0;
		maj = (unsigned)strtoul(buf, &colon, 10);
		if (colon == buf || *colon != ':')
			return -EIO;
		min = (unsigned)strtoul(colon + 1, &end, 10);
		if (end == colon + 1 || (*end && *end != '\n') || errno)
			return -EIO;
	}
	if (mknod(dev, S_IFBLK | 0600, makedev(maj, min)) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int init_root_loop_attach(const char *file, char *dev, size_t n, int *keep_fd)
{
	struct loop_config lc;
	int ctl, nr, lfd, ffd, r = 0;

	ffd = open(file, O_RDONLY | O_CLOEXEC);
	if (ffd < 0)
		return -errno;
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0 && errno == ENOENT)
		/* Not devtmpfs: the misc node is 10:237 (devices.txt). */
		if (mknod("/dev/loop-control", S_IFCHR | 0600, makedev(10, 237)) == 0)
			ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		r = -errno;
		close(ffd);
		return r;
	}
	/* Another process may take the free device first: retry a few times. */
	for (int tries = 0; tries < 8; tries++) {
		nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0) {
			r = -errno;
			break;
		}
		r = root_loop_node(nr, dev, n);
		if (r < 0)
			break;
		lfd = open(dev, O_RDONLY | O_CLOEXEC);
		if (lfd < 0) {
			r = -errno;
			break;
		}
		/* Read-only, and detached by the kernel once unmounted and
		 * closed (loop(4): LO_FLAGS_AUTOCLEAR). */
		memset(&lc, 0, sizeof(lc));
		lc.fd = (unsigned)ffd;
		lc.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
		snprintf((char *)lc.info.lo_file_name, sizeof(lc.info.lo_file_name), "%s", file);
		if (ioctl(lfd, LOOP_CONFIGURE, &lc) == 0) {
			close(ctl);
			close(ffd);
			*keep_fd = lfd;
			return 0;
		}
		r = -errno;
		close(lfd);
		if (r != -EBUSY)
			break;
	}
	close(ctl);
	close(ffd);
	return r;
}

int init_root_switch(const struct init_config *cfg)
{
	static const char *const moves[] = { "/dev", "/proc", "/sys", "/run" };
	uint64_t deadline = root_now_ms() + cfg->root_timeout_ms;
	const char *fstype = cfg->rootfstype[0] ? cfg->rootfstype : NULL;
	char target[INIT_PATH_MAX + 16], data[256];
	unsigned long flags;
	struct stat st, rst;
	int r, dfd;
	char *argv[2];
	char loopdev[32];
	const char *dev = cfg->root;
	int loopfd = -1;

	if (cfg->root[0] != '/') {
		init_log(INIT_LOG_ERR, "root=%s: expected /dev/DEVICE or the absolute path of an image file",
			 cfg->root);
		return -EINVAL;
	}
	/* devtmpfs creates the node when the driver probes the disk. */
	while (stat(cfg->root, &st) < 0) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (root_now_ms() >= deadline) {
			init_log(INIT_LOG_ERR, "root=%s: device did not appear within %u ms",
				 cfg->root, cfg->root_timeout_ms);
			return -ENODEV;
		}
		nanosleep(&ts, NULL);
	}
	if (S_ISREG(st.st_mode)) {
		/* An image inside the initramfs (a squashfs shipped with the
		 * kernel, or a disk the kernel has no driver for): loop it. */
		r = init_root_loop_attach(cfg->root, loopdev, sizeof(loopdev), &loopfd);
		if (r < 0) {
			init_log(INIT_LOG_ERR, "root=%s: cannot attach to a loop device: %s%s", cfg->root,
				 strerror(-r), r == -ENOENT ? " (loop driver loaded? init.modules=loop)" : "");
			return r;
		}
		init_log(INIT_LOG_INFO, "root=%s attached to %s (read-only)", cfg->root, loopdev);
		dev = loopdev;
	} else if (!S_ISBLK(st.st_mode)) {
		init_log(INIT_LOG_ERR, "root=%s: neither a block device nor an image file", cfg->root);
		return -ENOTBLK;
	}
	if (!fstype && !(fstype = init_mount_detect(dev))) {
		r = -errno;
		if (loopfd >= 0)
			close(loopfd);
		init_log(INIT_LOG_ERR, "root=%s: %s", cfg->root, r == -EINVAL ?
			 "unknown filesystem (not squashfs or ext4; set rootfstype=)" : strerror(-r));
		return r;
	}
	if (init_mount_opts(cfg->rootflags, &flags, data, sizeof(data)) < 0) {
		if (loopfd >= 0)
			close(loopfd);
		init_log(INIT_LOG_ERR, "rootflags=%s: too long", cfg->rootflags);
		return -E2BIG;
	}
	r = init_mkdir_p(ROOT_DIR);
	if (r < 0 || mount(dev, ROOT_DIR, fstype, flags | MS_RDONLY, data[0] ? data : NULL) < 0) {
		r = r < 0 ? r : -errno;
		if (loopfd >= 0)
			close(loopfd);
		init_log(INIT_LOG_ERR, "mount root=%s (%s) on " ROOT_DIR ": %s", cfg->root, fstype,
			 strerror(-r));
		return r;
	}
	snprintf(target, sizeof(target), ROOT_DIR "%s", cfg->init_path);
	if (access(target, X_OK) < 0) {
		r = -errno;
		init_log(INIT_LOG_ERR, "root=%s has no executable %s: %s", cfg->root, cfg->init_path,
			 strerror(-r));
		umount(ROOT_DIR);
		if (loopfd >= 0)
			close(loopfd);
		return r;
	}
	/* The mount holds the loop device now; autoclear frees it with it. */
	if (loopfd >= 0)
		close(loopfd);
	init_log(INIT_LOG_INFO, "root %s (%s) mounted read-only, switching to it", dev, fstype);
	for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
		char dst[64];

		snprintf(dst, sizeof(dst), ROOT_DIR "%s", moves[i]);
		if (stat(moves[i], &st) < 0)
			continue;
		if (mount(moves[i], dst, NULL, MS_MOVE, NULL) < 0) {
			init_log(INIT_LOG_WARN, "move %s to the new root: %s; detaching it", moves[i],
				 strerror(errno));
			umount2(moves[i], MNT_DETACH);
		}
	}
	if (chdir(ROOT_DIR) < 0 || stat("/", &rst) < 0) {
		r = -errno;
		init_log(INIT_LOG_ERR, "chdir " ROOT_DIR ": %s", strerror(-r));
		return r;
	}
	dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		root_wipe(dfd, rst.st_dev, 0);
	/* switch_root: put the new root over / and enter it. */
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		r = -errno;
		init_log(INIT_LOG_ERR, "switch to new root: %s", strerror(-r));
		return r;
	}
	argv[0] = (char *)cfg->init_path;
	argv[1] = NULL;
	execv(cfg->init_path, argv);
	r = -errno;
	init_log(INIT_LOG_ERR, "exec %s in the new root: %s", cfg->init_path, strerror(-r));
	return r;
}
