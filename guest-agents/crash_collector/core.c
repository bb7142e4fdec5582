/* The ELF core parser (crash.h): one pass over the stream, notes first
 * (fs/binfmt_elf.c writes ELF header, program headers, the PT_NOTE data,
 * then each PT_LOAD's bytes in order), keeping only what the report and
 * the minidump need: thread registers, signal info, auxv, the mapped
 * files, each thread's stack window and each module's first page. */
#include "guest-agents/crash_collector/crash.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CORE_SIGINFO 0x53494749  /* NT_SIGINFO, "SIGI" */
#define CORE_FILE 0x46494c45     /* NT_FILE, "FILE" */
/* struct elf_prstatus (x86-64): pr_pid at 32, pr_reg at 112. */
#define PRSTATUS_SIZE 336
#define PRSTATUS_PID 32
#define PRSTATUS_REG 112
/* struct elf_prpsinfo (x86-64): pr_uid 16, pr_gid 20, pr_fname 40, pr_psargs 56. */
#define PRPSINFO_SIZE 136

struct core_rd {
	const struct crash_src *src;
	uint64_t pos;
	uint8_t buf[65536];
	size_t blen, boff;
	bool eof;
};

/* Up to n bytes into dst (NULL: discard). Returns the count; short at EOF
 * or at CRASH_READ_MAX. */
static size_t core_read(struct core_rd *r, void *dst, size_t n)
{
	size_t got = 0;

	while (got < n && !r->eof) {
		size_t k;
		if (r->pos >= CRASH_READ_MAX) {
			r->eof = true;
			break;
		}
		if (r->src->mem) {
			k = r->pos < r->src->len ? r->src->len - (size_t)r->pos : 0;
			if (!k) {
				r->eof = true;
				break;
			}
			k = k < n - got ? k : n - got;
			if (dst)
				memcpy((uint8_t *)dst + got, r->src->mem + r->pos, k);
		} else {
			if (r->boff == r->blen) {
				ssize_t m = read(r->src->fd, r->buf, sizeof(r->buf));
				if (m < 0 && errno == EINTR)
					continue;
				if (m <= 0) {
					r->eof = true;
					break;
				}
				r->blen = (size_t)m;
				r->boff = 0;
			}
			k = r->blen - r->boff < n - got ? r->blen - r->boff : n - got;
			if (dst)
				memcpy((uint8_t *)dst + got, r->buf + r->boff, k);
			r->boff += k;
		}
		got += k;
		r->pos += k;
	}
	return got;
}

static int core_skip_to(struct core_rd *r, uint64_t off)
{
	if (off < r->pos)
		return -EINVAL;  /* a segment overlapping what was read: stream order only */
	while (r->pos < off && !r->eof)
		core_read(r, NULL, off - r->pos > (1u << 20) ? (1u << 20) : (size_t)(off - r->pos));
	return r->pos == off ? 0 : -EIO;
}

static void core_err(struct crash *c, const char *what)
{
	if (!c->error[0])
		snprintf(c->error, sizeof(c->error), "%s", what);
}

static uint64_t core_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t core_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void core_prstatus(struct crash *c, const uint8_t *d, uint32_t n)
{
	struct crash_thread *t;
	int16_t cursig;

	if (n < PRSTATUS_SIZE) {
		core_err(c, "short NT_PRSTATUS");
		return;
	}
	if (c->nthreads >= CRASH_MAX_THREADS) {
		core_err(c, "too many threads (kept the first 64)");
		return;
	}
	t = &c->threads[c->nthreads++];
	memcpy(&cursig, d + 12, 2);
	t->cursig = cursig;
	t->tid = core_u32(d + PRSTATUS_PID);
	for (int i = 0; i < CR_NREGS; i++)
		t->regs[i] = core_u64(d + PRSTATUS_REG + 8 * i);
}

static void core_prpsinfo(struct crash *c, const uint8_t *d, uint32_t n)
{
	if (n < PRPSINFO_SIZE) {
		core_err(c, "short NT_PRPSINFO");
		return;
	}
	c->uid = core_u32(d + 16);
	c->gid = core_u32(d + 20);
	if (!c->comm[0])
		memcpy(c->comm, d + 40, 16);
	c->comm[16] = 0;
	memcpy(c->cmdline, d + 56, 80);
	c->cmdline[80] = 0;
	/* pr_psargs separates arguments with spaces, and ends with one. */
	for (int i = (int)strlen(c->cmdline) - 1; i >= 0 && c->cmdline[i] == ' '; i--)
		c->cmdline[i] = 0;
}

static void core_file(struct crash *c, const uint8_t *d, uint32_t n)
{
	uint64_t count, page;
	const uint8_t *names;
	size_t left;

	/* NT_FILE: count, page size, count x (start, end, file page), names. */
	if (n < 16)
		return core_err(c, "short NT_FILE");
	count = core_u64(d);
	page = core_u64(d + 8);
	if (count > CRASH_MAX_MAPS || count * 24 > n - 16 || page == 0 || page > (1u << 30))
		return core_err(c, "NT_FILE out of bounds");
	names = d + 16 + count * 24;
	left = n - 16 - count * 24;
	c->paths = malloc(left + 1);
	if (!c->paths)
		return core_err(c, "out of memory");
	memcpy(c->paths, names, left);
	c->paths[left] = 0;
	c->paths_len = left;
	for (uint64_t i = 0, off = 0; i < count && off < left && c->nmaps < CRASH_MAX_MAPS; i++) {
		struct crash_map *m = &c->maps[c->nmaps];
		size_t l = strnlen(c->paths + off, left - off);

		m->start = core_u64(d + 16 + i * 24);
		m->end = core_u64(d + 24 + i * 24);
		m->pgoff = core_u64(d + 32 + i * 24) * page;
		m->path = (uint16_t)c->nmaps;
		c->path_off[c->nmaps] = (uint32_t)off;
		off += l + 1;
		if (m->end > m->start)
			c->nmaps++;
	}
}

static void core_notes(struct crash *c, const uint8_t *p, size_t n)
{
	size_t off = 0;

	/* Elf64_Nhdr, name and descriptor each padded to 4 bytes. */
	while (off + 12 <= n) {
		uint32_t namesz = core_u32(p + off), descsz = core_u32(p + off + 4), type = core_u32(p + off + 8);
		size_t name_at = off + 12, desc_at = name_at + ((namesz + 3ull) & ~3ull);
		const uint8_t *desc = p + desc_at;

		if (namesz > n || descsz > n || desc_at > n || descsz > n - desc_at)
			return core_err(c, "note out of bounds");
		off = desc_at + ((descsz + 3ull) & ~3ull);
		if (namesz == 5 && !memcmp(p + name_at, "CORE", 5)) {
			if (type == NT_PRSTATUS)
				core_prstatus(c, desc, descsz);
			else if (type == NT_PRPSINFO)
				core_prpsinfo(c, desc, descsz);
			else if (type == NT_PRFPREG && descsz >= 512 && c->nthreads) {
				/* Follows its thread's NT_PRSTATUS. */
				c->threads[c->nthreads - 1].have_fp = true;
				memcpy(c->threads[c->nthreads - 1].fxsave, desc, 512);
			} else if (type == CORE_SIGINFO && descsz >= 24 && !c->have_siginfo) {
				c->have_siginfo = true;
				memcpy(&c->signal, desc, 4);
				memcpy(&c->si_code, desc + 8, 4);
				/* si_addr for SIGSEGV/SIGBUS/SIGILL/SIGFPE (siginfo(2)). */
				c->fault_addr = core_u64(desc + 16);
			} else if (type == NT_AUXV) {
				c->nauxv = descsz / 16 > 64 ? 64 : descsz / 16;
				memcpy(c->auxv, desc, c->nauxv * 16u);
			} else if (type == CORE_FILE && !c->paths) {
				core_file(c, desc, descsz);
			}
		}
	}
}

const char *crash_map_path(const struct crash *c, const struct crash_map *m)
{
	if (m->path == 0xffff || !c->paths || c->path_off[m->path] >= c->paths_len)
		return "";
	return c->paths + c->path_off[m->path];
}

static uint64_t core_auxv(const struct crash *c, uint64_t type)
{
	for (unsigned i = 0; i < c->nauxv; i++)
		if (c->auxv[2 * i] == type)
			return c->auxv[2 * i + 1];
	return 0;
}

/* After the notes: the exe, the modules and the memory windows wanted. */
static void core_plan(struct crash *c, const Elf64_Phdr *ph, unsigned phnum)
{
	uint64_t entry = core_auxv(c, AT_ENTRY), vdso = core_auxv(c, AT_SYSINFO_EHDR);

	for (unsigned i = 0; i < c->nmaps; i++) {
		const struct crash_map *m = &c->maps[i];
		const char *path = crash_map_path(c, m);
		struct crash_module *mod = NULL;

		if (!path[0])
			continue;
		if (entry >= m->start && entry < m->end && !c->exe[0])
			snprintf(c->exe, sizeof(c->exe), "%s", path);
		for (unsigned k = 0; k < c->nmodules && !mod; k++)
			if (!strcmp(c->modules[k].path, path))
				mod = &c->modules[k];
		if (!mod) {
			if (c->nmodules >= CRASH_MAX_MODULES)
				continue;
			mod = &c->modules[c->nmodules++];
			snprintf(mod->path, sizeof(mod->path), "%s", path);
			mod->base = m->start;
			mod->end = m->end;
		}
		if (m->pgoff == 0 && m->start < mod->base)
			mod->base = m->start;
		if (m->end > mod->end)
			mod->end = m->end;
	}
	if (vdso && c->nmodules < CRASH_MAX_MODULES) {
		struct crash_module *mod = &c->modules[c->nmodules++];
		/* Breakpad's name for it; its size comes from its ELF header. */
		snprintf(mod->path, sizeof(mod->path), "linux-gate.so");
		mod->base = vdso;
		mod->end = vdso + 8192;
	}
	for (unsigned i = 0; i < c->nthreads; i++) {
		struct crash_thread *t = &c->threads[i];
		uint64_t sp = t->regs[CR_RSP], lo, hi;
		const Elf64_Phdr *seg = NULL;

		/* The window stays inside the mapping holding sp (as Breakpad's
		 * own writer does): a neighbouring thread's stack is not ours,
		 * and overlapping memory regions make readers refuse the list. */
		for (unsigned k = 0; k < phnum && !seg; k++)
			if (ph[k].p_type == PT_LOAD && sp >= ph[k].p_vaddr && sp - ph[k].p_vaddr < ph[k].p_memsz)
				seg = &ph[k];
		if (!seg)
			continue;
		lo = sp - seg->p_vaddr >= CRASH_REDZONE ? sp - CRASH_REDZONE : seg->p_vaddr;
		hi = seg->p_vaddr + seg->p_memsz - sp > (i == 0 ? CRASH_STACK_CRASHING : CRASH_STACK_OTHER) ?
			     sp + (i == 0 ? CRASH_STACK_CRASHING : CRASH_STACK_OTHER) :
			     seg->p_vaddr + seg->p_memsz;
		t->stack_start = lo;
		t->stack_len = (uint32_t)(hi - lo);
		t->stack = calloc(1, t->stack_len ? t->stack_len : 1);
		if (!t->stack)
			t->stack_len = 0;
	}
}

/* Copy what we want of [va, va + n) (bytes at p). */
static void core_capture(struct crash *c, uint64_t va, const uint8_t *p, size_t n)
{
	for (unsigned i = 0; i < c->nthreads; i++) {
		struct crash_thread *t = &c->threads[i];
		uint64_t lo = va > t->stack_start ? va : t->stack_start;
		uint64_t hi = va + n < t->stack_start + t->stack_len ? va + n : t->stack_start + t->stack_len;
		if (lo < hi) {
			memcpy(t->stack + (lo - t->stack_start), p + (lo - va), hi - lo);
			t->stack_got += (uint32_t)(hi - lo);
		}
	}
	for (unsigned i = 0; i < c->nmodules; i++) {
		struct crash_module *m = &c->modules[i];
		uint64_t lo = va > m->base ? va : m->base;
		uint64_t hi = va + n < m->base + sizeof(m->head) ? va + n : m->base + sizeof(m->head);
		if (lo < hi) {
			memcpy(m->head + (lo - m->base), p + (lo - va), hi - lo);
			m->head_got += (uint32_t)(hi - lo);
		}
	}
}

/* The GNU build-id note of a module, from the ELF header page it had
 * mapped (the kernel dumps that page of every ELF mapping: coredump_filter
 * bit 4, core(5)). */
static void core_build_id(struct crash_module *m)
{
	const uint8_t *h = m->head;
	uint64_t phoff;
	uint16_t phnum, phentsize;

	if (m->head_got < sizeof(Elf64_Ehdr) || memcmp(h, ELFMAG, SELFMAG) || h[EI_CLASS] != ELFCLASS64)
		return;
	phoff = core_u64(h + 32);
	memcpy(&phentsize, h + 54, 2);
	memcpy(&phnum, h + 56, 2);
	if (phentsize != sizeof(Elf64_Phdr) || phoff >= sizeof(m->head))
		return;
	for (unsigned i = 0; i < phnum && phoff + (i + 1) * sizeof(Elf64_Phdr) <= m->head_got; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, h + phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD && ph.p_offset == 0 && ph.p_memsz > m->end - m->base &&
		    !strcmp(m->path, "linux-gate.so"))
			m->end = m->base + ph.p_memsz;
		if (ph.p_type != PT_NOTE || ph.p_offset >= m->head_got || ph.p_filesz > m->head_got - ph.p_offset)
			continue;
		for (uint64_t off = ph.p_offset; off + 12 <= ph.p_offset + ph.p_filesz;) {
			uint32_t namesz = core_u32(h + off), descsz = core_u32(h + off + 4), type = core_u32(h + off + 8);
			uint64_t desc = off + 12 + ((namesz + 3ull) & ~3ull);
			if (namesz > 4096 || descsz > 4096 || desc + descsz > ph.p_offset + ph.p_filesz)
				break;
			if (type == NT_GNU_BUILD_ID && namesz == 4 && !memcmp(h + off + 12, "GNU", 4) &&
			    descsz <= CRASH_BUILD_ID_MAX) {
				memcpy(m->build_id, h + desc, descsz);
				m->build_id_len = descsz;
				return;
			}
			off = desc + ((descsz + 3ull) & ~3ull);
		}
	}
}

int crash_parse(struct crash *c, const struct crash_src *src)
{
	struct core_rd *r = calloc(1, sizeof(*r));
	Elf64_Phdr *ph = NULL;
	unsigned *order = NULL;
	uint8_t *chunk = NULL;
	Elf64_Ehdr eh;
	int e = 0, planned = 0;

	if (!r)
		return -ENOMEM;
	r->src = src;
	if (core_read(r, &eh, sizeof(eh)) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_type != ET_CORE ||
	    eh.e_machine != EM_X86_64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum >= PN_XNUM || eh.e_phnum > CRASH_MAX_PHDRS || eh.e_phoff < sizeof(eh)) {
		e = -EINVAL;
		goto out;
	}
	ph = calloc(eh.e_phnum, sizeof(*ph));
	order = calloc(eh.e_phnum, sizeof(*order));
	chunk = malloc(1u << 20);
	if (!ph || !order || !chunk) {
		e = -ENOMEM;
		goto out;
	}
	if (core_skip_to(r, eh.e_phoff) < 0 ||
	    core_read(r, ph, eh.e_phnum * sizeof(*ph)) != eh.e_phnum * sizeof(*ph)) {
		e = -EINVAL;
		goto out;
	}
	/* Segments in file order (insertion sort: at most 4096, once). */
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		unsigned k = i;
		for (; k > 0 && ph[order[k - 1]].p_offset > ph[i].p_offset; k--)
			order[k] = order[k - 1];
		order[k] = i;
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[order[i]];
		if (p->p_type == PT_NOTE && !planned) {
			uint8_t *notes;
			if (p->p_filesz > CRASH_MAX_NOTES || core_skip_to(r, p->p_offset) < 0) {
				core_err(c, "notes out of bounds");
				continue;
			}
			notes = malloc(p->p_filesz ? p->p_filesz : 1);
			if (!notes) {
				e = -ENOMEM;
				goto out;
			}
			if (core_read(r, notes, p->p_filesz) == p->p_filesz)
				core_notes(c, notes, p->p_filesz);
			else
				core_err(c, "core ends inside its notes");
			free(notes);
		} else if (p->p_type == PT_LOAD && p->p_filesz) {
			uint64_t done = 0;
			if (!planned) {
				/* Notes come first; plan once before the memory. */
				core_plan(c, ph, eh.e_phnum);
				planned = 1;
			}
			if (core_skip_to(r, p->p_offset) < 0)
				continue;
			while (done < p->p_filesz) {
				size_t want = p->p_filesz - done > (1u << 20) ? (1u << 20) : (size_t)(p->p_filesz - done);
				size_t got = core_read(r, chunk, want);
				core_capture(c, p->p_vaddr + done, chunk, got);
				done += got;
				if (got < want)
					break;
			}
		}
	}
	if (!planned)
		core_plan(c, ph, eh.e_phnum);
	/* Maps without NT_FILE names are the anonymous PT_LOADs: add them so
	 * the maps stream shows the whole address space, with flags. */
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		bool named = false;
		if (p->p_type != PT_LOAD)
			continue;
		/* The kernel writes one PT_LOAD per VMA, so normally they match
		 * one to one; a map takes the flags of the segment holding it. */
		for (unsigned k = 0; k < c->nmaps; k++)
			if (c->maps[k].path != 0xffff && c->maps[k].start >= p->p_vaddr &&
			    c->maps[k].start - p->p_vaddr < p->p_memsz) {
				c->maps[k].flags = p->p_flags;
				named = true;
			}
		if (!named && c->nmaps < CRASH_MAX_MAPS) {
			c->maps[c->nmaps] = (struct crash_map){ .start = p->p_vaddr, .end = p->p_vaddr + p->p_memsz,
								  .flags = p->p_flags, .path = 0xffff };
			c->nmaps++;
		}
	}
	/* Sort the maps by address (insertion sort, bounded). */
	for (unsigned i = 1; i < c->nmaps; i++) {
		struct crash_map m = c->maps[i];
		unsigned k = i;
		for (; k > 0 && c->maps[k - 1].start > m.start; k--)
			c->maps[k] = c->maps[k - 1];
		c->maps[k] = m;
	}
	for (unsigned i = 0; i < c->nmodules; i++)
		core_build_id(&c->modules[i]);
	if (!c->nthreads)
		core_err(c, "no thread in the core");
	/* The kernel waits for the whole core to be read (or the pipe to
	 * close); take the rest. */
	while (!r->eof)
		core_read(r, NULL, 1u << 20);
out:
	c->bytes_read = r->pos;
	free(chunk);
	free(order);
	free(ph);
	free(r);
	return e;
}

void crash_free(struct crash *c)
{
	free(c->paths);
	c->paths = NULL;
	for (unsigned i = 0; i < c->nthreads; i++) {
		free(c->threads[i].stack);
		c->threads[i].stack = NULL;
	}
}

void crash_buf_free(struct crash_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
