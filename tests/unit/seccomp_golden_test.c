/* Golden tests: every tests/golden/seccomp/NAME.policy compiles to exactly
 * the disassembly in NAME.dump; every err_NAME.policy fails with exactly the
 * one-line message in err_NAME.err. Run from the repository root (run-all
 * and make do). Regenerate after an intended change with
 *   for f in tests/golden/seccomp/[!e]*.policy; do
 *     build/host/seccomp-bpfc --dump $f >${f%.policy}.dump; done
 * and review the diff instruction by instruction. */
#include "seccomp-bpf/scbpf_bpf.h"
#include "seccomp-bpf/scbpf_policy.h"
#include "seccomp-bpf/scbpf.h"
#include "tests/unit/t.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN_DIR "tests/golden/seccomp"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* Print the first differing line of got vs want. */
static void show_diff(const char *name, const char *got, const char *want)
{
	int line = 1;
	const char *g = got, *w = want;

	while (*g && *g == *w) {
		if (*g == '\n') {
			line++;
			got = g + 1;
			want = w + 1;
		}
		g++;
		w++;
	}
	const char *ge = strchr(got, '\n'), *we = strchr(want, '\n');
	printf("  %s: line %d differs\n    got:  %.*s\n    want: %.*s\n", name, line,
	       (int)(ge ? ge - got : (long)strlen(got)), got, (int)(we ? we - want : (long)strlen(want)), want);
}

static int golden_count;

static void golden_count_case(void);

static void check_one(const char *policy)
{
	char path[512], exp_path[512];
	struct scbpf_policy p;
	struct scbpf_policy_err err;
	static struct sock_filter prog[SCBPF_MAX_INSNS];
	int is_err = !strncmp(policy, "err_", 4);
	size_t base = strlen(policy) - strlen(".policy");

	snprintf(path, sizeof(path), GOLDEN_DIR "/%s", policy);
	snprintf(exp_path, sizeof(exp_path), GOLDEN_DIR "/%.*s%s", (int)base, policy, is_err ? ".err" : ".dump");
	char *want = slurp(exp_path);
	if (!want) {
		printf("  %s: missing %s\n", policy, exp_path);
		t_case_failed = 1;
		return;
	}
	golden_count++;
	scbpf_policy_init(&p);
	int r = scbpf_policy_parse_file(&p, path, NULL, NULL, &err);
	int n = r ? r : scbpf_compile(&p, prog, SCBPF_MAX_INSNS, &err);
	if (is_err) {
		char got[600];
		snprintf(got, sizeof(got), "%s\n", err.msg);
		if (n >= 0 || strcmp(got, want)) {
			show_diff(policy, n >= 0 ? "(compiled fine)\n" : got, want);
			t_case_failed = 1;
		}
	} else if (n < 0) {
		printf("  %s: %s\n", policy, err.msg);
		t_case_failed = 1;
	} else {
		char *got = NULL;
		size_t len = 0, bad;
		FILE *f = open_memstream(&got, &len);
		scbpf_dump(f, prog, (size_t)n);
		fclose(f);
		if (strcmp(got, want)) {
			show_diff(policy, got, want);
			t_case_failed = 1;
		}
		CHECK_EQ(scbpf_interp_check(prog, (size_t)n, &bad), 0);
		free(got);
	}
	scbpf_policy_free(&p);
	free(want);
}

static const char *golden_cur;

static void golden_case(void)
{
	check_one(golden_cur);
}

static int golden_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One case per golden policy, named after it, in name order. */
int main(void)
{
	char *names[256];
	size_t n = 0;
	DIR *d = opendir(GOLDEN_DIR);
	struct dirent *e;

	t_suite = "seccomp_golden";
	if (!d) {
		printf("FAIL seccomp_golden/open: cannot open " GOLDEN_DIR " (run from the repository root)\n");
		return 1;
	}
	while ((e = readdir(d)) && n < sizeof(names) / sizeof(names[0])) {
		size_t l = strlen(e->d_name);
		if (l > 7 && !strcmp(e->d_name + l - 7, ".policy"))
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), golden_cmp);
	for (size_t i = 0; i < n; i++) {
		golden_cur = names[i];
		t_run(names[i], golden_case);
		free(names[i]);
	}
	/* The tree holds at least these: a lost directory must not pass. */
	golden_cur = NULL;
	t_run("count", golden_count_case);
	return t_done();
}

static void golden_count_case(void)
{
	CHECK(golden_count >= 11);
}
