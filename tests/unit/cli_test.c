/* `vmm run` command-line parser. */
#include <errno.h>
#include <string.h>

#include "tests/unit/t.h"
#include "vmm/cli.h"
#include "vmm/gm.h"
#include "vmm/devices/virtio_blk.h"
#include "vmm/devices/virtio_rng.h"
#include "vmm/devices/virtio_vsock.h"

static struct cli c;
static char err[512];

static int parse(const char *line)
{
	static char buf[8192];
	static char *argv[128];
	int argc = 0;
	char *save, *tok;

	strcpy(buf, line);
	for (tok = strtok_r(buf, " ", &save); tok && argc < 127; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	err[0] = 0;
	return cli_parse(&c, argc, argv, err, sizeof(err));
}

/* Each device's own parsed options. */
#define BLK ((const struct blk_opts *)cli_device_cfg(&c, "virtio-blk"))
#define RNG ((const struct rng_opts *)cli_device_cfg(&c, "virtio-rng"))
#define VSOCK ((const struct vsock_opts *)cli_device_cfg(&c, "virtio-vsock"))

static void defaults(void)
{
	CHECK_EQ(parse("vmm -k vmlinux"), CLI_RUN);
	CHECK(!strcmp(c.cfg.kernel, "vmlinux"));
	CHECK_EQ(c.cfg.mem_mib, 256);
	CHECK_EQ(c.cfg.vcpus, 1);
	CHECK_EQ(c.cfg.serial, SERIAL_STDIO);
	CHECK_EQ(RNG->on, 1);
	CHECK_EQ(c.cfg.pit, 0);
	CHECK_EQ(VSOCK->cid, 3);
	CHECK(c.cfg.initrd == NULL && c.cfg.params == NULL);
	CHECK_EQ(BLK->ndisks, 0);
}

static void all_options(void)
{
	CHECK_EQ(parse("vmm run --kernel=k -i rd -p a=1 --params b=2 -m 3584 -c 2 --serial file:/tmp/x --no-rng --pit -v"),
		 CLI_RUN);
	CHECK(!strcmp(c.cfg.initrd, "rd"));
	CHECK(!strcmp(c.cfg.params, "a=1 b=2"));
	CHECK_EQ(c.cfg.mem_mib, 3584);
	CHECK_EQ(c.cfg.vcpus, 2);
	CHECK_EQ(c.cfg.serial, SERIAL_FILE);
	CHECK(!strcmp(c.cfg.serial_path, "/tmp/x"));
	CHECK_EQ(RNG->on, 0);
	CHECK_EQ(c.cfg.pit, 1);
	CHECK_EQ(c.cfg.verbose, 1);
	CHECK_EQ(parse("vmm -k k --serial none"), CLI_RUN);
	CHECK_EQ(c.cfg.serial, SERIAL_NONE);
	/* The sandbox is on unless disabled; embedded policies unless a dir. */
	CHECK_EQ(c.cfg.disable_sandbox, 0);
	CHECK(c.cfg.seccomp_policy_dir == NULL);
	CHECK_EQ(parse("vmm -k k --disable-sandbox --seccomp-policy-dir /etc/pol"), CLI_RUN);
	CHECK_EQ(c.cfg.disable_sandbox, 1);
	CHECK(!strcmp(c.cfg.seccomp_policy_dir, "/etc/pol"));
}

static void disks_root_first(void)
{
	CHECK_EQ(parse("vmm -k k -d a.img -r root.sqfs -d b.img,ro"), CLI_RUN);
	CHECK_EQ(BLK->ndisks, 3);
	CHECK(!strcmp(BLK->disks[0].path, "root.sqfs"));
	CHECK(BLK->disks[0].root && BLK->disks[0].ro);
	CHECK(!strcmp(BLK->disks[1].path, "a.img"));
	CHECK(!BLK->disks[1].ro && !BLK->disks[1].root);
	CHECK(!strcmp(BLK->disks[2].path, "b.img"));
	CHECK(BLK->disks[2].ro);
	CHECK_EQ(parse("vmm -k k --rwroot r.img"), CLI_RUN);
	CHECK(BLK->disks[0].root && !BLK->disks[0].ro);
	CHECK_EQ(parse("vmm -k k -r a -r b"), -EINVAL);
	CHECK(strstr(err, "root disk was already given"));
	CHECK_EQ(parse("vmm -k k -d a,rw"), -EINVAL);
	CHECK(strstr(err, "'rw'"));
}

static void errors_name_the_input(void)
{
	CHECK_EQ(parse("vmm"), -EINVAL);
	CHECK(strstr(err, "missing -k"));
	CHECK_EQ(parse("vmm -k"), -EINVAL);
	CHECK(strstr(err, "-k needs a value"));
	CHECK_EQ(parse("vmm -k k -m 0"), -EINVAL);
	CHECK(strstr(err, "-m '0'"));
	CHECK_EQ(parse("vmm -k k -m 12x"), -EINVAL);
	CHECK_EQ(parse("vmm -k k -m -5"), -EINVAL);
	CHECK_EQ(parse("vmm -k k -m 99999999999999999999"), -EINVAL);
	CHECK_EQ(parse("vmm -k k -c 17"), -EINVAL);
	CHECK(strstr(err, "-c '17'"));
	CHECK_EQ(parse("vmm -k k -c 0"), -EINVAL);
	CHECK_EQ(parse("vmm -k k --serial tty"), -EINVAL);
	CHECK(strstr(err, "--serial 'tty'"));
	CHECK_EQ(parse("vmm -k k --serial file:"), -EINVAL);
	CHECK_EQ(parse("vmm -k k --bogus"), -EINVAL);
	CHECK(strstr(err, "--bogus"));
	CHECK_EQ(parse("vmm frobnicate -k k"), -EINVAL);
	CHECK(strstr(err, "frobnicate"));
	CHECK_EQ(parse("vmm -k k stray"), -EINVAL);
	CHECK_EQ(parse("vmm -k k --no-rng=1"), -EINVAL);
	CHECK(strstr(err, "takes no value"));
	CHECK_EQ(parse("vmm -k k --pit=0"), -EINVAL);
	CHECK(strstr(err, "takes no value"));
	CHECK_EQ(parse("vmm -k k --disable-sandbox=1"), -EINVAL);
	CHECK(strstr(err, "--disable-sandbox"));
	CHECK_EQ(parse("vmm -k k --seccomp-policy-dir"), -EINVAL);
	CHECK(strstr(err, "--seccomp-policy-dir needs a value"));
	CHECK_EQ(parse("vmm -k k --seccomp-policy-dir="), -EINVAL);
	CHECK(strstr(err, "--seccomp-policy-dir: empty path"));
	CHECK_EQ(parse("vmm -k k --hugepages 1G"), -EINVAL);
	CHECK(strstr(err, "--hugepages '1G'"));
	CHECK_EQ(parse("vmm -k k -m 255 --hugepages 2M"), -EINVAL);
	CHECK(strstr(err, "-m 255") && strstr(err, "multiple of 2"));
}

static void hugepages(void)
{
	CHECK_EQ(parse("vmm -k k"), CLI_RUN);
	CHECK_EQ(c.cfg.hugepages, GM_PAGES_THP);
	CHECK(!c.cfg.hugepages_set);
	CHECK_EQ(parse("vmm -k k --hugepages 2M -m 64"), CLI_RUN);
	CHECK_EQ(c.cfg.hugepages, GM_PAGES_2M);
	CHECK_EQ(parse("vmm -k k --hugepages=thp -m 63"), CLI_RUN);
	CHECK_EQ(c.cfg.hugepages, GM_PAGES_THP);
	CHECK(c.cfg.hugepages_set);
	CHECK_EQ(parse("vmm -k k --hugepages off"), CLI_RUN);
	CHECK_EQ(c.cfg.hugepages, GM_PAGES_4K);
}

/* --serial file:PATH[,max=SIZE]: 16 MiB unless given; K/M/G suffixes
 * (binary); a bad size is one clear error naming the option. */
static void serial_file_max(void)
{
	CHECK_EQ(parse("vmm -k k --serial file:/tmp/con.log"), CLI_RUN);
	CHECK(!strcmp(c.cfg.serial_path, "/tmp/con.log"));
	CHECK_EQ(c.cfg.serial_max, 16u << 20);
	CHECK_EQ(parse("vmm -k k --serial file:/tmp/con.log,max=4096"), CLI_RUN);
	CHECK(!strcmp(c.cfg.serial_path, "/tmp/con.log"));
	CHECK_EQ(c.cfg.serial_max, 4096);
	CHECK_EQ(parse("vmm -k k --serial=file:/tmp/a,b.log,max=2M"), CLI_RUN);
	CHECK(!strcmp(c.cfg.serial_path, "/tmp/a,b.log"));
	CHECK_EQ(c.cfg.serial_max, 2u << 20);
	CHECK_EQ(parse("vmm -k k --serial file:x,max=64K"), CLI_RUN);
	CHECK_EQ(c.cfg.serial_max, 64u << 10);
	CHECK_EQ(parse("vmm -k k --serial file:x,max=1G"), CLI_RUN);
	CHECK_EQ(c.cfg.serial_max, 1u << 30);
	CHECK_EQ(parse("vmm -k k --serial file:x,max=0"), -EINVAL);
	CHECK(strstr(err, "--serial 'file:x,max=0'"));
	CHECK(strstr(err, "max"));
	CHECK_EQ(parse("vmm -k k --serial file:x,max=12Q"), -EINVAL);
	CHECK_EQ(parse("vmm -k k --serial file:x,max="), -EINVAL);
	CHECK_EQ(parse("vmm -k k --serial file:x,max=-1"), -EINVAL);
	CHECK_EQ(parse("vmm -k k --serial file:x,max=99999999999G"), -EINVAL);
	CHECK_EQ(parse("vmm -k k --serial file:,max=4096"), -EINVAL);
}

static void vsock_and_socket(void)
{
	CHECK_EQ(parse("vmm -k k --cid 42 --vsock /tmp/v.sock -s /tmp/c.sock"), CLI_RUN);
	CHECK_EQ(VSOCK->cid, 42);
	CHECK(!strcmp(VSOCK->path, "/tmp/v.sock"));
	CHECK(!strcmp(c.cfg.socket_path, "/tmp/c.sock"));
	CHECK_EQ(parse("vmm -k k --cid 2"), -EINVAL);
	CHECK(strstr(err, "--cid '2'"));
	CHECK_EQ(parse("vmm -k k --cid 4294967295"), -EINVAL);
}

static void errors_stay_one_line(void)
{
	char *argv[] = { "vmm", "-k", "k", "--bo\ngus\x01", NULL };
	CHECK_EQ(cli_parse(&c, 4, argv, err, sizeof(err)), -EINVAL);
	CHECK(strchr(err, '\n') == NULL);
	CHECK(strchr(err, '\x01') == NULL);
	CHECK(strstr(err, "--bo?gus?") != NULL);
}

/* The agents' endpoints: --syslog modes, --name, --crash-dir. */
static void agent_endpoints(void)
{
	CHECK_EQ(parse("vmm -k k"), CLI_RUN);
	CHECK_EQ(c.cfg.syslog, SYSLOG_NONE);
	CHECK(c.cfg.name == NULL && c.cfg.crash_dir == NULL);
	CHECK_EQ(parse("vmm -k k --syslog stderr --name web-1.a --crash-dir /var/crash"), CLI_RUN);
	CHECK_EQ(c.cfg.syslog, SYSLOG_STDERR);
	CHECK(!strcmp(c.cfg.name, "web-1.a"));
	CHECK(!strcmp(c.cfg.crash_dir, "/var/crash"));
	CHECK_EQ(parse("vmm -k k --syslog file:/tmp/g.log"), CLI_RUN);
	CHECK_EQ(c.cfg.syslog, SYSLOG_FILE);
	CHECK(!strcmp(c.cfg.syslog_path, "/tmp/g.log"));
	CHECK_EQ(parse("vmm -k k --syslog=syslog"), CLI_RUN);
	CHECK_EQ(c.cfg.syslog, SYSLOG_HOST);
	CHECK(c.cfg.syslog_path == NULL);
	CHECK_EQ(parse("vmm -k k --syslog syslog:/run/log.sock"), CLI_RUN);
	CHECK(!strcmp(c.cfg.syslog_path, "/run/log.sock"));
	CHECK_EQ(parse("vmm -k k --syslog journal"), -EINVAL);
	CHECK(strstr(err, "--syslog 'journal': expected stderr, file:PATH or syslog") != NULL);
	CHECK_EQ(parse("vmm -k k --syslog file:"), -EINVAL);
	CHECK_EQ(parse("vmm -k k --syslog syslog:rel"), -EINVAL);
	CHECK_EQ(parse("vmm -k k --name a/b"), -EINVAL);
	CHECK(strstr(err, "--name 'a/b'") != NULL);
	CHECK_EQ(parse("vmm -k k --name .hidden"), -EINVAL);
	CHECK_EQ(parse("vmm -k k --name 12345678901234567890123456789012345678901234567890123456789012345"), -EINVAL);
	CHECK_EQ(parse("vmm -k k --crash-dir="), -EINVAL);
	CHECK(strstr(err, "--crash-dir: empty path") != NULL);
}

static void help_and_version(void)
{
	CHECK_EQ(parse("vmm --help"), CLI_HELP);
	CHECK_EQ(parse("vmm run -h"), CLI_HELP);
	CHECK_EQ(parse("vmm --version"), CLI_VERSION);
	static char text[8192];
	size_t n = cli_usage(text, sizeof(text));
	CHECK(n < sizeof(text) && strlen(text) == n);
	/* The devices' own lines, in table order, between the core's. */
	CHECK(strstr(text, "--serial MODE") < strstr(text, "--rwroot"));
	CHECK(strstr(text, "--rwroot") < strstr(text, "WARNING"));
	CHECK(strstr(text, "WARNING") < strstr(text, "--rng, --no-rng"));
	CHECK(strstr(text, "--rng, --no-rng") < strstr(text, "--vsock PATH"));
	CHECK(strstr(text, "--vsock PATH") < strstr(text, "-s, --socket"));
	/* The control commands are named, configure-network included. */
	CHECK(strstr(text, "configure-network (--addr A/N") > strstr(text, "Exit status:"));
	/* --no-rng has no line of its own: --rng's covers it. */
	CHECK(strstr(strstr(text, "--no-rng") + 1, "--no-rng") == NULL);
	/* Truncated like snprintf: same length reported, NUL-terminated. */
	CHECK_EQ(cli_usage(text, 10), n);
	CHECK_EQ(strlen(text), 9);
}

static void params_too_long(void)
{
	static char line[8192];
	strcpy(line, "vmm -k k");
	for (int i = 0; i < 30; i++) {
		strcat(line, " -p ");
		for (int j = 0; j < 150; j++)
			strcat(line, "x");
	}
	CHECK_EQ(parse(line), -EINVAL);
	CHECK(strstr(err, "too long"));
}

int main(void)
{
	t_suite = "cli";
	RUN(defaults);
	RUN(all_options);
	RUN(disks_root_first);
	RUN(errors_name_the_input);
	RUN(serial_file_max);
	RUN(vsock_and_socket);
	RUN(errors_stay_one_line);
	RUN(agent_endpoints);
	RUN(help_and_version);
	RUN(params_too_long);
	RUN(hugepages);
	return t_done();
}
