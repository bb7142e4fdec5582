/* libFuzzer target: every parser of guest-init that reads input an image
 * builder, the host or a guest file controls -- the kernel command line
 * (and through it ip=, init.mount=, init.args/init.env word splitting, module
 * parameters), service .conf files, modules.dep resolution, modules.builtin
 * and /proc/self/mountinfo.
 *
 * Input: byte 0 selects the parser (mod 8), the rest is its text. Besides
 * ASan/UBSan, each case checks the invariants the rest of init relies on
 * (strings terminated inside their fields, counts within their arrays,
 * enums in range) and aborts when one breaks. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest-init/config.h"
#include "guest-init/log.h"
#include "guest-init/modules.h"
#include "guest-init/mount.h"
#include "guest-init/spawn.h"
#include "guest-init/svc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int warned;

static void fz_warn(void *arg, const char *msg)
{
	(void)arg;
	/* Every warning is a terminated, non-empty line. */
	if (!msg[0] || strlen(msg) >= 512)
		abort();
	warned++;
}

static const struct init_warn fz_w = { fz_warn, NULL };

#define FZ_TERM(field) do { if (!memchr((field), '\0', sizeof(field))) abort(); } while (0)

static void fz_cmdline(const char *s, size_t n)
{
	static struct init_config cfg;
	int nw;

	init_config_defaults(&cfg);
	warned = 0;
	nw = init_cmdline_parse(s, n, &cfg, &fz_w);
	if (nw != warned || nw < 0)
		abort();
	FZ_TERM(cfg.app);
	FZ_TERM(cfg.args);
	FZ_TERM(cfg.env);
	FZ_TERM(cfg.user);
	FZ_TERM(cfg.workdir);
	FZ_TERM(cfg.modules);
	FZ_TERM(cfg.hostname);
	FZ_TERM(cfg.services_dir);
	FZ_TERM(cfg.crash_collector);
	FZ_TERM(cfg.root);
	FZ_TERM(cfg.rootfstype);
	FZ_TERM(cfg.rootflags);
	FZ_TERM(cfg.init_path);
	FZ_TERM(cfg.console);
	FZ_TERM(cfg.ip.hostname);
	FZ_TERM(cfg.ip.dev);
	if (cfg.n_mounts > INIT_MOUNTS_MAX || cfg.on_app_exit > INIT_EXIT_STAY ||
	    cfg.loglevel < 0 || cfg.loglevel > 7 || cfg.shutdown_timeout_ms > 3600 * 1000 ||
	    cfg.root_timeout_ms > 3600 * 1000 || cfg.exit_port < -1 || cfg.exit_port > 0xffff ||
	    cfg.boot_port < -1 || cfg.boot_port > 0xffff)
		abort();
	/* Absolute-path keys stay absolute (or empty). */
	if ((cfg.app[0] && cfg.app[0] != '/') || cfg.workdir[0] != '/' ||
	    cfg.init_path[0] != '/')
		abort();
	for (unsigned i = 0; i < cfg.n_mounts; i++) {
		const struct init_mount_spec *m = &cfg.mounts[i];

		FZ_TERM(m->src);
		FZ_TERM(m->dir);
		FZ_TERM(m->fstype);
		FZ_TERM(m->opts);
		if (m->dir[0] != '/' || strstr(m->dir, "/../") || !m->src[0])
			abort();
	}
	/* What init does next with the words: split args and env. */
	{
		char buf[INIT_ARGS_MAX + 256], *argv[130];
		int r = init_split_words(cfg.args, buf, sizeof(buf), argv, 130);

		if (r >= 0 && (r > 129 || argv[r]))
			abort();
		r = init_spawn_env(cfg.env, buf, sizeof(buf), argv, 130);
		if (r >= 0 && (r > 129 || argv[r] || r < 3))
			abort();
		for (int i = 0; r > 0 && i < r; i++)
			if (!strchr(argv[i], '='))
				abort();
	}
	if (cfg.modules[0]) {
		char params[512];
		char name[64];
		const char *c = strchr(cfg.modules, ',');
		size_t l = c ? (size_t)(c - cfg.modules) : strlen(cfg.modules);

		if (l < sizeof(name)) {
			memcpy(name, cfg.modules, l);
			name[l] = '\0';
			if (init_mod_params(s, n, name, params, sizeof(params)) == 0 &&
			    !memchr(params, '\0', sizeof(params)))
				abort();
		}
	}
}

static void fz_svc(const char *s, size_t n)
{
	static struct init_svc svc;

	if (init_svc_parse("fuzz", s, n, &svc, &fz_w) == 0) {
		if (svc.exec[0] != '/' || !strcmp(svc.after, "fuzz"))
			abort();
	}
	FZ_TERM(svc.exec);
	FZ_TERM(svc.args);
	FZ_TERM(svc.env);
	FZ_TERM(svc.user);
	FZ_TERM(svc.after);
}

/* modules.dep: the first line's module name (before ':') is resolved; the
 * plan must stay within bounds, hold each path once, and every module's
 * dependencies (its line) must come before it. */
static void fz_moddep(const char *s, size_t n)
{
	static struct init_mod_plan plan;
	char missing[160], name[64];
	const char *colon = memchr(s, ':', n);
	int r;

	plan.n = 0;
	if (!colon)
		return;
	{
		char path[160];
		size_t pl = (size_t)(colon - s);

		if (pl >= sizeof(path))
			return;
		memcpy(path, s, pl);
		path[pl] = '\0';
		if (memchr(path, '\0', pl) || init_mod_basename(path, name, sizeof(name)))
			return;
	}
	r = init_mod_resolve(s, n, name, &plan, missing, sizeof(missing));
	if (plan.n < 0 || plan.n > INIT_MOD_MAX)
		abort();
	FZ_TERM(missing);
	for (int i = 0; i < plan.n; i++) {
		FZ_TERM(plan.path[i]);
		FZ_TERM(plan.name[i]);
		for (int j = 0; j < i; j++)
			if (!strcmp(plan.path[i], plan.path[j]))
				abort();
	}
	(void)r;
	(void)init_mod_builtin(s, n, name);
}

static void fz_mountinfo(const char *s, size_t n)
{
	static struct init_mountinfo mi[32];
	char *buf = malloc(n + 1);
	int c;

	if (!buf)
		return;
	memcpy(buf, s, n);
	buf[n] = '\0';
	c = init_mountinfo_parse(buf, mi, 32);
	if (c < 0 || c > 32)
		abort();
	for (int i = 0; i < c; i++) {
		FZ_TERM(mi[i].dir);
		FZ_TERM(mi[i].fstype);
		FZ_TERM(mi[i].src);
	}
	free(buf);
}

static void fz_words(const char *s, size_t n)
{
	char *in = malloc(n + 1), buf[256], *argv[16];
	int r;

	if (!in)
		return;
	memcpy(in, s, n);
	in[n] = '\0';
	r = init_split_words(in, buf, sizeof(buf), argv, 16);
	if (r != -EINVAL && r != -E2BIG && (r < 0 || r > 15 || argv[r]))
		abort();
	for (int i = 0; r > 0 && i < r; i++)
		if (argv[i] < buf || argv[i] >= buf + sizeof(buf))
			abort();
	free(in);
}

static void fz_small(int which, const char *s, size_t n)
{
	char *in = malloc(n + 1);

	if (!in)
		return;
	memcpy(in, s, n);
	in[n] = '\0';
	if (which == 0) {
		struct init_ip ip;
		const char *why = NULL;

		if (init_ip_parse(in, &ip, &why) == 0) {
			FZ_TERM(ip.hostname);
			FZ_TERM(ip.dev);
			if (ip.set && ip.gw && (ip.gw & ip.mask) != (ip.addr & ip.mask))
				abort();
		} else if (!why) {
			abort();
		}
	} else if (which == 1) {
		struct init_mount_spec m;
		const char *why = NULL;

		if (init_mount_spec_parse(in, &m, &why) == 0) {
			if (m.dir[0] != '/')
				abort();
		} else if (!why) {
			abort();
		}
	} else {
		unsigned long flags;
		char data[64];

		if (init_mount_opts(in, &flags, data, sizeof(data)) == 0 && !memchr(data, '\0', sizeof(data)))
			abort();
		(void)init_mount_detect_buf((const unsigned char *)s, n);
	}
	free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;
	size_t n = size ? size - 1 : 0;

	init_log_level = 0;
	if (!size)
		return 0;
	switch (data[0] % 8) {
	case 0: fz_cmdline(s, n); break;
	case 1: fz_svc(s, n); break;
	case 2: fz_moddep(s, n); break;
	case 3: fz_mountinfo(s, n); break;
	case 4: fz_words(s, n); break;
	case 5: fz_small(0, s, n); break;
	case 6: fz_small(1, s, n); break;
	case 7: fz_small(2, s, n); break;
	}
	return 0;
}
