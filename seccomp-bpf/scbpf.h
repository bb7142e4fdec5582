/* seccomp-bpf compiler: struct scbpf_policy -> classic BPF for
 * SECCOMP_SET_MODE_FILTER, plus the build-time generated syscall and
 * constant tables.
 *
 * Program shape (for the build's target, SCBPF_AUDIT_ARCH below):
 *   ld arch; jeq SCBPF_AUDIT_ARCH else kill-process
 *   ld nr;   jge __X32_SYSCALL_BIT -> kill-process        (x86-64: x32 ABI rejected)
 *   balanced binary search over the rule syscall numbers (jge), a jeq at each
 *   leaf, then per-syscall argument checks with 64-bit compares split into
 *   32-bit halves; anything unmatched gets the default action.
 * An allow-all syscall costs ceil(log2 n) + 6 instructions. */
#ifndef APPVM_SECCOMP_BPF_SCBPF_H
#define APPVM_SECCOMP_BPF_SCBPF_H
#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>
#include "seccomp-bpf/scbpf_policy.h"

/* The architecture the policies are compiled for: the build's target
 * (ARCH=, seccomp-bpf/build.mk), whose syscall table and constants the
 * build generates; the host tool compiles for it too. Its AUDIT_ARCH_*
 * (include/uapi/linux/audit.h), its names in "[arch=...]" metadata, and
 * whether it has the x32 ABI sharing its AUDIT_ARCH. */
#ifdef SCBPF_TARGET_AARCH64
#define SCBPF_AUDIT_ARCH 0xc00000b7u  /* AUDIT_ARCH_AARCH64 */
#define SCBPF_ARCH_NAME "aarch64"
#define SCBPF_ARCH_ALIAS "arm64"
#define SCBPF_ARCH_X32 0
#else
#define SCBPF_AUDIT_ARCH 0xc000003eu  /* AUDIT_ARCH_X86_64 */
#define SCBPF_ARCH_NAME "x86_64"
#define SCBPF_ARCH_ALIAS "amd64"
#define SCBPF_ARCH_X32 1
#endif

/* Linux's BPF_MAXINSNS: longer programs are refused by the kernel. */
#define SCBPF_MAX_INSNS 4096

/* Compile p into out[cap]. Returns the instruction count or -E2BIG (longer
 * than SCBPF_MAX_INSNS or cap, err says by how much) / -ENOMEM. */
int scbpf_compile(const struct scbpf_policy *p, struct sock_filter *out, size_t cap, struct scbpf_policy_err *err);

/* Syscall table generated from the target's <asm/unistd*.h>: number or -ENOENT. */
int scbpf_syscall_nr(const char *name);
/* Name of syscall nr or NULL. */
const char *scbpf_syscall_name(int nr);
/* Number of table entries and entry i (for tests walking every syscall). */
size_t scbpf_syscall_count(void);
int scbpf_syscall_at(size_t i, const char **name);
/* Named constant from the toolchain headers: 0 and *val, or -ENOENT. */
int scbpf_const(const char *name, uint64_t *val);

/* Name of a SECCOMP_RET_* action ("ALLOW", "ERRNO(1)", ...) into buf. */
const char *scbpf_action_name(uint32_t action, char *buf, size_t len);
#endif
