/* devdir_open (vmm/devdir.c): a directory for a device as a private
 * nodev,nosuid,nosymfollow mount where vmm may, read-only on request.
 * Checked beneath the fd it returns: a device node cannot be opened, a
 * symlink is not followed in a path walk, a read-only one refuses writes
 * with EROFS while the original directory stays writable; without the
 * privilege (a child that dropped CAP_SYS_ADMIN) the plain fd. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/t.h"
#include "vmm/device.h"

static char tmp[64];

static int rm_cb(const char *p, const struct stat *s, int f, struct FTW *w)
{
	return remove(p);
}

static void make_tree(void)
{
	char p[128];
	int fd;

	strcpy(tmp, "/tmp/devdir_test.XXXXXX");
	CHECK(mkdtemp(tmp) != NULL);
	snprintf(p, sizeof(p), "%s/f", tmp);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/l", tmp);
	CHECK_EQ(symlink("f", p), 0);
	snprintf(p, sizeof(p), "%s/null", tmp);
	CHECK_EQ(mknod(p, S_IFCHR | 0666, makedev(1, 3)), 0);
}

static void missing_and_not_dir(void)
{
	bool h;
	char p[128];

	make_tree();
	snprintf(p, sizeof(p), "%s/nope", tmp);
	CHECK_EQ(devdir_open(p, false, &h), -ENOENT);
	snprintf(p, sizeof(p), "%s/f", tmp);
	CHECK_EQ(devdir_open(p, false, &h), -ENOTDIR);
	nftw(tmp, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static void hardened_as_root(void)
{
	bool h = false;
	int d, fd;

	make_tree();
	d = devdir_open(tmp, false, &h);
	CHECK(d >= 0);
	/* Root here has CAP_SYS_ADMIN: the hardened kind is expected. */
	CHECK(h);
	/* The same files... */
	fd = openat(d, "f", O_RDWR);
	CHECK(fd >= 0);
	close(fd);
	/* ...but no device opens (nodev) and no symlink following in a walk
	 * (nosymfollow), while the original mount allows both. */
	CHECK_EQ(openat(d, "null", O_RDONLY), -1);
	CHECK_EQ(errno, EACCES);
	CHECK_EQ(openat(d, "l", O_RDONLY), -1);
	CHECK_EQ(errno, ELOOP);
	fd = openat(AT_FDCWD, tmp, O_PATH);
	CHECK(openat(fd, "l", O_RDONLY) >= 0);
	close(fd);
	close(d);

	d = devdir_open(tmp, true, &h);
	CHECK(d >= 0 && h);
	CHECK_EQ(openat(d, "f", O_WRONLY), -1);
	CHECK_EQ(errno, EROFS);
	CHECK_EQ(mkdirat(d, "x", 0755), -1);
	CHECK_EQ(errno, EROFS);
	CHECK(openat(d, "f", O_RDONLY) >= 0);
	close(d);
	nftw(tmp, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

/* Without CAP_SYS_ADMIN: the plain O_PATH fd, still a working directory. */
static void plain_without_privilege(void)
{
	pid_t pid;
	int st;

	make_tree();
	pid = fork();
	if (pid == 0) {
		struct __user_cap_header_struct hd = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct data[2];
		bool h = true;
		int d, fd;

		if (syscall(SYS_capget, &hd, data) < 0)
			_exit(3);
		data[0].effective &= ~(1u << CAP_SYS_ADMIN);
		if (syscall(SYS_capset, &hd, data) < 0)
			_exit(4);
		d = devdir_open(tmp, true, &h);
		if (d < 0 || h)
			_exit(5);
		fd = openat(d, "f", O_WRONLY);  /* the share's ro is the server's job then */
		_exit(fd >= 0 ? 0 : 6);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
	nftw(tmp, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	t_suite = "devdir";
	RUN(missing_and_not_dir);
	if (geteuid() != 0) {
		printf("SKIP devdir/hardened: not root (mknod, CAP_SYS_ADMIN)\n");
		return t_done();
	}
	RUN(hardened_as_root);
	RUN(plain_without_privilege);
	return t_done();
}
