/* A Breakpad minidump from a parsed core (crash.h). Layout and constants
 * from Breakpad's src/google_breakpad/common/minidump_format.h (the
 * Windows MINIDUMP_* structures plus Breakpad's Linux streams): header,
 * stream directory, then the streams; everything little-endian, RVAs are
 * file offsets. Streams: ThreadList (each thread's AMD64 context and
 * stack), ModuleList (CodeView 'BpEL' records holding the GNU build-id),
 * MemoryList (the stacks), Exception (signal, si_code, fault address),
 * SystemInfo, and Linux cmdline, auxv and maps. */
#include "guest-agents/crash_collector/crash.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MD_SIGNATURE 0x504d444du      /* "MDMP" */
#define MD_VERSION 0xa793u            /* MINIDUMP_VERSION */
#define MD_THREAD_LIST_STREAM 3
#define MD_MODULE_LIST_STREAM 4
#define MD_MEMORY_LIST_STREAM 5
#define MD_EXCEPTION_STREAM 6
#define MD_SYSTEM_INFO_STREAM 7
#define MD_LINUX_CMD_LINE 0x47670006u
#define MD_LINUX_AUXV 0x47670008u
#define MD_LINUX_MAPS 0x47670009u
#define MD_CPU_ARCHITECTURE_AMD64 9
#define MD_OS_LINUX 0x8201u
#define MD_CVINFOELF_SIGNATURE 0x4270454cu  /* "BpEL" */
/* MDRawContextAMD64: 1232 bytes; CONTROL | INTEGER | SEGMENTS | FLOATING_POINT. */
#define MD_CONTEXT_AMD64_SIZE 1232
#define MD_CONTEXT_AMD64 0x00100000u
#define MD_CONTEXT_AMD64_FLAGS (MD_CONTEXT_AMD64 | 0x1 | 0x2 | 0x4 | 0x8)
#define MD_NSTREAMS 8

static size_t md_alloc(struct crash_buf *b, size_t n)
{
	size_t at = (b->len + 7) & ~(size_t)7, need = at + n;

	if (b->oom)
		return 0;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		uint8_t *p;
		while (cap < need)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p) {
			b->oom = true;
			return 0;
		}
		b->data = p;
		b->cap = cap;
	}
	memset(b->data + b->len, 0, need - b->len);
	b->len = need;
	return at;
}

static void md_put(struct crash_buf *b, size_t at, const void *p, size_t n)
{
	if (!b->oom)
		memcpy(b->data + at, p, n);
}

static void md_u16(struct crash_buf *b, size_t at, uint16_t v) { md_put(b, at, &v, 2); }
static void md_u32(struct crash_buf *b, size_t at, uint32_t v) { md_put(b, at, &v, 4); }
static void md_u64(struct crash_buf *b, size_t at, uint64_t v) { md_put(b, at, &v, 8); }

/* MINIDUMP_STRING: u32 byte length, UTF-16LE, a 16-bit NUL (not counted).
 * Bytes outside ASCII become '?' (paths are ASCII in practice). */
static uint32_t md_string(struct crash_buf *b, const char *s)
{
	size_t n = strlen(s), at = md_alloc(b, 4 + 2 * n + 2);

	md_u32(b, at, (uint32_t)(2 * n));
	for (size_t i = 0; i < n; i++)
		md_u16(b, at + 4 + 2 * i, (unsigned char)s[i] < 0x80 ? (uint16_t)s[i] : '?');
	return (uint32_t)at;
}

static uint32_t md_blob(struct crash_buf *b, const void *p, size_t n)
{
	size_t at = md_alloc(b, n);

	md_put(b, at, p, n);
	return (uint32_t)at;
}

/* MDRawContextAMD64 from user_regs_struct (+ FXSAVE as flt_save). */
static uint32_t md_context(struct crash_buf *b, const struct crash_thread *t)
{
	static const struct { unsigned off, reg; } gp[] = {
		{ 120, CR_RAX }, { 128, CR_RCX }, { 136, CR_RDX }, { 144, CR_RBX }, { 152, CR_RSP }, { 160, CR_RBP },
		{ 168, CR_RSI }, { 176, CR_RDI }, { 184, CR_R8 }, { 192, CR_R9 }, { 200, CR_R10 }, { 208, CR_R11 },
		{ 216, CR_R12 }, { 224, CR_R13 }, { 232, CR_R14 }, { 240, CR_R15 }, { 248, CR_RIP },
	};
	size_t at = md_alloc(b, MD_CONTEXT_AMD64_SIZE);

	md_u32(b, at + 48, t->have_fp ? MD_CONTEXT_AMD64_FLAGS : MD_CONTEXT_AMD64_FLAGS & ~0x8u);
	if (t->have_fp)
		md_put(b, at + 52, t->fxsave + 24, 4);  /* mx_csr (FXSAVE byte 24) */
	md_u16(b, at + 56, (uint16_t)t->regs[CR_CS]);
	md_u16(b, at + 58, (uint16_t)t->regs[CR_DS]);
	md_u16(b, at + 60, (uint16_t)t->regs[CR_ES]);
	md_u16(b, at + 62, (uint16_t)t->regs[CR_FS]);
	md_u16(b, at + 64, (uint16_t)t->regs[CR_GS]);
	md_u16(b, at + 66, (uint16_t)t->regs[CR_SS]);
	md_u32(b, at + 68, (uint32_t)t->regs[CR_EFLAGS]);
	for (size_t i = 0; i < sizeof(gp) / sizeof(gp[0]); i++)
		md_u64(b, at + gp[i].off, t->regs[gp[i].reg]);
	if (t->have_fp)
		md_put(b, at + 256, t->fxsave, 512);
	return (uint32_t)at;
}

static void md_dir(struct crash_buf *b, unsigned i, uint32_t type, uint32_t size, uint32_t rva)
{
	size_t at = 32 + 12 * i;

	md_u32(b, at, type);
	md_u32(b, at + 4, size);
	md_u32(b, at + 8, rva);
}

int crash_minidump(const struct crash *c, uint32_t time, const char *uname, struct crash_buf *b)
{
	uint32_t ctx[CRASH_MAX_THREADS], stack_rva[CRASH_MAX_THREADS];
	size_t at, n;
	unsigned s = 0;
	char line[CRASH_PATH_MAX + 96];
	struct crash_buf maps = { 0 };

	b->len = 0;
	at = md_alloc(b, 32 + 12 * MD_NSTREAMS);
	md_u32(b, at, MD_SIGNATURE);
	md_u32(b, at + 4, MD_VERSION);
	md_u32(b, at + 8, MD_NSTREAMS);
	md_u32(b, at + 12, 32);
	md_u32(b, at + 20, time);

	/* Contexts and stacks first, so lists can point at them. */
	for (unsigned i = 0; i < c->nthreads; i++) {
		const struct crash_thread *t = &c->threads[i];
		ctx[i] = md_context(b, t);
		stack_rva[i] = t->stack_got ? md_blob(b, t->stack, t->stack_len) : 0;
	}
	/* ThreadList: u32 count, MDRawThread (48 bytes) each. */
	n = 4 + 48 * (size_t)c->nthreads;
	at = md_alloc(b, n);
	md_u32(b, at, c->nthreads);
	for (unsigned i = 0; i < c->nthreads; i++) {
		const struct crash_thread *t = &c->threads[i];
		size_t e = at + 4 + 48 * i;
		md_u32(b, e, t->tid);
		md_u64(b, e + 24, t->stack_start);
		md_u32(b, e + 32, t->stack_got ? t->stack_len : 0);
		md_u32(b, e + 36, stack_rva[i]);
		md_u32(b, e + 40, MD_CONTEXT_AMD64_SIZE);
		md_u32(b, e + 44, ctx[i]);
	}
	md_dir(b, s++, MD_THREAD_LIST_STREAM, (uint32_t)n, (uint32_t)at);

	/* ModuleList: u32 count, MDRawModule (108 bytes, packed) each. */
	{
		uint32_t name[CRASH_MAX_MODULES], cv[CRASH_MAX_MODULES];
		for (unsigned i = 0; i < c->nmodules; i++) {
			const struct crash_module *m = &c->modules[i];
			size_t r;
			name[i] = md_string(b, m->path);
			cv[i] = 0;
			if (m->build_id_len) {
				r = md_alloc(b, 4 + m->build_id_len);
				md_u32(b, r, MD_CVINFOELF_SIGNATURE);
				md_put(b, r + 4, m->build_id, m->build_id_len);
				cv[i] = (uint32_t)r;
			}
		}
		n = 4 + 108 * (size_t)c->nmodules;
		at = md_alloc(b, n);
		md_u32(b, at, c->nmodules);
		for (unsigned i = 0; i < c->nmodules; i++) {
			const struct crash_module *m = &c->modules[i];
			size_t e = at + 4 + 108 * i;
			uint64_t size = m->end - m->base;
			md_u64(b, e, m->base);
			md_u32(b, e + 8, size > UINT32_MAX ? UINT32_MAX : (uint32_t)size);
			md_u32(b, e + 20, name[i]);
			/* cv_record at 76 (after the 52-byte VS_FIXEDFILEINFO at 24). */
			if (cv[i]) {
				md_u32(b, e + 76, 4 + m->build_id_len);
				md_u32(b, e + 80, cv[i]);
			}
		}
		md_dir(b, s++, MD_MODULE_LIST_STREAM, (uint32_t)n, (uint32_t)at);
	}

	/* MemoryList: the stacks (the same bytes the threads point at). Two
	 * threads whose sp lie in one mapping can have overlapping windows;
	 * readers refuse overlapping regions, so such a later one is only in
	 * its thread's descriptor. */
	{
		bool in_list[CRASH_MAX_THREADS] = { false };
		unsigned nm = 0;
		for (unsigned i = 0; i < c->nthreads; i++) {
			const struct crash_thread *t = &c->threads[i];
			bool overlap = false;
			for (unsigned k = 0; k < i && !overlap; k++)
				overlap = in_list[k] && t->stack_start < c->threads[k].stack_start + c->threads[k].stack_len &&
					  c->threads[k].stack_start < t->stack_start + t->stack_len;
			in_list[i] = t->stack_got && !overlap;
			nm += in_list[i];
		}
		n = 4 + 16 * (size_t)nm;
		at = md_alloc(b, n);
		md_u32(b, at, nm);
		for (unsigned i = 0, k = 0; i < c->nthreads; i++) {
			if (!in_list[i])
				continue;
			md_u64(b, at + 4 + 16 * k, c->threads[i].stack_start);
			md_u32(b, at + 12 + 16 * k, c->threads[i].stack_len);
			md_u32(b, at + 16 + 16 * k, stack_rva[i]);
			k++;
		}
		md_dir(b, s++, MD_MEMORY_LIST_STREAM, (uint32_t)n, (uint32_t)at);
	}

	/* Exception: Breakpad's Linux convention: code = signal number,
	 * flags = si_code, address = si_addr. */
	at = md_alloc(b, 168);
	if (c->nthreads) {
		md_u32(b, at, c->threads[0].tid);
		md_u32(b, at + 160, MD_CONTEXT_AMD64_SIZE);
		md_u32(b, at + 164, ctx[0]);
	}
	md_u32(b, at + 8, (uint32_t)c->signal);
	md_u32(b, at + 12, (uint32_t)c->si_code);
	md_u64(b, at + 24, c->fault_addr);
	md_dir(b, s++, MD_EXCEPTION_STREAM, 168, (uint32_t)at);

	/* SystemInfo (56 bytes). */
	{
		uint32_t csd = md_string(b, uname ? uname : "");
		at = md_alloc(b, 56);
		md_u16(b, at, MD_CPU_ARCHITECTURE_AMD64);
		md_u16(b, at + 2, 6);
		md_put(b, at + 6, "\1", 1);  /* number_of_processors: not in a core; 1 */
		md_u32(b, at + 20, MD_OS_LINUX);
		md_u32(b, at + 24, csd);
		md_dir(b, s++, MD_SYSTEM_INFO_STREAM, 56, (uint32_t)at);
	}

	/* Linux streams: cmdline (NUL-terminated), auxv (raw), maps (text as
	 * /proc/PID/maps). */
	n = strlen(c->cmdline) + 1;
	at = md_blob(b, c->cmdline, n);
	md_dir(b, s++, MD_LINUX_CMD_LINE, (uint32_t)n, (uint32_t)at);
	n = c->nauxv * 16u;
	at = md_blob(b, c->auxv, n ? n : 0);
	md_dir(b, s++, MD_LINUX_AUXV, (uint32_t)n, (uint32_t)at);
	for (unsigned i = 0; i < c->nmaps; i++) {
		const struct crash_map *m = &c->maps[i];
		int l = snprintf(line, sizeof(line), "%08llx-%08llx %c%c%cp %08llx 00:00 0 %s\n",
				 (unsigned long long)m->start, (unsigned long long)m->end, m->flags & PF_R ? 'r' : '-',
				 m->flags & PF_W ? 'w' : '-', m->flags & PF_X ? 'x' : '-', (unsigned long long)m->pgoff,
				 crash_map_path(c, m));
		if (l > 0)
			crash_buf_put(&maps, line, (size_t)l < sizeof(line) ? (size_t)l : sizeof(line) - 1);
	}
	at = md_blob(b, maps.data, maps.len);
	md_dir(b, s++, MD_LINUX_MAPS, (uint32_t)maps.len, (uint32_t)at);
	crash_buf_free(&maps);
	return b->oom ? -ENOMEM : 0;
}
