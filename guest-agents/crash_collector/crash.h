/* crash_collector: the kernel pipes a core dump to it (core_pattern
 * "|/sbin/crash_collector %P %s %e", set by init); it parses the ELF core
 * (core.c), writes a JSON report (report.c) and a Breakpad minidump
 * (minidump.c), and sends both to vmm's crash endpoint (main.c,
 * docs/AGENTS.md).
 *
 * The core is hostile input (a crashing program controls its memory, a
 * buggy kernel its layout): every count and size is bounded below, every
 * offset checked, and the parser never needs more than one pass over the
 * stream (notes come before the memory they describe, ELF gABI core
 * layout as written by fs/binfmt_elf.c). x86-64 cores only. */
#ifndef APPVM_GUEST_AGENTS_CRASH_H
#define APPVM_GUEST_AGENTS_CRASH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CRASH_MAX_THREADS 64
#define CRASH_MAX_MODULES 128
#define CRASH_MAX_MAPS 1024
#define CRASH_MAX_PHDRS 4096
#define CRASH_MAX_NOTES (4u << 20)
/* Stack kept per thread, from the stack pointer upwards (the crashing
 * thread gets more), and below it the red zone (System V x86-64 ABI
 * §3.2.2: 128 bytes). */
#define CRASH_STACK_CRASHING (64u << 10)
#define CRASH_STACK_OTHER (16u << 10)
#define CRASH_REDZONE 128
#define CRASH_BUILD_ID_MAX 64
#define CRASH_PATH_MAX 256
/* The stream is read at most this far; the rest is drained unread. */
#define CRASH_READ_MAX (2ull << 30)

/* x86-64 struct user_regs_struct (sys/user.h) order. */
enum crash_reg {
	CR_R15, CR_R14, CR_R13, CR_R12, CR_RBP, CR_RBX, CR_R11, CR_R10, CR_R9, CR_R8, CR_RAX, CR_RCX, CR_RDX,
	CR_RSI, CR_RDI, CR_ORIG_RAX, CR_RIP, CR_CS, CR_EFLAGS, CR_RSP, CR_SS, CR_FS_BASE, CR_GS_BASE, CR_DS,
	CR_ES, CR_FS, CR_GS, CR_NREGS
};

struct crash_thread {
	uint32_t tid;
	int32_t cursig;
	uint64_t regs[CR_NREGS];
	bool have_fp;
	uint8_t fxsave[512];   /* NT_PRFPREG: the FXSAVE area */
	/* Stack memory captured from the PT_LOAD data. */
	uint64_t stack_start;
	uint32_t stack_len;    /* bytes wanted */
	uint32_t stack_got;    /* bytes found (the rest of stack is zero) */
	uint8_t *stack;
};

struct crash_map {
	uint64_t start, end, pgoff;  /* pgoff in bytes */
	uint32_t flags;              /* PF_R/W/X of the covering PT_LOAD, 0 unknown */
	uint16_t path;               /* index into crash.paths, 0xffff: anonymous */
};

struct crash_module {
	uint64_t base, end;
	char path[CRASH_PATH_MAX];
	uint8_t build_id[CRASH_BUILD_ID_MAX];
	uint32_t build_id_len;
	uint8_t head[4096];          /* the first page, when the core held it */
	uint32_t head_got;
};

struct crash {
	/* From the kernel's arguments (%P %s %e) and the notes. */
	uint32_t pid;
	int32_t signal, si_code;
	uint64_t fault_addr;
	bool have_siginfo;
	char comm[17];
	char cmdline[81];            /* NT_PRPSINFO pr_psargs */
	char exe[CRASH_PATH_MAX];
	uint32_t uid, gid;
	struct crash_thread threads[CRASH_MAX_THREADS];
	unsigned nthreads;           /* threads[0] crashed (first NT_PRSTATUS) */
	uint64_t auxv[2 * 64];
	unsigned nauxv;              /* pairs */
	struct crash_map maps[CRASH_MAX_MAPS];
	unsigned nmaps;
	char *paths;                 /* NT_FILE names, NUL-separated (owned) */
	size_t paths_len;
	uint32_t path_off[CRASH_MAX_MAPS];
	struct crash_module modules[CRASH_MAX_MODULES];
	unsigned nmodules;
	uint64_t bytes_read;
	char error[128];             /* first problem met, "" when none */
};

/* Where the core comes from: a file descriptor (the pipe) or memory
 * (fuzzing, tests). */
struct crash_src {
	int fd;
	const uint8_t *mem;
	size_t len;
};

/* Parse a core. c must be zeroed, with pid/signal/comm already set from the
 * arguments (they stay when the core says nothing). Returns 0 when the core
 * parsed (possibly partly: c->error says what was missing), -EINVAL when it
 * is not an x86-64 ELF core at all, -ENOMEM. A parsed core is read to its
 * end (up to CRASH_READ_MAX); after an error the caller drains the rest. */
int crash_parse(struct crash *c, const struct crash_src *src);
/* Free what crash_parse allocated. */
void crash_free(struct crash *c);
/* Path of map m ("" when anonymous). */
const char *crash_map_path(const struct crash *c, const struct crash_map *m);

/* A growing output buffer. */
struct crash_buf {
	uint8_t *data;
	size_t len, cap;
	bool oom;
};
void crash_buf_free(struct crash_buf *b);
/* Append n bytes (sets oom instead of failing). */
void crash_buf_put(struct crash_buf *b, const void *p, size_t n);

/* The JSON report (report.c). */
int crash_report_json(const struct crash *c, struct crash_buf *out);
/* The minidump (minidump.c). time is the header's TimeDateStamp (golden
 * tests pass a fixed one); uname is SystemInfo's CSD version string. */
int crash_minidump(const struct crash *c, uint32_t time, const char *uname, struct crash_buf *out);
#endif
