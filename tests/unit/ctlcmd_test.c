/* Host-side control commands (vmm/ctlcmd.c) against a fake control socket
 * served by a forked child with the real RPC framing: what the guest sends
 * is hostile, and whatever of it reaches the operator's terminal must not
 * be able to drive that terminal (escape sequences, control characters). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/maitred.h"
#include "tests/unit/t.h"
#include "vmm/ctlcmd.h"

/* An OSC title change, a screen clear, BEL, a carriage return hiding what
 * came before, DEL, a raw C1 CSI byte and a stray UTF-8 byte. */
#define EVIL "web\x1b]0;pwned\x07\x1b[2J\rok\x7f\x9b" "6n\xc3"

static char dir[64], sock[128];

static uint32_t get_info(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	maitred_GetInfoResponse *r = resp;
	static unsigned calls;

	if (calls++ == 1) {
		rpc_status_set(st, RPC_INTERNAL, "%s", EVIL);
		return RPC_INTERNAL;
	}
	strcpy(r->hostname, EVIL);
	strcpy(r->kernel_release, "6.1.0" EVIL);
	strcpy(r->kernel_version, "#1 SMP\n" EVIL);
	strcpy(r->init_version, EVIL);
	return RPC_OK;
}

/* ConfigureNetwork: writes what it received to the pipe net_pipe (the
 * server runs in a child), refuses an ifname "nosuch0" as init does. */
static int net_pipe[2] = { -1, -1 };
static uint32_t configure_network(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	const maitred_ConfigureNetworkRequest *r = req;
	char line[512];
	int n = snprintf(line, sizeof(line), "if=%s addr=%s prefix=%u mask=%s gw=%s mtu=%u dns=%u:%s,%s\n", r->ifname,
			 r->address, r->prefix_len, r->netmask, r->gateway, r->mtu, (unsigned)r->dns_count,
			 r->dns_count > 0 ? r->dns[0] : "", r->dns_count > 1 ? r->dns[1] : "");

	if (write(net_pipe[1], line, (size_t)n) != n)
		return RPC_INTERNAL;
	if (!strcmp(r->ifname, "nosuch0")) {
		rpc_status_set(st, RPC_NOT_FOUND, "network: no interface %s", r->ifname);
		return RPC_NOT_FOUND;
	}
	return RPC_OK;
}

/* Serve `n` connections, one after the other, then exit. */
static pid_t fake_vmm(int n)
{
	static const struct rpc_method methods[] = {
		{ &proto_maitred_methods[PROTO_MAITRED_GET_INFO], get_info },
		{ &proto_maitred_methods[PROTO_MAITRED_CONFIGURE_NETWORK], configure_network },
	};
	static const struct rpc_server srv = { .methods = methods, .n_methods = 2, .io_timeout_ms = 5000 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lfd, 4) == 0);
	pid = fork();
	if (pid == 0) {
		alarm(20);
		for (int i = 0; i < n; i++) {
			int fd = accept(lfd, NULL, NULL);
			if (fd < 0)
				_exit(1);
			rpc_server_serve(&srv, fd);
			close(fd);
		}
		_exit(0);
	}
	close(lfd);
	return pid;
}

static int run_argv(int argc, char **argv, char *out, char *err, size_t cap);

/* Run `vmm CMD SOCK` with stdout and stderr captured into out/err. */
static int run_cmd(const char *cmd, char *out, char *err, size_t cap)
{
	char *argv[] = { "vmm", (char *)cmd, sock, NULL };

	return run_argv(3, argv, out, err, cap);
}

/* Run `vmm ARGV...` (NULL-terminated argv, argc words) likewise. */
static int run_argv(int argc, char **argv, char *out, char *err, size_t cap)
{
	int po[2], pe[2], so, se, rc;
	ssize_t n;

	fflush(stdout);
	fflush(stderr);
	CHECK(pipe(po) == 0 && pipe(pe) == 0);
	so = dup(1);
	se = dup(2);
	dup2(po[1], 1);
	dup2(pe[1], 2);
	rc = ctlcmd_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(po[1]);
	close(pe[1]);
	n = read(po[0], out, cap - 1);
	out[n > 0 ? n : 0] = 0;
	n = read(pe[0], err, cap - 1);
	err[n > 0 ? n : 0] = 0;
	close(po[0]);
	close(pe[0]);
	return rc;
}

/* Only printable ASCII and newlines reach the terminal. */
static bool terminal_safe(const char *s)
{
	for (; *s; s++)
		if (*s != '\n' && ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f))
			return false;
	return true;
}

static void info_escapes_guest_strings(void)
{
	static char out[8192], err[8192];
	int status;
	pid_t pid = fake_vmm(2);

	CHECK_EQ(run_cmd("info", out, err, sizeof(out)), 0);
	CHECK(terminal_safe(out));
	CHECK(strstr(out, "hostname: web\\x1b]0;pwned\\x07\\x1b[2J\\rok\\x7f\\x9b6n\\xc3\n") != NULL);
	CHECK(strstr(out, "kernel_version: #1 SMP\\nweb\\x1b]0;") != NULL);
	CHECK(strstr(out, "kernel_release: 6.1.0web\\x1b") != NULL);
	CHECK(strstr(out, "init_version: web\\x1b") != NULL);
	/* The guest's error message on stderr too (the RPC layer already
	 * masks its control bytes; escaped again here, harmlessly). */
	CHECK_EQ(run_cmd("info", out, err, sizeof(out)), CTLCMD_EXIT_FAILURE);
	CHECK(terminal_safe(err));
	CHECK(strstr(err, "pwned") != NULL);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(sock);
}

/* `vmm configure-network SOCK ARGS...` (words split at blanks). */
static int netcfg(const char *args, char *out, char *err, size_t cap)
{
	char buf[256], *argv[24] = { "vmm", "configure-network", sock }, *save = NULL;
	int argc = 3;

	snprintf(buf, sizeof(buf), "%s", args);
	for (char *w = strtok_r(buf, " ", &save); w && argc < 23; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	return run_argv(argc, argv, out, err, cap);
}

/* What reached the fake init, or "" when nothing did (200 ms). */
static const char *net_received(char *buf, size_t cap)
{
	struct pollfd p = { .fd = net_pipe[0], .events = POLLIN };
	ssize_t n = poll(&p, 1, 200) == 1 ? read(net_pipe[0], buf, cap - 1) : 0;

	buf[n > 0 ? n : 0] = 0;
	return buf;
}

/* configure-network: good requests reach init with every field as given
 * (the netmask sent as a prefix length); a request init refuses is exit 1
 * with its message; bad input is exit 2, one line naming it, and nothing
 * is sent (the fake serves only the three good calls). */
static void configure_network_cmd(void)
{
	static char out[4096], err[4096], got[512];
	static const struct { const char *args, *want; } bad[] = {
		{ "--addr 10.0.0.2", "--addr 10.0.0.2: no prefix (give A/N or --netmask M)" },
		{ "--addr 10.0.0.300/24", "--addr '10.0.0.300/24': not an IPv4 or IPv6 address" },
		{ "--addr 10.0.0.2 --netmask 255.0.255.0", "--netmask 255.0.255.0: not a netmask" },
		{ "--addr 10.0.0.2/33", "--addr 10.0.0.2/33: not a netmask" },
		{ "--addr 10.0.0.2/24 --netmask 24", "give the prefix once" },
		{ "--addr fe80::1/129", "--addr fe80::1/129: not a prefix length 1..128 (IPv6)" },
		{ "--addr 10.0.0.2/24 --gateway 10.0.1.1", "--gateway 10.0.1.1: outside 10.0.0.2/24" },
		{ "--addr 10.0.0.2/24 --gateway fe80::1", "--gateway fe80::1: not the address's family" },
		{ "--addr 10.0.0.2/24 --gateway x", "--gateway 'x': not an IPv4 or IPv6 address" },
		{ "--iface a/b --addr 10.0.0.2/24", "--iface 'a/b': not an interface name" },
		{ "--iface 0123456789abcdef --addr 10.0.0.2/24", "--iface '0123456789abcdef': not an interface name" },
		{ "--mtu 67", "--mtu '67': not a number from 68 to 65535" },
		{ "--mtu 9x", "--mtu '9x': not a number" },
		{ "--dns 1.1.1.1 --dns 2.2.2.2 --dns 3.3.3.3 --dns 4.4.4.4 --dns 5.5.5.5", "--dns 5.5.5.5: at most 4" },
		{ "--dns nameserver", "--dns 'nameserver': not an IPv4 or IPv6 address" },
		{ "--gateway 10.0.0.1", "--netmask or --gateway without --addr" },
	};
	int status;
	pid_t pid;

	CHECK_EQ(pipe(net_pipe), 0);
	pid = fake_vmm(3);
	CHECK_EQ(netcfg("--addr 10.0.0.2 --netmask 255.255.255.0 --gateway 10.0.0.1", out, err, sizeof(out)), 0);
	CHECK(!strcmp(net_received(got, sizeof(got)), "if= addr=10.0.0.2 prefix=24 mask= gw=10.0.0.1 mtu=0 dns=0:,\n"));
	CHECK_EQ(netcfg("--iface eth1 --addr 2001:db8::2/64 --gateway fe80::1 --dns 10.0.0.53 --dns ::1 --mtu 9000",
			out, err, sizeof(out)), 0);
	CHECK(!strcmp(net_received(got, sizeof(got)),
		      "if=eth1 addr=2001:db8::2 prefix=64 mask= gw=fe80::1 mtu=9000 dns=2:10.0.0.53,::1\n"));
	CHECK_EQ(netcfg("--iface nosuch0 --addr 10.0.0.2/8", out, err, sizeof(out)), CTLCMD_EXIT_FAILURE);
	CHECK(!strcmp(err, "vmm: configure-network: network: no interface nosuch0 (NOT_FOUND)\n"));
	net_received(got, sizeof(got));
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(netcfg(bad[i].args, out, err, sizeof(out)), CTLCMD_EXIT_USAGE);
		CHECK(strstr(err, "vmm: configure-network: ") == err);
		CHECK(strstr(err, bad[i].want) != NULL);
		CHECK(strchr(err, '\n') == err + strlen(err) - 1);  /* one line */
		CHECK(!strcmp(net_received(got, sizeof(got)), ""));
	}
	/* Unknown options and nothing to do: the usage follows the line. */
	CHECK_EQ(netcfg("--addr", out, err, sizeof(out)), CTLCMD_EXIT_USAGE);
	CHECK(strstr(err, "unknown option or missing value '--addr'") != NULL);
	CHECK_EQ(netcfg("", out, err, sizeof(out)), CTLCMD_EXIT_USAGE);
	CHECK(strstr(err, "nothing to configure") != NULL);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(net_pipe[0]);
	close(net_pipe[1]);
	unlink(sock);
}

int main(void)
{
	t_suite = "ctlcmd";
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/ctlcmd_test.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/c.sock", dir);
	RUN(info_escapes_guest_strings);
	RUN(configure_network_cmd);
	rmdir(dir);
	return t_done();
}
