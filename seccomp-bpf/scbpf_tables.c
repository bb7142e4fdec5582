/* Lookups in the tables generated at build time from the toolchain headers
 * (seccomp-bpf/build.mk): $(O)/gen/scbpf_syscalls.h from <asm/unistd_64.h>,
 * $(O)/gen/scbpf_consts.h from seccomp-bpf/consts_headers.h. Both are sorted
 * by name in byte order, so strcmp() bisection finds entries. */
#include "seccomp-bpf/scbpf.h"
#include <errno.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>

struct scbpf_entry {
	const char *name;
	uint64_t val;
};

static const struct scbpf_entry scbpf_syscalls[] = {
#define SCBPF_SYSCALL(name, nr) { #name, nr },
#include "scbpf_syscalls.h"
#undef SCBPF_SYSCALL
};

static const struct scbpf_entry scbpf_consts[] = {
#define SCBPF_CONST(name, v) { #name, v },
#include "scbpf_consts.h"
#undef SCBPF_CONST
};

static const struct scbpf_entry *scbpf_find(const struct scbpf_entry *t, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, t[mid].name);

		if (c == 0)
			return &t[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int scbpf_syscall_nr(const char *name)
{
	const struct scbpf_entry *e =
		scbpf_find(scbpf_syscalls, sizeof(scbpf_syscalls) / sizeof(scbpf_syscalls[0]), name);

	return e ? (int)e->val : -ENOENT;
}

const char *scbpf_syscall_name(int nr)
{
	for (size_t i = 0; i < sizeof(scbpf_syscalls) / sizeof(scbpf_syscalls[0]); i++)
		if ((int)scbpf_syscalls[i].val == nr)
			return scbpf_syscalls[i].name;
	return NULL;
}

size_t scbpf_syscall_count(void)
{
	return sizeof(scbpf_syscalls) / sizeof(scbpf_syscalls[0]);
}

int scbpf_syscall_at(size_t i, const char **name)
{
	if (i >= scbpf_syscall_count())
		return -ENOENT;
	if (name)
		*name = scbpf_syscalls[i].name;
	return (int)scbpf_syscalls[i].val;
}

int scbpf_const(const char *name, uint64_t *val)
{
	const struct scbpf_entry *e =
		scbpf_find(scbpf_consts, sizeof(scbpf_consts) / sizeof(scbpf_consts[0]), name);

	if (!e)
		return -ENOENT;
	*val = e->val;
	return 0;
}

const char *scbpf_action_name(uint32_t action, char *buf, size_t len)
{
	uint32_t data = action & SECCOMP_RET_DATA;

	switch (action & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_KILL_PROCESS: snprintf(buf, len, "KILL_PROCESS"); break;
	case SECCOMP_RET_KILL_THREAD: snprintf(buf, len, "KILL_THREAD"); break;
	case SECCOMP_RET_TRAP: snprintf(buf, len, "TRAP(%u)", data); break;
	case SECCOMP_RET_ERRNO: snprintf(buf, len, "ERRNO(%u)", data); break;
	case SECCOMP_RET_USER_NOTIF: snprintf(buf, len, "USER_NOTIF"); break;
	case SECCOMP_RET_TRACE: snprintf(buf, len, "TRACE(%u)", data); break;
	case SECCOMP_RET_LOG: snprintf(buf, len, "LOG"); break;
	case SECCOMP_RET_ALLOW: snprintf(buf, len, "ALLOW"); break;
	default: snprintf(buf, len, "0x%08x", action); break;
	}
	return buf;
}
