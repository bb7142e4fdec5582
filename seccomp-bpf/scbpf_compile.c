/* Policy -> classic BPF. Code is emitted backwards (last instruction first)
 * so every jump target already exists when a jump is emitted: jump offsets
 * are resolved in the same single pass (minijail's compiler does the same).
 * Conditional jumps only reach 255 instructions ahead; a farther target gets
 * a "ja" trampoline, or a copy of the target when it is a ret. */
#include "seccomp-bpf/scbpf.h"
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hard bound on emission, far above the kernel's limit, so an oversized
 * policy is still measured and reported with its real length. */
#define SCBPF_EMIT_LIMIT (1u << 22)
#define SCBPF_NRET 32

struct scbpf_em {
	struct sock_filter *rev;  /* rev[i]: i-th instruction counted from the end */
	size_t n, cap;
	int nomem;     /* realloc failed */
	int toolong;   /* past SCBPF_EMIT_LIMIT */
	uint32_t ret_act[SCBPF_NRET];
	size_t ret_lbl[SCBPF_NRET];
	int nret;
};

/* seccomp_data offsets (include/uapi/linux/seccomp.h); x86-64 and arm64
 * Linux are little endian, so an argument's low half comes first. */
#define SCBPF_OFF_NR offsetof(struct seccomp_data, nr)
#define SCBPF_OFF_ARCH offsetof(struct seccomp_data, arch)
#define SCBPF_OFF_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define SCBPF_OFF_HI(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
/* arch/x86/include/uapi/asm/unistd.h: x32 syscalls have this bit set. */
#define SCBPF_X32_BIT 0x40000000u

static size_t scbpf_push(struct scbpf_em *e, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 256;
		struct sock_filter *r;
		if (cap > SCBPF_EMIT_LIMIT || !(r = realloc(e->rev, cap * sizeof(*r)))) {
			if (cap > SCBPF_EMIT_LIMIT)
				e->toolong = 1;
			else
				e->nomem = 1;
			return e->n ? e->n - 1 : 0;
		}
		e->rev = r;
		e->cap = cap;
	}
	e->rev[e->n] = (struct sock_filter){ code, jt, jf, k };
	return e->n++;
}

static size_t scbpf_ret(struct scbpf_em *e, uint32_t act)
{
	for (int i = 0; i < e->nret; i++)
		if (e->ret_act[i] == act && e->n - e->ret_lbl[i] - 1 <= 255)
			return e->ret_lbl[i];
	size_t l = scbpf_push(e, BPF_RET | BPF_K, act, 0, 0);
	int slot = -1;
	for (int i = 0; i < e->nret; i++)
		if (e->ret_act[i] == act)
			slot = i;
	if (slot < 0)
		slot = e->nret < SCBPF_NRET ? e->nret++ : 0;
	e->ret_act[slot] = act;
	e->ret_lbl[slot] = l;
	return l;
}

/* Make label t reachable by a conditional jump emitted next. */
static size_t scbpf_near(struct scbpf_em *e, size_t t)
{
	if (e->n - t - 1 <= 255)
		return t;
	if (!e->nomem && !e->toolong && e->rev[t].code == (BPF_RET | BPF_K))
		return scbpf_push(e, BPF_RET | BPF_K, e->rev[t].k, 0, 0);
	return scbpf_push(e, BPF_JMP | BPF_JA, (uint32_t)(e->n - t - 1), 0, 0);
}

/* Conditional jump "if (A op k) goto t else goto f". */
static size_t scbpf_jump(struct scbpf_em *e, uint16_t op, uint32_t k, size_t t, size_t f)
{
	t = scbpf_near(e, t);
	f = scbpf_near(e, f);
	/* The second trampoline may have pushed t out of range again. */
	t = scbpf_near(e, t);
	return scbpf_push(e, BPF_JMP | op | BPF_K, k, (uint8_t)(e->n - t - 1), (uint8_t)(e->n - f - 1));
}

static size_t scbpf_ld(struct scbpf_em *e, uint32_t off)
{
	return scbpf_push(e, BPF_LD | BPF_W | BPF_ABS, off, 0, 0);
}

/* Unsigned 64-bit "arg > v" (ge = 0) or "arg >= v" (ge = 1) from 32-bit
 * halves: high halves decide unless equal, then the low halves do. */
static size_t scbpf_cmp_gt(struct scbpf_em *e, int arg, uint64_t v, int ge, size_t t, size_t f)
{
	size_t l = scbpf_jump(e, ge ? BPF_JGE : BPF_JGT, (uint32_t)v, t, f);
	l = scbpf_ld(e, SCBPF_OFF_LO(arg));
	l = scbpf_jump(e, BPF_JEQ, (uint32_t)(v >> 32), l, f);
	l = scbpf_jump(e, BPF_JGT, (uint32_t)(v >> 32), t, l);
	return scbpf_ld(e, SCBPF_OFF_HI(arg));
}

static size_t scbpf_atom(struct scbpf_em *e, const struct scbpf_policy_atom *a, size_t t, size_t f)
{
	uint32_t lo = (uint32_t)a->val, hi = (uint32_t)(a->val >> 32);
	size_t l;

	switch (a->op) {
	case SCBPF_POLICY_OP_EQ:
	case SCBPF_POLICY_OP_NE: {
		size_t yes = a->op == SCBPF_POLICY_OP_EQ ? t : f, no = a->op == SCBPF_POLICY_OP_EQ ? f : t;
		l = scbpf_jump(e, BPF_JEQ, lo, yes, no);
		l = scbpf_ld(e, SCBPF_OFF_LO(a->arg));
		scbpf_jump(e, BPF_JEQ, hi, l, no);
		return scbpf_ld(e, SCBPF_OFF_HI(a->arg));
	}
	case SCBPF_POLICY_OP_GT: return scbpf_cmp_gt(e, a->arg, a->val, 0, t, f);
	case SCBPF_POLICY_OP_GE: return scbpf_cmp_gt(e, a->arg, a->val, 1, t, f);
	case SCBPF_POLICY_OP_LE: return scbpf_cmp_gt(e, a->arg, a->val, 0, f, t);  /* !(a > v) */
	case SCBPF_POLICY_OP_LT: return scbpf_cmp_gt(e, a->arg, a->val, 1, f, t);  /* !(a >= v) */
	case SCBPF_POLICY_OP_SET:
		/* (arg & v) != 0: any bit of either half. */
		l = f;
		if (lo) {
			scbpf_jump(e, BPF_JSET, lo, t, f);
			l = scbpf_ld(e, SCBPF_OFF_LO(a->arg));
		}
		if (hi) {
			scbpf_jump(e, BPF_JSET, hi, t, l);
			l = scbpf_ld(e, SCBPF_OFF_HI(a->arg));
		}
		return l;
	case SCBPF_POLICY_OP_IN: {
		/* (arg & ~v) == 0: no bit outside v in either half. */
		uint32_t mlo = ~lo, mhi = ~hi;
		l = t;
		if (mlo) {
			scbpf_jump(e, BPF_JSET, mlo, f, t);
			l = scbpf_ld(e, SCBPF_OFF_LO(a->arg));
		}
		if (mhi) {
			scbpf_jump(e, BPF_JSET, mhi, f, l);
			l = scbpf_ld(e, SCBPF_OFF_HI(a->arg));
		}
		return l;
	}
	}
	return f;
}

/* DNF expression of filter fl: true -> t, false -> f. */
static size_t scbpf_expr(struct scbpf_em *e, const struct scbpf_policy *p, const struct scbpf_policy_filter *fl,
			 size_t t, size_t f)
{
	const struct scbpf_policy_atom *a = &p->atoms[fl->first];
	size_t next_clause = f;
	uint32_t end = fl->natoms;

	/* Clauses from the last one backwards; atoms likewise within each. */
	while (end > 0) {
		uint32_t start = end - 1;
		while (start > 0 && !a[start - 1].last)
			start--;
		size_t l = t;
		for (uint32_t i = end; i-- > start;)
			l = scbpf_atom(e, &a[i], l, next_clause);
		next_clause = l;
		end = start;
	}
	return next_clause;
}

static size_t scbpf_rule(struct scbpf_em *e, const struct scbpf_policy *p, const struct scbpf_policy_rule *r)
{
	size_t next = scbpf_ret(e, p->default_action);

	for (uint32_t i = r->nfilters; i-- > 0;) {
		const struct scbpf_policy_filter *fl = &p->filters[r->first + i];
		if (fl->natoms == 0)
			next = scbpf_ret(e, fl->action);
		else
			next = scbpf_expr(e, p, fl, scbpf_ret(e, fl->action), next);
	}
	return next;
}

/* Split point of rules [lo, hi): by count for a balanced tree of depth
 * ceil(log2 n), or by @frequency weight so hot syscalls sit higher. */
static size_t scbpf_split(const struct scbpf_policy *p, size_t lo, size_t hi)
{
	if (!p->has_freq)
		return lo + (hi - lo) / 2;
	uint64_t total = 0, left = 0, best = UINT64_MAX;
	size_t mid = lo + 1;
	for (size_t i = lo; i < hi; i++)
		total += p->rules[i].freq ? p->rules[i].freq : 1;
	for (size_t i = lo; i + 1 < hi; i++) {
		left += p->rules[i].freq ? p->rules[i].freq : 1;
		uint64_t d = left * 2 > total ? left * 2 - total : total - left * 2;
		if (d < best) {
			best = d;
			mid = i + 1;
		}
	}
	return mid;
}

static size_t scbpf_tree(struct scbpf_em *e, const struct scbpf_policy *p, const size_t *entry, size_t lo,
			 size_t hi, size_t dflt)
{
	if (hi - lo == 1)
		return scbpf_jump(e, BPF_JEQ, (uint32_t)p->rules[lo].nr, entry[lo], dflt);
	size_t mid = scbpf_split(p, lo, hi);
	size_t right = scbpf_tree(e, p, entry, mid, hi, dflt);
	size_t left = scbpf_tree(e, p, entry, lo, mid, dflt);
	return scbpf_jump(e, BPF_JGE, (uint32_t)p->rules[mid].nr, right, left);
}

int scbpf_compile(const struct scbpf_policy *p, struct sock_filter *out, size_t cap, struct scbpf_policy_err *err)
{
	struct scbpf_em e = { 0 };
	size_t *entry = calloc(p->nrules ? p->nrules : 1, sizeof(*entry));
	size_t kill, dflt, l, big = 0, big_len = 0;
	int r;

	if (!entry)
		return -ENOMEM;
	scbpf_ret(&e, SECCOMP_RET_KILL_PROCESS);
	scbpf_ret(&e, SECCOMP_RET_ALLOW);
	dflt = scbpf_ret(&e, p->default_action);
	for (size_t i = p->nrules; i-- > 0;) {
		size_t before = e.n;
		entry[i] = scbpf_rule(&e, p, &p->rules[i]);
		/* The biggest rule is where a too-long program gets cut first. */
		if (e.n - before > big_len) {
			big_len = e.n - before;
			big = i;
		}
	}
	dflt = scbpf_ret(&e, p->default_action);
	l = p->nrules ? scbpf_tree(&e, p, entry, 0, p->nrules, dflt) : dflt;
	/* The x32 ABI shares AUDIT_ARCH_X86_64 but numbers its calls with bit
	 * 30 set; refuse them all instead of letting them miss the tree. */
	if (SCBPF_ARCH_X32)
		l = scbpf_jump(&e, BPF_JGE, SCBPF_X32_BIT, scbpf_ret(&e, SECCOMP_RET_KILL_PROCESS), l);
	l = scbpf_ld(&e, SCBPF_OFF_NR);
	kill = scbpf_ret(&e, SECCOMP_RET_KILL_PROCESS);
	scbpf_jump(&e, BPF_JEQ, SCBPF_AUDIT_ARCH, l, kill);
	scbpf_ld(&e, SCBPF_OFF_ARCH);
	free(entry);
	if (e.nomem) {
		free(e.rev);
		snprintf(err->msg, sizeof(err->msg), "out of memory compiling the policy");
		return -ENOMEM;
	}
	if (e.toolong || e.n > SCBPF_MAX_INSNS || e.n > cap) {
		size_t max = cap < SCBPF_MAX_INSNS ? cap : (size_t)SCBPF_MAX_INSNS;
		const char *name = p->nrules ? scbpf_syscall_name(p->rules[big].nr) : NULL;
		/* Name the biggest rule as the place to cut: "file:line:1: ...". */
		if (e.toolong)
			snprintf(err->msg, sizeof(err->msg),
				 "%s:1: program is longer than %u instructions, BPF allows at most %zu; "
				 "largest rule '%s'", p->nrules ? p->rules[big].where : "?", SCBPF_EMIT_LIMIT, max,
				 name ? name : "?");
		else
			snprintf(err->msg, sizeof(err->msg),
				 "%s:1: program is %zu instructions, BPF allows at most %zu; largest rule '%s' "
				 "(%zu instructions)", p->nrules ? p->rules[big].where : "?", e.n, max,
				 name ? name : "?", big_len);
		free(e.rev);
		return -E2BIG;
	}
	for (size_t i = 0; i < e.n; i++)
		out[i] = e.rev[e.n - 1 - i];
	r = (int)e.n;
	free(e.rev);
	return r;
}
