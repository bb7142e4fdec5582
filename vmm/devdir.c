/* Host directories handed to devices (a virtio-9p share, a run-time grant):
 * see devdir_open in vmm/device.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/device.h"

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

int devdir_open(const char *path, bool ro, bool *hardened)
{
	struct mount_attr a = {
		.attr_set = MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOSYMFOLLOW | (ro ? MOUNT_ATTR_RDONLY : 0),
	};
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC), t;

	*hardened = false;
	if (fd < 0)
		return -errno;
	/* A private, detached copy of the directory's mount (and those below
	 * it): nobody else sees it, it goes away with its last fd, and its
	 * flags are ours to set. Needs CAP_SYS_ADMIN; without it (or on a
	 * kernel before 5.12) the plain fd, and the device's own checks are
	 * the only ones. */
	t = (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (t < 0)
		return fd;
	if (syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0) {
		close(t);
		return fd;
	}
	close(fd);
	*hardened = true;
	return t;
}
