/* ext: guest-init with a test extension, for tests/native/init.sh. The
 * same PID 1 as build/guest/init (linked from guest-init/ minus main.c), plus
 * a start hook that exercises the extension API the way the Maitred RPC
 * service will: it starts a command with captured output, watches the
 * capture pipe in init's loop, gets the exit callback, mounts a tmpfs, and
 * then asks for the normal shutdown (a reboot, so the test can tell it from
 * the app's power-off). Everything it observes goes to /out/ext. */
#include "guest-init/config.h"
#include "guest-init/log.h"
#include "guest-init/pid1.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct ext {
	struct init_pid1 *p;
	int rfd;
	char out[256];
	size_t have;
	int exited, status;
	int eof;
};

static void ext_note(const char *fmt, const char *a, int b)
{
	FILE *f = fopen("/out/ext", "a");

	if (!f)
		return;
	fprintf(f, fmt, a, b);
	fputc('\n', f);
	fclose(f);
}

/* Both the output's EOF and the exit callback must have happened. */
static void ext_maybe_done(struct ext *e)
{
	struct init_mount_spec m;
	const char *why;
	int r;

	if (!e->eof || !e->exited)
		return;
	e->out[e->have] = '\0';
	for (char *c = e->out; *c; c++)
		if (*c == '\n')
			*c = '|';
	ext_note("captured=%s status=%d", e->out, e->status);
	r = init_mount_spec_parse("tmpfs:/ext-mnt:tmpfs:size=1m", &m, &why);
	if (!r)
		r = init_pid1_mount(e->p, &m);
	ext_note("mount=%s r=%d", "/ext-mnt", r);
	init_pid1_request_shutdown(e->p, INIT_FINAL_REBOOT, 9, "test extension");
	ext_note("%srequested shutdown, still in the callback r=%d", "", 0);
}

static void ext_on_exit(void *arg, pid_t pid, int wstatus)
{
	struct ext *e = arg;

	(void)pid;
	e->exited = 1;
	e->status = init_pid1_status(wstatus);
	ext_maybe_done(e);
}

static void ext_on_out(void *arg, int fd, uint32_t events)
{
	struct ext *e = arg;
	ssize_t n = read(fd, e->out + e->have, sizeof(e->out) - 1 - e->have);

	(void)events;
	if (n > 0) {
		e->have += (size_t)n;
		if (e->have < sizeof(e->out) - 1)
			return;
	}
	evloop_del(init_pid1_loop(e->p), fd);
	close(fd);
	e->eof = 1;
	ext_maybe_done(e);
}

static int ext_start(struct init_pid1 *p, void *arg)
{
	static struct ext e;
	static char *argv[] = { "/bin/sh", "-c",
		"echo \"out sid=$(cut -d' ' -f6 /proc/$$/stat) pid=$$\"; echo err >&2; exit 7", NULL };
	static char *envp[] = { "PATH=/bin", NULL };
	struct init_spawn s = { .path = "/bin/sh", .argv = argv, .envp = envp };
	const char *stage;
	int pp[2], fds[3], r;
	pid_t pid;

	(void)arg;
	e.p = p;
	ext_note("app=%s loglevel=%d", init_pid1_config(p)->app, init_pid1_config(p)->loglevel);
	if (pipe2(pp, O_CLOEXEC) < 0)
		return -errno;
	fds[0] = -1;
	fds[1] = pp[1];
	fds[2] = pp[1];
	s.stdio = fds;
	pid = init_pid1_spawn(p, &s, ext_on_exit, &e, &stage);
	close(pp[1]);
	if (pid < 0) {
		close(pp[0]);
		return (int)pid;
	}
	ext_note("spawned=%s pid=%d", "/bin/sh", (int)pid);
	r = evloop_add(init_pid1_loop(p), pp[0], ext_on_out, &e);
	if (r < 0)
		return r;
	/* A failing spawn reports its stage. */
	s.path = "/nonexistent";
	s.stdio = NULL;
	pid = init_pid1_spawn(p, &s, ext_on_exit, &e, &stage);
	ext_note("bad spawn stage=%s r=%d", stage ? stage : "?", (int)pid);
	return 0;
}

int main(void)
{
	static const struct init_pid1_hooks hooks = { ext_start, NULL };

	init_pid1_run(&hooks);
}
