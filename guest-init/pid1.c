#include "guest-init/pid1.h"
#include "guest-init/config.h"
#include "guest-init/log.h"
#include "guest-init/modules.h"
#include "guest-init/mount.h"
#include "guest-init/net.h"
#include "guest-init/root.h"
#include "guest-init/spawn.h"
#include "guest-init/svc.h"
#include "guest-init/agents.h"
#include "guest-init/sys.h"
#include "evloop/evloop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PID1_CONSOLE "/dev/console"
/* After SIGKILL, how long to wait for the last processes to be reaped. */
#define PID1_KILL_WAIT_MS 5000

struct init_pid1 {
	struct init_config cfg;
	char cmdline[INIT_CMDLINE_MAX + 1];
	size_t cmdline_len;
	struct init_svcs svcs;
	struct evloop loop;
	int sfd;
	pid_t app_pid;
	bool app_done;
	int app_status;
	/* Children started through init_pid1_spawn with an exit callback. */
	struct {
		pid_t pid;
		init_pid1_exit_cb *cb;
		void *arg;
	} watch[INIT_PID1_WATCH_MAX];
	/* init_pid1_request_shutdown: carried out by the main loop. */
	bool shutdown_pending;
	enum init_final shutdown_how;
	int shutdown_status;
	char shutdown_why[64];
	bool shutting_down;
};

int init_pid1_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return INIT_STATUS_FAILURE;
}

static void pid1_warn(void *arg, const char *msg)
{
	(void)arg;
	init_log(INIT_LOG_WARN, "%s", msg);
}

static const struct init_warn pid1_warner = { pid1_warn, NULL };

/* The signals PID 1 leaves unblocked: synchronous faults, which cannot be
 * deferred and would otherwise kill init (tini, s6-linux-init do the same). */
static void pid1_sigset(sigset_t *set)
{
	sigfillset(set);
	sigdelset(set, SIGSEGV);
	sigdelset(set, SIGBUS);
	sigdelset(set, SIGILL);
	sigdelset(set, SIGFPE);
	sigdelset(set, SIGTRAP);
	sigdelset(set, SIGSYS);
	sigdelset(set, SIGABRT);
}

/* Last resort: nothing sensible can continue. Tell the host, power off, and
 * if even that is refused keep reaping forever: PID 1 never exits. */
static _Noreturn void pid1_halt(const struct init_pid1 *p, enum init_final how, int status)
{
	int r;

	sync();
	if (getpid() != 1) {
		/* Unreachable through init_pid1_run; belt and braces, since
		 * reboot(2) outside a PID namespace ends the whole machine. */
		init_log(INIT_LOG_ERR, "not PID 1 (pid %d): refusing to reboot; exiting", (int)getpid());
		_exit(INIT_STATUS_FAILURE);
	}
	/* Without ACPI a power-off is only a halt: the exit port is what ends
	 * the VM (and makes vmm exit with the app's status); RB_POWER_OFF is
	 * the fallback for any other hypervisor. A reboot needs no port: the
	 * kernel resets through the i8042 and vmm ends the VM. */
	if (how == INIT_FINAL_POWEROFF && p->cfg.exit_port >= 0) {
		r = init_sys_outb(p->cfg.exit_port, (uint8_t)status);
		if (r < 0)
			init_log(INIT_LOG_ERR, "exit port 0x%x: %s", p->cfg.exit_port, strerror(-r));
	}
	r = init_sys_reboot(how);
	init_log(INIT_LOG_ERR, "reboot(%s): %s; halting here", how == INIT_FINAL_REBOOT ?
		 "RB_AUTOBOOT" : "RB_POWER_OFF", strerror(-r));
	for (;;) {
		sigset_t set;
		int sig;

		sigemptyset(&set);
		sigaddset(&set, SIGCHLD);
		sigwait(&set, &sig);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
}

static _Noreturn void pid1_fatal(const struct init_pid1 *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static _Noreturn void pid1_fatal(const struct init_pid1 *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	init_log(INIT_LOG_ERR, "fatal: %s; powering off", msg);
	pid1_halt(p, INIT_FINAL_POWEROFF, INIT_STATUS_FAILURE);
}

/* Reap every exited child without blocking. Returns false once there are
 * no children left at all (ECHILD). */
static bool pid1_reap(struct init_pid1 *p, bool *app_exited)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			return false;
		if (pid == 0)
			return true;
		for (int i = 0; i < INIT_PID1_WATCH_MAX; i++) {
			if (p->watch[i].pid != pid)
				continue;
			p->watch[i].pid = 0;
			if (p->watch[i].cb)
				p->watch[i].cb(p->watch[i].arg, pid, st);
			break;
		}
		if (pid == p->app_pid && !p->app_done) {
			p->app_done = true;
			p->app_status = init_pid1_status(st);
			if (WIFSIGNALED(st))
				init_log(INIT_LOG_NOTICE, "app %s (pid %d) killed by signal %d (status %d)",
					 p->cfg.app, (int)pid, WTERMSIG(st), p->app_status);
			else
				init_log(INIT_LOG_NOTICE, "app %s (pid %d) exited with status %d",
					 p->cfg.app, (int)pid, p->app_status);
			if (app_exited)
				*app_exited = true;
			continue;
		}
		init_svc_reaped(&p->svcs, pid, st, evloop_now_ms());
	}
}

/* Shutdown as maitred does it: SIGTERM to everything, wait for the grace
 * period, SIGKILL what is left, sync, unmount in reverse order, then power
 * off (reporting status through the exit port) or reboot. */
static _Noreturn void pid1_shutdown(struct init_pid1 *p, enum init_final how, int status,
				     const char *why)
{
	uint64_t now = evloop_now_ms();
	uint64_t deadline = now + p->cfg.shutdown_timeout_ms;
	bool left = true;
	sigset_t chld;

	p->shutting_down = true;
	init_svc_stop_all(&p->svcs);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (getpid() != 1) {
		/* kill(-1) from anything but a PID namespace's init reaches every
		 * process the caller may signal: never do it. */
		init_log(INIT_LOG_ERR, "shutdown (%s): not PID 1 (pid %d), refusing to signal all processes",
			 why, (int)getpid());
		_exit(INIT_STATUS_FAILURE);
	}
	init_log(INIT_LOG_NOTICE, "shutdown (%s): sending SIGTERM to all processes", why);
	kill(-1, SIGTERM);
	/* A stopped process would never see its SIGTERM. */
	kill(-1, SIGCONT);
	while ((left = pid1_reap(p, NULL)) && (now = evloop_now_ms()) < deadline) {
		uint64_t w = deadline - now;
		struct timespec ts = { (time_t)(w / 1000), (long)(w % 1000) * 1000000 };

		sigtimedwait(&chld, NULL, &ts);
	}
	if (left) {
		init_log(INIT_LOG_NOTICE, "processes still running after %u ms: sending SIGKILL",
			 p->cfg.shutdown_timeout_ms);
		kill(-1, SIGKILL);
		deadline = evloop_now_ms() + PID1_KILL_WAIT_MS;
		while ((left = pid1_reap(p, NULL)) && (now = evloop_now_ms()) < deadline) {
			uint64_t w = deadline - now;
			struct timespec ts = { (time_t)(w / 1000), (long)(w % 1000) * 1000000 };

			sigtimedwait(&chld, NULL, &ts);
		}
		if (left)
			init_log(INIT_LOG_WARN, "some processes survived SIGKILL (D state?)");
	}
	init_log(INIT_LOG_INFO, "all processes gone; syncing and unmounting");
	sync();
	/* The log fd keeps /dev busy; later messages go to the console. */
	init_log(INIT_LOG_NOTICE, "%s (status %d)", how == INIT_FINAL_REBOOT ? "reboot" : "power off",
		 status);
	init_log_close();
	init_umount_all();
	pid1_halt(p, how, status);
}

static void pid1_app_done(struct init_pid1 *p)
{
	switch (p->cfg.on_app_exit) {
	case INIT_EXIT_POWEROFF:
		pid1_shutdown(p, INIT_FINAL_POWEROFF, p->app_status, "app exited");
	case INIT_EXIT_REBOOT:
		pid1_shutdown(p, INIT_FINAL_REBOOT, p->app_status, "app exited");
	case INIT_EXIT_STAY:
		init_log(INIT_LOG_INFO, "init.on_app_exit=stay: keeping the system up");
		break;
	}
}

static void pid1_on_signal(void *arg, int fd, uint32_t events)
{
	struct init_pid1 *p = arg;
	struct signalfd_siginfo si[16];
	ssize_t n;
	bool reap = false, app_exited = false;

	(void)events;
	n = read(fd, si, sizeof(si));
	if (n < 0)
		return;
	for (int i = 0; i < (int)(n / (ssize_t)sizeof(si[0])); i++) {
		switch (si[i].ssi_signo) {
		case SIGCHLD:
			reap = true;
			break;
		case SIGTERM:
		case SIGPWR:
		case SIGUSR2:
			pid1_shutdown(p, INIT_FINAL_POWEROFF, p->app_done ? p->app_status : 0,
				      si[i].ssi_signo == SIGTERM ? "SIGTERM" :
				      si[i].ssi_signo == SIGPWR ? "SIGPWR" : "SIGUSR2");
		case SIGINT:
			/* ctrl-alt-del, once RB_DISABLE_CAD hands it to us. */
			pid1_shutdown(p, INIT_FINAL_REBOOT, p->app_done ? p->app_status : 0,
				      "SIGINT (ctrl-alt-del)");
		default:
			init_log(INIT_LOG_DEBUG, "signal %u ignored", si[i].ssi_signo);
		}
	}
	if (reap)
		pid1_reap(p, &app_exited);
	if (app_exited)
		pid1_app_done(p);
}

static void pid1_read_cmdline(struct init_pid1 *p)
{
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = -1;

	if (fd >= 0) {
		do
			n = read(fd, p->cmdline, sizeof(p->cmdline) - 1);
		while (n < 0 && errno == EINTR);
		close(fd);
	}
	if (n < 0) {
		init_log(INIT_LOG_WARN, "cannot read /proc/cmdline: %s; using defaults", strerror(errno));
		n = 0;
	}
	p->cmdline_len = (size_t)n;
	p->cmdline[n] = '\0';
	init_config_defaults(&p->cfg);
	init_cmdline_parse(p->cmdline, p->cmdline_len, &p->cfg, &pid1_warner);
	init_log_level = p->cfg.loglevel;
}

/* /dev/kmsg rate-limits writers to 10 lines per 5 s by default
 * (Documentation/admin-guide/sysctl/kernel.rst, printk_devkmsg), which would
 * drop most of the boot log; PID 1 is no flood risk. The write fails when
 * printk.devkmsg= on the command line locked the setting: that choice
 * stands. */
static void pid1_devkmsg_on(void)
{
	int fd = open("/proc/sys/kernel/printk_devkmsg", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	(void)!write(fd, "on\n", 3);
	close(fd);
}

/* fds 0-2 must exist, or the first file init opens would become "stdout". */
static void pid1_stdio(void)
{
	for (int i = 0; i < 3; i++) {
		if (fcntl(i, F_GETFD) >= 0)
			continue;
		int fd = open(PID1_CONSOLE, O_RDWR | O_NOCTTY);

		if (fd < 0)
			fd = open("/dev/null", O_RDWR | O_NOCTTY);
		if (fd >= 0 && fd != i) {
			dup2(fd, i);
			close(fd);
		}
	}
}

static void pid1_modules(struct init_pid1 *p)
{
	struct utsname u;
	char dir[sizeof(u.release) + 16];

	if (!p->cfg.modules[0])
		return;
	uname(&u);
	snprintf(dir, sizeof(dir), "/lib/modules/%s", u.release);
	init_mod_load_list(p->cfg.modules, dir, p->cmdline, p->cmdline_len, NULL);
}

static void pid1_network(struct init_pid1 *p)
{
	const char *host = p->cfg.hostname[0] ? p->cfg.hostname :
			   p->cfg.ip.hostname[0] ? p->cfg.ip.hostname : "appvm";
	int r;

	if (sethostname(host, strlen(host)) < 0)
		init_log(INIT_LOG_WARN, "sethostname %s: %s", host, strerror(errno));
	r = init_net_lo_up();
	if (r < 0)
		init_log(INIT_LOG_WARN, "lo up: %s", strerror(-r));
	if (p->cfg.ip.set)
		init_net_config(&p->cfg.ip);
}

/* Point the kernel's core dumps at the crash collector when the image has
 * one (core(5): a leading '|' pipes the core to the program). */
static void pid1_core_pattern(struct init_pid1 *p)
{
	char pat[INIT_PATH_MAX + 32];
	int fd, n;

	if (access(p->cfg.crash_collector, X_OK) < 0)
		return;
	n = snprintf(pat, sizeof(pat), "|%s %%P %%s %%e\n", p->cfg.crash_collector);
	fd = open("/proc/sys/kernel/core_pattern", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, pat, (size_t)n) != n)
		init_log(INIT_LOG_WARN, "core_pattern -> %s: %s", p->cfg.crash_collector, strerror(errno));
	else
		init_log(INIT_LOG_INFO, "core dumps go to %s", p->cfg.crash_collector);
	if (fd >= 0)
		close(fd);
}

static void pid1_start_app(struct init_pid1 *p)
{
	char argbuf[INIT_ARGS_MAX + 8], envbuf[INIT_ARGS_MAX + 256];
	char *argv[130], *envp[130];
	struct init_spawn s = { 0 };
	const char *stage;
	pid_t pid;
	int r;

	argv[0] = p->cfg.app;
	r = init_split_words(p->cfg.args, argbuf, sizeof(argbuf), argv + 1, 129);
	if (r < 0) {
		init_log(INIT_LOG_WARN, "init.args=%s: %s; using default (no arguments)", p->cfg.args,
			 r == -EINVAL ? "unterminated quote" : "too many words");
		argv[1] = NULL;
	}
	r = init_spawn_env(p->cfg.env, envbuf, sizeof(envbuf), envp, 130);
	if (r < 0) {
		init_log(INIT_LOG_WARN, "init.env=%s: %s; using default (empty)", p->cfg.env,
			 r == -EINVAL ? "expected KEY=VALUE words" : "too many words");
		init_spawn_env("", envbuf, sizeof(envbuf), envp, 130);
	}
	r = init_spawn_user(p->cfg.user, "/etc/passwd", &s.uid, &s.gid);
	if (r < 0) {
		init_log(INIT_LOG_WARN, "init.user=%s: %s; using default 0 (root)", p->cfg.user,
			 r == -ENOENT ? "no such user in /etc/passwd" : "expected NAME, UID or UID:GID");
		s.uid = 0;
		s.gid = 0;
	}
	s.set_ids = s.uid != 0 || s.gid != 0;
	s.path = p->cfg.app;
	s.argv = argv;
	s.envp = envp;
	s.console = PID1_CONSOLE;
	s.workdir = p->cfg.workdir;
	s.ctty = true;
	pid = init_spawn_run(&s, &stage);
	if (pid < 0) {
		init_log(INIT_LOG_ERR, "app %s: %s failed: %s", p->cfg.app, stage, strerror((int)-pid));
		/* 126/127 as a shell reports "not executable" / "not found". */
		p->app_done = true;
		p->app_status = pid == -ENOENT ? 127 : 126;
		pid1_app_done(p);
		return;
	}
	p->app_pid = pid;
	if (p->cfg.boot_port >= 0) {
		/* Firecracker's boot-time marker: the vmm logs the time since its
		 * exec when 123 is written to this port. */
		r = init_sys_outb(p->cfg.boot_port, 123);
		if (r < 0)
			init_log(INIT_LOG_WARN, "boot port 0x%x: %s", p->cfg.boot_port, strerror(-r));
	}
	init_log(INIT_LOG_INFO, "app %s started (pid %d)", p->cfg.app, (int)pid);
}

struct evloop *init_pid1_loop(struct init_pid1 *p)
{
	return &p->loop;
}

const struct init_config *init_pid1_config(const struct init_pid1 *p)
{
	return &p->cfg;
}

pid_t init_pid1_spawn(struct init_pid1 *p, const struct init_spawn *s,
		      init_pid1_exit_cb *on_exit, void *arg, const char **stage)
{
	int slot = -1;
	pid_t pid;

	*stage = "spawn";
	if (p->shutting_down || p->shutdown_pending)
		return -EAGAIN;
	for (int i = 0; i < INIT_PID1_WATCH_MAX && slot < 0; i++)
		if (!p->watch[i].pid)
			slot = i;
	if (slot < 0)
		return -ENOSPC;
	/* SIGCHLD stays queued in the signalfd until this callback returns,
	 * so the watch is in place before the child can be reaped. */
	pid = init_spawn_run(s, stage);
	if (pid < 0)
		return pid;
	p->watch[slot].pid = pid;
	p->watch[slot].cb = on_exit;
	p->watch[slot].arg = arg;
	init_log(INIT_LOG_INFO, "started %s (pid %d)", s->path, (int)pid);
	return pid;
}

int init_pid1_unwatch(struct init_pid1 *p, pid_t pid)
{
	for (int i = 0; i < INIT_PID1_WATCH_MAX; i++) {
		if (pid <= 0 || p->watch[i].pid != pid)
			continue;
		p->watch[i].cb = NULL;
		p->watch[i].arg = NULL;
		return 0;
	}
	return -ENOENT;
}

void init_pid1_request_shutdown(struct init_pid1 *p, enum init_final how, int status,
				const char *why)
{
	if (p->shutdown_pending || p->shutting_down)
		return;
	p->shutdown_pending = true;
	p->shutdown_how = how;
	p->shutdown_status = status;
	snprintf(p->shutdown_why, sizeof(p->shutdown_why), "%s", why ? why : "requested");
}

int init_pid1_mount(struct init_pid1 *p, const struct init_mount_spec *m)
{
	(void)p;
	return init_mount_entry(m);
}

_Noreturn void init_pid1_run(const struct init_pid1_hooks *hooks)
{
	struct init_pid1 *p;
	sigset_t set;
	int r;

	if (getpid() != 1) {
		/* Everything below assumes it owns the system (kill(-1),
		 * reboot(2), mounts over /): never run it as anything else. */
		fprintf(stderr, "init: not PID 1 (pid %d): refusing to run as init\n", (int)getpid());
		_exit(INIT_STATUS_FAILURE);
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		struct init_pid1 none = { .cfg.exit_port = -1 };

		pid1_fatal(&none, "out of memory");
	}
	p->cfg.exit_port = -1;
	p->app_pid = -1;
	pid1_sigset(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	p->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	umask(022);
	if (chdir("/") < 0)
		init_log(INIT_LOG_WARN, "chdir /: %s", strerror(errno));

	r = init_mount_phase(INIT_MOUNT_EARLY);
	if (r < 0)
		pid1_fatal(p, "cannot mount /proc, /sys or /dev: %s", strerror(-r));
	pid1_devkmsg_on();
	if (init_log_open("/dev/kmsg") < 0)
		init_log(INIT_LOG_WARN, "/dev/kmsg: %s; logging to stderr", strerror(errno));
	pid1_stdio();
	pid1_read_cmdline(p);
	if (p->sfd < 0)
		pid1_fatal(p, "signalfd: %s", strerror(errno));
	/* Ctrl-alt-del becomes SIGINT to us instead of an immediate reboot.
	 * Refused (EINVAL) inside a PID namespace, which is fine. */
	reboot(RB_DISABLE_CAD);

	if (p->cfg.root[0] && getpid() == 1 && init_root_is_initramfs()) {
		pid1_modules(p);
		r = init_root_switch(&p->cfg);
		pid1_fatal(p, "switch to root=%s failed: %s", p->cfg.root, strerror(-r));
	}
	r = init_mount_phase(INIT_MOUNT_LATE);
	if (r < 0)
		pid1_fatal(p, "required mount failed: %s", strerror(-r));
	pid1_modules(p);
	r = init_mount_user(&p->cfg);
	if (r < 0)
		pid1_fatal(p, "init.mount failed: %s", strerror(-r));
	pid1_network(p);
	pid1_core_pattern(p);

	r = evloop_init(&p->loop);
	if (r == 0)
		r = evloop_add(&p->loop, p->sfd, pid1_on_signal, p);
	if (r < 0)
		pid1_fatal(p, "event loop: %s", strerror(-r));

	init_svc_load_dir(p->cfg.services_dir, &p->svcs, &pid1_warner);
	init_agents_add(&p->cfg, &p->svcs);
	for (int i = 0; i < p->svcs.n; i++)
		init_svc_start(&p->svcs.svc[i], PID1_CONSOLE, evloop_now_ms());
	if (hooks && hooks->start) {
		r = hooks->start(p, hooks->arg);
		if (r < 0)
			init_log(INIT_LOG_WARN, "extension failed to start: %s; continuing without it",
				 strerror(-r));
	}
	if (p->cfg.app[0])
		pid1_start_app(p);
	else
		init_log(INIT_LOG_INFO, "no init.app=: running services only");

	for (;;) {
		uint64_t now = evloop_now_ms();
		uint64_t next = init_svc_run_due(&p->svcs, PID1_CONSOLE, now);
		int timeout = -1;

		if (next)
			timeout = next > now ? (int)(next - now) : 0;
		if (p->shutdown_pending)
			pid1_shutdown(p, p->shutdown_how,
				      p->app_done ? p->app_status : p->shutdown_status, p->shutdown_why);
		evloop_run_once(&p->loop, timeout);
	}
}
