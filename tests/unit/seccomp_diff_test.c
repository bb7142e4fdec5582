/* Differential test against libseccomp (Debian libseccomp-dev, linked into
 * this test only by seccomp-bpf/build.mk): the same random rule sets are
 * built as a policy file for our compiler and through libseccomp's API, both
 * programs are exported and run in our interpreter over a large random set
 * of seccomp_data, and every decision must match.
 *
 * "seccomp_diff_test --bench" prints the instruction counts of both programs
 * for a 100-syscall allow-list (scripts/bench/jail.sh). */
#include "seccomp-bpf/scbpf_bpf.h"
#include "seccomp-bpf/scbpf_policy.h"
#include "seccomp-bpf/scbpf.h"
#include "tests/unit/t.h"
#include <errno.h>
#include <linux/audit.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Export ctx's program into out; returns the instruction count or -1. */
static int export_libseccomp(scmp_filter_ctx ctx, struct sock_filter *out, size_t cap)
{
	int fd = memfd_create("bpf", 0);
	off_t len;

	if (fd < 0 || seccomp_export_bpf(ctx, fd) < 0)
		return -1;
	len = lseek(fd, 0, SEEK_CUR);
	if (len <= 0 || (size_t)len > cap * sizeof(*out) || pread(fd, out, (size_t)len, 0) != len) {
		close(fd);
		return -1;
	}
	close(fd);
	return (int)(len / (off_t)sizeof(*out));
}

static struct sock_filter ours[SCBPF_MAX_INSNS], theirs[SCBPF_MAX_INSNS * 4];

struct gen_rule {
	int nr;
	uint32_t action;
	int nclauses;
	struct { int natoms; struct scmp_arg_cmp cmp[3]; } clause[3];
};

static const char *op_text(enum scmp_compare op)
{
	switch (op) {
	case SCMP_CMP_EQ: return "==";
	case SCMP_CMP_NE: return "!=";
	case SCMP_CMP_LT: return "<";
	case SCMP_CMP_LE: return "<=";
	case SCMP_CMP_GT: return ">";
	case SCMP_CMP_GE: return ">=";
	default: return "in";
	}
}

static uint64_t rand_const(void)
{
	switch (rnd() % 5) {
	case 0: return rnd() % 16;
	case 1: return rnd() & 0xffffffffull;
	case 2: return rnd();
	case 3: return (rnd() % 3) << 32 | (rnd() % 3);
	default: return 1ull << (rnd() % 64);
	}
}

static uint64_t near(uint64_t v)
{
	switch (rnd() % 9) {
	case 0: return v;
	case 1: return v + 1;
	case 2: return v - 1;
	case 3: return v ^ (1ull << 32);
	case 4: return v & 0xffffffffull;
	case 5: return v & (rnd() | rnd());
	case 6: return 0;
	case 7: return UINT64_MAX;
	default: return rnd();
	}
}

static void test_random_rule_sets(void)
{
	static char text[1 << 16];
	long compared = 0;

	for (int iter = 0; iter < 200 && !t_case_failed; iter++) {
		struct gen_rule rules[40];
		int nrules = 1 + (int)(rnd() % 40), used[1024] = { 0 };
		uint32_t dflt = rnd() % 2 ? SECCOMP_RET_KILL_PROCESS : SECCOMP_RET_ERRNO | 99;
		scmp_filter_ctx ctx = seccomp_init(dflt);
		size_t o = 0;

		CHECK(ctx != NULL);
		if (!ctx)
			return;
		CHECK_EQ(seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS), 0);
		if (dflt != SECCOMP_RET_KILL_PROCESS)
			o += (size_t)snprintf(text + o, sizeof(text) - o, "@default return 99\n");
		for (int r = 0; r < nrules; r++) {
			struct gen_rule *g = &rules[r];
			const char *name;
			do
				g->nr = scbpf_syscall_at(rnd() % scbpf_syscall_count(), &name);
			while (used[g->nr]);
			used[g->nr] = 1;
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%s: ", name);
			/* Each syscall gets one action: unconditional allow/errno,
			 * or "allow when EXPR" (libseccomp: one rule per clause). */
			if (rnd() % 4 == 0) {
				g->nclauses = 0;
				g->action = rnd() % 2 ? SECCOMP_RET_ALLOW : SECCOMP_RET_ERRNO | (uint32_t)(rnd() % 50);
				if (g->action == SECCOMP_RET_ALLOW)
					o += (size_t)snprintf(text + o, sizeof(text) - o, "1\n");
				else
					o += (size_t)snprintf(text + o, sizeof(text) - o, "return %u\n", g->action & 0xffff);
				CHECK_EQ(seccomp_rule_add_array(ctx, g->action, g->nr, 0, NULL), 0);
				continue;
			}
			g->action = SECCOMP_RET_ALLOW;
			g->nclauses = 1 + (int)(rnd() % 3);
			/* libseccomp 2.5.4 mis-merges several rules of one syscall
			 * when they use range compares (<, <=, >, >=): a failing
			 * high-half test of one rule skips the others, where both
			 * our program and scbpf_policy_eval() allow (docs/SANDBOX.md
			 * has a reproducer; set ranges = 1 to see more). Multi-clause
			 * rules therefore use only == and "in". */
			int ranges = g->nclauses == 1;
			for (int c = 0; c < g->nclauses; c++) {
				/* libseccomp takes each argument at most once per rule. */
				int args[6] = { 0, 1, 2, 3, 4, 5 };
				g->clause[c].natoms = 1 + (int)(rnd() % 3);
				for (int a = 0; a < g->clause[c].natoms; a++) {
					int k = a + (int)(rnd() % (uint64_t)(6 - a)), t = args[a];
					args[a] = args[k];
					args[k] = t;
					struct scmp_arg_cmp *cmp = &g->clause[c].cmp[a];
					static const enum scmp_compare eqs[] = { SCMP_CMP_EQ, SCMP_CMP_MASKED_EQ };
					enum scmp_compare op = ranges ? (enum scmp_compare)(1 + rnd() % 7) : eqs[rnd() % 2];
					uint64_t v = rand_const();
					cmp->arg = (unsigned)args[a];
					cmp->op = op;
					if (op == SCMP_CMP_MASKED_EQ) {
						/* "argN in V" is (arg & ~V) == 0. */
						cmp->datum_a = ~v;
						cmp->datum_b = 0;
					} else {
						cmp->datum_a = v;
						cmp->datum_b = 0;
					}
					o += (size_t)snprintf(text + o, sizeof(text) - o, "%sarg%u %s 0x%llx", a ? " && " : "",
							      cmp->arg, op_text(op), (unsigned long long)v);
				}
				if (c + 1 < g->nclauses)
					o += (size_t)snprintf(text + o, sizeof(text) - o, " || ");
				int rc = seccomp_rule_add_exact_array(ctx, SCMP_ACT_ALLOW, g->nr,
								      (unsigned)g->clause[c].natoms, g->clause[c].cmp);
				if (rc) {
					printf("  libseccomp refused a rule for %s: %d\n", name, rc);
					t_case_failed = 1;
				}
			}
			o += (size_t)snprintf(text + o, sizeof(text) - o, "\n");
		}
		struct scbpf_policy p;
		struct scbpf_policy_err err;
		scbpf_policy_init(&p);
		int rp = scbpf_policy_parse_buf(&p, "diff.policy", text, o, NULL, NULL, &err);
		CHECK_EQ(rp, 0);
		if (rp)
			printf("  %s\n", err.msg);
		int n = rp ? -1 : scbpf_compile(&p, ours, SCBPF_MAX_INSNS, &err);
		int m = export_libseccomp(ctx, theirs, sizeof(theirs) / sizeof(theirs[0]));
		CHECK(n > 0);
		CHECK(m > 0);
		size_t bad;
		if (m > 0)
			CHECK_EQ(scbpf_interp_check(theirs, (size_t)m, &bad), 0);
		for (int k = 0; k < 5000 && n > 0 && m > 0 && !t_case_failed; k++) {
			struct seccomp_data d = { .arch = AUDIT_ARCH_X86_64 };
			const struct gen_rule *g = &rules[rnd() % (uint64_t)nrules];
			d.nr = rnd() % 4 ? g->nr : (int)(rnd() % 460);
			for (int i = 0; i < 6; i++) {
				uint64_t base = rand_const();
				if (g->nclauses && rnd() % 4) {
					const struct scmp_arg_cmp *c = &g->clause[rnd() % (uint64_t)g->nclauses].cmp[0];
					base = c->op == SCMP_CMP_MASKED_EQ ? ~c->datum_a : c->datum_a;
				}
				d.args[i] = near(base);
			}
			uint32_t a = scbpf_interp_run(ours, (size_t)n, &d, NULL);
			uint32_t b = scbpf_interp_run(theirs, (size_t)m, &d, NULL);
			compared++;
			if (a != b) {
				printf("  nr %d args %llx %llx %llx %llx %llx %llx: ours 0x%x libseccomp 0x%x\n  policy:\n%s",
				       d.nr, (unsigned long long)d.args[0], (unsigned long long)d.args[1],
				       (unsigned long long)d.args[2], (unsigned long long)d.args[3],
				       (unsigned long long)d.args[4], (unsigned long long)d.args[5], a, b, text);
				t_case_failed = 1;
			}
		}
		scbpf_policy_free(&p);
		seccomp_release(ctx);
	}
	CHECK(compared >= 1000000 || t_case_failed);
}

/* Both programs on a wrong architecture: both kill. */
static void test_bad_arch(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	struct scbpf_policy p;
	struct scbpf_policy_err err;
	const char *text = "read: 1\n";

	seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	seccomp_rule_add(ctx, SCMP_ACT_ALLOW, 0, 0);
	scbpf_policy_init(&p);
	CHECK_EQ(scbpf_policy_parse_buf(&p, "a.policy", text, strlen(text), NULL, NULL, &err), 0);
	int n = scbpf_compile(&p, ours, SCBPF_MAX_INSNS, &err);
	int m = export_libseccomp(ctx, theirs, sizeof(theirs) / sizeof(theirs[0]));
	CHECK(n > 0 && m > 0);
	struct seccomp_data d = { .nr = 0, .arch = AUDIT_ARCH_I386 };
	CHECK_EQ(scbpf_interp_run(ours, (size_t)n, &d, NULL), SECCOMP_RET_KILL_PROCESS);
	CHECK_EQ(scbpf_interp_run(theirs, (size_t)m, &d, NULL), SECCOMP_RET_KILL_PROCESS);
	d.arch = AUDIT_ARCH_X86_64;
	CHECK_EQ(scbpf_interp_run(ours, (size_t)n, &d, NULL), SECCOMP_RET_ALLOW);
	CHECK_EQ(scbpf_interp_run(theirs, (size_t)m, &d, NULL), SECCOMP_RET_ALLOW);
	scbpf_policy_free(&p);
	seccomp_release(ctx);
}

/* Instructions executed per allowed syscall, 100-syscall allow-list. */
static int bench(void)
{
	static char text[8192];
	size_t o = 0;
	int nrs[100];
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	struct scbpf_policy p;
	struct scbpf_policy_err err;

	/* Spread the 100 syscalls over the table, like a real device policy. */
	for (int i = 0; i < 100; i++) {
		const char *name;
		nrs[i] = scbpf_syscall_at((size_t)i * scbpf_syscall_count() / 100, &name);
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s: 1\n", name);
		seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nrs[i], 0);
	}
	scbpf_policy_init(&p);
	if (scbpf_policy_parse_buf(&p, "bench.policy", text, o, NULL, NULL, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	int n = scbpf_compile(&p, ours, SCBPF_MAX_INSNS, &err);
	int m0 = export_libseccomp(ctx, theirs, sizeof(theirs) / sizeof(theirs[0]));
	static struct sock_filter tree[SCBPF_MAX_INSNS * 4];
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	int m2 = export_libseccomp(ctx, tree, sizeof(tree) / sizeof(tree[0]));
	struct { const char *name; const struct sock_filter *prog; int len; } progs[] = {
		{ "appvm seccomp-bpfc", ours, n },
		{ "libseccomp (default)", theirs, m0 },
		{ "libseccomp (optimize=2, binary tree)", tree, m2 },
	};
	printf("BPF instructions executed, 100-syscall allow-list (target <= ceil(log2 100) + 6 = 13):\n");
	for (size_t k = 0; k < sizeof(progs) / sizeof(progs[0]); k++) {
		unsigned worst = 0, best = ~0u, denied = 0;
		unsigned long total = 0;
		if (progs[k].len <= 0) {
			printf("  %-40s unavailable\n", progs[k].name);
			continue;
		}
		for (int i = 0; i < 100; i++) {
			struct seccomp_data d = { .nr = nrs[i], .arch = AUDIT_ARCH_X86_64 };
			unsigned steps;
			scbpf_interp_run(progs[k].prog, (size_t)progs[k].len, &d, &steps);
			total += steps;
			worst = steps > worst ? steps : worst;
			best = steps < best ? steps : best;
		}
		struct seccomp_data d = { .nr = 1023, .arch = AUDIT_ARCH_X86_64 };
		scbpf_interp_run(progs[k].prog, (size_t)progs[k].len, &d, &denied);
		printf("  %-40s program %4d insns, allowed: min %2u avg %5.2f max %2u, denied: %u\n",
		       progs[k].name, progs[k].len, best, total / 100.0, worst, denied);
	}
	scbpf_policy_free(&p);
	seccomp_release(ctx);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--bench"))
		return bench();
	t_suite = "seccomp_diff";
	RUN(test_random_rule_sets);
	RUN(test_bad_arch);
	return t_done();
}
