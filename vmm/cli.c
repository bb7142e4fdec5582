#include "vmm/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/device.h"
#include "vmm/gm.h"

/* The help text: the core's options around the devices' own lines (struct
 * dev_option usage, in device-table order). */
static const char cli_usage_head[] =
	"usage: vmm [run] -k KERNEL [options]\n"
	"       vmm --help | --version\n"
	"\n"
	"Boot a Linux guest on KVM.\n"
	"\n"
	"  -k, --kernel PATH     guest kernel: ELF vmlinux or bzImage (required)\n"
	"  -i, --initrd PATH     initramfs / initrd\n"
	"  -p, --params STRING   extra kernel command line, appended after the VMM's\n"
	"                        own words (may be given more than once)\n"
	"  -m, --mem MiB         guest RAM in MiB (default 256)\n"
	"      --hugepages MODE  guest RAM pages: thp (default: transparent 2 MiB pages\n"
	"                        where shmem_enabled allows them), 2M (hugetlb, from\n"
	"                        /proc/sys/vm/nr_hugepages; -m a multiple of 2) or off\n"
	"  -c, --cpus N          number of vCPUs (default 1, max 16)\n"
	"      --serial MODE     COM1: stdio (default), file:PATH[,max=SIZE] or none;\n"
	"                        a file over SIZE (default 16M) moves to PATH.1\n"
	"      --pit             an i8254 timer (PIT) for guests that need one: kernels\n"
	"                        without kvmclock or the TSC-deadline timer (default off)\n";
static const char cli_usage_tail[] =
	"  -s, --socket PATH     control socket for the control commands below\n"
	"      --name NAME       the VM's name in log records and crash files\n"
	"                        (default vm-<pid>; [A-Za-z0-9._-], at most 64)\n"
	"      --syslog MODE     the guest's log records (vm_syslog): stderr,\n"
	"                        file:PATH or syslog[:SOCKET] (RFC 5424 to /dev/log)\n"
	"      --crash-dir DIR   store the guest's crashes as DIR/<name>-<time>-<exe>\n"
	"                        .dmp (minidump) and .json\n"
	"      --disable-sandbox run virtio devices as threads of vmm, not as jailed\n"
	"                        processes, and install no seccomp filter\n"
	"      --seccomp-policy-dir DIR  compile DIR/<name>.policy for each device\n"
	"                        process and vmm's threads instead of the built-in\n"
	"                        policies\n"
	"  -v, --verbose         more log output (repeat for debug)\n"
	"  -q, --quiet           only errors\n"
	"  -h, --help            this help\n"
	"      --version         print the version\n"
	"\n"
	"On a terminal, Ctrl-A x ends the VM (Ctrl-A Ctrl-A sends Ctrl-A). SIGUSR2 logs\n"
	"the devices' state and the vCPUs' registers to stderr.\n"
	"Exit status: the guest's exit-port status; 0 when the guest resets or powers\n"
	"off or on SIGTERM/SIGINT; 1 on a runtime failure; 2 on bad usage or input.\n"
	"\n"
	"Control commands, on a running VM's socket (vmm CMD SOCK ...; `vmm status`\n"
	"without SOCK prints their usage and exit codes): stop, status (JSON, with\n"
	"each net device's rx/tx and drop counters), exec, shutdown, info, set-time,\n"
	"mount, configure-network (--addr A/N [--gateway G] [--iface NAME] [--dns A]\n"
	"[--mtu N]: a guest interface's address after boot), sh, share, unshare.\n";

size_t cli_usage(char *buf, size_t len)
{
	size_t n = 0;

#define CLI_PUT(str) do { \
		const char *s_ = (str); \
		size_t l_ = strlen(s_); \
		if (n < len) \
			memcpy(buf + n, s_, n + l_ < len ? l_ : len - n); \
		n += l_; \
	} while (0)
	CLI_PUT(cli_usage_head);
	for (unsigned i = 0; device_table[i]; i++)
		for (const struct dev_option *o = device_table[i]->options; o && o->name; o++)
			if (o->usage)
				CLI_PUT(o->usage);
	CLI_PUT(cli_usage_tail);
#undef CLI_PUT
	if (len)
		buf[n < len ? n : len - 1] = 0;
	return n;
}

/* A byte count with an optional binary suffix K, M or G, from min to max. */
static int cli_size(const char *s, unsigned long long min, unsigned long long max, unsigned long long *out)
{
	size_t l = strlen(s);
	unsigned shift = 0;
	char num[24];

	if (l && strchr("KMG", s[l - 1])) {
		shift = s[l - 1] == 'K' ? 10 : s[l - 1] == 'M' ? 20 : 30;
		l--;
	}
	if (l == 0 || l >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, l);
	num[l] = 0;
	if (dev_option_u64(num, 1, max >> shift, out))
		return -EINVAL;
	*out <<= shift;
	return *out < min ? -EINVAL : 0;
}

/* The device option named a, and its device's index, or NULL. */
static const struct dev_option *cli_find_dev_option(const char *a, unsigned *dev)
{
	for (unsigned i = 0; device_table[i]; i++)
		for (const struct dev_option *o = device_table[i]->options; o && o->name; o++)
			if (!strcmp(a, o->name) || (o->alias && !strcmp(a, o->alias))) {
				*dev = i;
				return o;
			}
	return NULL;
}

/* Lay out and default every device's option storage in c->dev_cfg. */
static int cli_init_devices(struct cli *c, char *err, size_t errlen)
{
	size_t off = 0;

	for (unsigned i = 0; device_table[i]; i++) {
		const struct device_ops *d = device_table[i];
		if (i >= VMM_MAX_DEVICE_TYPES || off + d->cfg_size > sizeof(c->dev_cfg))
			return dev_option_error(err, errlen, "internal: device options do not fit (device %s)",
						d->name);
		c->cfg.dev_cfg[i] = c->dev_cfg + off;
		if (d->cfg_init)
			d->cfg_init(c->dev_cfg + off);
		off += (d->cfg_size + 15) & ~(size_t)15;
	}
	return 0;
}

const void *cli_device_cfg(const struct cli *c, const char *name)
{
	for (unsigned i = 0; device_table[i]; i++)
		if (!strcmp(device_table[i]->name, name))
			return c->cfg.dev_cfg[i];
	return NULL;
}

int cli_parse(struct cli *c, int argc, char **argv, char *err, size_t errlen)
{
	struct vmm_config *cfg = &c->cfg;
	size_t plen = 0;
	int i = 1;

	memset(c, 0, sizeof(*c));
	cfg->mem_mib = 256;
	/* As QEMU advises its guest RAM: free where the host allows shmem
	 * THP (exec -> /init 0.62x kvmtool's, docs/BENCHMARKS.md), a no-op
	 * where it does not. */
	cfg->hugepages = GM_PAGES_THP;
	cfg->vcpus = 1;
	cfg->serial = SERIAL_STDIO;
	cfg->serial_max = VMM_SERIAL_MAX_DEFAULT;
	if (cli_init_devices(c, err, errlen))
		return -EINVAL;

	if (i < argc && !strcmp(argv[i], "run"))
		i++;
	else if (i < argc && argv[i][0] != '-')
		return dev_option_error(err, errlen, "unknown command '%s' (try --help)", argv[i]);

	for (; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		char name[32];
		const char *eq;
		unsigned long long n;

		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return CLI_HELP;
		if (!strcmp(a, "--version"))
			return CLI_VERSION;
		if (a[0] != '-' || !a[1])
			return dev_option_error(err, errlen, "unexpected argument '%s' (try --help)", a);
		/* --opt=value */
		eq = a[1] == '-' ? strchr(a, '=') : NULL;
		if (eq) {
			size_t l = (size_t)(eq - a);
			if (l >= sizeof(name))
				return dev_option_error(err, errlen, "unknown option '%s'", a);
			memcpy(name, a, l);
			name[l] = 0;
			val = eq + 1;
			a = name;
		}
#define IS(s, l) (!strcmp(a, s) || !strcmp(a, l))
#define NEED_VAL() do { \
		if (!val) { \
			if (i + 1 >= argc) \
				return dev_option_error(err, errlen, "option %s needs a value", a); \
			val = argv[++i]; \
		} \
	} while (0)
#define NO_VAL() do { if (val) return dev_option_error(err, errlen, "option %s takes no value", a); } while (0)
		if (IS("-k", "--kernel")) {
			NEED_VAL();
			cfg->kernel = val;
		} else if (IS("-i", "--initrd")) {
			NEED_VAL();
			cfg->initrd = val;
		} else if (IS("-p", "--params")) {
			size_t l;
			NEED_VAL();
			l = strlen(val);
			if (plen + l + 2 > sizeof(c->params))
				return dev_option_error(err, errlen, "%s: kernel parameters too long (max %zu bytes)", a,
					       sizeof(c->params) - 1);
			if (plen)
				c->params[plen++] = ' ';
			memcpy(c->params + plen, val, l + 1);
			plen += l;
			cfg->params = c->params;
		} else if (IS("-m", "--mem")) {
			NEED_VAL();
			/* 1 TiB matches gm_create's ceiling. */
			if (dev_option_u64(val, 1, 1ULL << 20, &n))
				return dev_option_error(err, errlen, "%s '%s': memory must be a whole number of MiB from 1 to 1048576",
					       a, val);
			cfg->mem_mib = n;
		} else if (!strcmp(a, "--hugepages")) {
			NEED_VAL();
			if (!strcmp(val, "2M"))
				cfg->hugepages = GM_PAGES_2M;
			else if (!strcmp(val, "thp"))
				cfg->hugepages = GM_PAGES_THP;
			else if (!strcmp(val, "off"))
				cfg->hugepages = GM_PAGES_4K;
			else
				return dev_option_error(err, errlen, "--hugepages '%s': expected thp, 2M or off", val);
			cfg->hugepages_set = true;
		} else if (IS("-c", "--cpus")) {
			NEED_VAL();
			if (dev_option_u64(val, 1, VMM_MAX_VCPUS, &n))
				return dev_option_error(err, errlen, "%s '%s': vCPU count must be 1 to %d", a, val, VMM_MAX_VCPUS);
			cfg->vcpus = (unsigned)n;
		} else if (!strcmp(a, "--serial")) {
			NEED_VAL();
			if (!strcmp(val, "stdio")) {
				cfg->serial = SERIAL_STDIO;
			} else if (!strcmp(val, "none")) {
				cfg->serial = SERIAL_NONE;
			} else if (!strncmp(val, "file:", 5) && val[5]) {
				/* The last ",max=" ends the path (a path may hold commas). */
				const char *opt = NULL;
				for (const char *p = val + 5; (p = strstr(p, ",max=")); p++)
					opt = p;
				if (opt && (opt == val + 5 || cli_size(opt + 5, 1, 1ULL << 40, &n)))
					return dev_option_error(err, errlen, "--serial '%s': expected file:PATH,max=SIZE with SIZE "
						       "from 1 to 1024G bytes (suffix K, M or G)", val);
				if (opt) {
					*(char *)opt = 0;  /* argv is ours, as for -d */
					cfg->serial_max = n;
				}
				cfg->serial = SERIAL_FILE;
				cfg->serial_path = val + 5;
			} else {
				return dev_option_error(err, errlen, "--serial '%s': expected stdio, none or file:PATH", val);
			}
		} else if (IS("-s", "--socket")) {
			NEED_VAL();
			if (!*val)
				return dev_option_error(err, errlen, "%s: empty path", a);
			cfg->socket_path = val;
		} else if (!strcmp(a, "--syslog")) {
			NEED_VAL();
			if (!strcmp(val, "stderr")) {
				cfg->syslog = SYSLOG_STDERR;
			} else if (!strcmp(val, "syslog")) {
				cfg->syslog = SYSLOG_HOST;
			} else if (!strncmp(val, "syslog:", 7) && val[7] == '/' && strlen(val + 7) < 108) {
				cfg->syslog = SYSLOG_HOST;
				cfg->syslog_path = val + 7;
			} else if (!strncmp(val, "file:", 5) && val[5] && strlen(val + 5) < 256) {
				cfg->syslog = SYSLOG_FILE;
				cfg->syslog_path = val + 5;
			} else {
				return dev_option_error(err, errlen,
					       "--syslog '%s': expected stderr, file:PATH or syslog[:/SOCKET]", val);
			}
		} else if (!strcmp(a, "--crash-dir")) {
			NEED_VAL();
			if (!*val)
				return dev_option_error(err, errlen, "--crash-dir: empty path");
			cfg->crash_dir = val;
		} else if (!strcmp(a, "--name")) {
			size_t l;
			NEED_VAL();
			l = strlen(val);
			/* It becomes part of file names and log lines. */
			if (!l || l > 64 || strspn(val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != l ||
			    val[0] == '.' || val[0] == '-')
				return dev_option_error(err, errlen, "--name '%s': expected 1-64 of [A-Za-z0-9._-], not starting with . or -",
					       val);
			cfg->name = val;
		} else if (!strcmp(a, "--disable-sandbox")) {
			NO_VAL();
			cfg->disable_sandbox = true;
		} else if (!strcmp(a, "--seccomp-policy-dir")) {
			NEED_VAL();
			if (!*val)
				return dev_option_error(err, errlen, "--seccomp-policy-dir: empty path");
			cfg->seccomp_policy_dir = val;
		} else if (!strcmp(a, "--pit")) {
			NO_VAL();
			cfg->pit = true;
		} else if (IS("-v", "--verbose")) {
			NO_VAL();
			cfg->verbose++;
		} else if (IS("-q", "--quiet")) {
			NO_VAL();
			cfg->verbose = -1;
		} else {
			unsigned dev;
			const struct dev_option *o = cli_find_dev_option(a, &dev);
			if (!o)
				return dev_option_error(err, errlen, "unknown option '%s' (try --help)", a);
			if (o->takes_value)
				NEED_VAL();
			else
				NO_VAL();
			if (o->parse((void *)cfg->dev_cfg[dev], a, val, err, errlen))
				return -EINVAL;
		}
#undef IS
#undef NEED_VAL
#undef NO_VAL
	}
	if (!cfg->kernel)
		return dev_option_error(err, errlen, "missing -k KERNEL (try --help)");
	if (cfg->hugepages == GM_PAGES_2M && cfg->mem_mib % 2)
		return dev_option_error(err, errlen, "-m %llu: --hugepages 2M needs a multiple of 2 MiB",
					(unsigned long long)cfg->mem_mib);
	return CLI_RUN;
}
