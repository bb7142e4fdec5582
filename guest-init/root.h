/* Initramfs mode: when init runs from an initramfs (/ is ramfs or tmpfs)
 * and root= is given, mount the real root read-only and switch to it. */
#ifndef APPVM_INIT_ROOT_H
#define APPVM_INIT_ROOT_H
#include "guest-init/config.h"

/* Is / an initramfs (ramfs or tmpfs)? */
int init_root_is_initramfs(void);

/* Attach the image file to a free loop device, read-only and autoclear (the
 * kernel detaches it when its last user, the mount, goes). Writes the
 * device path to dev; *keep_fd holds the device open until the caller has
 * mounted it. Returns 0 or -errno (-ENOENT: no loop driver). */
int init_root_loop_attach(const char *file, char *dev, size_t n, int *keep_fd);

/* Wait (bounded by init.root_timeout) for root= (a block device, or an image
 * file inside the initramfs, attached to a loop device), mount it read-only on
 * /sysroot (rootfstype= or the detected type, rootflags=), move /dev, /proc,
 * /sys and /run into it, empty the initramfs, make it / and exec
 * init= (default /sbin/init) there. Returns only on failure, with -errno and
 * the reason logged. */
int init_root_switch(const struct init_config *cfg);
#endif
