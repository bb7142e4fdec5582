/* Initramfs mode: when init runs from an initramfs (/ is ramfs or tmpfs)
 * and root= is given, mount the real root read-only and switch to it. */
#ifndef APPVM_INIT_ROOT_H
#define APPVM_INIT_ROOT_H
#include "guest-init/config.h"

/* Is / an initramfs (ramfs or tmpfs)? */
int init_root_is_initramfs(void);

/* Wait (bounded by init.root_timeout) for root=, mount it read-only on
 * /sysroot (rootfstype= or the detected type, rootflags=), move /dev, /proc,
 * /sys and /run into it, empty the initramfs, make it / and exec
 * init= (default /sbin/init) there. Returns only on failure, with -errno and
 * the reason logged. */
int init_root_switch(const struct init_config *cfg);
#endif
