/* guest-init helpers: mount options, superblock detection, mountinfo
 * parsing, user= and env= handling, status mapping, netmask prefix. (The
 * event loop's cases are in evloop_test.c.) */
#include "tests/unit/t.h"
#include "guest-init/mount.h"
#include "guest-init/net.h"
#include "guest-init/pid1.h"
#include "guest-init/spawn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_mount_opts(void)
{
	unsigned long f;
	char data[64];

	CHECK_EQ(init_mount_opts("ro,nosuid,nodev,noexec,noatime,size=1m,mode=0700,nofail", &f, data,
				 sizeof(data)), 0);
	CHECK_EQ(f, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME);
	CHECK(!strcmp(data, "size=1m,mode=0700"));
	CHECK_EQ(init_mount_opts("ro,rw,,defaults", &f, data, sizeof(data)), 0);
	CHECK_EQ(f, 0);
	CHECK(!strcmp(data, ""));
	CHECK_EQ(init_mount_opts("", &f, data, sizeof(data)), 0);
	CHECK_EQ(init_mount_opts("abcdefghij", &f, data, 8), -E2BIG);
}

static void test_detect(void)
{
	static unsigned char b[4096];

	memset(b, 0, sizeof(b));
	CHECK(init_mount_detect_buf(b, sizeof(b)) == NULL);
	memcpy(b, "hsqs", 4);
	CHECK(!strcmp(init_mount_detect_buf(b, sizeof(b)), "squashfs"));
	memset(b, 0, 4);
	b[1024 + 0x38] = 0x53;
	b[1024 + 0x39] = 0xef;
	CHECK(!strcmp(init_mount_detect_buf(b, sizeof(b)), "ext4"));
	/* Too short to hold the ext4 magic. */
	CHECK(init_mount_detect_buf(b, 1024 + 0x39) == NULL);
	CHECK(init_mount_detect("/nonexistent") == NULL);
}

static void test_mountinfo(void)
{
	char buf[] =
		"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
		"23 22 0:5 / /dev rw,nosuid - devtmpfs devtmpfs rw,mode=755\n"
		"24 22 0:6 / /mnt/with\\040space rw - tmpfs none rw\n"
		"garbage line\n"
		"25 22 0:7 / /x rw master:2 propagate_from:1 - cgroup2 cgroup2 rw\n";
	struct init_mountinfo mi[8];

	CHECK_EQ(init_mountinfo_parse(buf, mi, 8), 4);
	CHECK(!strcmp(mi[0].dir, "/") && !strcmp(mi[0].fstype, "ext4") && !strcmp(mi[0].src, "/dev/vda"));
	CHECK(!strcmp(mi[1].dir, "/dev") && !strcmp(mi[1].fstype, "devtmpfs"));
	CHECK(!strcmp(mi[2].dir, "/mnt/with space"));
	CHECK(!strcmp(mi[3].dir, "/x") && !strcmp(mi[3].fstype, "cgroup2"));
}

static void test_user(void)
{
	char path[] = "/tmp/init_misc_passwd.XXXXXX";
	int fd = mkstemp(path);
	const char pw[] = "root:x:0:0::/:/bin/sh\nbroken\nweb:x:33:34::/:/bin/false\nodd:x:a:b::/:\n";
	uid_t u;
	gid_t g;

	CHECK(write(fd, pw, sizeof(pw) - 1) > 0);
	close(fd);
	CHECK_EQ(init_spawn_user("1000", path, &u, &g), 0);
	CHECK_EQ(u, 1000);
	CHECK_EQ(g, 1000);
	CHECK_EQ(init_spawn_user("1000:50", path, &u, &g), 0);
	CHECK_EQ(g, 50);
	CHECK_EQ(init_spawn_user("web", path, &u, &g), 0);
	CHECK_EQ(u, 33);
	CHECK_EQ(g, 34);
	CHECK_EQ(init_spawn_user("nobody", path, &u, &g), -ENOENT);
	CHECK_EQ(init_spawn_user("odd", path, &u, &g), -EINVAL);
	CHECK_EQ(init_spawn_user("10x", path, &u, &g), -EINVAL);
	CHECK_EQ(init_spawn_user("1:", path, &u, &g), -EINVAL);
	CHECK_EQ(init_spawn_user("99999999999", path, &u, &g), -EINVAL);
	CHECK_EQ(init_spawn_user("web", "/nonexistent", &u, &g), -ENOENT);
	unlink(path);
}

static void test_env(void)
{
	char buf[512], *envp[16];
	int n;

	unsetenv("TERM");
	n = init_spawn_env("A=1 'B=two words' PATH=/opt A=3", buf, sizeof(buf), envp, 16);
	CHECK_EQ(n, 5);
	CHECK(!strcmp(envp[0], "PATH=/opt"));
	CHECK(!strcmp(envp[1], "HOME=/"));
	CHECK(!strcmp(envp[2], "TERM=linux"));
	CHECK(!strcmp(envp[3], "A=3"));
	CHECK(!strcmp(envp[4], "B=two words"));
	CHECK(envp[5] == NULL);
	CHECK_EQ(init_spawn_env("NOEQUALS", buf, sizeof(buf), envp, 16), -EINVAL);
	CHECK_EQ(init_spawn_env("=x", buf, sizeof(buf), envp, 16), -EINVAL);
	CHECK_EQ(init_spawn_env("A=1 B=2", buf, sizeof(buf), envp, 5), -E2BIG);
}

static void test_spawn_errors(void)
{
	char *argv[] = { "x", NULL }, *envp[] = { NULL };
	struct init_spawn s = { .path = "/nonexistent/app", .argv = argv, .envp = envp };
	const char *stage = NULL;
	pid_t pid;
	int st;

	CHECK_EQ(init_spawn_run(&s, &stage), -ENOENT);
	CHECK(stage && !strcmp(stage, "exec"));
	s.path = "/bin/true";
	s.workdir = "/nonexistent";
	CHECK_EQ(init_spawn_run(&s, &stage), -ENOENT);
	CHECK(!strcmp(stage, "chdir"));
	s.workdir = NULL;
	pid = init_spawn_run(&s, &stage);
	CHECK(pid > 0);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* A bare name is searched in the fixed PATH. */
	s.path = "false";
	pid = init_spawn_run(&s, &stage);
	CHECK(pid > 0);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}

static void test_status(void)
{
	CHECK_EQ(init_pid1_status(42 << 8), 42);
	CHECK_EQ(init_pid1_status(SIGKILL), 128 + SIGKILL);
	CHECK_EQ(init_pid1_status(0), 0);
}

static void test_prefix(void)
{
	CHECK_EQ(init_net_prefix(inet_addr("255.255.255.0")), 24);
	CHECK_EQ(init_net_prefix(inet_addr("255.255.255.255")), 32);
	CHECK_EQ(init_net_prefix(inet_addr("255.128.0.0")), 9);
	CHECK_EQ(init_net_prefix(0), 0);
}

/* stdio capture: the child's 1 and 2 go to the caller's pipe, 0 is
 * /dev/null, and the child is a session leader. */
static void test_spawn_capture(void)
{
	char *argv[] = { "/bin/sh", "-c", "echo out; echo err >&2; read x; echo \"r=$? sid=$(cut -d' ' -f6 /proc/$$/stat) pid=$$\"", NULL };
	char *envp[] = { "PATH=/bin:/usr/bin", NULL };
	char buf[256];
	size_t have = 0;
	ssize_t n;
	int pp[2], st;
	const char *stage;
	struct init_spawn s = { .path = "/bin/sh", .argv = argv, .envp = envp };
	pid_t pid;
	int fds[3];

	CHECK_EQ(pipe2(pp, O_CLOEXEC), 0);
	fds[0] = -1;
	fds[1] = pp[1];
	fds[2] = pp[1];
	s.stdio = fds;
	pid = init_spawn_run(&s, &stage);
	CHECK(pid > 0);
	close(pp[1]);
	while (have < sizeof(buf) - 1 && (n = read(pp[0], buf + have, sizeof(buf) - 1 - have)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	close(pp[0]);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(buf + have, sizeof(buf) - have, "%s", "");
	{
		char want[128];

		snprintf(want, sizeof(want), "out\nerr\nr=1 sid=%d pid=%d\n", (int)pid, (int)pid);
		CHECK(!strcmp(buf, want));
		if (strcmp(buf, want))
			printf("  got '%s' want '%s'\n", buf, want);
	}
}

/* The PID 1 entry refuses to run as anything but PID 1: it must never
 * reach kill(-1) or reboot(2) on the machine running the tests. */
static void test_pid1_refuses_when_not_pid1(void)
{
	int st = 0;
	pid_t c;

	CHECK(getpid() != 1);
	c = fork();
	if (c == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0)
			dup2(devnull, 2);
		init_pid1_run(NULL);
	}
	CHECK(c > 0);
	CHECK_EQ(waitpid(c, &st, 0), c);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 111);
}

int main(void)
{
	t_suite = "init_misc";
	RUN(test_mount_opts);
	RUN(test_detect);
	RUN(test_mountinfo);
	RUN(test_user);
	RUN(test_env);
	RUN(test_spawn_errors);
	RUN(test_status);
	RUN(test_prefix);
	RUN(test_spawn_capture);
	RUN(test_pid1_refuses_when_not_pid1);
	return t_done();
}
