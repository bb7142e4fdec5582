#include "guest-init/spawn.h"
#include "guest-init/config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define SPAWN_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum spawn_stage { ST_SIGNALS = 1, ST_SETSID, ST_CONSOLE, ST_IDS, ST_CHDIR, ST_EXEC };
static const char *const spawn_stages[] = {
	"?", "signal reset", "setsid", "console", "setuid/setgid", "chdir", "exec",
};

struct spawn_err {
	int stage;
	int err;
};

static void spawn_fail(int fd, int stage, int err)
{
	struct spawn_err e = { stage, err };

	(void)!write(fd, &e, sizeof(e));
	_exit(127);
}

static void spawn_child(const struct init_spawn *s, int errfd)
{
	sigset_t none;
	struct sigaction dfl;

	/* init blocks everything; the child must start with a clean mask and
	 * default dispositions. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		spawn_fail(errfd, ST_SIGNALS, errno);
	if (setsid() < 0)
		spawn_fail(errfd, ST_SETSID, errno);
	if (s->stdio) {
		int tmp[3];

		/* Move every source above 2 first, so dup2 into 0-2 cannot
		 * overwrite a source still to be copied. */
		for (int i = 0; i < 3; i++) {
			int src = s->stdio[i] >= 0 ? s->stdio[i] : open("/dev/null", O_RDWR | O_NOCTTY);

			tmp[i] = src < 0 ? -1 : fcntl(src, F_DUPFD_CLOEXEC, 3);
			if (tmp[i] < 0)
				spawn_fail(errfd, ST_CONSOLE, errno);
		}
		for (int i = 0; i < 3; i++)
			if (dup2(tmp[i], i) < 0)
				spawn_fail(errfd, ST_CONSOLE, errno);
	} else if (s->console) {
		int fd = open(s->console, O_RDWR | O_NOCTTY);

		if (fd < 0)
			fd = open("/dev/null", O_RDWR | O_NOCTTY);
		if (fd < 0)
			spawn_fail(errfd, ST_CONSOLE, errno);
		for (int i = 0; i < 3; i++)
			if (fd != i && dup2(fd, i) < 0)
				spawn_fail(errfd, ST_CONSOLE, errno);
		if (fd > 2)
			close(fd);
		/* /dev/console never becomes a controlling tty by open()
		 * (drivers/tty/tty_io.c); ask for it explicitly. Not a tty
		 * (a test's FIFO) is fine. */
		if (s->ctty)
			(void)ioctl(0, TIOCSCTTY, 0);
	}
	if (s->set_ids) {
		if (setgroups(0, NULL) < 0 || setgid(s->gid) < 0 || setuid(s->uid) < 0)
			spawn_fail(errfd, ST_IDS, errno);
	}
	if (chdir(s->workdir ? s->workdir : "/") < 0)
		spawn_fail(errfd, ST_CHDIR, errno);
	if (strchr(s->path, '/')) {
		execve(s->path, s->argv, s->envp);
	} else {
		/* A bare name: search the fixed PATH children get. */
		int err = ENOENT;

		for (const char *d = SPAWN_PATH; *d;) {
			const char *e = strchr(d, ':');
			size_t l = e ? (size_t)(e - d) : strlen(d);
			char full[INIT_PATH_MAX + 64];

			snprintf(full, sizeof(full), "%.*s/%s", (int)l, d, s->path);
			execve(full, s->argv, s->envp);
			if (errno != ENOENT)
				err = errno;
			d += l + (e ? 1 : 0);
		}
		errno = err;
	}
	spawn_fail(errfd, ST_EXEC, errno);
}

pid_t init_spawn_run(const struct init_spawn *s, const char **stage)
{
	int p[2];
	pid_t pid;
	struct spawn_err e;
	ssize_t n;

	*stage = "fork";
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = errno;

		close(p[0]);
		close(p[1]);
		return -err;
	}
	if (pid == 0) {
		close(p[0]);
		spawn_child(s, p[1]);
	}
	close(p[1]);
	do
		n = read(p[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == (ssize_t)sizeof(e)) {
		/* The child exits right after reporting; reap it here so the
		 * caller never sees a pid it did not get. */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		*stage = spawn_stages[e.stage > 0 && e.stage <= ST_EXEC ? e.stage : 0];
		return -(e.err ? e.err : EIO);
	}
	*stage = NULL;
	return pid;
}

static int spawn_num(const char *s, unsigned long *out)
{
	char *end;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || *out > 0x7fffffff)
		return -EINVAL;
	return 0;
}

int init_spawn_user(const char *user, const char *passwd_path, uid_t *uid, gid_t *gid)
{
	char buf[256];
	const char *colon = strchr(user, ':');
	unsigned long u, g;
	FILE *f;

	if (*user >= '0' && *user <= '9') {
		if (strlen(user) >= sizeof(buf))
			return -EINVAL;
		strcpy(buf, user);
		if (colon)
			buf[colon - user] = '\0';
		if (spawn_num(buf, &u) || (colon && spawn_num(colon + 1, &g)))
			return -EINVAL;
		*uid = (uid_t)u;
		*gid = (gid_t)(colon ? g : u);
		return 0;
	}
	if (!*user || colon || strlen(user) > 32)
		return -EINVAL;
	/* name:passwd:uid:gid:gecos:home:shell, read by hand: no NSS in a
	 * static binary. */
	f = fopen(passwd_path, "re");
	if (!f)
		return -ENOENT;
	while (fgets(buf, sizeof(buf), f)) {
		char *save = NULL, *name = strtok_r(buf, ":", &save);
		char *pw = strtok_r(NULL, ":", &save);
		char *us = strtok_r(NULL, ":", &save);
		char *gs = strtok_r(NULL, ":", &save);

		if (!name || !pw || !us || !gs || strcmp(name, user))
			continue;
		fclose(f);
		if (spawn_num(us, &u) || spawn_num(gs, &g))
			return -EINVAL;
		*uid = (uid_t)u;
		*gid = (gid_t)g;
		return 0;
	}
	fclose(f);
	return -ENOENT;
}

int init_spawn_env(const char *extra, char *buf, size_t bufn, char **envp, int max)
{
	const char *term = getenv("TERM");
	int n = 0, r;
	size_t o = 0;
	char *words[65];

	if (max < 4)
		return -E2BIG;
	r = snprintf(buf, bufn, "PATH=" SPAWN_PATH "%cHOME=/%cTERM=%s", 0, 0,
		     term && strlen(term) < 64 ? term : "linux");
	if (r < 0 || (size_t)r >= bufn)
		return -E2BIG;
	envp[n++] = buf;
	envp[n++] = buf + strlen(buf) + 1;
	envp[n++] = envp[1] + strlen(envp[1]) + 1;
	o = (size_t)r + 1;
	r = init_split_words(extra, buf + o, bufn - o, words, 65);
	if (r < 0)
		return r;
	for (int i = 0; i < r; i++) {
		const char *eq = strchr(words[i], '=');
		int j;

		if (!eq || eq == words[i])
			return -EINVAL;
		for (j = 0; j < n; j++)
			if (!strncmp(envp[j], words[i], (size_t)(eq - words[i]) + 1))
				break;
		if (j == n) {
			if (n >= max - 1)
				return -E2BIG;
			n++;
		}
		envp[j] = words[i];
	}
	envp[n] = NULL;
	return n;
}
