/* Parser for minijail's seccomp policy language (minijail0(5), and the
 * richer grammar of minijail's tools/parser.py that crosvm's
 * seccomp/ARCH/NAME.policy files use). The parser only builds a
 * struct scbpf_policy; scbpf_compile() turns it into BPF.
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
#ifndef APPVM_SECCOMP_BPF_SCBPF_POLICY_H
#define APPVM_SECCOMP_BPF_SCBPF_POLICY_H
#include <stddef.h>
#include <stdint.h>

/* Bounds on hostile or accidental input. */
#define SCBPF_POLICY_MAX_FILE_SIZE (1u << 20)  /* one policy or frequency file */
#define SCBPF_POLICY_MAX_TOTAL (8u << 20)      /* all files of one parse, includes repeated */
#define SCBPF_POLICY_MAX_LINE 4096             /* one logical line, continuations joined */
#define SCBPF_POLICY_MAX_INCLUDE_DEPTH 8
#define SCBPF_POLICY_MAX_ATOMS 65536           /* whole policy; BPF's 4096 insns bite first */
#define SCBPF_POLICY_NARGS 6

enum scbpf_policy_op {
	SCBPF_POLICY_OP_EQ, SCBPF_POLICY_OP_NE, SCBPF_POLICY_OP_LT, SCBPF_POLICY_OP_LE, SCBPF_POLICY_OP_GT, SCBPF_POLICY_OP_GE,
	SCBPF_POLICY_OP_SET,  /* '&': (arg & v) != 0 */
	SCBPF_POLICY_OP_IN,   /* 'in': (arg & ~v) == 0 */
};

struct scbpf_policy_atom {
	uint8_t arg;
	uint8_t op;          /* enum scbpf_policy_op */
	uint8_t last;        /* last atom of its && clause */
	uint64_t val;
};

/* One "EXPR; ACTION" (or an unconditional ACTION when natoms == 0). EXPR is
 * in DNF: atoms [first, first + natoms) of policy.atoms, clauses separated by
 * atom.last. */
struct scbpf_policy_filter {
	uint32_t first, natoms;
	uint32_t action;     /* SECCOMP_RET_* value */
};

struct scbpf_policy_rule {
	int nr;              /* syscall number */
	uint32_t first, nfilters;  /* policy.filters range, in evaluation order */
	uint32_t freq;       /* @frequency weight, 0 when none given */
	int has_fallthrough; /* the last filter is unconditional */
	char where[96];      /* "file:line" of the first statement, for messages */
};

struct scbpf_policy {
	uint32_t default_action;
	struct scbpf_policy_rule *rules;   /* sorted by nr after scbpf_policy_parse_*() */
	size_t nrules;
	struct scbpf_policy_filter *filters;
	size_t nfilters;
	struct scbpf_policy_atom *atoms;
	size_t natoms;
	int has_freq;
};

struct scbpf_policy_err {
	char msg[512];
};

/* Loads a file for @include/@frequency and the top-level file. Returns 0 and
 * a malloc'd buffer (caller frees) or -errno. Tests and the fuzzer supply
 * their own. */
typedef int (*scbpf_policy_load_fn)(void *ctx, const char *path, char **buf, size_t *len);
int scbpf_policy_load_file(void *ctx, const char *path, char **buf, size_t *len);

void scbpf_policy_init(struct scbpf_policy *p);
void scbpf_policy_free(struct scbpf_policy *p);
/* Parse the file PATH (loaded with load/ctx, or from disk when load is NULL). */
int scbpf_policy_parse_file(struct scbpf_policy *p, const char *path, scbpf_policy_load_fn load, void *ctx,
		      struct scbpf_policy_err *err);
/* Parse an in-memory policy named NAME; @include paths resolve relative to
 * NAME's directory through load (NULL: from disk). */
int scbpf_policy_parse_buf(struct scbpf_policy *p, const char *name, const char *buf, size_t len,
		     scbpf_policy_load_fn load, void *ctx, struct scbpf_policy_err *err);
/* The rule for syscall NR or NULL. */
const struct scbpf_policy_rule *scbpf_policy_find(const struct scbpf_policy *p, int nr);
/* What the policy means, evaluated directly (no BPF): the action for a call.
 * The reference the compiler is tested against. */
uint32_t scbpf_policy_eval(const struct scbpf_policy *p, uint32_t arch, int nr, const uint64_t args[6]);
#endif
