#include "guest-init/modules.h"
#include "guest-init/config.h"
#include "guest-init/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* modules.dep, modules.builtin: bounded, Debian's cloud kernel has ~400 KiB. */
#define MOD_FILE_MAX (8u << 20)

int init_mod_name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;

		if (x != y)
			return 0;
	}
	return *a == *b;
}

int init_mod_basename(const char *path, char *name, size_t n)
{
	const char *b = strrchr(path, '/');
	const char *ko;
	size_t l;

	b = b ? b + 1 : path;
	ko = strstr(b, ".ko");
	l = ko ? (size_t)(ko - b) : strlen(b);
	if (l >= n)
		return -ENAMETOOLONG;
	memcpy(name, b, l);
	name[l] = '\0';
	return 0;
}

/* Find the modules.dep line for a module, by name or by exact path. Sets
 * line and line_len to the whole line. */
static int mod_find(const char *dep, size_t len, const char *name, bool by_path,
		    const char **line, size_t *line_len)
{
	const char *p = dep, *end = dep + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *colon = memchr(p, ':', (size_t)(le - p));

		if (colon) {
			char path[160], base[64];
			size_t pl = (size_t)(colon - p);

			if (pl < sizeof(path)) {
				memcpy(path, p, pl);
				path[pl] = '\0';
				if (by_path ? !strcmp(path, name) :
				    (!init_mod_basename(path, base, sizeof(base)) &&
				     init_mod_name_eq(base, name))) {
					*line = p;
					*line_len = (size_t)(le - p);
					return 0;
				}
			}
		}
		p = le + 1;
	}
	return -ENOENT;
}

static int mod_in_plan(const struct init_mod_plan *plan, const char *path)
{
	for (int i = 0; i < plan->n; i++)
		if (!strcmp(plan->path[i], path))
			return 1;
	return 0;
}

/* Depth-first: dependencies are appended before the module (post-order), so
 * the plan is a topological order whatever order modules.dep lists them in.
 * stack holds the paths being resolved, to catch cycles. */
static int mod_resolve(const char *dep, size_t len, const char *key, bool by_path,
		       struct init_mod_plan *plan, const char **stack, int depth,
		       char *missing, size_t missing_n)
{
	const char *line, *colon, *p, *le;
	size_t ll;
	char path[160];
	int r;

	if (mod_find(dep, len, key, by_path, &line, &ll)) {
		if (missing)
			snprintf(missing, missing_n, "%s", key);
		return -ENOENT;
	}
	colon = memchr(line, ':', ll);
	if ((size_t)(colon - line) >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, line, (size_t)(colon - line));
	path[colon - line] = '\0';
	if (mod_in_plan(plan, path))
		return 0;
	for (int i = 0; i < depth; i++) {
		if (!strcmp(stack[i], path)) {
			if (missing)
				snprintf(missing, missing_n, "%s", path);
			return -ELOOP;
		}
	}
	if (depth >= INIT_MOD_MAX)
		return -ELOOP;
	stack[depth] = path;
	le = line + ll;
	for (p = colon + 1; p < le;) {
		const char *e;
		char d[160];

		while (p < le && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		for (e = p; e < le && *e != ' ' && *e != '\t' && *e != '\r'; e++)
			;
		if (e == p)
			break;
		if ((size_t)(e - p) >= sizeof(d)) {
			if (missing)
				snprintf(missing, missing_n, "%.*s", (int)(e - p), p);
			return -ENAMETOOLONG;
		}
		memcpy(d, p, (size_t)(e - p));
		d[e - p] = '\0';
		r = mod_resolve(dep, len, d, true, plan, stack, depth + 1, missing, missing_n);
		if (r)
			return r;
		p = e;
	}
	if (mod_in_plan(plan, path))
		return 0;
	if (plan->n >= INIT_MOD_MAX)
		return -E2BIG;
	strcpy(plan->path[plan->n], path);
	if (init_mod_basename(path, plan->name[plan->n], sizeof(plan->name[0])))
		return -ENAMETOOLONG;
	plan->n++;
	return 0;
}

int init_mod_resolve(const char *dep, size_t len, const char *name,
		     struct init_mod_plan *plan, char *missing, size_t missing_n)
{
	const char *stack[INIT_MOD_MAX + 1];

	if (missing && missing_n)
		missing[0] = '\0';
	return mod_resolve(dep, len, name, false, plan, stack, 0, missing, missing_n);
}

int init_mod_builtin(const char *builtin, size_t len, const char *name)
{
	/* modules.builtin: one "kernel/fs/ext4/ext4.ko" path per line. */
	for (const char *p = builtin, *end = builtin + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		char path[160], base[64];
		size_t pl = (size_t)(le - p);

		if (pl < sizeof(path)) {
			memcpy(path, p, pl);
			path[pl] = '\0';
			if (!init_mod_basename(path, base, sizeof(base)) && init_mod_name_eq(base, name))
				return 1;
		}
		p = le + 1;
	}
	return 0;
}

struct mod_params_ctx {
	const char *name;
	char *out;
	size_t n, o;
	int err;
};

static void mod_params_one(void *arg, const char *key, const char *val)
{
	struct mod_params_ctx *c = arg;
	const char *dot = strchr(key, '.');
	char mod[64];
	size_t ml = dot ? (size_t)(dot - key) : 0;
	int w;

	if (!dot || ml >= sizeof(mod) || !dot[1])
		return;
	memcpy(mod, key, ml);
	mod[ml] = '\0';
	if (!init_mod_name_eq(mod, c->name))
		return;
	/* Values with spaces get the quotes the kernel's parser expects. */
	if (val)
		w = snprintf(c->out + c->o, c->n - c->o, "%s%s=%s%s%s", c->o ? " " : "", dot + 1,
			     strchr(val, ' ') ? "\"" : "", val, strchr(val, ' ') ? "\"" : "");
	else
		w = snprintf(c->out + c->o, c->n - c->o, "%s%s", c->o ? " " : "", dot + 1);
	if (w < 0 || (size_t)w >= c->n - c->o) {
		c->err = -E2BIG;
		c->out[c->o] = '\0';
		return;
	}
	c->o += (size_t)w;
}

int init_mod_params(const char *cmdline, size_t len, const char *name, char *out, size_t n)
{
	struct mod_params_ctx c = { name, out, n, 0, 0 };

	if (!n)
		return -E2BIG;
	out[0] = '\0';
	init_cmdline_each(cmdline, len, mod_params_one, &c);
	return c.err;
}

/* Read a whole file into a malloc'd buffer, bounded by MOD_FILE_MAX. */
static char *mod_slurp(const char *path, size_t *len, int *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *b;
	size_t have = 0;

	*err = 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		*err = -errno;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (st.st_size > MOD_FILE_MAX) {
		close(fd);
		*err = -EFBIG;
		return NULL;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		close(fd);
		*err = -ENOMEM;
		return NULL;
	}
	while (have < (size_t)st.st_size) {
		ssize_t r = read(fd, b + have, (size_t)st.st_size - have);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	close(fd);
	b[have] = '\0';
	*len = have;
	return b;
}

/* init_module(2): MODULE_INIT_COMPRESSED_FILE (Linux 5.17) lets a kernel
 * built with CONFIG_MODULE_DECOMPRESS take .ko.xz/.gz/.zst as they are. */
#define MOD_INIT_COMPRESSED_FILE 4

static int mod_finit(void *arg, const char *path, const char *params)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t l = strlen(path);
	int r = 0, flags = 0;

	(void)arg;
	if (fd < 0)
		return -errno;
	if (l < 3 || strcmp(path + l - 3, ".ko"))
		flags = MOD_INIT_COMPRESSED_FILE;
	if (syscall(SYS_finit_module, fd, params, flags) < 0)
		r = -errno;
	close(fd);
	return r;
}

static bool mod_loaded(const struct init_mod_loader *l, const char *name)
{
	char p[INIT_PATH_MAX + 64];
	struct stat st;
	int n;

	/* /sys/module uses '_' whatever the file is called. */
	n = snprintf(p, sizeof(p), "%s/", l->sys_module ? l->sys_module : "/sys/module");
	if (n < 0 || (size_t)n >= sizeof(p))
		return false;
	snprintf(p + n, sizeof(p) - (size_t)n, "%s", name);
	for (char *c = p + n; *c; c++)
		if (*c == '-')
			*c = '_';
	return stat(p, &st) == 0;
}

int init_mod_load_list(const char *list, const char *moddir, const char *cmdline,
		       size_t cmdline_len, const struct init_mod_loader *loader)
{
	static const struct init_mod_loader real = { mod_finit, NULL, NULL };
	struct init_mod_plan *plan = calloc(1, sizeof(*plan));
	char path[INIT_PATH_MAX + 200], *dep = NULL, *builtin = NULL;
	size_t dep_len = 0, builtin_len = 0;
	int failed = 0, dep_err = 0, err;

	if (!plan) {
		init_log(INIT_LOG_ERR, "init.modules: out of memory");
		return 1;
	}
	if (!loader)
		loader = &real;
	for (const char *s = list; *s;) {
		const char *e = strchr(s, ',');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		char name[64], missing[160];
		int start = plan->n, r;

		if (!l || l >= sizeof(name)) {
			if (l)
				init_log(INIT_LOG_ERR, "module %.*s: name too long", (int)l, s);
			failed += l != 0;
			s += l + (e ? 1 : 0);
			continue;
		}
		memcpy(name, s, l);
		name[l] = '\0';
		s += l + (e ? 1 : 0);
		if (mod_loaded(loader, name)) {
			init_log(INIT_LOG_DEBUG, "module %s: already loaded", name);
			continue;
		}
		if (!dep && !dep_err) {
			snprintf(path, sizeof(path), "%s/modules.dep", moddir);
			dep = mod_slurp(path, &dep_len, &dep_err);
			snprintf(path, sizeof(path), "%s/modules.builtin", moddir);
			builtin = mod_slurp(path, &builtin_len, &err);
		}
		if (builtin && init_mod_builtin(builtin, builtin_len, name)) {
			init_log(INIT_LOG_DEBUG, "module %s: built into the kernel", name);
			continue;
		}
		if (!dep) {
			init_log(INIT_LOG_ERR, "module %s: cannot read %s/modules.dep: %s", name,
				 moddir, strerror(-dep_err));
			failed++;
			continue;
		}
		r = init_mod_resolve(dep, dep_len, name, plan, missing, sizeof(missing));
		if (r) {
			if (r == -ENOENT && !strcmp(missing, name))
				init_log(INIT_LOG_ERR, "module %s: not found in %s/modules.dep", name, moddir);
			else if (r == -ENOENT)
				init_log(INIT_LOG_ERR, "module %s: dependency %s not found in %s/modules.dep",
					 name, missing, moddir);
			else if (r == -ELOOP)
				init_log(INIT_LOG_ERR, "module %s: dependency cycle at %s", name, missing);
			else
				init_log(INIT_LOG_ERR, "module %s: %s", name, strerror(-r));
			failed++;
			plan->n = start;
			continue;
		}
		for (int i = start; i < plan->n; i++) {
			char params[512];

			if (mod_loaded(loader, plan->name[i])) {
				init_log(INIT_LOG_DEBUG, "module %s: already loaded", plan->name[i]);
				continue;
			}
			if (init_mod_params(cmdline, cmdline_len, plan->name[i], params, sizeof(params)))
				init_log(INIT_LOG_WARN, "module %s: parameters longer than %zu bytes dropped",
					 plan->name[i], sizeof(params) - 1);
			snprintf(path, sizeof(path), "%s/%s", moddir, plan->path[i]);
			init_log(INIT_LOG_INFO, "module %s: loading %s%s%s", plan->name[i], path,
				 params[0] ? " " : "", params);
			r = loader->load(loader->arg, path, params);
			if (r && r != -EEXIST) {
				init_log(INIT_LOG_ERR, "module %s: load %s failed: %s", plan->name[i],
					 path, strerror(-r));
				failed++;
				/* Its dependents cannot load either. */
				break;
			}
		}
	}
	free(dep);
	free(builtin);
	free(plan);
	return failed;
}
