#include "guest-init/svc.h"
#include "guest-init/log.h"
#include "guest-init/spawn.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void svc_warn(const struct init_warn *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void svc_warn(const struct init_warn *w, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!w || !w->fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->fn(w->arg, msg);
}

static bool svc_name_ok(const char *n)
{
	if (!*n || strlen(n) >= 64)
		return false;
	for (; *n; n++)
		if (!isalnum((unsigned char)*n) && *n != '-' && *n != '_' && *n != '.')
			return false;
	return true;
}

static char *svc_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int init_svc_parse(const char *name, const char *text, size_t len, struct init_svc *svc,
		   const struct init_warn *w)
{
	char line[1024];
	int lineno = 0;
	const char *p = text, *end = text + len;

	memset(svc, 0, sizeof(*svc));
	if (!svc_name_ok(name)) {
		svc_warn(w, "service '%.64s': name must be 1-63 of [A-Za-z0-9._-], skipped", name);
		return -EINVAL;
	}
	strcpy(svc->name, name);
	while (p < end) {
		const char *start = p, *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = (size_t)((nl ? nl : end) - p);
		char *k, *v, *eq;
		struct { const char *key; char *dst; size_t n; } fields[] = {
			{ "exec", svc->exec, sizeof(svc->exec) },
			{ "args", svc->args, sizeof(svc->args) },
			{ "env", svc->env, sizeof(svc->env) },
			{ "user", svc->user, sizeof(svc->user) },
			{ "after", svc->after, sizeof(svc->after) },
		};
		bool known = false;

		lineno++;
		p += l + 1;
		if (l >= sizeof(line)) {
			svc_warn(w, "%s.conf:%d: line longer than %zu bytes ignored", name, lineno,
				 sizeof(line) - 1);
			continue;
		}
		memcpy(line, start, l);
		line[l] = '\0';
		if (memchr(line, '\0', l)) {
			svc_warn(w, "%s.conf:%d: NUL byte, line ignored", name, lineno);
			continue;
		}
		k = svc_trim(line);
		if (!*k || *k == '#')
			continue;
		eq = strchr(k, '=');
		if (!eq) {
			svc_warn(w, "%s.conf:%d: expected key=value, line ignored", name, lineno);
			continue;
		}
		*eq = '\0';
		k = svc_trim(k);
		v = svc_trim(eq + 1);
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			if (strcmp(k, fields[i].key))
				continue;
			known = true;
			if (strlen(v) >= fields[i].n)
				svc_warn(w, "%s.conf:%d: %s longer than %zu bytes ignored", name, lineno,
					 k, fields[i].n - 1);
			else
				strcpy(fields[i].dst, v);
		}
		if (!strcmp(k, "respawn")) {
			known = true;
			if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
				svc->respawn = true;
			else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
				svc->respawn = false;
			else
				svc_warn(w, "%s.conf:%d: respawn=%s: expected yes or no, using no",
					 name, lineno, v);
		}
		if (!known)
			svc_warn(w, "%s.conf:%d: unknown key '%s' ignored", name, lineno, k);
	}
	if (!svc->exec[0] || svc->exec[0] != '/') {
		svc_warn(w, "%s.conf: exec= missing or not an absolute path, service skipped", name);
		return -EINVAL;
	}
	if (svc->after[0] && !strcmp(svc->after, name)) {
		svc_warn(w, "%s.conf: after= names itself, ignored", name);
		svc->after[0] = '\0';
	}
	return 0;
}

static int svc_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int init_svc_load_dir(const char *dir, struct init_svcs *svcs, const struct init_warn *w)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char *names[INIT_SVC_MAX * 2];
	int nn = 0;

	svcs->n = 0;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l < 6 || strcmp(de->d_name + l - 5, ".conf") || de->d_name[0] == '.')
			continue;
		if (nn >= (int)(sizeof(names) / sizeof(names[0]))) {
			svc_warn(w, "%s: more than %d service files, the rest ignored", dir, nn);
			break;
		}
		names[nn] = strdup(de->d_name);
		if (names[nn])
			nn++;
	}
	closedir(d);
	qsort(names, (size_t)nn, sizeof(names[0]), svc_cmp);
	for (int i = 0; i < nn; i++) {
		char path[INIT_PATH_MAX + 80], text[INIT_SVC_FILE_MAX];
		int fd;
		ssize_t n;
		struct stat st;

		names[i][strlen(names[i]) - 5] = '\0';
		if (svcs->n >= INIT_SVC_MAX) {
			svc_warn(w, "%s: more than %d services, %s.conf ignored", dir, INIT_SVC_MAX, names[i]);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s.conf", dir, names[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			svc_warn(w, "%s: not a readable regular file, ignored", path);
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (st.st_size > INIT_SVC_FILE_MAX) {
			svc_warn(w, "%s: larger than %d bytes, ignored", path, INIT_SVC_FILE_MAX);
			close(fd);
			continue;
		}
		n = read(fd, text, sizeof(text));
		close(fd);
		if (n < 0) {
			svc_warn(w, "%s: read failed: %s", path, strerror(errno));
			continue;
		}
		if (!init_svc_parse(names[i], text, (size_t)n, &svcs->svc[svcs->n], w))
			svcs->n++;
	}
	for (int i = 0; i < nn; i++)
		free(names[i]);
	init_svc_order(svcs, w);
	return svcs->n;
}

void init_svc_order(struct init_svcs *svcs, const struct init_warn *w)
{
	struct init_svc *out = malloc(sizeof(svcs->svc));
	bool placed[INIT_SVC_MAX] = { false };
	int n = 0;

	if (!out)
		return;
	for (int i = 0; i < svcs->n; i++) {
		bool found = false;

		if (!svcs->svc[i].after[0])
			continue;
		for (int j = 0; j < svcs->n; j++)
			found |= !strcmp(svcs->svc[j].name, svcs->svc[i].after);
		if (!found) {
			svc_warn(w, "%s.conf: after=%s names no service, ignored",
				 svcs->svc[i].name, svcs->svc[i].after);
			svcs->svc[i].after[0] = '\0';
		}
	}
	/* Repeatedly take the first (in name order) service whose after= is
	 * placed; when none qualifies there is a cycle: break it at the first
	 * unplaced service. */
	while (n < svcs->n) {
		int pick = -1;

		for (int i = 0; i < svcs->n && pick < 0; i++) {
			bool ready = !placed[i];

			if (ready && svcs->svc[i].after[0])
				for (int j = 0; j < svcs->n; j++)
					if (!strcmp(svcs->svc[j].name, svcs->svc[i].after) && !placed[j])
						ready = false;
			if (ready)
				pick = i;
		}
		if (pick < 0) {
			for (int i = 0; i < svcs->n && pick < 0; i++)
				if (!placed[i])
					pick = i;
			svc_warn(w, "%s.conf: after= cycle, started in name order", svcs->svc[pick].name);
		}
		placed[pick] = true;
		out[n++] = svcs->svc[pick];
	}
	memcpy(svcs->svc, out, sizeof(out[0]) * (size_t)n);
	free(out);
}

enum init_svc_action init_svc_on_exit(struct init_svc *svc, uint64_t now_ms)
{
	unsigned slot;

	if (!svc->respawn || svc->given_up)
		return INIT_SVC_DONE;
	/* restart_ms is a ring of the last INIT_SVC_BURST restart times; when it
	 * is full and its oldest entry is inside the window, this would be
	 * restart number BURST+1 within the window. */
	slot = svc->restarts % INIT_SVC_BURST;
	if (svc->restarts >= INIT_SVC_BURST && now_ms - svc->restart_ms[slot] < INIT_SVC_WINDOW_MS) {
		svc->given_up = true;
		svc->next_start_ms = 0;
		return INIT_SVC_GIVE_UP;
	}
	if (now_ms - svc->started_ms >= INIT_SVC_STABLE_MS || !svc->backoff_ms)
		svc->backoff_ms = INIT_SVC_BACKOFF_MIN_MS;
	else if (svc->backoff_ms < INIT_SVC_BACKOFF_MAX_MS)
		svc->backoff_ms = svc->backoff_ms * 2 > INIT_SVC_BACKOFF_MAX_MS ?
				  INIT_SVC_BACKOFF_MAX_MS : svc->backoff_ms * 2;
	svc->restart_ms[slot] = now_ms;
	svc->restarts++;
	svc->next_start_ms = now_ms + svc->backoff_ms;
	return INIT_SVC_RESTART;
}

int init_svc_start(struct init_svc *svc, const char *console, uint64_t now_ms)
{
	char argbuf[1024], envbuf[1024], *argv[66], *envp[70];
	const char *stage;
	struct init_spawn s = { 0 };
	int r;
	pid_t pid;

	svc->next_start_ms = 0;
	argv[0] = svc->exec;
	r = init_split_words(svc->args, argbuf, sizeof(argbuf), argv + 1, 65);
	if (r < 0) {
		init_log(INIT_LOG_ERR, "service %s: bad args=: %s", svc->name,
			 r == -EINVAL ? "unterminated quote" : "too long");
		svc->given_up = true;
		return r;
	}
	r = init_spawn_env(svc->env, envbuf, sizeof(envbuf), envp, 70);
	if (r < 0) {
		init_log(INIT_LOG_ERR, "service %s: bad env= (want KEY=VALUE words)", svc->name);
		svc->given_up = true;
		return r;
	}
	if (svc->user[0]) {
		r = init_spawn_user(svc->user, "/etc/passwd", &s.uid, &s.gid);
		if (r < 0) {
			init_log(INIT_LOG_ERR, "service %s: user=%s: %s", svc->name, svc->user,
				 r == -ENOENT ? "no such user in /etc/passwd" : "bad uid:gid");
			svc->given_up = true;
			return r;
		}
		s.set_ids = true;
	}
	s.path = svc->exec;
	s.argv = argv;
	s.envp = envp;
	s.console = console;
	svc->started_ms = now_ms;
	pid = init_spawn_run(&s, &stage);
	if (pid < 0) {
		init_log(INIT_LOG_ERR, "service %s: %s %s failed: %s", svc->name, stage, svc->exec,
			 strerror((int)-pid));
		/* Treated as an immediate exit, so respawn limits apply. */
		if (init_svc_on_exit(svc, now_ms) == INIT_SVC_GIVE_UP)
			init_log(INIT_LOG_ERR, "service %s: %u restarts within %d s, giving up",
				 svc->name, INIT_SVC_BURST, INIT_SVC_WINDOW_MS / 1000);
		return (int)pid;
	}
	svc->pid = pid;
	init_log(INIT_LOG_INFO, "service %s: started %s (pid %d)", svc->name, svc->exec, (int)pid);
	return 0;
}

int init_svc_reaped(struct init_svcs *svcs, pid_t pid, int status, uint64_t now_ms)
{
	for (int i = 0; i < svcs->n; i++) {
		struct init_svc *s = &svcs->svc[i];

		if (s->pid != pid || pid <= 0)
			continue;
		s->pid = 0;
		if (WIFSIGNALED(status))
			init_log(INIT_LOG_WARN, "service %s (pid %d) killed by signal %d", s->name,
				 (int)pid, WTERMSIG(status));
		else
			init_log(WEXITSTATUS(status) ? INIT_LOG_WARN : INIT_LOG_INFO,
				 "service %s (pid %d) exited with status %d", s->name, (int)pid,
				 WEXITSTATUS(status));
		switch (init_svc_on_exit(s, now_ms)) {
		case INIT_SVC_RESTART:
			init_log(INIT_LOG_INFO, "service %s: restart %u in %u ms", s->name,
				 s->restarts, s->backoff_ms);
			break;
		case INIT_SVC_GIVE_UP:
			init_log(INIT_LOG_ERR, "service %s: %u restarts within %d s, giving up",
				 s->name, INIT_SVC_BURST, INIT_SVC_WINDOW_MS / 1000);
			break;
		case INIT_SVC_DONE:
			break;
		}
		return 1;
	}
	return 0;
}

uint64_t init_svc_run_due(struct init_svcs *svcs, const char *console, uint64_t now_ms)
{
	uint64_t next = 0;

	for (int i = 0; i < svcs->n; i++) {
		struct init_svc *s = &svcs->svc[i];

		if (s->next_start_ms && s->next_start_ms <= now_ms && !s->pid && !s->given_up)
			init_svc_start(s, console, now_ms);
		if (s->next_start_ms && (!next || s->next_start_ms < next))
			next = s->next_start_ms;
	}
	return next;
}

void init_svc_stop_all(struct init_svcs *svcs)
{
	for (int i = 0; i < svcs->n; i++) {
		svcs->svc[i].respawn = false;
		svcs->svc[i].next_start_ms = 0;
	}
}
