/* Kernel command line -> struct init_config. Everything here is input the
 * image builder or the host controls; it is bounded and never fatal. */
#include "guest-init/config.h"
#include "guest-init/sys.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void init_config_defaults(struct init_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->user, "0");
	strcpy(cfg->workdir, "/");
	cfg->on_app_exit = INIT_EXIT_POWEROFF;
	/* maitred's default grace period before SIGKILL. */
	cfg->shutdown_timeout_ms = 10000;
	cfg->loglevel = 6;
	strcpy(cfg->services_dir, "/etc/init/services");
	strcpy(cfg->crash_collector, "/sbin/crash_collector");
	cfg->root_timeout_ms = 10000;
	strcpy(cfg->init_path, "/sbin/init");
	cfg->exit_port = -1;
	cfg->boot_port = -1;
	cfg->rpc = -1;
	/* PROTO_MAITRED_PORT (proto/maitred.h), vm_tools' maitred port. */
	cfg->rpc_port = 8888;
	cfg->agents = -1;
	strcpy(cfg->vm_syslog, "/sbin/vm_syslog");
	cfg->syslog_buffer = 1u << 20;
}

static void cmd_warn(const struct init_warn *w, int *count, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cmd_warn(const struct init_warn *w, int *count, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	(*count)++;
	if (!w || !w->fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->fn(w->arg, msg);
}

/* Bounded copy; -ENAMETOOLONG leaves dst untouched. */
static int cmd_copy(char *dst, size_t n, const char *src)
{
	size_t l = strlen(src);

	if (l >= n)
		return -ENAMETOOLONG;
	memcpy(dst, src, l + 1);
	return 0;
}

/* Unsigned decimal with an optional unit, into milliseconds. A bare number
 * is in seconds; "ms" and "s" suffixes are accepted. */
static int cmd_parse_ms(const char *v, unsigned max_ms, unsigned *out)
{
	char *end;
	unsigned long long n;

	if (!isdigit((unsigned char)v[0]))
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || n > max_ms)
		return -ERANGE;
	if (!strcmp(end, "ms"))
		;
	else if (!*end || !strcmp(end, "s"))
		n *= 1000;
	else
		return -EINVAL;
	if (n > max_ms)
		return -ERANGE;
	*out = (unsigned)n;
	return 0;
}

/* An I/O port number: 0x-prefixed hex or decimal, at most 0xffff. */
static int cmd_parse_port(const char *v)
{
	char *end;
	unsigned long n;

	if (!isdigit((unsigned char)v[0]))
		return -EINVAL;
	errno = 0;
	n = strtoul(v, &end, 0);
	if (errno || *end || n > 0xffff)
		return -EINVAL;
	return (int)n;
}

/* A vsock port: 1..4294967294 (VMADDR_PORT_ANY, 0xffffffff, is not one). */
static int cmd_parse_vport(const char *v, uint32_t *out)
{
	char *end = NULL;
	unsigned long long n = 0;

	if (v && isdigit((unsigned char)v[0])) {
		errno = 0;
		n = strtoull(v, &end, 10);
	}
	if (!end || *end || errno || n == 0 || n >= 0xffffffffull)
		return -EINVAL;
	*out = (uint32_t)n;
	return 0;
}

/* A size in bytes with an optional K/M/G suffix (binary), in [min, max]. */
static int cmd_parse_size(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	unsigned long long n = 0;
	unsigned shift = 0;

	if (v && isdigit((unsigned char)v[0])) {
		errno = 0;
		n = strtoull(v, &end, 10);
	}
	if (!end || errno)
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || n > (max >> shift) || (n << shift) < min)
		return -EINVAL;
	*out = (uint64_t)n << shift;
	return 0;
}

int init_ip_parse(const char *val, struct init_ip *ip, const char **why)
{
	char buf[256], *f[10];
	int nf = 0;
	const char *dummy;
	struct in_addr a;

	if (!why)
		why = &dummy;
	memset(ip, 0, sizeof(*ip));
	if (!strcmp(val, "off") || !strcmp(val, "none") || !*val)
		return 0;
	if (!strcmp(val, "on") || !strcmp(val, "any") || !strcmp(val, "dhcp") ||
	    !strcmp(val, "bootp") || !strcmp(val, "rarp") || !strcmp(val, "both")) {
		*why = "autoconfiguration is not supported, only static client-ip::gw:netmask:host:dev:off";
		return -EINVAL;
	}
	if (cmd_copy(buf, sizeof(buf), val)) {
		*why = "value too long";
		return -EINVAL;
	}
	for (char *p = buf;;) {
		char *c = strchr(p, ':');

		if (nf == 10) {
			*why = "too many ':' fields";
			return -EINVAL;
		}
		f[nf++] = p;
		if (!c)
			break;
		*c = '\0';
		p = c + 1;
	}
	for (int i = nf; i < 10; i++)
		f[i] = "";
	if (!*f[0] || inet_pton(AF_INET, f[0], &a) != 1) {
		*why = "client-ip is not a dotted-quad IPv4 address";
		return -EINVAL;
	}
	ip->addr = a.s_addr;
	/* f[1] is the NFS server address: nothing for us to do with it. */
	if (*f[2]) {
		if (inet_pton(AF_INET, f[2], &a) != 1) {
			*why = "gw-ip is not a dotted-quad IPv4 address";
			return -EINVAL;
		}
		ip->gw = a.s_addr;
	}
	if (*f[3]) {
		uint32_t m;

		if (inet_pton(AF_INET, f[3], &a) != 1) {
			*why = "netmask is not a dotted-quad IPv4 address";
			return -EINVAL;
		}
		m = ntohl(a.s_addr);
		/* A netmask is contiguous ones: ~m + 1 must be a power of two. */
		if ((~m + 1) & ~m) {
			*why = "netmask is not contiguous";
			return -EINVAL;
		}
		ip->mask = a.s_addr;
	} else {
		/* No netmask: classful default, as the kernel's ipconfig does. */
		uint32_t h = ntohl(ip->addr);

		ip->mask = htonl(h < 0x80000000u ? 0xff000000u :
				 h < 0xc0000000u ? 0xffff0000u : 0xffffff00u);
	}
	if (cmd_copy(ip->hostname, sizeof(ip->hostname), f[4])) {
		*why = "hostname longer than 64 characters";
		return -EINVAL;
	}
	if (cmd_copy(ip->dev, sizeof(ip->dev), f[5]) || strchr(f[5], '/')) {
		*why = "device name invalid or longer than 15 characters";
		return -EINVAL;
	}
	if (*f[6] && strcmp(f[6], "off") && strcmp(f[6], "none")) {
		*why = "autoconf field must be off or none (no DHCP/BOOTP client)";
		return -EINVAL;
	}
	if (ip->gw && (ip->gw & ip->mask) != (ip->addr & ip->mask)) {
		*why = "gw-ip is outside client-ip's subnet";
		return -EINVAL;
	}
	ip->set = true;
	return 0;
}


int init_mount_spec_parse(const char *val, struct init_mount_spec *m, const char **why)
{
	char buf[600], *f[4] = { "", "", "", "" };
	const char *dummy;
	int nf = 0;
	char *p = buf;

	if (!why)
		why = &dummy;
	memset(m, 0, sizeof(*m));
	if (cmd_copy(buf, sizeof(buf), val)) {
		*why = "entry too long";
		return -EINVAL;
	}
	/* OPTS is the rest of the entry, so it may hold ':' itself. */
	while (nf < 3) {
		char *c = strchr(p, ':');

		f[nf++] = p;
		if (!c) {
			p = NULL;
			break;
		}
		*c = '\0';
		p = c + 1;
	}
	if (p)
		f[nf++] = p;
	if (nf < 2 || !*f[0] || !*f[1]) {
		*why = "expected DEV:DIR[:FSTYPE[:OPTS]]";
		return -EINVAL;
	}
	if (!init_sys_path_ok(f[1])) {
		*why = "DIR must be an absolute path without . or .. components";
		return -EINVAL;
	}
	if (cmd_copy(m->src, sizeof(m->src), f[0]) || cmd_copy(m->dir, sizeof(m->dir), f[1]) ||
	    cmd_copy(m->fstype, sizeof(m->fstype), f[2]) ||
	    cmd_copy(m->opts, sizeof(m->opts), f[3])) {
		*why = "a field is too long";
		return -EINVAL;
	}
	return 0;
}

int init_split_words(const char *s, char *buf, size_t bufn, char **argv, int max)
{
	size_t o = 0;
	int n = 0;

	if (max < 1 || bufn < 1)
		return -E2BIG;
	for (;;) {
		bool word = false;

		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (!*s)
			break;
		if (n >= max - 1)
			return -E2BIG;
		argv[n] = buf + o;
		while (*s && !(*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) {
			char c = *s++;

			word = true;
			if (c == '\'') {
				while (*s && *s != '\'') {
					if (o + 1 >= bufn)
						return -E2BIG;
					buf[o++] = *s++;
				}
				if (!*s)
					return -EINVAL;
				s++;
				continue;
			}
			if (c == '"') {
				while (*s && *s != '"') {
					if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
						s++;
					if (o + 1 >= bufn)
						return -E2BIG;
					buf[o++] = *s++;
				}
				if (!*s)
					return -EINVAL;
				s++;
				continue;
			}
			if (c == '\\') {
				if (!*s)
					return -EINVAL;
				c = *s++;
			}
			if (o + 1 >= bufn)
				return -E2BIG;
			buf[o++] = c;
		}
		if (word) {
			if (o + 1 >= bufn)
				return -E2BIG;
			buf[o++] = '\0';
			n++;
		}
	}
	argv[n] = NULL;
	return n;
}

/* Split init.mount's comma list. OPTS contain commas too, so a comma starts
 * a new entry only when the text up to the next comma contains a ':' (a new
 * DEV:DIR); plain mount options never do. */
static void cmd_add_mounts(struct init_config *cfg, const char *val,
			   const struct init_warn *w, int *nw)
{
	const char *s = val;

	while (*s) {
		const char *e = s;
		char one[600];
		size_t l;
		const char *why;

		for (;;) {
			const char *c = strchr(e, ',');
			const char *nc, *colon;

			if (!c) {
				e = s + strlen(s);
				break;
			}
			nc = strchr(c + 1, ',');
			colon = strchr(c + 1, ':');
			if (colon && (!nc || colon < nc)) {
				e = c;
				break;
			}
			e = c + 1;
		}
		l = (size_t)(e - s);
		if (l >= sizeof(one)) {
			cmd_warn(w, nw, "init.mount: entry '%.40s...' too long, ignored", s);
		} else if (l) {
			memcpy(one, s, l);
			one[l] = '\0';
			if (cfg->n_mounts >= INIT_MOUNTS_MAX)
				cmd_warn(w, nw, "init.mount: more than %d entries, '%s' ignored",
					 INIT_MOUNTS_MAX, one);
			else if (init_mount_spec_parse(one, &cfg->mounts[cfg->n_mounts], &why))
				cmd_warn(w, nw, "init.mount: bad entry '%s' (%s), ignored", one, why);
			else
				cfg->n_mounts++;
		}
		s = *e ? e + 1 : e;
	}
}

/* Module names: [A-Za-z0-9_-], comma separated; appended across repeats. */
static void cmd_add_modules(struct init_config *cfg, const char *val,
			    const struct init_warn *w, int *nw)
{
	size_t have = strlen(cfg->modules);

	for (const char *c = val; *c; c++) {
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != ',') {
			cmd_warn(w, nw, "init.modules: invalid character in '%s', ignored (default: none)", val);
			return;
		}
	}
	if (have + 1 + strlen(val) >= sizeof(cfg->modules)) {
		cmd_warn(w, nw, "init.modules: list longer than %zu bytes, '%s' ignored",
			 sizeof(cfg->modules) - 1, val);
		return;
	}
	if (have && *val)
		cfg->modules[have++] = ',';
	strcpy(cfg->modules + have, val);
}

/* String-valued keys: name, destination, size, must the value be absolute. */
struct cmd_str_key {
	const char *key;
	size_t off;
	size_t size;
	bool path;
	const char *def;
};

#define STRKEY(k, field, isp, d) { k, offsetof(struct init_config, field), \
	sizeof(((struct init_config *)0)->field), isp, d }
static const struct cmd_str_key cmd_str_keys[] = {
	STRKEY("init.app", app, true, "none"),
	STRKEY("init.args", args, false, "empty"),
	STRKEY("init.env", env, false, "empty"),
	STRKEY("init.user", user, false, "0 (root)"),
	STRKEY("init.workdir", workdir, true, "/"),
	STRKEY("init.services", services_dir, true, "/etc/init/services"),
	STRKEY("init.crash_collector", crash_collector, true, "/sbin/crash_collector"),
	STRKEY("init.vm_syslog", vm_syslog, true, "/sbin/vm_syslog"),
	STRKEY("root", root, false, "none"),
	STRKEY("rootfstype", rootfstype, false, "detect"),
	STRKEY("rootflags", rootflags, false, "none"),
	STRKEY("init", init_path, true, "/sbin/init"),
	STRKEY("console", console, false, "none"),
};

static void cmd_apply(struct init_config *cfg, const char *key, const char *val,
		      const struct init_warn *w, int *nw)
{
	const char *why;

	for (size_t i = 0; i < sizeof(cmd_str_keys) / sizeof(cmd_str_keys[0]); i++) {
		const struct cmd_str_key *k = &cmd_str_keys[i];
		char *dst = (char *)cfg + k->off;

		if (strcmp(key, k->key))
			continue;
		if (!val) {
			cmd_warn(w, nw, "%s: missing value, using default %s", key, k->def);
		} else if (k->path && val[0] != '/' && (*val || k->def[0] == '/')) {
			/* Empty is "none" for init.app, but never a usable
			 * directory or program for the keys with a path default. */
			cmd_warn(w, nw, "%s=%s: not an absolute path, using default %s", key, val, k->def);
		} else if (cmd_copy(dst, k->size, val)) {
			cmd_warn(w, nw, "%s: value longer than %zu bytes, using default %s",
				 key, k->size - 1, k->def);
		}
		return;
	}
	if (!strcmp(key, "init.on_app_exit")) {
		if (val && !strcmp(val, "poweroff"))
			cfg->on_app_exit = INIT_EXIT_POWEROFF;
		else if (val && !strcmp(val, "reboot"))
			cfg->on_app_exit = INIT_EXIT_REBOOT;
		else if (val && !strcmp(val, "stay"))
			cfg->on_app_exit = INIT_EXIT_STAY;
		else {
			cmd_warn(w, nw, "init.on_app_exit=%s: expected poweroff, reboot or stay, using default poweroff",
				 val ? val : "");
			cfg->on_app_exit = INIT_EXIT_POWEROFF;
		}
	} else if (!strcmp(key, "init.shutdown_timeout")) {
		if (!val || cmd_parse_ms(val, 3600 * 1000, &cfg->shutdown_timeout_ms)) {
			cmd_warn(w, nw, "init.shutdown_timeout=%s: expected seconds (or Nms) up to 3600, using default 10",
				 val ? val : "");
			cfg->shutdown_timeout_ms = 10000;
		}
	} else if (!strcmp(key, "init.root_timeout")) {
		if (!val || cmd_parse_ms(val, 3600 * 1000, &cfg->root_timeout_ms)) {
			cmd_warn(w, nw, "init.root_timeout=%s: expected seconds (or Nms) up to 3600, using default 10",
				 val ? val : "");
			cfg->root_timeout_ms = 10000;
		}
	} else if (!strcmp(key, "init.loglevel")) {
		if (!val || val[0] < '0' || val[0] > '7' || val[1]) {
			cmd_warn(w, nw, "init.loglevel=%s: expected 0..7, using default 6", val ? val : "");
			cfg->loglevel = 6;
		} else {
			cfg->loglevel = val[0] - '0';
		}
	} else if (!strcmp(key, "init.hostname")) {
		bool ok = val && *val && strlen(val) < sizeof(cfg->hostname);

		for (const char *c = val; ok && *c; c++)
			ok = isalnum((unsigned char)*c) || *c == '-' || *c == '.';
		if (ok)
			strcpy(cfg->hostname, val);
		else
			cmd_warn(w, nw, "init.hostname=%s: expected 1-64 of [A-Za-z0-9.-], using default (ip= hostname or appvm)",
				 val ? val : "");
	} else if (!strcmp(key, "init.modules")) {
		cmd_add_modules(cfg, val ? val : "", w, nw);
	} else if (!strcmp(key, "init.mount")) {
		if (!val)
			cmd_warn(w, nw, "init.mount: missing value, ignored");
		else
			cmd_add_mounts(cfg, val, w, nw);
	} else if (!strcmp(key, "ip")) {
		if (init_ip_parse(val ? val : "", &cfg->ip, &why)) {
			cmd_warn(w, nw, "ip=%s: %s; using default (no network configuration)",
				 val ? val : "", why);
			memset(&cfg->ip, 0, sizeof(cfg->ip));
		}
	} else if (!strcmp(key, "appvm.exit_port") || !strcmp(key, "appvm.boot_port")) {
		int port = val ? cmd_parse_port(val) : -EINVAL;
		int *dst = key[6] == 'e' ? &cfg->exit_port : &cfg->boot_port;

		if (port < 0) {
			cmd_warn(w, nw, "%s=%s: expected a port number up to 0xffff, port not used",
				 key, val ? val : "");
			*dst = -1;
		} else {
			*dst = port;
		}
	} else if (!strcmp(key, "init.rpc")) {
		if (val && !strcmp(val, "auto"))
			cfg->rpc = -1;
		else if (val && (!strcmp(val, "0") || !strcmp(val, "1")))
			cfg->rpc = val[0] - '0';
		else {
			cmd_warn(w, nw, "init.rpc=%s: expected 0, 1 or auto, using default auto (on under vmm)",
				 val ? val : "");
			cfg->rpc = -1;
		}
	} else if (!strcmp(key, "init.rpc_port")) {
		if (cmd_parse_vport(val, &cfg->rpc_port)) {
			cmd_warn(w, nw, "init.rpc_port=%s: expected a vsock port 1..4294967294, using default 8888",
				 val ? val : "");
			cfg->rpc_port = 8888;
		}
	} else if (!strcmp(key, "appvm.syslog")) {
		if (cmd_parse_vport(val, &cfg->syslog_port)) {
			cmd_warn(w, nw, "appvm.syslog=%s: expected a vsock port 1..4294967294, no log endpoint",
				 val ? val : "");
			cfg->syslog_port = 0;
		}
	} else if (!strcmp(key, "init.agents")) {
		if (val && (!strcmp(val, "auto") || !strcmp(val, "0")))
			cfg->agents = val[0] == '0' ? 0 : -1;
		else {
			cmd_warn(w, nw, "init.agents=%s: expected auto or 0, using default auto", val ? val : "");
			cfg->agents = -1;
		}
	} else if (!strcmp(key, "init.syslog_buffer")) {
		/* Below 64 KiB a single burst overflows; 256 MiB is most of a
		 * small guest's memory. */
		if (cmd_parse_size(val, 64u << 10, 256u << 20, &cfg->syslog_buffer)) {
			cmd_warn(w, nw, "init.syslog_buffer=%s: expected 64K..256M (bytes, K, M), using default 1M",
				 val ? val : "");
			cfg->syslog_buffer = 1u << 20;
		}
	} else if (!strncmp(key, "init.", 5)) {
		cmd_warn(w, nw, "unknown key %s ignored", key);
	}
}

int init_cmdline_each(const char *buf, size_t len,
		      void (*fn)(void *arg, const char *key, const char *val), void *arg)
{
	char copy[INIT_CMDLINE_MAX + 1];
	char *args = copy;
	int truncated = len > INIT_CMDLINE_MAX;

	if (truncated)
		len = INIT_CMDLINE_MAX;
	memcpy(copy, buf, len);
	copy[len] = '\0';
	/* A NUL inside the buffer would end parsing silently; treat as space. */
	for (size_t i = 0; i < len; i++)
		if (!copy[i] || copy[i] == '\n')
			copy[i] = ' ';

	while (*args == ' ' || *args == '\t')
		args++;
	while (*args) {
		/* Tokenise exactly like the kernel's next_arg() (lib/cmdline.c)
		 * so we read the same key/value pairs the kernel did. */
		size_t i, equals = 0;
		bool in_quote = false, quoted = false;
		char *param, *val = NULL;

		if (*args == '"') {
			args++;
			in_quote = quoted = true;
		}
		for (i = 0; args[i]; i++) {
			if ((args[i] == ' ' || args[i] == '\t') && !in_quote)
				break;
			if (equals == 0 && args[i] == '=')
				equals = i;
			if (args[i] == '"')
				in_quote = !in_quote;
		}
		param = args;
		if (equals) {
			args[equals] = '\0';
			val = args + equals + 1;
			if (*val == '"') {
				val++;
				if (args[i - 1] == '"')
					args[i - 1] = '\0';
			}
		}
		if (quoted && i > 0 && args[i - 1] == '"')
			args[i - 1] = '\0';
		if (args[i]) {
			args[i] = '\0';
			args += i + 1;
		} else {
			args += i;
		}
		while (*args == ' ' || *args == '\t')
			args++;
		if (!strcmp(param, "--"))
			break;
		fn(arg, param, val);
	}
	return truncated;
}

struct cmd_parse_ctx {
	struct init_config *cfg;
	const struct init_warn *w;
	int nw;
};

static void cmd_parse_one(void *arg, const char *key, const char *val)
{
	struct cmd_parse_ctx *c = arg;

	cmd_apply(c->cfg, key, val, c->w, &c->nw);
}

int init_cmdline_parse(const char *buf, size_t len, struct init_config *cfg,
		       const struct init_warn *w)
{
	struct cmd_parse_ctx c = { cfg, w, 0 };

	if (init_cmdline_each(buf, len, cmd_parse_one, &c))
		cmd_warn(w, &c.nw, "command line longer than %d bytes, the rest is ignored",
			 INIT_CMDLINE_MAX);
	return c.nw;
}

static void cmd_print(int fd, const char *k, const char *v)
{
	dprintf(fd, "%s=%s\n", k, v);
}

void init_config_print(const struct init_config *cfg, int fd)
{
	static const char *const exits[] = { "poweroff", "reboot", "stay" };
	char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN], m[INET_ADDRSTRLEN];

	for (size_t i = 0; i < sizeof(cmd_str_keys) / sizeof(cmd_str_keys[0]); i++)
		cmd_print(fd, cmd_str_keys[i].key, (const char *)cfg + cmd_str_keys[i].off);
	cmd_print(fd, "init.on_app_exit", exits[cfg->on_app_exit]);
	dprintf(fd, "init.shutdown_timeout=%ums\n", cfg->shutdown_timeout_ms);
	dprintf(fd, "init.root_timeout=%ums\n", cfg->root_timeout_ms);
	dprintf(fd, "init.loglevel=%d\n", cfg->loglevel);
	cmd_print(fd, "init.hostname", cfg->hostname);
	cmd_print(fd, "init.modules", cfg->modules);
	for (unsigned i = 0; i < cfg->n_mounts; i++)
		dprintf(fd, "init.mount=%s|%s|%s|%s\n", cfg->mounts[i].src, cfg->mounts[i].dir,
			cfg->mounts[i].fstype, cfg->mounts[i].opts);
	if (cfg->ip.set) {
		inet_ntop(AF_INET, &cfg->ip.addr, a, sizeof(a));
		inet_ntop(AF_INET, &cfg->ip.gw, g, sizeof(g));
		inet_ntop(AF_INET, &cfg->ip.mask, m, sizeof(m));
		dprintf(fd, "ip=%s gw=%s mask=%s host=%s dev=%s\n", a, g, m,
			cfg->ip.hostname, cfg->ip.dev);
	} else {
		cmd_print(fd, "ip", "off");
	}
	if (cfg->exit_port >= 0)
		dprintf(fd, "appvm.exit_port=0x%x\n", (unsigned)cfg->exit_port);
	else
		cmd_print(fd, "appvm.exit_port", "none");
	if (cfg->boot_port >= 0)
		dprintf(fd, "appvm.boot_port=0x%x\n", (unsigned)cfg->boot_port);
	else
		cmd_print(fd, "appvm.boot_port", "none");
	cmd_print(fd, "init.rpc", cfg->rpc < 0 ? "auto" : cfg->rpc ? "1" : "0");
	dprintf(fd, "init.rpc_port=%u\n", (unsigned)cfg->rpc_port);
	cmd_print(fd, "init.agents", cfg->agents < 0 ? "auto" : "0");
	dprintf(fd, "init.syslog_buffer=%llu\n", (unsigned long long)cfg->syslog_buffer);
	if (cfg->syslog_port)
		dprintf(fd, "appvm.syslog=%u\n", (unsigned)cfg->syslog_port);
	else
		cmd_print(fd, "appvm.syslog", "none");
}
