/* Filesystems: the fixed set PID 1 provides, init.mount= entries, the
 * superblock probe shared with the initramfs root, and the shutdown unmount. */
#ifndef APPVM_INIT_MOUNT_H
#define APPVM_INIT_MOUNT_H
#include <stddef.h>
#include "guest-init/config.h"

enum init_mount_phase {
	/* /proc, /sys, /dev: needed to read the command line and to log. */
	INIT_MOUNT_EARLY,
	/* /dev/pts, /dev/shm, /run, /tmp, cgroup2. */
	INIT_MOUNT_LATE,
};

/* Mount one phase of the fixed set. A mount point that already is one (the
 * initramfs moved it, or a test harness prepared it) is left alone. Returns 0,
 * or -errno of the first required mount that failed (already logged);
 * optional failures are warnings. */
int init_mount_phase(enum init_mount_phase phase);

/* Mount every init.mount= entry. Entries whose OPTS contain "nofail" are
 * optional. Returns 0 or -errno of the first required failure (logged). */
int init_mount_user(const struct init_config *cfg);

/* Mount one entry (mkdir -p DIR; FSTYPE detected when empty). Returns 0 or
 * -errno; success and failure are logged naming the entry ("nofail" in OPTS
 * makes the failure a warning, the caller decides what it means). */
int init_mount_entry(const struct init_mount_spec *m);

/* Mount options -> MS_* flags plus the remaining filesystem data, like
 * mount(8): ro, rw, nosuid, suid, nodev, dev, noexec, exec, sync, async,
 * noatime, atime, nodiratime, relatime, strictatime, dirsync, nofail (dropped).
 * Returns 0 or -E2BIG when data does not fit in n bytes. */
int init_mount_opts(const char *opts, unsigned long *flags, char *data, size_t n);

/* Filesystem type from the superblock magic of the device or image at path:
 * "squashfs" or "ext4". Returns the name, or NULL with errno set (EINVAL for
 * an unknown magic). */
const char *init_mount_detect(const char *path);

/* Same from an in-memory copy of the first bytes of a device. */
const char *init_mount_detect_buf(const unsigned char *b, size_t n);

/* mkdir -p with mode 0755. Returns 0 or -errno. */
int init_mkdir_p(const char *path);

/* Shutdown: unmount everything but / in reverse mount order, as listed in
 * /proc/self/mountinfo. A busy device-backed filesystem is remounted
 * read-only, a busy virtual one detached; / is remounted read-only when it is
 * device-backed. Returns the number of mounts that could not be handled. */
int init_umount_all(void);

/* One parsed mountinfo line (proc(5)); for the unit tests and the parser. */
struct init_mountinfo {
	char dir[256];
	char fstype[32];
	char src[128];
};
/* Parse a mountinfo buffer into at most max entries; returns the count.
 * Lines that do not parse are skipped. */
int init_mountinfo_parse(char *buf, struct init_mountinfo *mi, int max);
#endif
