/* Parser tests: the meaning of each construct (through scbpf_policy_eval) and one
 * case per malformed-policy error, each checking the exact file:line:col
 * message. Files come from an in-memory loader. */
#include "seccomp-bpf/scbpf_policy.h"
#include "seccomp-bpf/scbpf.h"
#include "tests/unit/t.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

struct memfile {
	const char *name;
	const char *text;
};

static int mem_load(void *ctx, const char *path, char **buf, size_t *len)
{
	for (const struct memfile *f = ctx; f->name; f++)
		if (!strcmp(f->name, path)) {
			*len = strlen(f->text);
			*buf = malloc(*len + 1);
			memcpy(*buf, f->text, *len + 1);
			return 0;
		}
	return -ENOENT;
}

/* Parse files[0]; returns the parser's result, the policy in *p. */
static int parse(struct scbpf_policy *p, const struct memfile *files, struct scbpf_policy_err *err)
{
	scbpf_policy_init(p);
	return scbpf_policy_parse_file(p, files[0].name, mem_load, (void *)files, err);
}

static uint32_t eval(const struct scbpf_policy *p, int nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	uint64_t args[6] = { a0, a1, a2, 0, 0, 0 };
	return scbpf_policy_eval(p, AUDIT_ARCH_X86_64, nr, args);
}

/* Expect parsing text (as "t.policy") to fail with exactly msg. */
static void expect_error(const char *text, const char *msg)
{
	struct memfile files[] = { { "t.policy", text }, { NULL, NULL } };
	struct scbpf_policy p;
	struct scbpf_policy_err err;
	int r = parse(&p, files, &err);

	CHECK_EQ(r, -EINVAL);
	if (strcmp(err.msg, msg)) {
		printf("  got error '%s'\n  expected  '%s'\n", err.msg, msg);
		t_case_failed = 1;
	}
	scbpf_policy_free(&p);
}

static void test_actions(void)
{
	struct memfile files[] = { { "a.policy",
		"# comment line\n"
		"\n"
		"read: 1\n"
		"write: allow   # trailing comment\n"
		"openat: return ENOENT\n"
		"close: kill-thread\n"
		"dup: trap\n"
		"dup2: log\n"
		"getpid: kill\n"
		"0x27: 1\n" /* numeric syscall descriptor is accepted too? (39 = getpid dup) */
	}, { NULL, NULL } };
	struct scbpf_policy p;
	struct scbpf_policy_err err;

	/* 0x27 is getpid, which already has an unconditional action. */
	CHECK_EQ(parse(&p, files, &err), -EINVAL);
	CHECK(strstr(err.msg, "a.policy:10:1: syscall 'getpid' already has an unconditional action (a.policy:9)") != NULL);
	scbpf_policy_free(&p);

	files[0].text = "read: 1\nwrite: allow\nopenat: return ENOENT\nclose: kill-thread\ndup: trap\n"
			"dup2: log\ngetpid: kill\n16: 1\n";
	CHECK_EQ(parse(&p, files, &err), 0);
	CHECK_EQ(p.nrules, 8);
	CHECK_EQ(eval(&p, SYS_read, 0, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_write, 0, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_openat, 0, 0, 0), SECCOMP_RET_ERRNO | ENOENT);
	CHECK_EQ(eval(&p, SYS_close, 0, 0, 0), SECCOMP_RET_KILL_THREAD);
	CHECK_EQ(eval(&p, SYS_dup, 0, 0, 0), SECCOMP_RET_TRAP);
	CHECK_EQ(eval(&p, SYS_dup2, 0, 0, 0), SECCOMP_RET_LOG);
	CHECK_EQ(eval(&p, SYS_getpid, 0, 0, 0), SECCOMP_RET_KILL_PROCESS);
	CHECK_EQ(eval(&p, SYS_ioctl, 0, 0, 0), SECCOMP_RET_ALLOW); /* 16 = ioctl */
	CHECK_EQ(eval(&p, SYS_mmap, 0, 0, 0), SECCOMP_RET_KILL_PROCESS);
	/* Wrong arch and x32 numbers are always killed. */
	uint64_t z[6] = { 0 };
	CHECK_EQ(scbpf_policy_eval(&p, AUDIT_ARCH_I386, SYS_read, z), SECCOMP_RET_KILL_PROCESS);
	CHECK_EQ(scbpf_policy_eval(&p, AUDIT_ARCH_X86_64, 0x40000000 | SYS_read, z), SECCOMP_RET_KILL_PROCESS);
	scbpf_policy_free(&p);
}

static void test_expressions(void)
{
	struct memfile files[] = { { "e.policy",
		"@default return EPERM\n"
		"write: arg0 == 1 || arg0 == 2\n"
		"mmap: arg2 in ~PROT_EXEC || arg2 in ~PROT_WRITE\n"
		"openat: arg2 & O_WRONLY; return EACCES\n"
		"ioctl: arg1 == KVM_RUN && arg0 != 3 || arg1 == (KVM_CREATE_VM|0x10000)\n"
		"lseek: arg1 < 0x100000000 && arg1 >= 16\n"
		"pread64: arg3 <= 4096 && arg3 > ~0xfffffffffffffff0\n"
		"fcntl: arg1 == -1\n"
		"dup: arg0 == 010\n"
	}, { NULL, NULL } };
	struct scbpf_policy p;
	struct scbpf_policy_err err;

	CHECK_EQ(parse(&p, files, &err), 0);
	if (err.msg[0])
		printf("  %s\n", err.msg);
	const uint32_t eperm = SECCOMP_RET_ERRNO | EPERM;
	CHECK_EQ(p.default_action, eperm);
	CHECK_EQ(eval(&p, SYS_write, 1, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_write, 2, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_write, 3, 0, 0), eperm);
	CHECK_EQ(eval(&p, SYS_write, 1ull << 32 | 1, 0, 0), eperm);
	CHECK_EQ(eval(&p, SYS_mmap, 0, 0, PROT_READ | PROT_WRITE), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_mmap, 0, 0, PROT_READ | PROT_EXEC), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_mmap, 0, 0, PROT_WRITE | PROT_EXEC), eperm);
	/* minijail0(5): "EXPR; return E" allows when EXPR holds, else E. */
	CHECK_EQ(eval(&p, SYS_openat, 0, 0, O_WRONLY | O_CREAT), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_openat, 0, 0, O_RDONLY), SECCOMP_RET_ERRNO | EACCES);
	CHECK_EQ(eval(&p, SYS_ioctl, 4, KVM_RUN, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_ioctl, 3, KVM_RUN, 0), eperm);
	CHECK_EQ(eval(&p, SYS_ioctl, 3, KVM_CREATE_VM | 0x10000, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_ioctl, 3, KVM_CREATE_VM, 0), eperm);
	CHECK_EQ(eval(&p, SYS_lseek, 0, 15, 0), eperm);
	CHECK_EQ(eval(&p, SYS_lseek, 0, 16, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_lseek, 0, 0xffffffff, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_lseek, 0, 0x100000000, 0), eperm);
	uint64_t a[6] = { 0, 0, 0, 4096, 0, 0 };
	CHECK_EQ(scbpf_policy_eval(&p, AUDIT_ARCH_X86_64, SYS_pread64, a), SECCOMP_RET_ALLOW);
	a[3] = 4097;
	CHECK_EQ(scbpf_policy_eval(&p, AUDIT_ARCH_X86_64, SYS_pread64, a), eperm);
	a[3] = 15; /* not > ~0xfffffffffffffff0 == 15 */
	CHECK_EQ(scbpf_policy_eval(&p, AUDIT_ARCH_X86_64, SYS_pread64, a), eperm);
	a[3] = 16;
	CHECK_EQ(scbpf_policy_eval(&p, AUDIT_ARCH_X86_64, SYS_pread64, a), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_fcntl, 0, UINT64_MAX, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_fcntl, 0, 0xffffffff, 0), eperm);
	CHECK_EQ(eval(&p, SYS_dup, 8, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_dup, 10, 0, 0), eperm);
	scbpf_policy_free(&p);
}

/* parser.py's brace forms: several syscalls, ordered filter lists. */
static void test_lists_and_continuation(void)
{
	struct memfile files[] = { { "l.policy",
		"{ read, write }: arg0 == 0\n"
		"close: { arg0 == 1; return EBADF, arg0 == 2; trap, arg0 < 10 }\n"
		"getpid[arch=x86_64]: 1\n"
		"gettid[arch=aarch64]: 1\n"
		"fstat: arg0 == 1 || \\\n"
		"   arg0 == 7\n"
	}, { NULL, NULL } };
	struct scbpf_policy p;
	struct scbpf_policy_err err;

	CHECK_EQ(parse(&p, files, &err), 0);
	CHECK_EQ(eval(&p, SYS_read, 0, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_write, 0, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_write, 1, 0, 0), SECCOMP_RET_KILL_PROCESS);
	CHECK_EQ(eval(&p, SYS_close, 1, 0, 0), SECCOMP_RET_ERRNO | EBADF);
	CHECK_EQ(eval(&p, SYS_close, 2, 0, 0), SECCOMP_RET_TRAP);
	CHECK_EQ(eval(&p, SYS_close, 5, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_close, 10, 0, 0), SECCOMP_RET_KILL_PROCESS);
	CHECK_EQ(eval(&p, SYS_getpid, 0, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_gettid, 0, 0, 0), SECCOMP_RET_KILL_PROCESS);
	CHECK(scbpf_policy_find(&p, SYS_gettid) == NULL);
	CHECK_EQ(eval(&p, SYS_fstat, 7, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_fstat, 8, 0, 0), SECCOMP_RET_KILL_PROCESS);
	scbpf_policy_free(&p);
}

static void test_include_and_frequency(void)
{
	struct memfile files[] = {
		{ "dir/main.policy", "@include ./common.policy\n@frequency ./x.frequency\nwrite: 1\n" },
		{ "dir/common.policy", "read: 1\n@include sub/../more.policy\n" },
		{ "dir/more.policy", "@default trap\nclose: 1\n" },
		{ "dir/x.frequency", "# counts\nread: 100\nwrite: 5\nread: 20\n" },
		{ NULL, NULL } };
	struct scbpf_policy p;
	struct scbpf_policy_err err;

	CHECK_EQ(parse(&p, files, &err), 0);
	if (err.msg[0])
		printf("  %s\n", err.msg);
	CHECK_EQ(eval(&p, SYS_read, 0, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_close, 0, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_write, 0, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(eval(&p, SYS_mmap, 0, 0, 0), SECCOMP_RET_TRAP);
	CHECK(p.has_freq);
	CHECK_EQ(scbpf_policy_find(&p, SYS_read)->freq, 120);
	CHECK_EQ(scbpf_policy_find(&p, SYS_write)->freq, 5);
	CHECK_EQ(scbpf_policy_find(&p, SYS_close)->freq, 0);
	CHECK(strcmp(scbpf_policy_find(&p, SYS_close)->where, "dir/more.policy:2") == 0);
	scbpf_policy_free(&p);
}

static void test_include_errors(void)
{
	struct memfile loop[] = {
		{ "a.policy", "read: 1\n@include ./b.policy\n" },
		{ "b.policy", "\n\n@include ./a.policy\n" },
		{ NULL, NULL } };
	struct memfile missing[] = { { "a.policy", "read: 1\n  @include /nonexistent/x.policy\n" }, { NULL, NULL } };
	struct memfile self[] = { { "s.policy", "@include s.policy\n" }, { NULL, NULL } };
	struct scbpf_policy p;
	struct scbpf_policy_err err;

	CHECK_EQ(parse(&p, loop, &err), -EINVAL);
	CHECK(strcmp(err.msg, "b.policy:3:1: @include loop: 'a.policy' is already being parsed") == 0);
	if (t_case_failed)
		printf("  %s\n", err.msg);
	CHECK_EQ(parse(&p, missing, &err), -EINVAL);
	CHECK(strcmp(err.msg, "a.policy:2:3: cannot read '/nonexistent/x.policy': No such file or directory") == 0);
	CHECK_EQ(parse(&p, self, &err), -EINVAL);
	CHECK(strstr(err.msg, "s.policy:1:1: @include loop") == err.msg);
	if (t_case_failed)
		printf("  %s\n", err.msg);
}

static void test_errors(void)
{
	expect_error("read: 1\nfoo_bar: 1\n", "t.policy:2:1: unknown syscall 'foo_bar'");
	expect_error("read: arg0 => 1\n", "t.policy:1:12: invalid operator '='");
	expect_error("read: arg0 <> 1\n", "t.policy:1:13: expected a constant, got '>'");
	expect_error("read: arg6 == 1\n", "t.policy:1:7: invalid argument (arg0..arg5) 'arg6'");
	expect_error("read: arg0 == NOT_A_CONSTANT\n", "t.policy:1:15: unknown constant 'NOT_A_CONSTANT'");
	expect_error("read 1\n", "t.policy:1:6: expected ':' after the syscall, got '1'");
	expect_error("read:\n", "t.policy:1:6: missing filter at end of line");
	expect_error("read: 2\n", "t.policy:1:7: invalid action (a bare number must be 1) '2'");
	expect_error("read: return 5000\n", "t.policy:1:14: errno 5000 out of range (0..4095)");
	expect_error("read: arg0 == 1 1\n", "t.policy:1:17: extra token '1'");
	expect_error("read: arg0 == (1 | 2\n", "t.policy:1:15: unclosed parenthesis");
	expect_error("read: arg0 == ~~1\n", "t.policy:1:16: invalid double complement '~'");
	expect_error("read: arg0 == 0x1ffffffffffffffff\n", "t.policy:1:15: number out of 64-bit range '0x1ffffffffffffffff'");
	expect_error("read: arg0 == 09\n", "t.policy:1:15: invalid number '09'");
	expect_error("read: 1\nread: 1\n", "t.policy:2:1: syscall 'read' already has an unconditional action (t.policy:1)");
	expect_error("@default allow\n", "t.policy:1:10: @default allow would permit every syscall");
	expect_error("@bogus x\n", "t.policy:1:1: unknown directive '@bogus'");
	expect_error("@include\n", "t.policy:1:9: missing @include path");
	expect_error("read: arg0 $ 1\n", "t.policy:1:12: invalid token '$'");
	expect_error("{ read, write: 1\n", "t.policy:1:1: unclosed brace");
	expect_error("read: 1\nwrite: arg0 ==\\\n\n", "t.policy:3:1: expected a constant, got at end of line");
	expect_error("libc@group: 1\n", "t.policy:1:1: syscall groups are not supported 'libc@group'");
	expect_error("999: 1\n", "t.policy:1:1: unknown syscall number '999'");
	struct scbpf_policy p;
	struct scbpf_policy_err err;
	scbpf_policy_init(&p);
	CHECK_EQ(scbpf_policy_parse_buf(&p, "n.policy", "read: 1\nwrite: 1\0\n", 18, mem_load, NULL, &err), -EINVAL);
	CHECK(strcmp(err.msg, "n.policy:2:1: NUL byte in policy text") == 0);
}

static void test_limits(void)
{
	struct scbpf_policy p;
	struct scbpf_policy_err err;
	size_t n = SCBPF_POLICY_MAX_FILE_SIZE + 10;
	char *big = malloc(n);

	/* Huge file: refused before parsing anything. */
	memset(big, '\n', n);
	memcpy(big, "read: 1\n", 8);
	scbpf_policy_init(&p);
	CHECK_EQ(scbpf_policy_parse_buf(&p, "huge.policy", big, n, mem_load, NULL, &err), -EINVAL);
	CHECK(strcmp(err.msg, "huge.policy:1:1: file is larger than 1048576 bytes") == 0);
	if (t_case_failed)
		printf("  %s\n", err.msg);
	/* A huge file on disk, reached through @include with the real loader:
	 * refused by size before it is read. */
	char dir[] = "/tmp/scbpf-huge.XXXXXX", path[64], top[64], msg[200];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/huge.policy", dir);
	snprintf(top, sizeof(top), "%s/top.policy", dir);
	FILE *f = fopen(path, "w");
	CHECK(f && fwrite(big, 1, n, f) == n);
	if (f)
		fclose(f);
	f = fopen(top, "w");
	CHECK(f != NULL);
	if (f) {
		fprintf(f, "read: 1\n\n@include huge.policy\n");
		fclose(f);
	}
	CHECK_EQ(scbpf_policy_parse_file(&p, top, NULL, NULL, &err), -EINVAL);
	snprintf(msg, sizeof(msg), "%s:3:1: '%s' is larger than 1048576 bytes", top, path);
	CHECK(strcmp(err.msg, msg) == 0);
	if (t_case_failed)
		printf("  got '%s'\n  want '%s'\n", err.msg, msg);
	CHECK_EQ(scbpf_policy_parse_file(&p, path, NULL, NULL, &err), -EINVAL);
	snprintf(msg, sizeof(msg), "%s:1:1: file is larger than 1048576 bytes", path);
	CHECK(strcmp(err.msg, msg) == 0);
	unlink(path);
	unlink(top);
	rmdir(dir);
	/* Repeated includes of a large file: bounded in total (8 MiB). */
	size_t blen = 900 * 1024;
	char *bigtext = malloc(blen + 1);
	for (size_t i = 0; i < blen; i += 4)
		memcpy(bigtext + i, "# x\n", 4);
	bigtext[blen] = 0;
	struct memfile rep[] = { { "many.policy",
		"read: 1\n@include b\n@include b\n@include b\n@include b\n@include b\n"
		"@include b\n@include b\n@include b\n@include b\n@include b\n" }, { "b", bigtext }, { NULL, NULL } };
	CHECK_EQ(parse(&p, rep, &err), -EINVAL);
	CHECK(strcmp(err.msg, "many.policy:11:1: policy text over all @include files exceeds 8388608 bytes at 'b'") == 0);
	if (t_case_failed)
		printf("  %s\n", err.msg);
	free(bigtext);
	/* Over-long logical line. */
	memset(big, ' ', 5000);
	memcpy(big, "read: 1", 7);
	CHECK_EQ(scbpf_policy_parse_buf(&p, "long.policy", big, 5000, mem_load, NULL, &err), -EINVAL);
	CHECK(strcmp(err.msg, "long.policy:1:1: line longer than 4096 bytes") == 0);
	/* Include depth. */
	struct memfile deep[] = {
		{ "d0", "@include d1\n" }, { "d1", "@include d2\n" }, { "d2", "@include d3\n" },
		{ "d3", "@include d4\n" }, { "d4", "@include d5\n" }, { "d5", "@include d6\n" },
		{ "d6", "@include d7\n" }, { "d7", "@include d8\n" }, { "d8", "read: 1\n" }, { NULL, NULL } };
	CHECK_EQ(parse(&p, deep, &err), -EINVAL);
	CHECK(strcmp(err.msg, "d7:1:1: @include nested too deep (limit 8)") == 0);
	if (t_case_failed)
		printf("  %s\n", err.msg);
	free(big);
}

/* Constants and syscalls come from the generated tables. */
static void test_tables(void)
{
	uint64_t v;

	CHECK_EQ(scbpf_syscall_nr("read"), SYS_read);
	CHECK_EQ(scbpf_syscall_nr("openat"), SYS_openat);
	CHECK_EQ(scbpf_syscall_nr("io_uring_setup"), SYS_io_uring_setup);
	CHECK_EQ(scbpf_syscall_nr("nope"), -ENOENT);
	CHECK(strcmp(scbpf_syscall_name(SYS_ioctl), "ioctl") == 0);
	CHECK(scbpf_syscall_count() > 300);
	CHECK(scbpf_const("KVM_RUN", &v) == 0 && v == KVM_RUN);
	CHECK(scbpf_const("KVM_SET_USER_MEMORY_REGION", &v) == 0 && v == KVM_SET_USER_MEMORY_REGION);
	CHECK(scbpf_const("O_CLOEXEC", &v) == 0 && v == O_CLOEXEC);
	CHECK(scbpf_const("MAP_ANONYMOUS", &v) == 0 && v == MAP_ANONYMOUS);
	CHECK(scbpf_const("AF_UNIX", &v) == 0 && v == 1);
	CHECK(scbpf_const("AT_FDCWD", &v) == 0 && v == (uint64_t)(int64_t)AT_FDCWD);
	CHECK(scbpf_const("EPERM", &v) == 0 && v == EPERM);
	CHECK(scbpf_const("SIG_DFL", &v) == -ENOENT); /* a pointer, not an integer */
	CHECK(scbpf_const("O_NOPE", &v) == -ENOENT);
}

int main(void)
{
	t_suite = "seccomp_policy";
	RUN(test_actions);
	RUN(test_expressions);
	RUN(test_lists_and_continuation);
	RUN(test_include_and_frequency);
	RUN(test_include_errors);
	RUN(test_errors);
	RUN(test_limits);
	RUN(test_tables);
	return t_done();
}
