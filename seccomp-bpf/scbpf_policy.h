/* Parser for minijail's seccomp policy language (minijail0(5), and the
 * richer grammar of minijail's tools/parser.py that crosvm's
 * seccomp/ARCH/NAME.policy files use). The parser only builds a
 * struct policy; scbpf_compile() turns it into BPF.
 *
 * Semantics (documented in docs/SANDBOX.md):
 *   name: 1 | allow                 allow every call
 *   name: return ERRNO              fail with ERRNO
 *   name: kill | kill-process | kill-thread | trap | log | trace | user-notify
 *   name: EXPR                      allow when EXPR holds, else the @default action
 *   name: EXPR; ACTION              minijail0(5): allow when EXPR holds, else ACTION
 *   name: { EXPR; ACTION, EXPR, ACTION }   parser.py: first matching filter wins,
 *                                   an EXPR without "; ACTION" allows, the
 *                                   fallthrough is the @default action
 *   { name, name }: ...             the same filter for several syscalls
 *   EXPR := clause { || clause },  clause := atom { && atom },
 *   atom := argN OP value, OP one of == != < <= > >= & in (64-bit unsigned),
 *   value := constant { | constant }, constant := [~] (number | NAME | '(' value ')')
 *   @include PATH, @frequency PATH, @default ACTION, # comments, "\" continues a line.
 *
 * Errors: every function returns 0 or -errno; on a malformed policy the
 * return is -EINVAL and err->msg holds one line "file:line:col: message"
 * naming the bad token. */
#ifndef APPVM_SECCOMP_BPF_POLICY_H
#define APPVM_SECCOMP_BPF_POLICY_H
#include <stddef.h>
#include <stdint.h>

/* Bounds on hostile or accidental input. */
#define POLICY_MAX_FILE_SIZE (1u << 20)  /* one policy or frequency file */
#define POLICY_MAX_LINE 4096             /* one logical line, continuations joined */
#define POLICY_MAX_INCLUDE_DEPTH 8
#define POLICY_MAX_ATOMS 65536           /* whole policy; BPF's 4096 insns bite first */
#define POLICY_NARGS 6

enum policy_op {
	POLICY_OP_EQ, POLICY_OP_NE, POLICY_OP_LT, POLICY_OP_LE, POLICY_OP_GT, POLICY_OP_GE,
	POLICY_OP_SET,  /* '&': (arg & v) != 0 */
	POLICY_OP_IN,   /* 'in': (arg & ~v) == 0 */
};

struct policy_atom {
	uint8_t arg;
	uint8_t op;          /* enum policy_op */
	uint8_t last;        /* last atom of its && clause */
	uint64_t val;
};

/* One "EXPR; ACTION" (or an unconditional ACTION when natoms == 0). EXPR is
 * in DNF: atoms [first, first + natoms) of policy.atoms, clauses separated by
 * atom.last. */
struct policy_filter {
	uint32_t first, natoms;
	uint32_t action;     /* SECCOMP_RET_* value */
};

struct policy_rule {
	int nr;              /* syscall number */
	uint32_t first, nfilters;  /* policy.filters range, in evaluation order */
	uint32_t freq;       /* @frequency weight, 0 when none given */
	int has_fallthrough; /* the last filter is unconditional */
	char where[96];      /* "file:line" of the first statement, for messages */
};

struct policy {
	uint32_t default_action;
	struct policy_rule *rules;   /* sorted by nr after policy_parse_*() */
	size_t nrules;
	struct policy_filter *filters;
	size_t nfilters;
	struct policy_atom *atoms;
	size_t natoms;
	int has_freq;
};

struct policy_err {
	char msg[512];
};

/* Loads a file for @include/@frequency and the top-level file. Returns 0 and
 * a malloc'd buffer (caller frees) or -errno. Tests and the fuzzer supply
 * their own. */
typedef int (*policy_load_fn)(void *ctx, const char *path, char **buf, size_t *len);
int policy_load_file(void *ctx, const char *path, char **buf, size_t *len);

void policy_init(struct policy *p);
void policy_free(struct policy *p);
/* Parse the file PATH (loaded with load/ctx, or from disk when load is NULL). */
int policy_parse_file(struct policy *p, const char *path, policy_load_fn load, void *ctx,
		      struct policy_err *err);
/* Parse an in-memory policy named NAME; @include paths resolve relative to
 * NAME's directory through load (NULL: from disk). */
int policy_parse_buf(struct policy *p, const char *name, const char *buf, size_t len,
		     policy_load_fn load, void *ctx, struct policy_err *err);
/* The rule for syscall NR or NULL. */
const struct policy_rule *policy_find(const struct policy *p, int nr);
/* What the policy means, evaluated directly (no BPF): the action for a call.
 * The reference the compiler is tested against. */
uint32_t policy_eval(const struct policy *p, uint32_t arch, int nr, const uint64_t args[6]);
#endif
