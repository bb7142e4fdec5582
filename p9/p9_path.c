/* p9 path resolution beneath a directory fd, symlinks never followed.
 *
 * QEMU's 9p server followed guest-created symlinks in host path operations
 * (CVE-2016-9602) and opened host device nodes and FIFOs (CVE-2023-2861);
 * this file is where both are prevented. openat2(2) RESOLVE_BENEATH makes the
 * kernel refuse any resolution leaving dirfd; RESOLVE_NO_SYMLINKS refuses
 * every symlink on the way (and with O_PATH|O_NOFOLLOW returns the final
 * symlink itself rather than following it). Kernels before 5.6 get the
 * equivalent walk: one openat() per component with O_NOFOLLOW, where a
 * component is never "." or "..". */
#include "p9/p9_path.h"
#include "p9/p9.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

int p9_path_name_ok(const char *name, size_t len)
{
	if (len == 0)
		return -EINVAL;
	if (len > P9_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '/', len) || memchr(name, '\0', len))
		return -EINVAL;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	return 0;
}

static int p9_path_openat2(int dirfd, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd;
	/* openat2(2): EAGAIN when a concurrent rename made the kernel unsure
	 * the walk stayed beneath dirfd; retry a few times, then give up. */
	int tries = 0;
	do
		fd = syscall(SYS_openat2, dirfd, *rel ? rel : ".", &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN && ++tries < 8);
	return fd < 0 ? -errno : (int)fd;
}

int p9_path_have_openat2(void)
{
	int fd = p9_path_openat2(AT_FDCWD, "", O_PATH | O_DIRECTORY, 0);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* Checks every component of rel before any syscall sees it: the walk below
 * relies on it (no "..", no empty component), and openat2 gets the same
 * input either way. */
static int p9_path_rel_ok(const char *rel)
{
	size_t n = strlen(rel);
	if (n > P9_PATH_MAX)
		return -ENAMETOOLONG;
	while (*rel) {
		const char *slash = strchr(rel, '/');
		size_t len = slash ? (size_t)(slash - rel) : strlen(rel);
		int r = p9_path_name_ok(rel, len);
		if (r < 0)
			return r;
		rel += len;
		if (slash && !*++rel)
			return -EINVAL; /* trailing '/' */
	}
	return 0;
}

static int p9_path_walk(int dirfd, const char *rel, int flags, mode_t mode)
{
	char comp[P9_NAME_MAX + 1];
	int cur = dirfd;
	int fd;

	for (;;) {
		const char *slash = strchr(rel, '/');
		if (!slash)
			break;
		size_t len = (size_t)(slash - rel);
		memcpy(comp, rel, len);
		comp[len] = '\0';
		fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		if (cur != dirfd)
			close(cur);
		if (fd < 0)
			return -e;
		cur = fd;
		rel = slash + 1;
	}
	fd = openat(cur, *rel ? rel : ".", flags | O_NOFOLLOW | O_CLOEXEC, mode);
	int e = errno;
	if (cur != dirfd)
		close(cur);
	return fd < 0 ? -e : fd;
}

int p9_path_open(int dirfd, const char *rel, int flags, mode_t mode, int use_openat2)
{
	int r = p9_path_rel_ok(rel);
	if (r < 0)
		return r;
	return use_openat2 ? p9_path_openat2(dirfd, rel, flags, mode)
			   : p9_path_walk(dirfd, rel, flags, mode);
}

int p9_path_open_obj(int dirfd, const char *rel, int flags, int use_openat2, struct stat *st)
{
	struct stat now;
	int fd = p9_path_open(dirfd, rel, O_PATH, 0, use_openat2);
	if (fd < 0)
		return fd;
	int r = fstat(fd, st) < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	if (S_ISLNK(st->st_mode))
		return -ELOOP;
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		return -ENXIO;
	if (S_ISDIR(st->st_mode)) {
		if ((flags & O_ACCMODE) != O_RDONLY)
			return -EISDIR;
		flags |= O_DIRECTORY;
	}
	fd = p9_path_open(dirfd, rel, (flags & ~O_CREAT) | O_NONBLOCK | O_NOCTTY, 0, use_openat2);
	if (fd < 0)
		return fd;
	if (fstat(fd, &now) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (now.st_dev != st->st_dev || now.st_ino != st->st_ino ||
	    (now.st_mode & S_IFMT) != (st->st_mode & S_IFMT)) {
		close(fd);
		return -EAGAIN;
	}
	int fl = fcntl(fd, F_GETFL);
	if (!(flags & O_NONBLOCK) && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)) {
		r = -errno;
		close(fd);
		return r;
	}
	*st = now;
	return fd;
}
