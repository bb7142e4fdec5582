/* guest-init command-line parsing: every key, kernel quoting, warnings for
 * bad values (naming the key and the default), ip= and init.mount=. */
#include "tests/unit/t.h"
#include "guest-init/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

struct warns {
	int n;
	char all[4096];
};

static void rec(void *arg, const char *msg)
{
	struct warns *w = arg;
	size_t l = strlen(w->all);

	w->n++;
	snprintf(w->all + l, sizeof(w->all) - l, "%s\n", msg);
}

static int parse(const char *line, struct init_config *cfg, struct warns *w)
{
	struct init_warn iw = { rec, w };

	memset(w, 0, sizeof(*w));
	init_config_defaults(cfg);
	return init_cmdline_parse(line, strlen(line), cfg, &iw);
}

static void test_defaults(void)
{
	struct init_config c;
	struct warns w;

	CHECK_EQ(parse("console=ttyS0 quiet ro root=/dev/vda", &c, &w), 0);
	CHECK_EQ(w.n, 0);
	CHECK(!strcmp(c.app, ""));
	CHECK_EQ(c.on_app_exit, INIT_EXIT_POWEROFF);
	CHECK_EQ(c.shutdown_timeout_ms, 10000);
	CHECK_EQ(c.root_timeout_ms, 10000);
	CHECK_EQ(c.loglevel, 6);
	CHECK(!strcmp(c.services_dir, "/etc/init/services"));
	CHECK(!strcmp(c.crash_collector, "/sbin/crash_collector"));
	CHECK(!strcmp(c.init_path, "/sbin/init"));
	CHECK(!strcmp(c.user, "0"));
	CHECK(!strcmp(c.workdir, "/"));
	CHECK(!strcmp(c.root, "/dev/vda"));
	CHECK(!strcmp(c.console, "ttyS0"));
	CHECK_EQ(c.exit_port, -1);
	CHECK_EQ(c.boot_port, -1);
	CHECK(!c.ip.set);
	CHECK_EQ(c.n_mounts, 0);
}

static void test_every_key(void)
{
	struct init_config c;
	struct warns w;
	const char *line =
		"init.app=/usr/bin/app init.args=\"-v 'two words'\" init.env=\"A=1 B=2\" "
		"init.user=1000:100 init.workdir=/srv init.on_app_exit=stay "
		"init.shutdown_timeout=500ms init.root_timeout=3 init.loglevel=7 "
		"init.hostname=box-1 init.modules=virtio_mmio,virtio-blk init.modules=squashfs "
		"init.mount=/dev/vdb:/data:ext4:rw,noatime init.services=/etc/svc "
		"init.crash_collector=/bin/cc root=/dev/vda rootfstype=squashfs rootflags=noatime "
		"init=/bin/real-init ip=10.0.2.15::10.0.2.2:255.255.255.0:guest:eth0:off "
		"appvm.exit_port=0x510 appvm.boot_port=1008";

	CHECK_EQ(parse(line, &c, &w), 0);
	CHECK_EQ(w.n, 0);
	CHECK(!strcmp(c.app, "/usr/bin/app"));
	CHECK(!strcmp(c.args, "-v 'two words'"));
	CHECK(!strcmp(c.env, "A=1 B=2"));
	CHECK(!strcmp(c.user, "1000:100"));
	CHECK(!strcmp(c.workdir, "/srv"));
	CHECK_EQ(c.on_app_exit, INIT_EXIT_STAY);
	CHECK_EQ(c.shutdown_timeout_ms, 500);
	CHECK_EQ(c.root_timeout_ms, 3000);
	CHECK_EQ(c.loglevel, 7);
	CHECK(!strcmp(c.hostname, "box-1"));
	CHECK(!strcmp(c.modules, "virtio_mmio,virtio-blk,squashfs"));
	CHECK_EQ(c.n_mounts, 1);
	CHECK(!strcmp(c.mounts[0].src, "/dev/vdb"));
	CHECK(!strcmp(c.mounts[0].dir, "/data"));
	CHECK(!strcmp(c.mounts[0].fstype, "ext4"));
	CHECK(!strcmp(c.mounts[0].opts, "rw,noatime"));
	CHECK(!strcmp(c.services_dir, "/etc/svc"));
	CHECK(!strcmp(c.crash_collector, "/bin/cc"));
	CHECK(!strcmp(c.root, "/dev/vda"));
	CHECK(!strcmp(c.rootfstype, "squashfs"));
	CHECK(!strcmp(c.rootflags, "noatime"));
	CHECK(!strcmp(c.init_path, "/bin/real-init"));
	CHECK(c.ip.set);
	CHECK_EQ(c.ip.addr, inet_addr("10.0.2.15"));
	CHECK_EQ(c.exit_port, 0x510);
	CHECK_EQ(c.boot_port, 0x3f0);
}

static void test_on_app_exit_values(void)
{
	struct init_config c;
	struct warns w;

	parse("init.on_app_exit=reboot", &c, &w);
	CHECK_EQ(c.on_app_exit, INIT_EXIT_REBOOT);
	parse("init.on_app_exit=poweroff", &c, &w);
	CHECK_EQ(c.on_app_exit, INIT_EXIT_POWEROFF);
	CHECK_EQ(w.n, 0);
	parse("init.on_app_exit=stay init.on_app_exit=sometimes", &c, &w);
	CHECK_EQ(c.on_app_exit, INIT_EXIT_POWEROFF);
	CHECK_EQ(w.n, 1);
	CHECK(strstr(w.all, "init.on_app_exit=sometimes"));
	CHECK(strstr(w.all, "default poweroff"));
}

static void test_bad_values_warn(void)
{
	struct init_config c;
	struct warns w;

	CHECK_EQ(parse("init.shutdown_timeout=soon init.loglevel=9 init.root_timeout=99999 "
		       "init.app=relative/path init.workdir=srv init.hostname=bad_name! "
		       "appvm.exit_port=0x10000 appvm.boot_port=port init.frobnicate=1 init.app",
		       &c, &w), 10);
	CHECK_EQ(c.shutdown_timeout_ms, 10000);
	CHECK_EQ(c.loglevel, 6);
	CHECK_EQ(c.root_timeout_ms, 10000);
	CHECK(!strcmp(c.app, ""));
	CHECK(!strcmp(c.workdir, "/"));
	CHECK(!strcmp(c.hostname, ""));
	CHECK_EQ(c.exit_port, -1);
	CHECK_EQ(c.boot_port, -1);
	CHECK(strstr(w.all, "init.shutdown_timeout=soon"));
	CHECK(strstr(w.all, "default 10"));
	CHECK(strstr(w.all, "init.loglevel=9"));
	CHECK(strstr(w.all, "init.root_timeout=99999"));
	CHECK(strstr(w.all, "init.app=relative/path: not an absolute path"));
	CHECK(strstr(w.all, "init.workdir=srv"));
	CHECK(strstr(w.all, "init.hostname=bad_name!"));
	CHECK(strstr(w.all, "appvm.exit_port=0x10000"));
	CHECK(strstr(w.all, "appvm.boot_port=port"));
	CHECK(strstr(w.all, "unknown key init.frobnicate"));
	CHECK(strstr(w.all, "init.app: missing value"));
}

/* An empty value is "no app" for init.app, but never a usable directory or
 * program for the path keys with a default. */
static void test_empty_paths(void)
{
	struct init_config c;
	struct warns w;

	CHECK_EQ(parse("init.app=/x init.app= init.workdir= init= init.services= "
		       "init.crash_collector=", &c, &w), 4);
	CHECK(!strcmp(c.app, ""));
	CHECK(!strcmp(c.workdir, "/"));
	CHECK(!strcmp(c.init_path, "/sbin/init"));
	CHECK(!strcmp(c.services_dir, "/etc/init/services"));
	CHECK(!strcmp(c.crash_collector, "/sbin/crash_collector"));
	CHECK(strstr(w.all, "init.workdir=: not an absolute path, using default /"));
	CHECK(strstr(w.all, "init=: not an absolute path, using default /sbin/init"));
}

static void test_too_long_value(void)
{
	struct init_config c;
	struct warns w;
	char line[600];

	memset(line, 'a', sizeof(line));
	memcpy(line, "init.app=/", 10);
	line[sizeof(line) - 1] = '\0';
	CHECK_EQ(parse(line, &c, &w), 1);
	CHECK(!strcmp(c.app, ""));
	CHECK(strstr(w.all, "init.app: value longer than 255 bytes"));
}

static void test_kernel_quoting(void)
{
	struct init_config c;
	struct warns w;

	/* Quotes around the whole parameter, as next_arg() allows. */
	parse("\"init.args=a b\" init.env=\"X=1 Y=2\" root=/dev/vda", &c, &w);
	CHECK(!strcmp(c.args, "a b"));
	CHECK(!strcmp(c.env, "X=1 Y=2"));
	CHECK(!strcmp(c.root, "/dev/vda"));
	CHECK_EQ(w.n, 0);
	/* Last one wins for scalar keys. */
	parse("init.app=/a init.app=/b", &c, &w);
	CHECK(!strcmp(c.app, "/b"));
	/* Tabs and newlines separate too; a trailing newline is harmless. */
	parse("init.app=/x\tinit.loglevel=3\n", &c, &w);
	CHECK(!strcmp(c.app, "/x"));
	CHECK_EQ(c.loglevel, 3);
}

static void test_double_dash_ends(void)
{
	struct init_config c;
	struct warns w;

	parse("init.app=/a -- init.app=/b init.bogus=1", &c, &w);
	CHECK(!strcmp(c.app, "/a"));
	CHECK_EQ(w.n, 0);
}

static void test_embedded_nul(void)
{
	struct init_config c;
	struct warns w;
	struct init_warn iw = { rec, &w };
	const char line[] = "init.app=/a\0init.loglevel=2";

	memset(&w, 0, sizeof(w));
	init_config_defaults(&c);
	init_cmdline_parse(line, sizeof(line) - 1, &c, &iw);
	CHECK(!strcmp(c.app, "/a"));
	CHECK_EQ(c.loglevel, 2);
}

static void test_overlong_cmdline(void)
{
	static char line[INIT_CMDLINE_MAX + 100];
	struct init_config c;
	struct warns w;

	memset(line, ' ', sizeof(line));
	memcpy(line, "init.loglevel=5", 15);
	line[sizeof(line) - 1] = '\0';
	CHECK_EQ(parse(line, &c, &w), 1);
	CHECK_EQ(c.loglevel, 5);
	CHECK(strstr(w.all, "longer than 4096"));
}

static void test_ip_full(void)
{
	struct init_ip ip;
	const char *why = NULL;

	CHECK_EQ(init_ip_parse("192.168.7.2:10.0.0.1:192.168.7.1:255.255.255.0:myhost:eth1:off:8.8.8.8",
			       &ip, &why), 0);
	CHECK(ip.set);
	CHECK_EQ(ip.addr, inet_addr("192.168.7.2"));
	CHECK_EQ(ip.gw, inet_addr("192.168.7.1"));
	CHECK_EQ(ip.mask, inet_addr("255.255.255.0"));
	CHECK(!strcmp(ip.hostname, "myhost"));
	CHECK(!strcmp(ip.dev, "eth1"));
}

static void test_ip_minimal_classful(void)
{
	struct init_ip ip;

	CHECK_EQ(init_ip_parse("10.1.2.3", &ip, NULL), 0);
	CHECK(ip.set);
	CHECK_EQ(ip.mask, inet_addr("255.0.0.0"));
	CHECK_EQ(ip.gw, 0);
	CHECK(!strcmp(ip.dev, ""));
	CHECK_EQ(init_ip_parse("172.16.0.9", &ip, NULL), 0);
	CHECK_EQ(ip.mask, inet_addr("255.255.0.0"));
	CHECK_EQ(init_ip_parse("192.0.2.9::::::none", &ip, NULL), 0);
	CHECK_EQ(ip.mask, inet_addr("255.255.255.0"));
}

static void test_ip_off_and_bad(void)
{
	struct init_ip ip;
	const char *why = NULL;

	CHECK_EQ(init_ip_parse("off", &ip, &why), 0);
	CHECK(!ip.set);
	CHECK_EQ(init_ip_parse("none", &ip, &why), 0);
	CHECK(!ip.set);
	CHECK_EQ(init_ip_parse("dhcp", &ip, &why), -EINVAL);
	CHECK(why && strstr(why, "not supported"));
	CHECK_EQ(init_ip_parse("10.0.0.300", &ip, &why), -EINVAL);
	CHECK(strstr(why, "client-ip"));
	CHECK_EQ(init_ip_parse("10.0.0.2::10.0.0.1:255.0.255.0", &ip, &why), -EINVAL);
	CHECK(strstr(why, "contiguous"));
	CHECK_EQ(init_ip_parse("10.0.0.2::10.1.0.1:255.255.255.0", &ip, &why), -EINVAL);
	CHECK(strstr(why, "outside"));
	CHECK_EQ(init_ip_parse("10.0.0.2::10.0.0.1:255.255.255.0:h:averyveryverylongname", &ip, &why),
		 -EINVAL);
	CHECK(strstr(why, "device"));
	CHECK_EQ(init_ip_parse("10.0.0.2::10.0.0.1:255.255.255.0:h:eth0:dhcp", &ip, &why), -EINVAL);
	CHECK(strstr(why, "autoconf"));
	CHECK_EQ(init_ip_parse("10.0.0.2::x", &ip, &why), -EINVAL);
	CHECK(strstr(why, "gw-ip"));
	CHECK_EQ(init_ip_parse("1:2:3:4:5:6:7:8:9:10:11", &ip, &why), -EINVAL);
	CHECK(!ip.set);
}

static void test_ip_bad_on_cmdline_warns(void)
{
	struct init_config c;
	struct warns w;

	parse("ip=10.0.0.300", &c, &w);
	CHECK_EQ(w.n, 1);
	CHECK(!c.ip.set);
	CHECK(strstr(w.all, "ip=10.0.0.300"));
	CHECK(strstr(w.all, "no network configuration"));
}

static void test_mount_spec(void)
{
	struct init_mount_spec m;
	const char *why;

	CHECK_EQ(init_mount_spec_parse("/dev/vdb:/data", &m, &why), 0);
	CHECK(!strcmp(m.src, "/dev/vdb") && !strcmp(m.dir, "/data"));
	CHECK(!strcmp(m.fstype, "") && !strcmp(m.opts, ""));
	CHECK_EQ(init_mount_spec_parse("tmpfs:/scratch:tmpfs:size=1m,mode=0700:x", &m, &why), 0);
	CHECK(!strcmp(m.opts, "size=1m,mode=0700:x"));
	CHECK_EQ(init_mount_spec_parse("/dev/vdb", &m, &why), -EINVAL);
	CHECK_EQ(init_mount_spec_parse("/dev/vdb:data", &m, &why), -EINVAL);
	CHECK(strstr(why, "absolute"));
	CHECK_EQ(init_mount_spec_parse("/dev/vdb:/a/../etc", &m, &why), -EINVAL);
	CHECK_EQ(init_mount_spec_parse("/dev/vdb:/a/./b", &m, &why), -EINVAL);
	CHECK_EQ(init_mount_spec_parse(":/a", &m, &why), -EINVAL);
	CHECK_EQ(init_mount_spec_parse("/dev/vdb:/a..b", &m, &why), 0);
}

static void test_mount_comma_list(void)
{
	struct init_config c;
	struct warns w;

	parse("init.mount=/dev/vdb:/data:ext4:rw,noatime,/dev/vdc:/logs,tmpfs:/t:tmpfs:size=1m "
	      "init.mount=/dev/vdd:/more:squashfs init.mount=bad", &c, &w);
	CHECK_EQ(c.n_mounts, 4);
	CHECK(!strcmp(c.mounts[0].opts, "rw,noatime"));
	CHECK(!strcmp(c.mounts[1].src, "/dev/vdc") && !strcmp(c.mounts[1].dir, "/logs"));
	CHECK(!strcmp(c.mounts[2].opts, "size=1m"));
	CHECK(!strcmp(c.mounts[3].fstype, "squashfs"));
	CHECK_EQ(w.n, 1);
	CHECK(strstr(w.all, "init.mount: bad entry 'bad'"));
}

static void test_mount_limit(void)
{
	struct init_config c;
	struct warns w;
	char line[2048] = "init.mount=";

	for (int i = 0; i < INIT_MOUNTS_MAX + 2; i++) {
		char one[32];

		snprintf(one, sizeof(one), "%s/dev/x%d:/m%d", i ? "," : "", i, i);
		strcat(line, one);
	}
	parse(line, &c, &w);
	CHECK_EQ(c.n_mounts, INIT_MOUNTS_MAX);
	CHECK_EQ(w.n, 2);
}

static void test_modules_key(void)
{
	struct init_config c;
	struct warns w;

	parse("init.modules=a,b init.modules=bad/name init.modules=c", &c, &w);
	CHECK(!strcmp(c.modules, "a,b,c"));
	CHECK_EQ(w.n, 1);
	CHECK(strstr(w.all, "init.modules"));
}

static void test_split_words(void)
{
	char buf[128], *argv[8];

	CHECK_EQ(init_split_words("  a  'b c' \"d \\\"e\\\"\" f\\ g 'h'i ''  ", buf, sizeof(buf), argv, 8), 6);
	CHECK(!strcmp(argv[0], "a"));
	CHECK(!strcmp(argv[1], "b c"));
	CHECK(!strcmp(argv[2], "d \"e\""));
	CHECK(!strcmp(argv[3], "f g"));
	CHECK(!strcmp(argv[4], "hi"));
	CHECK(!strcmp(argv[5], ""));
	CHECK(argv[6] == NULL);
	CHECK_EQ(init_split_words("", buf, sizeof(buf), argv, 8), 0);
	CHECK(argv[0] == NULL);
	CHECK_EQ(init_split_words("'open", buf, sizeof(buf), argv, 8), -EINVAL);
	CHECK_EQ(init_split_words("\"open", buf, sizeof(buf), argv, 8), -EINVAL);
	CHECK_EQ(init_split_words("trail\\", buf, sizeof(buf), argv, 8), -EINVAL);
	CHECK_EQ(init_split_words("1 2 3 4 5 6 7 8", buf, sizeof(buf), argv, 8), -E2BIG);
	CHECK_EQ(init_split_words("abcdefgh", buf, 8, argv, 8), -E2BIG);
}

/* The agent keys (guest-init/agents.h): vmm's appvm.syslog= announcement,
 * init.agents, init.vm_syslog and init.syslog_buffer with its bounds. */
static void test_agent_keys(void)
{
	struct init_config c;
	struct warns w;

	CHECK_EQ(parse("quiet", &c, &w), 0);
	CHECK_EQ(c.agents, -1);
	CHECK_EQ(c.syslog_port, 0);
	CHECK_EQ(c.syslog_buffer, 1 << 20);
	CHECK(!strcmp(c.vm_syslog, "/sbin/vm_syslog"));
	CHECK_EQ(parse("appvm.syslog=9002 init.agents=0 init.vm_syslog=/bin/vs init.syslog_buffer=64K", &c, &w), 0);
	CHECK_EQ(c.syslog_port, 9002);
	CHECK_EQ(c.agents, 0);
	CHECK(!strcmp(c.vm_syslog, "/bin/vs"));
	CHECK_EQ(c.syslog_buffer, 65536);
	CHECK_EQ(parse("init.syslog_buffer=2M init.agents=auto", &c, &w), 0);
	CHECK_EQ(c.syslog_buffer, 2 << 20);
	CHECK_EQ(c.agents, -1);
	CHECK_EQ(parse("appvm.syslog=0 init.agents=1 init.syslog_buffer=63K init.vm_syslog=rel", &c, &w), 4);
	CHECK_EQ(c.syslog_port, 0);
	CHECK_EQ(c.agents, -1);
	CHECK_EQ(c.syslog_buffer, 1 << 20);
	CHECK(!strcmp(c.vm_syslog, "/sbin/vm_syslog"));
	CHECK(strstr(w.all, "appvm.syslog=0: expected a vsock port"));
	CHECK(strstr(w.all, "init.agents=1: expected auto or 0"));
	CHECK(strstr(w.all, "init.syslog_buffer=63K: expected 64K..256M"));
	CHECK_EQ(parse("init.syslog_buffer=257M appvm.syslog=4294967295", &c, &w), 2);
	CHECK_EQ(c.syslog_buffer, 1 << 20);
	CHECK_EQ(parse("init.syslog_buffer=256M init.syslog_buffer=99999999999999999999G", &c, &w), 1);
	CHECK_EQ(c.syslog_buffer, 1 << 20);
	CHECK_EQ(parse("init.syslog_buffer=1MB", &c, &w), 1);
}

static void test_each_bare_flags(void)
{
	struct init_config c;
	struct warns w;

	/* A bare init.* flag is an unknown key with no value. */
	parse("init.debug quiet", &c, &w);
	CHECK_EQ(w.n, 1);
	CHECK(strstr(w.all, "unknown key init.debug"));
}

int main(void)
{
	t_suite = "init_cmdline";
	RUN(test_defaults);
	RUN(test_every_key);
	RUN(test_on_app_exit_values);
	RUN(test_bad_values_warn);
	RUN(test_empty_paths);
	RUN(test_too_long_value);
	RUN(test_kernel_quoting);
	RUN(test_double_dash_ends);
	RUN(test_embedded_nul);
	RUN(test_overlong_cmdline);
	RUN(test_ip_full);
	RUN(test_ip_minimal_classful);
	RUN(test_ip_off_and_bad);
	RUN(test_ip_bad_on_cmdline_warns);
	RUN(test_mount_spec);
	RUN(test_mount_comma_list);
	RUN(test_mount_limit);
	RUN(test_modules_key);
	RUN(test_split_words);
	RUN(test_each_bare_flags);
	RUN(test_agent_keys);
	return t_done();
}
