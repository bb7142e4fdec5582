/* Sandbox: jailed device processes and the VMM's own seccomp filters
 * (sandbox.h; docs/SANDBOX.md). The jail itself is jail/; this file picks
 * the configuration every device process gets and the policies. */
#include "vmm/sandbox.h"
#include "jail/jail.h"
#include "seccomp-bpf/scbpf.h"
#include "vmm/log.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exit status if exit_group ever returned. */
#define SANDBOX_EXIT_UNREACHED 127

#if defined(__x86_64__)
#include "policy/vmm/devices/policy/x86_64/virtio_9p.policy.h"
#include "policy/vmm/devices/policy/x86_64/virtio_blk.policy.h"
#include "policy/vmm/devices/policy/x86_64/virtio_net.policy.h"
#include "policy/vmm/devices/policy/x86_64/virtio_rng.policy.h"
#include "policy/vmm/devices/policy/x86_64/virtio_vsock.policy.h"
#include "policy/vmm/devices/policy/x86_64/vmm_main.policy.h"
#include "policy/vmm/devices/policy/x86_64/vmm_vcpu.policy.h"
#define SANDBOX_POLICY(n) { #n, vmm_devices_policy_x86_64_##n##_policy, &vmm_devices_policy_x86_64_##n##_policy_len }
#elif defined(__aarch64__)
#include "policy/vmm/devices/policy/aarch64/virtio_9p.policy.h"
#include "policy/vmm/devices/policy/aarch64/virtio_blk.policy.h"
#include "policy/vmm/devices/policy/aarch64/virtio_net.policy.h"
#include "policy/vmm/devices/policy/aarch64/virtio_rng.policy.h"
#include "policy/vmm/devices/policy/aarch64/virtio_vsock.policy.h"
#include "policy/vmm/devices/policy/aarch64/vmm_main.policy.h"
#include "policy/vmm/devices/policy/aarch64/vmm_vcpu.policy.h"
#define SANDBOX_POLICY(n) { #n, vmm_devices_policy_aarch64_##n##_policy, &vmm_devices_policy_aarch64_##n##_policy_len }
#else
#error "sandbox: no seccomp policies for this architecture (vmm/devices/policy/<arch>/)"
#endif
/* Compiled at build time by build/host/seccomp-bpfc (seccomp-bpf/build.mk:
 * scbpf_embed, rules in vmm/build.mk). */
static const struct {
	const char *name;
	const struct sock_filter *prog;
	const unsigned short *len;
} sandbox_embedded[] = {
	SANDBOX_POLICY(virtio_9p),
	SANDBOX_POLICY(virtio_blk),
	SANDBOX_POLICY(virtio_net),
	SANDBOX_POLICY(virtio_rng),
	SANDBOX_POLICY(virtio_vsock),
	SANDBOX_POLICY(vmm_main),
	SANDBOX_POLICY(vmm_vcpu),
};

void sandbox_config_init(struct sandbox_config *c, const char *name, const char *policy)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->policy = policy;
	c->userns = 1;
	c->uid = SANDBOX_NOBODY;
	c->gid = SANDBOX_NOBODY;
}

int sandbox_config_keep(struct sandbox_config *c, int fd)
{
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	if (c->nkeep >= SANDBOX_MAX_FDS)
		return -ENOSPC;
	c->keep[c->nkeep++] = fd;
	return 0;
}

int sandbox_config_bind(struct sandbox_config *c, const char *src, const char *dst, int writable)
{
	if (!src || !dst || src[0] != '/' || dst[0] != '/')
		return -EINVAL;
	if (c->nbinds >= SANDBOX_MAX_BINDS)
		return -ENOSPC;
	c->binds[c->nbinds].src = src;
	c->binds[c->nbinds].dst = dst;
	c->binds[c->nbinds].writable = !!writable;
	c->nbinds++;
	return 0;
}

/* A policy name is a file name without its ".policy": [a-z0-9_]+, so a
 * name can never leave the policy directory. */
static int sandbox_name_ok(const char *name)
{
	if (!name || !*name || strlen(name) > 64)
		return 0;
	for (const char *s = name; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

int sandbox_policy(const char *dir, const char *name, struct sock_filter **prog, size_t *len, char *msg,
		   size_t msglen)
{
	if (msg && msglen)
		msg[0] = 0;
	if (!sandbox_name_ok(name))
		return -EINVAL;
	if (dir) {
		char path[4096];
		if ((size_t)snprintf(path, sizeof(path), "%s/%s.policy", dir, name) >= sizeof(path))
			return -ENAMETOOLONG;
		return jail_policy_compile(path, prog, len, msg, msglen);
	}
	for (size_t i = 0; i < sizeof(sandbox_embedded) / sizeof(sandbox_embedded[0]); i++) {
		if (strcmp(sandbox_embedded[i].name, name))
			continue;
		size_t bytes = *sandbox_embedded[i].len * sizeof(struct sock_filter);
		if (!(*prog = malloc(bytes)))
			return -ENOMEM;
		memcpy(*prog, sandbox_embedded[i].prog, bytes);
		*len = *sandbox_embedded[i].len;
		return 0;
	}
	return -ENOENT;
}

__attribute__((format(printf, 3, 4)))
static void sandbox_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* Every setter returns 0 or -errno; the first failure wins. */
static int sandbox_jail_configure(const struct sandbox_config *c, struct jail *j, int sock,
				  const struct sock_filter *prog, size_t len)
{
	int r = 0;

	if (c->userns) {
		/* The jail's root (uid 0 inside, all its capabilities dropped
		 * before fn runs) is c->uid outside. */
		r = jail_uid_map(j, 0, c->uid, 1);
		r = r ? r : jail_gid_map(j, 0, c->gid, 1);
	} else {
		r = jail_change_uid(j, c->uid);
		r = r ? r : jail_change_gid(j, c->gid);
	}
	r = r ? r : jail_namespace_pid(j);
	r = r ? r : jail_namespace_mount(j);
	r = r ? r : jail_namespace_ipc(j);
	r = r ? r : jail_namespace_uts(j, "appvm-device");
	/* An empty network namespace, even for virtio-net later (a TAP fd is
	 * handed in, not network rights). */
	r = r ? r : jail_namespace_net(j);
	r = r ? r : jail_namespace_cgroup(j);
	r = r ? r : jail_root_tmpfs(j);
	for (int i = 0; i < c->nbinds && !r; i++)
		r = jail_bind(j, c->binds[i].src, c->binds[i].dst, c->binds[i].writable);
	r = r ? r : jail_rlimit(j, RLIMIT_NOFILE, c->nofile, c->nofile);
	r = r ? r : jail_rlimit(j, RLIMIT_NPROC, c->nproc, c->nproc);
	r = r ? r : jail_rlimit(j, RLIMIT_CORE, 0, 0);
	for (int i = 0; i < c->nkeep && !r; i++)
		r = jail_keep_fd(j, c->keep[i]);
	r = r ? r : jail_keep_fd(j, sock);
	r = r ? r : jail_seccomp_filter(j, prog, len);
	/* The reaper traces the device process and names a violation's
	 * syscall from its registers (jail_wait). */
	r = r ? r : jail_report_violations(j);
	return r;
}

int sandbox_spawn(const struct sandbox_config *c, sandbox_fn fn, void *arg, struct sandbox_proc *p,
		  char *err, size_t errlen)
{
	struct sock_filter *prog = NULL;
	size_t len = 0;
	char msg[512];
	int sv[2], r;

	memset(p, 0, sizeof(*p));
	p->pid = p->reaper = -1;
	p->pidfd = p->sock = -1;
	snprintf(p->name, sizeof(p->name), "%s", c->name ? c->name : "device");
	if ((r = sandbox_policy(c->policy_dir, c->policy, &prog, &len, msg, sizeof(msg))) < 0) {
		sandbox_err(err, errlen, "seccomp policy %s%s%s.policy: %s", c->policy_dir ? c->policy_dir : "",
			    c->policy_dir ? "/" : "", c->policy ? c->policy : "(none)", msg[0] ? msg : strerror(-r));
		return r;
	}
	/* SEQPACKET: config-space and status messages keep their bounds. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		sandbox_err(err, errlen, "socketpair: %s", strerror(errno));
		free(prog);
		return r;
	}
	p->jail = jail_new();
	r = p->jail ? sandbox_jail_configure(c, p->jail, sv[1], prog, len) : -ENOMEM;
	free(prog);
	if (r < 0) {
		sandbox_err(err, errlen, "jail configuration: %s", strerror(-r));
		goto fail;
	}
	pid_t pid = jail_fork(p->jail);
	if (pid == 0) {
		/* Jailed, filtered, only the keep-list and sv[1] open. Leave
		 * by exit_group itself: no exit hooks of a runtime (a
		 * sanitizer's) that would call outside the policy. */
		syscall(SYS_exit_group, fn(arg, sv[1]) & 0xff);
		_exit(SANDBOX_EXIT_UNREACHED);
	}
	if (pid < 0) {
		r = pid;
		sandbox_err(err, errlen, "jail: %s", jail_error(p->jail));
		goto fail;
	}
	close(sv[1]);
	p->sock = sv[0];
	p->reaper = pid;
	p->pid = jail_jailed_pid(p->jail);
	/* A pid stays a zombie until reaped: pidfd_open cannot race the death. */
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p->pidfd < 0) {
		r = -errno;
		sandbox_err(err, errlen, "pidfd_open: %s", strerror(errno));
		sandbox_kill(p, NULL, 0);
		sandbox_release(p);
		return r;
	}
	log_debug("device %s: pid %d (reaper %d)", p->name, (int)p->pid, (int)p->reaper);
	return 0;
fail:
	close(sv[0]);
	close(sv[1]);
	jail_destroy(p->jail);
	p->jail = NULL;
	return r;
}

void sandbox_describe(int status, int violation, char *buf, size_t len)
{
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS && violation >= 0) {
		const char *name = scbpf_syscall_name(violation);
		if (name)
			snprintf(buf, len, "seccomp violation: %s", name);
		else
			snprintf(buf, len, "seccomp violation: syscall %d", violation);
	} else if (WIFSIGNALED(status)) {
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	} else if (WIFEXITED(status)) {
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	} else {
		snprintf(buf, len, "wait status %#x", (unsigned)status);
	}
}

/* Reap the (dead or dying) device process: its wait status in *st and
 * the one line describing its death in why. */
static int sandbox_wait(struct sandbox_proc *p, int *st, char *why, size_t len)
{
	if (p->reaper <= 0 || !p->jail)
		return -ECHILD;
	pid_t r = jail_wait(p->jail, p->reaper, st);
	if (r < 0)
		return r;
	p->reaper = -1;
	sandbox_describe(*st, jail_violation(p->jail), why, len);
	return 0;
}

int sandbox_reap(struct sandbox_proc *p, char *line, size_t len)
{
	char why[96];
	int st = 0, r = sandbox_wait(p, &st, why, sizeof(why));

	if (r < 0)
		return r;
	log_err("device %s (pid %d) died: %s", p->name, (int)p->pid, why);
	if (line && len)
		snprintf(line, len, "device %s (pid %d) died: %s", p->name, (int)p->pid, why);
	return st;
}

int sandbox_stop(struct sandbox_proc *p, int timeout_ms)
{
	struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };
	char why[96];
	int st = 0, r, polled;

	if (p->reaper <= 0)
		return -ECHILD;
	if (p->sock >= 0)
		shutdown(p->sock, SHUT_RDWR);
	do
		polled = p->pidfd >= 0 ? poll(&pfd, 1, timeout_ms) : 0;
	while (polled < 0 && errno == EINTR);
	if (polled <= 0) {
		pid_t target = p->pid > 1 ? p->pid : p->reaper;
		log_warn("device %s (pid %d) did not stop within %d ms: killing it", p->name, (int)p->pid, timeout_ms);
		if (target > 1)
			kill(target, SIGKILL);
	}
	r = sandbox_wait(p, &st, why, sizeof(why));
	if (r < 0)
		return r;
	if (polled > 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		log_err("device %s (pid %d) died: %s", p->name, (int)p->pid, why);
	return st;
}

int sandbox_kill(struct sandbox_proc *p, char *line, size_t len)
{
	if (p->reaper <= 0)
		return -ECHILD;
	/* The device process when known (the reaper mirrors its death), else
	 * the reaper (PTRACE_O_EXITKILL takes the device process along).
	 * Never 0, -1 or a group: only a pid > 1 this process spawned. */
	pid_t target = p->pid > 1 ? p->pid : p->reaper;
	if (target > 1)
		kill(target, SIGKILL);
	return sandbox_reap(p, line, len);
}

void sandbox_release(struct sandbox_proc *p)
{
	if (p->reaper > 0)
		sandbox_kill(p, NULL, 0);
	if (p->sock >= 0)
		close(p->sock);
	if (p->pidfd >= 0)
		close(p->pidfd);
	jail_destroy(p->jail);
	p->jail = NULL;
	p->sock = p->pidfd = -1;
}

int sandbox_vmm_filter(enum sandbox_vmm_thread which, const char *dir, int tsync, char *msg, size_t msglen)
{
	struct sock_filter *prog;
	size_t len;
	int r = sandbox_policy(dir, which == SANDBOX_VMM_VCPU ? "vmm_vcpu" : "vmm_main", &prog, &len, msg, msglen);

	if (r < 0)
		return r;
	struct sock_fprog fp = { (unsigned short)len, prog };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		r = -errno;
	} else {
		long t = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, tsync ? SECCOMP_FILTER_FLAG_TSYNC : 0, &fp);
		/* TSYNC: a positive return names a thread that could not sync. */
		r = t < 0 ? -errno : t > 0 ? -EAGAIN : 0;
	}
	free(prog);
	return r;
}
