/* The new mount API (open_tree, move_mount, mount_setattr; Linux 5.2/5.12)
 * for bind mounts: every bind source is cloned as a detached tree before the
 * empty root is mounted anywhere, so no source can be hidden by it, and
 * read-only applies to the whole cloned tree, submounts included. Kept apart
 * from jail.c because <linux/mount.h> and libc's <sys/mount.h> clash. */
#include "jail/jail_mount.h"
#include <errno.h>
#include <linux/fcntl.h>
#include <linux/mount.h>
#include <asm/unistd.h>
#include <unistd.h>

int jail_mount_clone_tree(const char *src)
{
	long fd = syscall(__NR_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	return fd < 0 ? -errno : (int)fd;
}

int jail_mount_restrict(int tree, int rdonly)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | (rdonly ? MOUNT_ATTR_RDONLY : 0) };

	if (syscall(__NR_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return -errno;
	return 0;
}

int jail_mount_attach(int tree, const char *dst)
{
	if (syscall(__NR_move_mount, tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}
