/* Minimal unit-test harness. Each test binary prints one line per case,
 * "PASS <suite>/<case>" or "FAIL <suite>/<case>: <where>", which
 * tests/run-all counts. A crash (ASan, signal) is counted by run-all as a
 * failure of the binary as a whole. */
#ifndef APPVM_T_H
#define APPVM_T_H
#include <stdio.h>

extern int t_case_failed;
extern const char *t_suite;

#define CHECK(c) do { if (!(c)) { \
	if (!t_case_failed) printf("  %s:%d: CHECK(%s)\n", __FILE__, __LINE__, #c); \
	t_case_failed = 1; } } while (0)
#define CHECK_EQ(a, b) do { long long t_a_ = (long long)(a), t_b_ = (long long)(b); \
	if (t_a_ != t_b_) { if (!t_case_failed) printf("  %s:%d: %s == %lld, expected %s == %lld\n", \
	__FILE__, __LINE__, #a, t_a_, #b, t_b_); t_case_failed = 1; } } while (0)

/* Run one case: fn takes no arguments. */
#define RUN(fn) t_run(#fn, fn)
void t_run(const char *name, void (*fn)(void));
/* 1 once pid is gone within ms: reaped by this process (a child, or one
 * reparented to it as a child subreaper) or no longer existing; a zombie
 * someone else has not reaped yet still counts as there. */
#include <sys/types.h>
int t_pid_gone_within(pid_t pid, int ms);
/* Returns the process exit code: 0 when every case passed. */
int t_done(void);
#endif
