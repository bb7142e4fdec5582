/* guest-agents/crash_collector: the core parser on a synthetic x86-64 core
 * built here the way fs/binfmt_elf.c lays one out (ELF header, program
 * headers, notes: NT_PRSTATUS x2 with NT_PRFPREG, NT_PRPSINFO, NT_SIGINFO,
 * NT_AUXV, NT_FILE; then PT_LOADs: the exe's ELF header page with a GNU
 * build-id note, the stack, an anonymous mapping), through a pipe as the
 * kernel gives it; hostile variants (truncated anywhere, bad header,
 * oversized notes/counts); the JSON report; and the minidump writer
 * against a golden file (tests/golden/minidump/synthetic.dmp; regenerate
 * with CRASH_GOLDEN_WRITE=1 after checking the change with Breakpad's
 * minidump_dump, docs/AGENTS.md). */
#include "tests/unit/t.h"
#include "guest-agents/crash_collector/crash.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXE_BASE 0x400000ull
#define STACK_LO 0x7ffff7000000ull
#define STACK_HI 0x7ffff7021000ull
#define ANON_LO 0x7ffff8000000ull
#define SP 0x7ffff7010000ull
#define RIP 0x401234ull

static uint8_t core[1 << 20];
static size_t core_len;

static void put(size_t at, const void *p, size_t n)
{
	memcpy(core + at, p, n);
	if (at + n > core_len)
		core_len = at + n;
}

static size_t note(size_t at, const char *name, uint32_t type, const void *desc, uint32_t n)
{
	uint32_t h[3] = { (uint32_t)strlen(name) + 1, n, type };

	put(at, h, 12);
	put(at + 12, name, h[0]);
	at += 12 + ((h[0] + 3) & ~3u);
	put(at, desc, n);
	return at + ((n + 3) & ~3u);
}

static void build_core(void)
{
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[4] = { 0 };
	uint8_t prs[336] = { 0 }, prp[136] = { 0 }, si[128] = { 0 }, fp[512];
	uint64_t regs[27], auxv[8] = { AT_ENTRY, EXE_BASE + 0x1000, AT_PAGESZ, 4096, AT_NULL, 0 };
	size_t at = 64 + 4 * sizeof(Elf64_Phdr), notes_at = at;
	uint8_t file[16 + 2 * 24 + 64];
	uint64_t *fv = (uint64_t *)file;
	uint8_t head[4096] = { 0 };
	int16_t sig = 11;
	int32_t v;

	memset(core, 0, sizeof(core));
	core_len = 0;
	/* Thread 1 (crashed). */
	for (int i = 0; i < 27; i++)
		regs[i] = 0x1000 + i;
	regs[16] = RIP;
	regs[19] = SP;
	memcpy(prs + 12, &sig, 2);
	v = 101;
	memcpy(prs + 32, &v, 4);
	memcpy(prs + 112, regs, sizeof(regs));
	at = note(at, "CORE", NT_PRSTATUS, prs, sizeof(prs));
	for (int i = 0; i < 512; i++)
		fp[i] = (uint8_t)i;
	at = note(at, "CORE", NT_PRFPREG, fp, sizeof(fp));
	strcpy((char *)prp + 40, "crashme");
	strcpy((char *)prp + 56, "/bin/crashme segv now ");
	v = 1000;
	memcpy(prp + 16, &v, 4);
	at = note(at, "CORE", NT_PRPSINFO, prp, sizeof(prp));
	v = 11;
	memcpy(si, &v, 4);
	v = 1;  /* SEGV_MAPERR */
	memcpy(si + 8, &v, 4);
	{
		uint64_t addr = 0xdead;
		memcpy(si + 16, &addr, 8);
	}
	at = note(at, "CORE", 0x53494749, si, sizeof(si));
	at = note(at, "CORE", NT_AUXV, auxv, sizeof(auxv));
	fv[0] = 2;
	fv[1] = 4096;
	fv[2] = EXE_BASE;
	fv[3] = EXE_BASE + 0x1000;
	fv[4] = 0;
	fv[5] = EXE_BASE + 0x1000;
	fv[6] = EXE_BASE + 0x3000;
	fv[7] = 1;
	memset(file + 64, 0, 64);
	strcpy((char *)file + 64, "/bin/crashme");
	strcpy((char *)file + 64 + 13, "/bin/crashme");
	at = note(at, "CORE", 0x46494c45, file, sizeof(file));
	/* Thread 2. */
	regs[19] = SP - 0x2000;
	v = 102;
	memcpy(prs + 32, &v, 4);
	memcpy(prs + 112, regs, sizeof(regs));
	at = note(at, "CORE", NT_PRSTATUS, prs, sizeof(prs));
	ph[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = notes_at, .p_filesz = at - notes_at };
	at = (at + 4095) & ~4095ull;
	/* The exe's first page: an ELF header with a PT_NOTE build-id. */
	{
		Elf64_Ehdr xe = { 0 };
		Elf64_Phdr xp = { .p_type = PT_NOTE, .p_offset = 0x200, .p_filesz = 36 };
		uint32_t nh[3] = { 4, 20, NT_GNU_BUILD_ID };
		memcpy(xe.e_ident, ELFMAG, SELFMAG);
		xe.e_ident[EI_CLASS] = ELFCLASS64;
		xe.e_phoff = 64;
		xe.e_phentsize = sizeof(Elf64_Phdr);
		xe.e_phnum = 1;
		memcpy(head, &xe, sizeof(xe));
		memcpy(head + 64, &xp, sizeof(xp));
		memcpy(head + 0x200, nh, 12);
		memcpy(head + 0x20c, "GNU", 4);
		for (int i = 0; i < 20; i++)
			head[0x210 + i] = (uint8_t)(0xa0 + i);
	}
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = at, .p_vaddr = EXE_BASE,
			      .p_filesz = 4096, .p_memsz = 0x3000 };
	put(at, head, sizeof(head));
	at += 4096;
	ph[2] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = at, .p_vaddr = STACK_LO,
			      .p_filesz = STACK_HI - STACK_LO, .p_memsz = STACK_HI - STACK_LO };
	for (uint64_t a = 0; a < STACK_HI - STACK_LO; a += 8) {
		uint64_t w = STACK_LO + a;
		put(at + a, &w, 8);
	}
	at += STACK_HI - STACK_LO;
	ph[3] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = at, .p_vaddr = ANON_LO,
			      .p_filesz = 4096, .p_memsz = 4096 };
	at += 4096;
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = 64;
	eh.e_ehsize = 64;
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 4;
	put(0, &eh, sizeof(eh));
	put(64, ph, sizeof(ph));
	core_len = at;
}

static struct crash *parse_mem(const uint8_t *p, size_t n, int *rc)
{
	struct crash *c = calloc(1, sizeof(*c));
	struct crash_src src = { .fd = -1, .mem = p, .len = n };

	c->pid = 100;
	c->signal = 11;
	strcpy(c->comm, "crashme");
	*rc = crash_parse(c, &src);
	return c;
}

static void check_parsed(const struct crash *c)
{
	CHECK(!c->error[0]);
	CHECK_EQ(c->nthreads, 2);
	CHECK_EQ(c->threads[0].tid, 101);
	CHECK_EQ(c->threads[1].tid, 102);
	CHECK_EQ(c->threads[0].regs[CR_RIP], RIP);
	CHECK_EQ(c->threads[0].regs[CR_RSP], SP);
	CHECK(c->threads[0].have_fp && c->threads[0].fxsave[100] == 100);
	CHECK_EQ(c->signal, 11);
	CHECK_EQ(c->si_code, 1);
	CHECK_EQ(c->fault_addr, 0xdead);
	CHECK_EQ(c->uid, 1000);
	CHECK(!strcmp(c->cmdline, "/bin/crashme segv now"));
	CHECK(!strcmp(c->exe, "/bin/crashme"));
	CHECK_EQ(c->nmodules, 1);
	CHECK(!strcmp(c->modules[0].path, "/bin/crashme"));
	CHECK_EQ(c->modules[0].base, EXE_BASE);
	CHECK_EQ(c->modules[0].end, EXE_BASE + 0x3000);
	CHECK_EQ(c->modules[0].build_id_len, 20);
	CHECK_EQ(c->modules[0].build_id[19], 0xa0 + 19);
	/* Stack windows: [sp - 128, sp + 64 KiB) of the crashing thread,
	 * holding the synthetic "address" pattern. */
	CHECK_EQ(c->threads[0].stack_start, SP - CRASH_REDZONE);
	CHECK_EQ(c->threads[0].stack_got, c->threads[0].stack_len);
	{
		uint64_t w;
		memcpy(&w, c->threads[0].stack + CRASH_REDZONE, 8);
		CHECK_EQ(w, SP);
	}
	/* The stack window of thread 1 ends at the top of the mapping. */
	CHECK_EQ(c->threads[1].stack_got, c->threads[1].stack_len);
	/* Maps: exe (2 named), stack and the anonymous one, sorted. */
	CHECK_EQ(c->nmaps, 4);
	CHECK_EQ(c->maps[0].start, EXE_BASE);
	CHECK_EQ(c->maps[0].flags, PF_R | PF_X);
	CHECK(!strcmp(crash_map_path(c, &c->maps[1]), "/bin/crashme"));
	CHECK_EQ(c->maps[1].pgoff, 4096);
	CHECK_EQ(c->maps[3].start, ANON_LO);
	CHECK(!strcmp(crash_map_path(c, &c->maps[3]), ""));
	CHECK_EQ(c->bytes_read, core_len);
}

static void test_parse_memory(void)
{
	int rc;
	struct crash *c;

	build_core();
	if (getenv("CRASH_CORPUS_WRITE")) {
		/* Seed for tests/fuzz/fuzz_core.c. */
		int fd = open("tests/fuzz/corpus/core/synthetic", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK(fd >= 0 && write(fd, core, core_len) == (ssize_t)core_len);
		close(fd);
	}
	c = parse_mem(core, core_len, &rc);
	CHECK_EQ(rc, 0);
	check_parsed(c);
	CHECK_EQ(c->maps[1].flags, PF_R | PF_X);
	crash_free(c);
	free(c);
}

static void *writer(void *arg)
{
	int fd = *(int *)arg;
	size_t off = 0;

	/* Uneven pieces, as a pipe delivers them. */
	while (off < core_len) {
		size_t k = core_len - off < 777 ? core_len - off : 777;
		ssize_t w = write(fd, core + off, k);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(fd);
	return NULL;
}

static void test_parse_pipe(void)
{
	struct crash *c = calloc(1, sizeof(*c));
	struct crash_src src = { .fd = -1 };
	pthread_t th;
	int p[2];

	build_core();
	CHECK(pipe(p) == 0);
	src.fd = p[0];
	pthread_create(&th, NULL, writer, &p[1]);
	c->pid = 100;
	CHECK_EQ(crash_parse(c, &src), 0);
	pthread_join(th, NULL);
	close(p[0]);
	check_parsed(c);
	crash_free(c);
	free(c);
}

static void test_hostile(void)
{
	int rc;
	struct crash *c;

	build_core();
	/* Every truncation point parses without crashing; the short ones are
	 * refused, the rest report what is missing. */
	for (size_t n = 0; n < core_len; n += (n < 4096 ? 7 : 4093)) {
		c = parse_mem(core, n, &rc);
		CHECK(rc == 0 || rc == -EINVAL);
		if (n < 64 + 4 * sizeof(Elf64_Phdr))
			CHECK_EQ(rc, -EINVAL);
		crash_free(c);
		free(c);
	}
	/* Not a core, another machine. */
	core[16] = ET_EXEC;
	c = parse_mem(core, core_len, &rc);
	CHECK_EQ(rc, -EINVAL);
	crash_free(c);
	free(c);
	build_core();
	core[18] = EM_AARCH64;
	c = parse_mem(core, core_len, &rc);
	CHECK_EQ(rc, -EINVAL);
	crash_free(c);
	free(c);
	/* A note whose size runs past the segment. */
	build_core();
	{
		uint32_t big = 0x7fffffff;
		memcpy(core + 64 + 4 * sizeof(Elf64_Phdr) + 4, &big, 4);
	}
	c = parse_mem(core, core_len, &rc);
	CHECK_EQ(rc, 0);
	CHECK(strstr(c->error, "note out of bounds") != NULL);
	CHECK_EQ(c->nthreads, 0);
	crash_free(c);
	free(c);
	/* Too many program headers. */
	build_core();
	{
		uint16_t n = 0xffff;
		memcpy(core + 56, &n, 2);
	}
	c = parse_mem(core, core_len, &rc);
	CHECK_EQ(rc, -EINVAL);
	crash_free(c);
	free(c);
}

static void test_report(void)
{
	struct crash_buf b = { 0 };
	int rc;
	struct crash *c;

	build_core();
	c = parse_mem(core, core_len, &rc);
	strcpy(c->cmdline, "a \"q\"\n\xff");
	CHECK_EQ(crash_report_json(c, &b), 0);
	crash_buf_put(&b, "", 1);
	CHECK(strstr((char *)b.data, "\"pid\":100,\"tid\":101,\"signal\":11,\"signal_name\":\"SIGSEGV\",\"si_code\":1,"
				    "\"fault_address\":\"0xdead\"") != NULL);
	CHECK(strstr((char *)b.data, "\"exe\":\"/bin/crashme\"") != NULL);
	CHECK(strstr((char *)b.data, "\"cmdline\":\"a \\\"q\\\"\\u000a\\u00ff\"") != NULL);
	CHECK(strstr((char *)b.data, "{\"path\":\"/bin/crashme\",\"base\":\"0x400000\",\"size\":12288,"
				    "\"build_id\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3\"}") != NULL);
	CHECK(strstr((char *)b.data, "\"rip\":\"0x401234\"") != NULL);
	CHECK(strstr((char *)b.data, "\"rsp\":\"0x7ffff7010000\"") != NULL);
	crash_buf_free(&b);
	crash_free(c);
	free(c);
}

static void test_minidump_golden(void)
{
	const char *golden = "tests/golden/minidump/synthetic.dmp";
	struct crash_buf b = { 0 };
	static uint8_t want[1 << 20];
	ssize_t n;
	int rc, fd;
	struct crash *c;

	build_core();
	c = parse_mem(core, core_len, &rc);
	CHECK_EQ(crash_minidump(c, 1764675900, "Linux 6.1.0 #1", &b), 0);
	/* Header, directory: 8 streams at 32. */
	CHECK(!memcmp(b.data, "MDMP\x93\xa7\0\0\x08\0\0\0\x20\0\0\0", 16));
	if (getenv("CRASH_GOLDEN_WRITE")) {
		fd = open(golden, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK(fd >= 0 && write(fd, b.data, b.len) == (ssize_t)b.len);
		close(fd);
	}
	fd = open(golden, O_RDONLY);
	CHECK(fd >= 0);
	n = fd >= 0 ? read(fd, want, sizeof(want)) : -1;
	if (fd >= 0)
		close(fd);
	CHECK_EQ(n, (long)b.len);
	if (n == (ssize_t)b.len) {
		size_t i = 0;
		while (i < b.len && want[i] == b.data[i])
			i++;
		if (i < b.len)
			printf("  minidump differs from %s at byte %zu\n", golden, i);
		CHECK_EQ(i, b.len);
	}
	crash_buf_free(&b);
	crash_free(c);
	free(c);
}

/* A real core: tests/e2e/guest/crashme.c (static musl, with a build-id)
 * dumped by Linux 6.1 after "crashme segv" (also a fuzz seed). */
static void test_real_core(void)
{
	static uint8_t buf[1 << 20];
	int fd = open("tests/fuzz/corpus/core/crashme_segv", O_RDONLY), rc;
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	struct crash *c;

	if (fd >= 0)
		close(fd);
	CHECK(n > 0);
	if (n <= 0)
		return;
	c = parse_mem(buf, (size_t)n, &rc);
	CHECK_EQ(rc, 0);
	CHECK(!c->error[0]);
	CHECK_EQ(c->signal, 11);
	CHECK_EQ(c->si_code, 1);
	CHECK_EQ(c->fault_addr, 0x10);
	CHECK_EQ(c->nthreads, 1);
	CHECK_EQ(c->threads[0].tid, 16179);
	CHECK_EQ(c->threads[0].regs[CR_RIP], 0x4010bc);
	CHECK(!strcmp(c->exe, "/tmp/crashme"));
	CHECK(!strcmp(c->cmdline, "/tmp/crashme segv"));
	CHECK_EQ(c->nmodules, 2);
	CHECK(!strcmp(c->modules[0].path, "/tmp/crashme"));
	CHECK_EQ(c->modules[0].base, 0x400000);
	CHECK_EQ(c->modules[0].build_id_len, 20);
	CHECK_EQ(c->modules[0].build_id[0], 0x2b);
	CHECK_EQ(c->modules[0].build_id[19], 0x84);
	CHECK(!strcmp(c->modules[1].path, "linux-gate.so"));
	CHECK_EQ(c->modules[1].build_id_len, 20);
	CHECK(c->threads[0].stack_got > 4096);
	CHECK_EQ(c->bytes_read, (uint64_t)n);
	crash_free(c);
	free(c);
}

int main(void)
{
	t_suite = "crash_collector";
	RUN(test_real_core);
	RUN(test_parse_memory);
	RUN(test_parse_pipe);
	RUN(test_hostile);
	RUN(test_report);
	RUN(test_minidump_golden);
	return t_done();
}
