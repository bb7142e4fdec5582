#include "vmm/ctlcmd.h"

#include <errno.h>
#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto/maitred.h"
#include "proto/rpc.h"
#include "proto/vmctl.h"
#include "vmm/vshcmd.h"

static const char ctlcmd_usage_text[] =
	"usage: vmm stop SOCK                      end the VM now (guest not notified)\n"
	"       vmm status SOCK                    the VM's state as JSON\n"
	"       vmm exec SOCK [-t SEC] [-e K=V]... [-C DIR] [-i] -- CMD [ARG]...\n"
	"                                          run CMD in the guest, print its output,\n"
	"                                          exit with its status (-i: send stdin)\n"
	"       vmm shutdown SOCK [--reboot]       graceful power-off (or reboot) via init\n"
	"       vmm info SOCK                      guest kernel, uptime, load, memory\n"
	"       vmm set-time SOCK [EPOCH_SECONDS]  set the guest clock (default: host's)\n"
	"       vmm mount SOCK [-o OPTS] [-r] [-p] SOURCE TARGET FSTYPE\n"
	"                                          mount in the guest (-r ro, -p mkdir)\n"
	"       vmm configure-network SOCK [--iface NAME] --addr A[/N] [--netmask M]\n"
	"                 [--gateway G] [--dns A]... [--mtu N]\n"
	"                                          configure a guest interface (default: the\n"
	"                                          first ethernet one) through init; IPv4 or\n"
	"                                          IPv6, M dotted or a prefix length\n"
	"       vmm sh SOCK [-- CMD [ARG]...]      shell (or CMD) in the guest through vshd: a\n"
	"                                          terminal when stdin is one, else pipes\n"
	"       vmm share SOCK [--ro] [--tag TAG] HOSTDIR NAME\n"
	"                                          grant HOSTDIR to the running VM's virtio-9p\n"
	"                                          share TAG (default: the first) as NAME: a\n"
	"                                          directory in a --share :TAG root, or\n"
	"                                          mounted alone with aname=NAME\n"
	"       vmm unshare SOCK [--tag TAG] NAME  revoke it (open files there turn stale)\n"
	"Common: -T SEC  how long to wait for the guest service (default 10)\n"
	"Exit: 0 ok; 1 request failed; 2 usage; 3 no such socket; 4 VM not running;\n"
	"      5 guest service not answering; exec: the command's status, 126/127 not\n"
	"      executable / not found, 128+N killed by signal N; sh: the remote status\n"
	"      (128+N killed by signal N), 255 connection lost before the status\n";

int ctlcmd_usage(const char *fmt, const char *arg)
{
	if (fmt) {
		fprintf(stderr, "vmm: ");
		fprintf(stderr, fmt, arg);
		fputc('\n', stderr);
	}
	fputs(ctlcmd_usage_text, stderr);
	return CTLCMD_EXIT_USAGE;
}

int ctlcmd_is(const char *name)
{
	static const char *const cmds[] = { "stop", "status", "exec", "shutdown", "info", "set-time", "mount", "sh",
					    "share", "unshare", "configure-network" };

	for (unsigned i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(name, cmds[i]))
			return 1;
	return 0;
}

int ctlcmd_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vmm: %s: socket path too long\n", path);
		return -CTLCMD_EXIT_USAGE;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "vmm: socket: %s\n", strerror(errno));
		return -CTLCMD_EXIT_FAILURE;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		if (e == ENOENT || e == ENOTDIR) {
			fprintf(stderr, "vmm: %s: no such control socket\n", path);
			return -CTLCMD_EXIT_NOSOCK;
		}
		if (e == ECONNREFUSED) {
			fprintf(stderr, "vmm: %s: VM not running (nothing listens on the socket)\n", path);
			return -CTLCMD_EXIT_NOTRUN;
		}
		fprintf(stderr, "vmm: %s: cannot connect: %s\n", path, strerror(e));
		return -CTLCMD_EXIT_FAILURE;
	}
	return fd;
}

/* Text from the guest (or relayed by vmm) for the operator's terminal: a
 * hostile guest must not drive it with escape sequences or hide text with
 * carriage returns. Printable ASCII stays, a backslash doubles, \n \r \t
 * read as such, every other byte (controls, ESC, DEL, C1, anything >= 0x80)
 * as \xHH. Returns buf, which holds 4 * strlen(s) + 1 bytes or is cut. */
static const char *ctlcmd_esc(const char *s, char *buf, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char e[5] = { (char)c, 0 };

		if (c == '\\' || c == '\n' || c == '\r' || c == '\t') {
			e[0] = '\\';
			e[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : '\\';
			e[2] = 0;
		} else if (c < 0x20 || c >= 0x7f) {
			e[0] = '\\';
			e[1] = 'x';
			e[2] = hex[c >> 4];
			e[3] = hex[c & 15];
		}
		if (o + strlen(e) >= cap)
			break;
		memcpy(buf + o, e, strlen(e));
		o += strlen(e);
	}
	buf[o] = 0;
	return buf;
}

/* Room for one escaped RPC status message. */
#define CTLCMD_ESC_MSG (4 * sizeof(((struct rpc_status *)0)->msg) + 1)

int ctlcmd_call_fd(int fd, const char *sock, const struct rpc_method_desc *m, const void *req, void *resp,
		   int timeout_ms, struct rpc_status *st)
{
	struct rpc_client cl;
	int rc;

	rpc_client_init(&cl, fd, timeout_ms);
	rc = rpc_client_call(&cl, m, req, resp, st);
	rpc_client_release(&cl);
	if (rc == -ETIMEDOUT) {
		fprintf(stderr, "vmm: %s: no answer within %d s (guest still booting, or its service is not running)\n",
			sock, timeout_ms / 1000);
		return CTLCMD_EXIT_NOGUEST;
	}
	if (rc == -ECONNRESET || rc == -EPIPE) {
		fprintf(stderr, "vmm: %s: the VM closed the connection (VM stopping?)\n", sock);
		return CTLCMD_EXIT_NOTRUN;
	}
	if (rc < 0) {
		fprintf(stderr, "vmm: %s: %s: %s\n", sock, m->name, strerror(-rc));
		return CTLCMD_EXIT_FAILURE;
	}
	if (st->code == RPC_UNAVAILABLE) {
		char e[CTLCMD_ESC_MSG];
		fprintf(stderr, "vmm: %s: %s\n", sock, ctlcmd_esc(st->msg, e, sizeof(e)));
		return CTLCMD_EXIT_NOGUEST;
	}
	return 0;
}

/* One call on a connection of its own. */
static int ctlcmd_call(const char *sock, const struct rpc_method_desc *m, const void *req, void *resp,
		       int timeout_ms, struct rpc_status *st)
{
	int fd = ctlcmd_connect(sock), rc;

	if (fd < 0)
		return -fd;
	rc = ctlcmd_call_fd(fd, sock, m, req, resp, timeout_ms, st);
	close(fd);
	return rc;
}

int ctlcmd_parse_secs(const char *s, int *ms)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 1 || v > 86400)
		return -1;
	*ms = (int)v * 1000;
	return 0;
}

static int ctlcmd_exec(const char *sock, int argc, char **argv, int timeout_ms)
{
	static maitred_ExecRequest req;
	static maitred_ExecResponse resp;
	struct rpc_status st;
	char e[CTLCMD_ESC_MSG];
	int i = 0, rc, send_stdin = 0;

	memset(&req, 0, sizeof(req));
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "-t") && i + 1 < argc) {
			int ms;
			if (ctlcmd_parse_secs(argv[++i], &ms))
				return ctlcmd_usage("exec -t '%s': seconds from 1 to 86400", argv[i]);
			req.timeout_ms = (uint32_t)ms;
		} else if (!strcmp(a, "-e") && i + 1 < argc) {
			if (req.env_count >= sizeof(req.env) / sizeof(req.env[0]) || strlen(argv[i + 1]) >= sizeof(req.env[0]) ||
			    !strchr(argv[i + 1], '='))
				return ctlcmd_usage("exec -e '%s': expected KEY=VALUE (bounded count and length)", argv[i + 1]);
			strcpy(req.env[req.env_count++], argv[++i]);
		} else if (!strcmp(a, "-C") && i + 1 < argc) {
			if (strlen(argv[i + 1]) >= sizeof(req.cwd))
				return ctlcmd_usage("exec -C '%s': path too long", argv[i + 1]);
			strcpy(req.cwd, argv[++i]);
		} else if (!strcmp(a, "-i")) {
			send_stdin = 1;
		} else {
			return ctlcmd_usage("exec: unknown option '%s'", a);
		}
	}
	if (i >= argc)
		return ctlcmd_usage("exec: missing command%s", "");
	for (; i < argc; i++) {
		if (req.argv_count >= sizeof(req.argv) / sizeof(req.argv[0]))
			return ctlcmd_usage("exec: too many arguments (max %s)", "32");
		if (strlen(argv[i]) >= sizeof(req.argv[0]))
			return ctlcmd_usage("exec: argument too long: '%s'", argv[i]);
		strcpy(req.argv[req.argv_count++], argv[i]);
	}
	if (send_stdin) {
		size_t n = 0;
		ssize_t r;
		while (n < sizeof(req.stdin_data.bytes) &&
		       (r = read(STDIN_FILENO, req.stdin_data.bytes + n, sizeof(req.stdin_data.bytes) - n)) > 0)
			n += (size_t)r;
		if (n == sizeof(req.stdin_data.bytes)) {
			char c;
			if (read(STDIN_FILENO, &c, 1) > 0) {
				fprintf(stderr, "vmm: exec: stdin longer than %zu bytes\n", sizeof(req.stdin_data.bytes));
				return CTLCMD_EXIT_USAGE;
			}
		}
		req.stdin_data.size = (pb_size_t)n;
	}
	/* The round trip may last as long as the command. */
	rc = ctlcmd_call(sock, &proto_maitred_methods[PROTO_MAITRED_EXEC], &req, &resp,
			 req.timeout_ms ? (int)req.timeout_ms + timeout_ms : -1, &st);
	if (rc)
		return rc;
	if (st.code == RPC_NOT_FOUND) {
		fprintf(stderr, "vmm: exec: %s: command not found in the guest\n", req.argv[0]);
		return CTLCMD_EXIT_NOTFOUND;
	}
	if (st.code == RPC_PERMISSION_DENIED) {
		fprintf(stderr, "vmm: exec: %s: %s\n", req.argv[0], ctlcmd_esc(st.msg, e, sizeof(e)));
		return CTLCMD_EXIT_NOEXEC;
	}
	if (st.code != RPC_OK) {
		fprintf(stderr, "vmm: exec: %s: %s\n", req.argv[0], ctlcmd_esc(st.msg, e, sizeof(e)));
		return CTLCMD_EXIT_FAILURE;
	}
	fwrite(resp.stdout_data.bytes, 1, resp.stdout_data.size, stdout);
	fwrite(resp.stderr_data.bytes, 1, resp.stderr_data.size, stderr);
	fflush(stdout);
	if (resp.stdout_truncated || resp.stderr_truncated)
		fprintf(stderr, "vmm: exec: output truncated at %zu bytes per stream\n", sizeof(resp.stdout_data.bytes));
	if (resp.timed_out)
		fprintf(stderr, "vmm: exec: %s: killed after its %u ms timeout\n", req.argv[0], req.timeout_ms);
	if (resp.signal)
		return 128 + (resp.signal & 0x7f);
	return resp.exit_code & 0xff;
}

/* A grant name or tag becomes one word of the virtio-9p control message
 * (vmm/devices/virtio_9p.h): one path component, no blanks or controls. */
static bool ctlcmd_word_ok(const char *s)
{
	if (!*s || strlen(s) > 255 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '/' || *s == 0x7f)
			return false;
	return true;
}

/* vmm share|unshare: a virtio-9p control message through DeviceControl.
 * HOSTDIR is made absolute here (vmm's working directory is not ours);
 * vmm opens it and hands the device the fd. */
static int ctlcmd_share(const char *cmd, const char *sock, int argc, char **argv, int timeout_ms)
{
	static vmctl_DeviceControlRequest req;
	vmctl_DeviceControlResponse resp;
	bool share = !strcmp(cmd, "share"), ro = false;
	const char *tag = "-", *name;
	struct rpc_status st;
	char e[CTLCMD_ESC_MSG];
	int rc, n;

	memset(&req, 0, sizeof(req));
	for (; argc && argv[0][0] == '-'; argc--, argv++) {
		if (share && !strcmp(argv[0], "--ro")) {
			ro = true;
		} else if (!strcmp(argv[0], "--tag") && argc > 1) {
			tag = argv[1];
			if (!ctlcmd_word_ok(tag))
				return ctlcmd_usage("--tag '%s': not a share tag", tag);
			argc--, argv++;
		} else {
			return ctlcmd_usage("unknown option '%s'", argv[0]);
		}
	}
	if (argc != (share ? 2 : 1))
		return ctlcmd_usage(share ? "share: expected HOSTDIR NAME%s" : "unshare: expected NAME%s", "");
	name = argv[share ? 1 : 0];
	if (!ctlcmd_word_ok(name))
		return ctlcmd_usage("%s: NAME must be one path component without blanks", name);
	if (share) {
		char abs[PATH_MAX];
		struct stat sb;
		if (!realpath(argv[0], abs) || stat(abs, &sb) < 0) {
			fprintf(stderr, "vmm: share: %s: %s\n", argv[0], strerror(errno));
			return CTLCMD_EXIT_USAGE;
		}
		if (!S_ISDIR(sb.st_mode)) {
			fprintf(stderr, "vmm: share: %s: not a directory\n", argv[0]);
			return CTLCMD_EXIT_USAGE;
		}
		if (strlen(abs) >= sizeof(req.open_dir))
			return ctlcmd_usage("share: %s: path too long", argv[0]);
		strcpy(req.open_dir, abs);
	}
	n = share ? snprintf((char *)req.msg.bytes, sizeof(req.msg.bytes), "share %s %s %s", tag, name, ro ? "ro" : "rw")
		  : snprintf((char *)req.msg.bytes, sizeof(req.msg.bytes), "unshare %s %s", tag, name);
	if (n < 0 || (size_t)n >= sizeof(req.msg.bytes))
		return ctlcmd_usage("%s: arguments too long", cmd);
	req.msg.size = (pb_size_t)n;
	req.open_ro = ro;
	strcpy(req.device, "virtio-9p");
	rc = ctlcmd_call(sock, &proto_vmctl_methods[PROTO_VMCTL_DEVICE_CONTROL], &req, &resp, timeout_ms, &st);
	if (rc)
		return rc;
	if (st.code != RPC_OK) {
		fprintf(stderr, "vmm: %s: %s (%s)\n", cmd, ctlcmd_esc(st.msg, e, sizeof(e)), rpc_code_name(st.code));
		return CTLCMD_EXIT_FAILURE;
	}
	switch (resp.error) {
	case 0:
		return 0;
	case ENODEV:
		fprintf(stderr, "vmm: %s: the VM has no virtio-9p share%s%s%s\n", cmd, strcmp(tag, "-") ? " with tag '" : "",
			strcmp(tag, "-") ? tag : " (start it with --share)", strcmp(tag, "-") ? "'" : "");
		break;
	case EEXIST:
		fprintf(stderr, "vmm: share: '%s' is already granted\n", name);
		break;
	case ENOENT:
		fprintf(stderr, "vmm: %s: %s\n", cmd, share ? strerror(ENOENT) : "no grant by that name");
		break;
	default:
		fprintf(stderr, "vmm: %s %s: %s\n", cmd, name, strerror(resp.error));
	}
	return CTLCMD_EXIT_FAILURE;
}

/* A prefix length "N" or "/N" in 1..max, or for IPv4 a contiguous dotted
 * netmask. 0, or -1 when s is neither. */
static int ctlcmd_prefix(const char *s, bool v6, unsigned *out)
{
	struct in_addr m;
	char *end;
	unsigned long v;

	if (*s == '/')
		s++;
	if (!v6 && strchr(s, '.')) {
		uint32_t h;

		if (inet_pton(AF_INET, s, &m) != 1)
			return -1;
		h = ntohl(m.s_addr);
		if (!h || ((~h + 1) & ~h))  /* contiguous ones: ~h + 1 is a power of two */
			return -1;
		*out = 32u - (unsigned)__builtin_ctz(h);
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end || v < 1 || v > (v6 ? 128u : 32u))
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* IPv4 in network order, or IPv6: the family (AF_INET, AF_INET6) or 0. */
static int ctlcmd_ip(const char *s, uint8_t a[16])
{
	if (inet_pton(AF_INET, s, a) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, a) == 1)
		return AF_INET6;
	return 0;
}

/* Print "vmm: " + one line about the user's input; exit code 2. */
static int ctlcmd_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int ctlcmd_bad(const char *fmt, ...)
{
	va_list ap;

	fputs("vmm: configure-network: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTLCMD_EXIT_USAGE;
}

/* vmm configure-network: Maitred.ConfigureNetwork (docs/INIT.md). Every
 * value is checked here first, so a typo gets exit 2 and one line naming
 * it without a round trip; init checks the request again (it trusts no
 * caller) and its refusals are exit 1 with its message. */
static int ctlcmd_netcfg(const char *sock, int argc, char **argv, int timeout_ms)
{
	maitred_ConfigureNetworkRequest req;
	maitred_ConfigureNetworkResponse resp;
	const char *mask = NULL, *addr_arg = NULL;
	char addr[64];
	uint8_t a[16], g[16];
	unsigned prefix = 0;
	struct rpc_status st;
	char e[CTLCMD_ESC_MSG];
	int fam = 0, rc;

	memset(&req, 0, sizeof(req));
	for (; argc; argc--, argv++) {
		const char *o = argv[0], *v = argc > 1 ? argv[1] : NULL;

		if (!strcmp(o, "--iface") && v) {
			if (!*v || strlen(v) >= sizeof(req.ifname) || strpbrk(v, "/ \t\n:") || !strcmp(v, ".") ||
			    !strcmp(v, ".."))
				return ctlcmd_bad("--iface '%s': not an interface name (1..15 characters, no '/', ':' or blanks)",
						  v);
			strcpy(req.ifname, v);
		} else if (!strcmp(o, "--addr") && v) {
			addr_arg = v;
		} else if (!strcmp(o, "--netmask") && v) {
			mask = v;
		} else if (!strcmp(o, "--gateway") && v) {
			if (strlen(v) >= sizeof(req.gateway) || !ctlcmd_ip(v, g))
				return ctlcmd_bad("--gateway '%s': not an IPv4 or IPv6 address", v);
			strcpy(req.gateway, v);
		} else if (!strcmp(o, "--dns") && v) {
			if (req.dns_count >= sizeof(req.dns) / sizeof(req.dns[0]))
				return ctlcmd_bad("--dns %s: at most %zu name servers", v, sizeof(req.dns) / sizeof(req.dns[0]));
			if (strlen(v) >= sizeof(req.dns[0]) || !ctlcmd_ip(v, g))
				return ctlcmd_bad("--dns '%s': not an IPv4 or IPv6 address", v);
			strcpy(req.dns[req.dns_count++], v);
		} else if (!strcmp(o, "--mtu") && v) {
			char *end;
			unsigned long m = strtoul(v, &end, 10);

			/* 68: the IPv4 minimum (RFC 791); 65535 the largest IP packet. */
			if (*v < '0' || *v > '9' || *end || m < 68 || m > 65535)
				return ctlcmd_bad("--mtu '%s': not a number from 68 to 65535", v);
			req.mtu = (uint32_t)m;
		} else {
			return ctlcmd_usage("configure-network: unknown option or missing value '%s'", o);
		}
		argc--, argv++;
	}
	if (addr_arg) {
		const char *slash = strchr(addr_arg, '/');
		size_t n = slash ? (size_t)(slash - addr_arg) : strlen(addr_arg);

		if (n >= sizeof(req.address) || n >= sizeof(addr))
			return ctlcmd_bad("--addr '%s': not an IPv4 or IPv6 address", addr_arg);
		memcpy(addr, addr_arg, n);
		addr[n] = 0;
		if (!(fam = ctlcmd_ip(addr, a)))
			return ctlcmd_bad("--addr '%s': not an IPv4 or IPv6 address", addr_arg);
		if (slash && mask)
			return ctlcmd_bad("--addr %s and --netmask %s: give the prefix once", addr_arg, mask);
		if (!slash && !mask)
			return ctlcmd_bad("--addr %s: no prefix (give A/N or --netmask M)", addr_arg);
		if (ctlcmd_prefix(slash ? slash : mask, fam == AF_INET6, &prefix) < 0)
			return ctlcmd_bad("%s %s: not a %s", slash ? "--addr" : "--netmask", slash ? addr_arg : mask,
					  fam == AF_INET6 ? "prefix length 1..128 (IPv6)"
							  : "netmask (contiguous dotted quad or a prefix length 1..32)");
		strcpy(req.address, addr);
		req.prefix_len = prefix;
	} else if (mask || req.gateway[0]) {
		return ctlcmd_bad("--netmask or --gateway without --addr");
	} else if (!req.mtu && !req.dns_count) {
		return ctlcmd_usage("configure-network: nothing to configure (give --addr, --mtu or --dns)%s", "");
	}
	if (req.gateway[0]) {
		int gf = ctlcmd_ip(req.gateway, g);

		if (gf != fam)
			return ctlcmd_bad("--gateway %s: not the address's family (%s)", req.gateway, addr_arg);
		if (fam == AF_INET) {
			uint32_t m = htonl(prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix)), x, y;

			memcpy(&x, a, 4);
			memcpy(&y, g, 4);
			if ((x & m) != (y & m))
				return ctlcmd_bad("--gateway %s: outside %s/%u", req.gateway, addr, prefix);
		}
	}
	rc = ctlcmd_call(sock, &proto_maitred_methods[PROTO_MAITRED_CONFIGURE_NETWORK], &req, &resp, timeout_ms,
			 &st);
	if (rc)
		return rc;
	if (st.code != RPC_OK) {
		fprintf(stderr, "vmm: configure-network: %s (%s)\n", ctlcmd_esc(st.msg, e, sizeof(e)),
			rpc_code_name(st.code));
		return CTLCMD_EXIT_FAILURE;
	}
	return 0;
}

int ctlcmd_main(int argc, char **argv)
{
	const char *cmd = argv[1], *sock;
	struct rpc_status st;
	char e[CTLCMD_ESC_MSG];
	int timeout_ms = 10000, rc, i;

	if (argc < 3 || argv[2][0] == '-')
		return ctlcmd_usage("%s: missing control socket path", cmd);
	sock = argv[2];
	/* -T may come right after SOCK for every command. */
	i = 3;
	if (i + 1 < argc && !strcmp(argv[i], "-T")) {
		if (ctlcmd_parse_secs(argv[i + 1], &timeout_ms))
			return ctlcmd_usage("-T '%s': seconds from 1 to 86400", argv[i + 1]);
		i += 2;
	}
	argc -= i;
	argv += i;

	if (!strcmp(cmd, "stop") || !strcmp(cmd, "status")) {
		static vmctl_StatusResponse sr;
		int status = !strcmp(cmd, "status");
		if (argc)
			return ctlcmd_usage("%s: unexpected argument", cmd);
		rc = ctlcmd_call(sock, &proto_vmctl_methods[status ? PROTO_VMCTL_STATUS : PROTO_VMCTL_STOP],
				 &(vmctl_StatusRequest){ 0 }, &sr, timeout_ms, &st);
		if (rc)
			return rc;
		if (st.code) {
			fprintf(stderr, "vmm: %s: %s\n", cmd, ctlcmd_esc(st.msg, e, sizeof(e)));
			return CTLCMD_EXIT_FAILURE;
		}
		if (status)
			printf("%s\n", sr.json);
		return 0;
	}
	if (!strcmp(cmd, "exec"))
		return ctlcmd_exec(sock, argc, argv, timeout_ms);
	if (!strcmp(cmd, "sh"))
		return vshcmd_main(sock, argc, argv, timeout_ms);
	if (!strcmp(cmd, "share") || !strcmp(cmd, "unshare"))
		return ctlcmd_share(cmd, sock, argc, argv, timeout_ms);
	if (!strcmp(cmd, "configure-network"))
		return ctlcmd_netcfg(sock, argc, argv, timeout_ms);
	if (!strcmp(cmd, "shutdown")) {
		maitred_ShutdownRequest req = { 0 };
		maitred_ShutdownResponse resp;
		if (argc == 1 && !strcmp(argv[0], "--reboot"))
			req.reboot = true;
		else if (argc)
			return ctlcmd_usage("shutdown: unexpected argument '%s'", argv[0]);
		rc = ctlcmd_call(sock, &proto_maitred_methods[PROTO_MAITRED_SHUTDOWN], &req, &resp, timeout_ms, &st);
	} else if (!strcmp(cmd, "info")) {
		static maitred_GetInfoResponse r;
		if (argc)
			return ctlcmd_usage("info: unexpected argument '%s'", argv[0]);
		rc = ctlcmd_call(sock, &proto_maitred_methods[PROTO_MAITRED_GET_INFO], &(maitred_GetInfoRequest){ 0 },
				 &r, timeout_ms, &st);
		if (rc == 0 && st.code == RPC_OK) {
			/* Every string here is the guest's: escaped. */
			char e1[4 * sizeof(r.kernel_release) + 1], e2[4 * sizeof(r.kernel_version) + 1],
			     e3[4 * sizeof(r.hostname) + 1], e4[4 * sizeof(r.init_version) + 1];
			printf("kernel_release: %s\nkernel_version: %s\nhostname: %s\nuptime_ms: %llu\n"
			       "load: %u.%03u %u.%03u %u.%03u\nmem_total_kib: %llu\nmem_free_kib: %llu\n"
			       "mem_available_kib: %llu\nnprocs: %u\ninit_version: %s\n",
			       ctlcmd_esc(r.kernel_release, e1, sizeof(e1)), ctlcmd_esc(r.kernel_version, e2, sizeof(e2)),
			       ctlcmd_esc(r.hostname, e3, sizeof(e3)), (unsigned long long)r.uptime_ms,
			       r.load1_milli / 1000, r.load1_milli % 1000, r.load5_milli / 1000, r.load5_milli % 1000,
			       r.load15_milli / 1000, r.load15_milli % 1000, (unsigned long long)r.mem_total_kib,
			       (unsigned long long)r.mem_free_kib, (unsigned long long)r.mem_available_kib, r.nprocs,
			       ctlcmd_esc(r.init_version, e4, sizeof(e4)));
		}
	} else if (!strcmp(cmd, "set-time")) {
		maitred_SetTimeRequest req = { 0 };
		maitred_SetTimeResponse resp;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		req.sec = ts.tv_sec;
		req.nsec = (uint32_t)ts.tv_nsec;
		if (argc == 1) {
			char *end;
			long long v = strtoll(argv[0], &end, 10);
			if (!*argv[0] || *end || v < 0)
				return ctlcmd_usage("set-time '%s': expected seconds since the epoch", argv[0]);
			req.sec = v;
			req.nsec = 0;
		} else if (argc) {
			return ctlcmd_usage("set-time: unexpected argument '%s'", argv[1]);
		}
		rc = ctlcmd_call(sock, &proto_maitred_methods[PROTO_MAITRED_SET_TIME], &req, &resp, timeout_ms, &st);
	} else if (!strcmp(cmd, "mount")) {
		static maitred_MountRequest req;
		maitred_MountResponse resp;
		memset(&req, 0, sizeof(req));
		for (; argc && argv[0][0] == '-'; argc--, argv++) {
			if (!strcmp(argv[0], "-o") && argc > 1) {
				if (strlen(argv[1]) >= sizeof(req.data))
					return ctlcmd_usage("mount -o: options too long%s", "");
				strcpy(req.data, argv[1]);
				argc--, argv++;
			} else if (!strcmp(argv[0], "-r")) {
				req.flags |= MS_RDONLY;
			} else if (!strcmp(argv[0], "-p")) {
				req.mkdir = true;
			} else {
				return ctlcmd_usage("mount: unknown option '%s'", argv[0]);
			}
		}
		if (argc != 3)
			return ctlcmd_usage("mount: expected SOURCE TARGET FSTYPE%s", "");
		if (strlen(argv[0]) >= sizeof(req.source) || strlen(argv[1]) >= sizeof(req.target) ||
		    strlen(argv[2]) >= sizeof(req.fstype))
			return ctlcmd_usage("mount: argument too long%s", "");
		strcpy(req.source, argv[0]);
		strcpy(req.target, argv[1]);
		strcpy(req.fstype, argv[2]);
		rc = ctlcmd_call(sock, &proto_maitred_methods[PROTO_MAITRED_MOUNT], &req, &resp, timeout_ms, &st);
	} else {
		return ctlcmd_usage("unknown command '%s'", cmd);
	}
	if (rc)
		return rc;
	if (st.code != RPC_OK) {
		fprintf(stderr, "vmm: %s: %s (%s)\n", cmd, ctlcmd_esc(st.msg, e, sizeof(e)), rpc_code_name(st.code));
		return CTLCMD_EXIT_FAILURE;
	}
	return 0;
}
