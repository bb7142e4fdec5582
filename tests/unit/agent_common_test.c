/* guest-agents/common: command-line lookup, sizes, endpoints, backoff, the
 * rootfs check behind agent_jail's pivot decision, and agent_connect against
 * real unix sockets (listening, refused, missing). */
#include "tests/unit/t.h"
#include "guest-agents/common/agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void test_cmdline_get(void)
{
	char v[32];
	const char *cl = "console=ttyS0 appvm.syslog=9002 init.args=\"a b\" appvm.syslog=9010 flag -- appvm.crash=1";

	CHECK_EQ(agent_cmdline_get(cl, "appvm.syslog", v, sizeof(v)), 1);
	CHECK(!strcmp(v, "9010"));  /* the last one wins */
	CHECK_EQ(agent_cmdline_get(cl, "init.args", v, sizeof(v)), 1);
	CHECK(!strcmp(v, "a b"));
	/* After "--" the words are init's argv, not parameters. */
	CHECK_EQ(agent_cmdline_get(cl, "appvm.crash", v, sizeof(v)), 0);
	CHECK_EQ(agent_cmdline_get(cl, "flag", v, sizeof(v)), 0);
	CHECK_EQ(agent_cmdline_get(cl, "appvm.sys", v, sizeof(v)), 0);
	CHECK_EQ(agent_cmdline_get(cl, "console", v, 4), -E2BIG);
	CHECK(!strcmp(v, ""));
	CHECK_EQ(agent_cmdline_get("", "x", v, sizeof(v)), 0);
}

static void test_parse_size(void)
{
	uint64_t v = 0;

	CHECK_EQ(agent_parse_size("1M", 0, UINT64_MAX, &v), 0);
	CHECK_EQ(v, 1 << 20);
	CHECK_EQ(agent_parse_size("64k", 0, UINT64_MAX, &v), 0);
	CHECK_EQ(v, 65536);
	CHECK_EQ(agent_parse_size("2G", 0, UINT64_MAX, &v), 0);
	CHECK_EQ(v, 2ull << 30);
	CHECK_EQ(agent_parse_size("12", 0, UINT64_MAX, &v), 0);
	CHECK_EQ(v, 12);
	CHECK_EQ(agent_parse_size("", 0, UINT64_MAX, &v), -EINVAL);
	CHECK_EQ(agent_parse_size("-1", 0, UINT64_MAX, &v), -EINVAL);
	CHECK_EQ(agent_parse_size("1MB", 0, UINT64_MAX, &v), -EINVAL);
	CHECK_EQ(agent_parse_size("99999999999999999999", 0, UINT64_MAX, &v), -EINVAL);
	CHECK_EQ(agent_parse_size("17179869184G", 0, UINT64_MAX, &v), -EINVAL);
	CHECK_EQ(agent_parse_size("3", 4, 8, &v), -EINVAL);
	CHECK_EQ(agent_parse_size("9", 4, 8, &v), -EINVAL);
}

static void test_endpoint(void)
{
	struct agent_endpoint ep;

	unsetenv("AGENT_UNIX");
	CHECK_EQ(agent_endpoint_get("appvm.syslog=9002", "syslog", &ep), 0);
	CHECK_EQ(ep.cid, 2);
	CHECK_EQ(ep.port, 9002);
	CHECK(!ep.unix_path[0]);
	CHECK_EQ(agent_endpoint_get("appvm.syslog=9002", "crash", &ep), -ENOENT);
	CHECK_EQ(agent_endpoint_get("appvm.crash=0", "crash", &ep), -EINVAL);
	CHECK_EQ(agent_endpoint_get("appvm.crash=4294967295", "crash", &ep), -EINVAL);
	CHECK_EQ(agent_endpoint_get("appvm.crash=9k", "crash", &ep), -EINVAL);
	setenv("AGENT_UNIX", "/tmp/x.sock", 1);
	CHECK_EQ(agent_endpoint_get("", "crash", &ep), 0);
	CHECK(!strcmp(ep.unix_path, "/tmp/x.sock"));
	unsetenv("AGENT_UNIX");
}

static void test_backoff(void)
{
	struct agent_backoff b;
	unsigned want[] = { 100, 200, 400, 800, 1000, 1000 };

	agent_backoff_init(&b, 100, 1000);
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_EQ(agent_backoff_next(&b), want[i]);
	agent_backoff_reset(&b);
	CHECK_EQ(agent_backoff_next(&b), 100);
	agent_backoff_init(&b, 0, 0);
	CHECK_EQ(agent_backoff_next(&b), 1);
	CHECK_EQ(agent_backoff_next(&b), 1);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void test_rootfs(void)
{
	char path[] = "/tmp/agent_mi_XXXXXX";
	int fd = mkstemp(path);

	close(fd);
	write_file(path, "1 1 0:2 / / rw - rootfs rootfs rw\n"
			 "20 1 0:5 / /dev rw,nosuid shared:2 - devtmpfs devtmpfs rw\n");
	CHECK_EQ(agent_root_is_rootfs(path), 1);
	/* switch_root: a squashfs mounted over "/" later in the file. */
	write_file(path, "1 1 0:2 / / rw - rootfs rootfs rw\n"
			 "25 1 254:0 / / ro,relatime - squashfs /dev/vda ro\n");
	CHECK_EQ(agent_root_is_rootfs(path), 0);
	write_file(path, "25 1 254:0 / / ro shared:1 - ext4 /dev/vda ro\n");
	CHECK_EQ(agent_root_is_rootfs(path), 0);
	unlink(path);
	CHECK_EQ(agent_root_is_rootfs(path), -ENOENT);
	CHECK(agent_root_is_rootfs(NULL) >= 0);
}

static void test_connect(void)
{
	struct agent_endpoint ep = { 0 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int l, fd;

	snprintf(ep.unix_path, sizeof(ep.unix_path), "/tmp/agent_conn_%d.sock", (int)getpid());
	unlink(ep.unix_path);
	CHECK_EQ(agent_connect(&ep, 100), -ENOENT);
	strcpy(sa.sun_path, ep.unix_path);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	/* Bound but not listening: refused. */
	CHECK_EQ(agent_connect(&ep, 100), -ECONNREFUSED);
	CHECK(listen(l, 4) == 0);
	fd = agent_connect(&ep, 100);
	CHECK(fd >= 0);
	if (fd >= 0) {
		int a = accept(l, NULL, NULL);
		char c = 0;
		CHECK(write(fd, "x", 1) == 1);  /* blocking again, connected */
		CHECK(read(a, &c, 1) == 1 && c == 'x');
		close(a);
		close(fd);
	}
	close(l);
	unlink(ep.unix_path);
}

int main(void)
{
	t_suite = "agent_common";
	RUN(test_cmdline_get);
	RUN(test_parse_size);
	RUN(test_endpoint);
	RUN(test_backoff);
	RUN(test_rootfs);
	RUN(test_connect);
	return t_done();
}
