/* libFuzzer target: the minijail policy parser and the BPF compiler.
 *
 * Input: policy text named "fuzz.policy". A line "---" splits it: the part
 * after it is the file "inc.policy" (and also "f.freq"), so @include and
 * @frequency see fuzzer-controlled text; "fuzz.policy" itself can be
 * included to hit the loop check. Every policy that parses must compile or
 * be refused as too long (-E2BIG); a compiled program must pass the
 * kernel-rule checker and decide like scbpf_policy_eval() on inputs built
 * from the policy's own constants -- a mismatch aborts. */
#include "seccomp-bpf/scbpf_bpf.h"
#include "seccomp-bpf/scbpf.h"
#include "seccomp-bpf/scbpf_policy.h"
#include <errno.h>
#include <linux/audit.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_files {
	const char *main, *inc;
	size_t main_len, inc_len;
};

static int fuzz_load(void *ctx, const char *path, char **buf, size_t *len)
{
	const struct fuzz_files *f = ctx;
	const char *src;
	size_t n;

	if (!strcmp(path, "fuzz.policy")) {
		src = f->main;
		n = f->main_len;
	} else if (!strcmp(path, "inc.policy") || !strcmp(path, "f.freq")) {
		src = f->inc;
		n = f->inc_len;
	} else {
		return -ENOENT;
	}
	*buf = malloc(n + 1);
	if (!*buf)
		return -ENOMEM;
	memcpy(*buf, src, n);
	(*buf)[n] = 0;
	*len = n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sock_filter prog[SCBPF_MAX_INSNS];
	static FILE *null;
	struct fuzz_files f = { (const char *)data, "", size, 0 };
	struct scbpf_policy p;
	struct scbpf_policy_err err;
	const char *sep = size >= 4 ? memmem(data, size, "\n---\n", 5) : NULL;
	size_t bad;
	int n;

	if (!null)
		null = fopen("/dev/null", "w");
	if (sep) {
		f.main_len = (size_t)(sep - (const char *)data) + 1;
		f.inc = sep + 5;
		f.inc_len = size - f.main_len - 4;
	}
	scbpf_policy_init(&p);
	if (scbpf_policy_parse_file(&p, "fuzz.policy", fuzz_load, &f, &err) < 0) {
		/* Errors are one line naming a place. */
		if (!err.msg[0] || strchr(err.msg, '\n'))
			abort();
		return 0;
	}
	n = scbpf_compile(&p, prog, SCBPF_MAX_INSNS, &err);
	if (n == -E2BIG) {
		scbpf_policy_free(&p);
		return 0;
	}
	if (n <= 0 || scbpf_interp_check(prog, (size_t)n, &bad) < 0)
		abort();
	if (null)
		scbpf_dump(null, prog, (size_t)n);
	/* Each rule's syscall with arguments at and around its constants. */
	for (size_t r = 0; r < p.nrules; r++) {
		const struct scbpf_policy_rule *rule = &p.rules[r];
		for (uint32_t k = 0; k <= rule->nfilters && k < 16; k++) {
			struct seccomp_data d = { .nr = rule->nr, .arch = AUDIT_ARCH_X86_64 };
			uint64_t args[6] = { 0 };
			for (uint32_t fi = 0; fi < rule->nfilters; fi++) {
				const struct scbpf_policy_filter *fl = &p.filters[rule->first + fi];
				for (uint32_t a = 0; a < fl->natoms; a++) {
					const struct scbpf_policy_atom *at = &p.atoms[fl->first + a];
					args[at->arg] = at->val + (uint64_t)((int)(k % 3) - 1);
				}
			}
			for (int i = 0; i < 6; i++)
				d.args[i] = args[i];
			uint32_t got = scbpf_interp_run(prog, (size_t)n, &d, NULL);
			if (got != scbpf_policy_eval(&p, AUDIT_ARCH_X86_64, rule->nr, args))
				abort();
		}
	}
	scbpf_policy_free(&p);
	return 0;
}
