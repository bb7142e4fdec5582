#include "guest-init/root.h"
#include "guest-init/log.h"
#include "guest-init/mount.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
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

	if (strncmp(cfg->root, "/dev/", 5)) {
		init_log(INIT_LOG_ERR, "root=%s: only /dev/ paths are supported", cfg->root);
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
	if (!fstype && !(fstype = init_mount_detect(cfg->root))) {
		r = -errno;
		init_log(INIT_LOG_ERR, "root=%s: %s", cfg->root, r == -EINVAL ?
			 "unknown filesystem (not squashfs or ext4; set rootfstype=)" : strerror(-r));
		return r;
	}
	if (init_mount_opts(cfg->rootflags, &flags, data, sizeof(data)) < 0) {
		init_log(INIT_LOG_ERR, "rootflags=%s: too long", cfg->rootflags);
		return -E2BIG;
	}
	r = init_mkdir_p(ROOT_DIR);
	if (r < 0 || mount(cfg->root, ROOT_DIR, fstype, flags | MS_RDONLY, data[0] ? data : NULL) < 0) {
		r = r < 0 ? r : -errno;
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
		return r;
	}
	init_log(INIT_LOG_INFO, "root %s (%s) mounted read-only, switching to it", cfg->root, fstype);
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
