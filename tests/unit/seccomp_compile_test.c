/* Compiler tests: the BPF the compiler emits, run in the interpreter, must
 * decide exactly what the policy means (scbpf_policy_eval) -- for every syscall in
 * the table, for boundary argument values around every constant in the
 * policy, and for randomly generated policies. Plus the instruction-count
 * bound, far jumps, @frequency ordering and the length limit. */
#include "seccomp-bpf/scbpf_bpf.h"
#include "seccomp-bpf/scbpf_policy.h"
#include "seccomp-bpf/scbpf.h"
#include "tests/unit/t.h"
#include <errno.h>
#include <linux/audit.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sock_filter prog[SCBPF_MAX_INSNS];

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int compile_text(struct scbpf_policy *p, const char *text, int *n)
{
	struct scbpf_policy_err err;
	int r;

	scbpf_policy_init(p);
	r = scbpf_policy_parse_buf(p, "gen.policy", text, strlen(text), NULL, NULL, &err);
	if (r) {
		printf("  parse: %s\n", err.msg);
		return r;
	}
	*n = scbpf_compile(p, prog, SCBPF_MAX_INSNS, &err);
	if (*n < 0) {
		printf("  compile: %s\n", err.msg);
		return *n;
	}
	size_t bad;
	if (scbpf_interp_check(prog, (size_t)*n, &bad)) {
		printf("  program rejected by the checker at %zu\n", bad);
		return -EINVAL;
	}
	return 0;
}

/* Compare interpreter and policy on one input; prints the first mismatch. */
static int same(const struct scbpf_policy *p, int n, uint32_t arch, int nr, const uint64_t a[6])
{
	struct seccomp_data d = { .nr = nr, .arch = arch, .instruction_pointer = rnd() };
	for (int i = 0; i < 6; i++)
		d.args[i] = a[i];
	uint32_t got = scbpf_interp_run(prog, (size_t)n, &d, NULL), want = scbpf_policy_eval(p, arch, nr, a);
	if (got != want) {
		printf("  nr %d args %llx %llx %llx %llx %llx %llx: bpf 0x%x policy 0x%x\n", nr,
		       (unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)a[2],
		       (unsigned long long)a[3], (unsigned long long)a[4], (unsigned long long)a[5], got, want);
		t_case_failed = 1;
		return 0;
	}
	return 1;
}

/* Values around v that flip 64-bit comparisons: v-1, v, v+1 and the same
 * with the other half changed, so a compare that only looked at one half
 * would be caught. */
static uint64_t boundary(uint64_t v, unsigned k)
{
	switch (k % 12) {
	case 0: return v;
	case 1: return v - 1;
	case 2: return v + 1;
	case 3: return v ^ (1ull << 32);
	case 4: return v + (1ull << 32);
	case 5: return v - (1ull << 32);
	case 6: return v & 0xffffffffull;
	case 7: return v | 0xffffffff00000000ull;
	case 8: return 0;
	case 9: return UINT64_MAX;
	case 10: return ~v;
	default: return rnd();
	}
}

static const char *ops[] = { "==", "!=", "<", "<=", ">", ">=", "&", "in" };

static uint64_t rand_const(void)
{
	switch (rnd() % 6) {
	case 0: return rnd() % 16;
	case 1: return rnd() & 0xffffffffull;
	case 2: return rnd();
	case 3: return 1ull << (rnd() % 64);
	case 4: return (rnd() % 4) << 32 | (rnd() % 4);
	default: return ~(rnd() % 256);
	}
}

/* Check every syscall in the table plus non-syscalls against the policy,
 * with arguments around the policy's constants. */
static void check_all(const struct scbpf_policy *p, int n, unsigned per_nr)
{
	uint64_t consts[64];
	size_t nc = 0;

	for (size_t i = 0; i < p->natoms && nc < 64; i++)
		consts[nc++] = p->atoms[i].val;
	if (!nc)
		consts[nc++] = 0;
	size_t count = scbpf_syscall_count();
	for (size_t s = 0; s < count + 8 && !t_case_failed; s++) {
		static const int extra[8] = { -1, 1023, 0x40000000, 0x40000001, 0x7fffffff, 512, 335, 600 };
		int nr = s < count ? scbpf_syscall_at(s, NULL) : extra[s - count];
		for (unsigned k = 0; k < per_nr && !t_case_failed; k++) {
			uint64_t a[6];
			for (int i = 0; i < 6; i++)
				a[i] = boundary(consts[rnd() % nc], (unsigned)rnd());
			same(p, n, AUDIT_ARCH_X86_64, nr, a);
		}
	}
	uint64_t z[6] = { 0 };
	same(p, n, AUDIT_ARCH_I386, SYS_read, z);
	same(p, n, AUDIT_ARCH_X86_64 ^ 1, SYS_read, z);
}

static void test_fixed_policy_every_syscall(void)
{
	const char *text =
		"@default return EPERM\n"
		"read: 1\nwrite: arg0 == 1 || arg0 == 2\nclose: return EBADF\n"
		"mmap: arg2 in ~PROT_EXEC || arg2 in ~PROT_WRITE\n"
		"openat: arg2 & O_WRONLY; return EACCES\n"
		"ioctl: arg1 == KVM_RUN && arg0 != 3 || arg1 == KVM_CREATE_VM\n"
		"lseek: arg1 < 0x100000000 && arg1 >= 16\n"
		"pread64: arg3 <= 4096 && arg3 > 0xffffffff\n"
		"fcntl: arg1 == -1\n"
		"dup: { arg0 == 1; trap, arg0 > 0x500000000; log, arg0 < 9 }\n"
		"exit_group: 1\nfutex: arg1 & 0xff00000000\n";
	struct scbpf_policy p;
	int n;

	if (compile_text(&p, text, &n)) {
		t_case_failed = 1;
		return;
	}
	check_all(&p, n, 40);
	scbpf_policy_free(&p);
}

static void test_random_policies(void)
{
	static char text[1 << 16];

	for (int iter = 0; iter < 150 && !t_case_failed; iter++) {
		size_t o = 0;
		int nrules = 1 + (int)(rnd() % (iter < 100 ? 12 : 120));
		static const char *dflt[] = { "", "@default trap\n", "@default return 13\n", "@default log\n",
					      "@default kill-thread\n" };
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s", dflt[rnd() % 5]);
		for (int r = 0; r < nrules; r++) {
			const char *name;
			int idx = (int)(rnd() % scbpf_syscall_count());
			scbpf_syscall_at((size_t)idx, &name);
			int kind = (int)(rnd() % 4);
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%s: ", name);
			if (kind == 0) {
				o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\n",
						      rnd() % 2 ? "1" : "return 22");
				continue;
			}
			int clauses = 1 + (int)(rnd() % 3);
			for (int c = 0; c < clauses; c++) {
				int atoms = 1 + (int)(rnd() % 3);
				for (int a = 0; a < atoms; a++)
					o += (size_t)snprintf(text + o, sizeof(text) - o, "%sarg%d %s 0x%llx",
							      a ? " && " : "", (int)(rnd() % 6), ops[rnd() % 8],
							      (unsigned long long)rand_const());
				if (c + 1 < clauses)
					o += (size_t)snprintf(text + o, sizeof(text) - o, " || ");
			}
			if (kind == 2)
				o += (size_t)snprintf(text + o, sizeof(text) - o, "; return %d", (int)(rnd() % 100));
			o += (size_t)snprintf(text + o, sizeof(text) - o, "\n");
		}
		/* Random syscalls may repeat: a rule after an unconditional one is
		 * an error by design; skip such draws. */
		struct scbpf_policy p;
		struct scbpf_policy_err err;
		scbpf_policy_init(&p);
		if (scbpf_policy_parse_buf(&p, "gen.policy", text, o, NULL, NULL, &err)) {
			CHECK(strstr(err.msg, "already has an unconditional action") != NULL);
			if (t_case_failed)
				printf("  %s\n", err.msg);
			continue;
		}
		struct scbpf_policy_err cerr;
		int n = scbpf_compile(&p, prog, SCBPF_MAX_INSNS, &cerr);
		if (n == -E2BIG) {
			scbpf_policy_free(&p);
			continue;
		}
		CHECK(n > 0);
		size_t bad;
		CHECK_EQ(scbpf_interp_check(prog, (size_t)n, &bad), 0);
		if (!t_case_failed)
			check_all(&p, n, iter < 100 ? 6 : 2);
		scbpf_policy_free(&p);
	}
}

static unsigned steps_for(int n, int nr)
{
	struct seccomp_data d = { .nr = nr, .arch = AUDIT_ARCH_X86_64 };
	unsigned steps = 0;

	scbpf_interp_run(prog, (size_t)n, &d, &steps);
	return steps;
}

/* An allowed syscall of an n-syscall allow-list costs ceil(log2 n) + 6
 * (the target; scripts/bench/jail.sh prints the numbers). */
static void test_instruction_bound(void)
{
	static char text[8192];
	static const int sizes[] = { 1, 2, 3, 7, 8, 9, 100, 257, 330 };

	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		int want = sizes[si], got = 0, lg = 0;
		size_t o = 0;
		for (size_t i = 0; got < want && i < scbpf_syscall_count(); i++) {
			const char *name;
			scbpf_syscall_at(i, &name);
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%s: 1\n", name);
			got++;
		}
		while ((1 << lg) < want)
			lg++;
		struct scbpf_policy p;
		int n;
		if (compile_text(&p, text, &n)) {
			t_case_failed = 1;
			return;
		}
		unsigned worst = 0;
		for (size_t r = 0; r < p.nrules; r++) {
			unsigned s = steps_for(n, p.rules[r].nr);
			worst = s > worst ? s : worst;
		}
		/* Past ~128 rules the tree outgrows the 255-instruction reach of
		 * a conditional jump and one "ja" trampoline joins the path. */
		int bound = lg + 6 + (want > 128);
		if (worst > (unsigned)bound) {
			printf("  %d syscalls: worst %u steps > %d\n", want, worst, bound);
			t_case_failed = 1;
		}
		check_all(&p, n, 1);
		scbpf_policy_free(&p);
	}
}

/* Rules with long argument checks push the shared rets more than 255
 * instructions away: trampolines must keep the meaning. */
static void test_far_jumps(void)
{
	static char text[1 << 16];
	size_t o = 0;
	int has_ja = 0;

	for (int i = 0; i < 60; i++) {
		const char *name;
		scbpf_syscall_at((size_t)i * 3, &name);
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s: arg0 == %d || arg1 > 0x%x00000000 || arg2 in 0x%x\n",
				      name, i, i, i * 7);
	}
	struct scbpf_policy p;
	int n;
	if (compile_text(&p, text, &n)) {
		t_case_failed = 1;
		return;
	}
	for (int i = 0; i < n; i++)
		has_ja |= prog[i].code == (BPF_JMP | BPF_JA);
	CHECK(n > 600);
	CHECK(has_ja);
	check_all(&p, n, 20);
	scbpf_policy_free(&p);
}

static void test_frequency_orders_tree(void)
{
	static char text[8192];
	size_t o = 0;
	int hot = -1, cold = -1;

	for (int i = 0; i < 64; i++) {
		const char *name;
		int nr = scbpf_syscall_at((size_t)i, &name);
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s: 1\n", name);
		if (i == 40)
			hot = nr;
		if (i == 3)
			cold = nr;
	}
	struct scbpf_policy p;
	int n;
	if (compile_text(&p, text, &n)) {
		t_case_failed = 1;
		return;
	}
	unsigned flat_hot = steps_for(n, hot);
	scbpf_policy_free(&p);
	p.has_freq = 0;
	/* Same rules, with @frequency weights from an in-memory file. */
	const char *name;
	scbpf_syscall_at(40, &name);
	char freq[64];
	snprintf(freq, sizeof(freq), "%s: 100000\n", name);
	struct scbpf_policy_err err;
	scbpf_policy_init(&p);
	CHECK_EQ(scbpf_policy_parse_buf(&p, "f.policy", text, o, NULL, NULL, &err), 0);
	/* Set the weights directly: the file form is covered by the parser test. */
	for (size_t r = 0; r < p.nrules; r++)
		p.rules[r].freq = p.rules[r].nr == hot ? 100000 : 1;
	p.has_freq = 1;
	n = scbpf_compile(&p, prog, SCBPF_MAX_INSNS, &err);
	CHECK(n > 0);
	unsigned weighted_hot = steps_for(n, hot), weighted_cold = steps_for(n, cold);
	CHECK(weighted_hot < flat_hot);
	CHECK(weighted_hot <= 8); /* two jge from the root, then jeq, ret */
	CHECK(weighted_cold > weighted_hot);
	check_all(&p, n, 4);
	scbpf_policy_free(&p);
}

static void test_too_long(void)
{
	static char text[1 << 17];
	size_t o = 0;
	struct scbpf_policy p;
	struct scbpf_policy_err err;

	o += (size_t)snprintf(text + o, sizeof(text) - o, "ioctl: arg1 == 0");
	for (int i = 1; i < 1200; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, " || \\\n arg1 == %d", i);
	o += (size_t)snprintf(text + o, sizeof(text) - o, "\n");
	scbpf_policy_init(&p);
	/* Too many continuation lines is its own error; use one line per rule. */
	CHECK_EQ(scbpf_policy_parse_buf(&p, "big.policy", text, o, NULL, NULL, &err), -EINVAL);
	CHECK(strstr(err.msg, "too many continuation lines") != NULL);
	o = 0;
	for (int s = 0; s < 40; s++) {
		const char *name;
		scbpf_syscall_at((size_t)s, &name);
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s: arg1 == 0", name);
		for (int i = 1; i < 30; i++)
			o += (size_t)snprintf(text + o, sizeof(text) - o, " || arg1 == %d", i);
		o += (size_t)snprintf(text + o, sizeof(text) - o, "\n");
	}
	CHECK_EQ(scbpf_policy_parse_buf(&p, "big.policy", text, o, NULL, NULL, &err), 0);
	CHECK_EQ(scbpf_compile(&p, prog, SCBPF_MAX_INSNS, &err), -E2BIG);
	/* "file:line:1:" of the biggest rule (all are alike here). */
	CHECK(strncmp(err.msg, "big.policy:", 11) == 0 && strstr(err.msg, ":1: program is ") &&
	      strstr(err.msg, "BPF allows at most 4096; largest rule '"));
	if (t_case_failed)
		printf("  %s\n", err.msg);
	scbpf_policy_free(&p);
}

/* The kernel takes our programs and decides like the policy: a forked
 * child installs a compiled policy (errno default, so the sanitizer
 * runtime's own calls fail softly instead of killing) and makes real calls. */
static void test_kernel_runs_program(void)
{
	const char *text =
		"@default return EPERM\n"
		"getppid: 1\nexit_group: 1\nwrite: 1\n"
		"dup: arg0 == 1; return 77\n"
		"lseek: arg1 > 0xffffffff && arg2 in SEEK_SET|SEEK_CUR; return ENOTTY\n";
	struct scbpf_policy p;
	int n, st;

	if (compile_text(&p, text, &n)) {
		t_case_failed = 1;
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		struct sock_fprog fp = { (unsigned short)n, prog };
		int bad = 0;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp))
			_exit(100);
		bad |= (syscall(SYS_getppid) <= 0) << 0;
		bad |= !(syscall(SYS_getuid) == -1 && errno == EPERM) << 1;
		long d = syscall(SYS_dup, 1);
		bad |= (d < 0) << 2;
		bad |= !(syscall(SYS_dup, 2) == -1 && errno == 77) << 3;
		/* Upper half set: not "== 1" for the filter. */
		bad |= !(syscall(SYS_dup, 1ull << 32 | 1) == -1 && errno == 77) << 4;
		/* Allowed: the kernel runs it on a bad fd (EBADF); refused: ENOTTY. */
		bad |= !(syscall(SYS_lseek, -1, 0x100000000ull, SEEK_CUR) == -1 && errno == EBADF) << 5;
		bad |= !(syscall(SYS_lseek, -1, 0xffffffffull, SEEK_CUR) == -1 && errno == ENOTTY) << 6;
		bad |= !(syscall(SYS_lseek, -1, 0x100000000ull, SEEK_END) == -1 && errno == ENOTTY) << 7;
		syscall(SYS_exit_group, bad);
	}
	CHECK(pid > 0);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
	scbpf_policy_free(&p);
}

int main(void)
{
	t_suite = "seccomp_compile";
	RUN(test_fixed_policy_every_syscall);
	RUN(test_random_policies);
	RUN(test_instruction_bound);
	RUN(test_far_jumps);
	RUN(test_frequency_orders_tree);
	RUN(test_too_long);
	RUN(test_kernel_runs_program);
	return t_done();
}
