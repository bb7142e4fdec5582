#include "vmm/arch/x86_64/loader.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/arch/x86_64/layout.h"
#include "vmm/arch/x86_64/payload.h"

/* Largest unpacked kernel payload vmm takes (an ELF vmlinux is ~10-70 MiB). */
#define LOADER_PAYLOAD_MAX (512ULL << 20)

static int loader_fail(char *err, size_t errlen, int rc, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int loader_fail(char *err, size_t errlen, int rc, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s: ", path);

	if (n < 0 || (size_t)n >= errlen)
		return rc;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	/* One line, whatever bytes the path held. */
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return rc;
}

/* pread exactly len bytes at off, retrying on EINTR and short reads.
 * -EIO on a short file. */
static int loader_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Where an ELF vmlinux is read from: its file, or memory (a bzImage's
 * payload unpacked by vmm). */
struct loader_src {
	int fd;
	const uint8_t *mem;
	uint64_t size;
};

static int loader_read(const struct loader_src *s, void *buf, size_t len, uint64_t off)
{
	if (!s->mem)
		return loader_pread_full(s->fd, buf, len, off);
	if (off > s->size || len > s->size - off)
		return -EIO;
	memcpy(buf, s->mem + off, len);
	return 0;
}

/* Copy len file bytes at off into guest memory at gpa (already checked). */
static int loader_copy(const struct gm *gm, int fd, uint64_t off, uint64_t gpa, uint64_t len)
{
	void *dst = gm_translate(gm, gpa, len);

	if (!dst)
		return -ENOMEM;
	return loader_pread_full(fd, dst, len, off);
}

static int loader_elf(const struct gm *gm, const struct loader_src *src, const char *path,
		      struct loader_kernel *k, char *err, size_t errlen)
{
	uint64_t fsize = src->size;
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	int rc, nload = 0, entry_ok = 0;

	if (fsize < sizeof(eh))
		return loader_fail(err, errlen, -ENOEXEC, path, "truncated ELF header (%llu bytes)",
				   (unsigned long long)fsize);
	rc = loader_read(src, &eh, sizeof(eh), 0);
	if (rc)
		return loader_fail(err, errlen, rc, path, "read failed: %s", strerror(-rc));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return loader_fail(err, errlen, -ENOEXEC, path, "not a 64-bit little-endian ELF");
	if (eh.e_machine != EM_X86_64)
		return loader_fail(err, errlen, -ENOEXEC, path, "ELF machine %u is not x86_64", eh.e_machine);
	if (eh.e_type != ET_EXEC)
		return loader_fail(err, errlen, -ENOEXEC, path, "ELF type %u is not an executable (vmlinux)", eh.e_type);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64)
		return loader_fail(err, errlen, -ENOEXEC, path, "bad program header table (%u entries of %u bytes)",
				   eh.e_phnum, eh.e_phentsize);
	if (eh.e_phoff > fsize || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > fsize - eh.e_phoff)
		return loader_fail(err, errlen, -ENOEXEC, path, "truncated: program headers past end of file");
	rc = loader_read(src, ph, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff);
	if (rc)
		return loader_fail(err, errlen, rc, path, "read failed: %s", strerror(-rc));

	k->end = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		uint8_t *dst;

		if (p->p_type != PT_LOAD)
			continue;
		if (p->p_filesz > p->p_memsz)
			return loader_fail(err, errlen, -ENOEXEC, path, "segment %u: file size exceeds memory size", i);
		if (p->p_offset > fsize || p->p_filesz > fsize - p->p_offset)
			return loader_fail(err, errlen, -ENOEXEC, path, "truncated: segment %u ends past end of file", i);
		dst = gm_translate(gm, p->p_paddr, p->p_memsz);
		if (!dst)
			return loader_fail(err, errlen, -ENOMEM, path,
					   "segment %u at 0x%llx (%llu bytes) does not fit in guest RAM (raise -m)", i,
					   (unsigned long long)p->p_paddr, (unsigned long long)p->p_memsz);
		/* The low 1 MiB holds our boot structures; a kernel never loads there. */
		if (p->p_paddr < X86_HIMEM_START)
			return loader_fail(err, errlen, -ENOEXEC, path, "segment %u at 0x%llx overlaps the boot area below 1 MiB",
					   i, (unsigned long long)p->p_paddr);
		rc = loader_read(src, dst, p->p_filesz, p->p_offset);
		if (rc)
			return loader_fail(err, errlen, rc, path, "reading segment %u: %s", i, strerror(-rc));
		memset(dst + p->p_filesz, 0, p->p_memsz - p->p_filesz);
		if (p->p_paddr + p->p_memsz > k->end)
			k->end = p->p_paddr + p->p_memsz;
		if (eh.e_entry >= p->p_paddr && eh.e_entry - p->p_paddr < p->p_memsz)
			entry_ok = 1;
		nload++;
	}
	if (!nload)
		return loader_fail(err, errlen, -ENOEXEC, path, "no loadable segments");
	/* vmlinux's e_entry is phys_startup_64 (arch/x86/kernel/vmlinux.lds.S). */
	if (!entry_ok)
		return loader_fail(err, errlen, -ENOEXEC, path, "entry point 0x%llx outside the loaded segments",
				   (unsigned long long)eh.e_entry);
	k->entry = eh.e_entry;
	k->bzimage = 0;
	k->cmdline_max = X86_CMDLINE_MAX - 1;
	/* No header to ask: the protocol's default for old kernels. */
	k->initrd_max = 0x37ffffff;
	return 0;
}

/* Unpack the bzImage's payload (already in guest memory at pm) on the host
 * and load the vmlinux inside it at its link address; k keeps the bzImage's
 * header for the zero page. -ENOTSUP when the payload is not one vmm
 * unpacks (the kernel's own decompressor then runs in the guest). */
static int loader_unpacked(const struct gm *gm, const uint8_t *pm, uint64_t pm_size, const char *path,
			   struct loader_kernel *k, char *err, size_t errlen)
{
	const struct setup_header *h = &k->hdr;
	struct loader_kernel e;
	uint8_t *buf;
	size_t size;
	int rc;

	/* A relocatable kernel picks its own (KASLR) address in its
	 * decompressor: keep that. boot.rst: payload fields from 2.08. */
	if (h->relocatable_kernel || h->version < 0x0208 || !h->payload_length ||
	    h->payload_offset > pm_size || h->payload_length > pm_size - h->payload_offset)
		return -ENOTSUP;
	size = payload_size(pm + h->payload_offset, h->payload_length);
	if (!size)
		return -ENOTSUP;
	if (size > LOADER_PAYLOAD_MAX)
		return loader_fail(err, errlen, -ENOEXEC, path, "compressed kernel claims %zu MiB unpacked (max %llu)",
				   size >> 20, LOADER_PAYLOAD_MAX >> 20);
	buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return loader_fail(err, errlen, -errno, path, "%zu MiB for unpacking the kernel: %s", size >> 20,
				   strerror(errno));
	rc = payload_unpack(pm + h->payload_offset, h->payload_length, buf, size);
	if (rc)
		rc = loader_fail(err, errlen, rc == -ENOMEM ? rc : -ENOEXEC, path, "compressed kernel payload: %s",
				 rc == -EINVAL ? "corrupt" : strerror(-rc));
	else
		rc = loader_elf(gm, &(struct loader_src){ .fd = -1, .mem = buf, .size = size }, path, &e, err, errlen);
	munmap(buf, size);
	if (rc)
		return rc;
	k->entry = e.entry;
	if (e.end > k->end)
		k->end = e.end;
	return 0;
}

/* boot.rst "The real-mode kernel header": setup header at 0x1f1, "HdrS" at
 * 0x202, the protected-mode kernel after (setup_sects + 1) sectors. */
static int loader_bzimage(const struct gm *gm, int fd, const char *path, uint64_t fsize,
			  struct loader_kernel *k, char *err, size_t errlen)
{
	uint8_t boot[0x280];
	struct setup_header *h = (struct setup_header *)(boot + 0x1f1);
	uint64_t setup_size, pm_size, need;
	size_t hdr_len;
	int rc;

	if (fsize < sizeof(boot))
		return loader_fail(err, errlen, -ENOEXEC, path, "truncated: %llu bytes is too small for a kernel",
				   (unsigned long long)fsize);
	rc = loader_pread_full(fd, boot, sizeof(boot), 0);
	if (rc)
		return loader_fail(err, errlen, rc, path, "read failed: %s", strerror(-rc));
	if (h->version < 0x020c)
		return loader_fail(err, errlen, -EPROTONOSUPPORT, path,
				   "boot protocol %u.%02u is too old (need 2.12+ for the 64-bit entry)",
				   h->version >> 8, h->version & 0xff);
	if (!(h->xloadflags & XLF_KERNEL_64))
		return loader_fail(err, errlen, -ENOEXEC, path, "bzImage has no 64-bit entry point (XLF_KERNEL_64 clear)");
	if (!(h->loadflags & LOADED_HIGH))
		return loader_fail(err, errlen, -ENOEXEC, path, "zImage (not loaded high) is not supported");
	setup_size = ((uint64_t)(h->setup_sects ? h->setup_sects : 4) + 1) * 512;
	if (setup_size >= fsize)
		return loader_fail(err, errlen, -ENOEXEC, path, "truncated: no protected-mode kernel after %llu setup bytes",
				   (unsigned long long)setup_size);
	pm_size = fsize - setup_size;
	/* syssize counts 16-byte paragraphs of the protected-mode code. */
	if ((uint64_t)h->syssize * 16 > pm_size)
		return loader_fail(err, errlen, -ENOEXEC, path, "truncated: header says %llu bytes of kernel, file has %llu",
				   (unsigned long long)h->syssize * 16, (unsigned long long)pm_size);
	/* init_size is the memory the kernel needs from its load address
	 * while decompressing (2.10+). */
	need = h->init_size > pm_size ? h->init_size : pm_size;
	if (!gm_translate(gm, X86_BZIMAGE_ADDR, need))
		return loader_fail(err, errlen, -ENOMEM, path, "kernel needs %llu MiB above 1 MiB; guest RAM is too small (raise -m)",
				   (unsigned long long)(need >> 20) + 1);
	rc = loader_copy(gm, fd, setup_size, X86_BZIMAGE_ADDR, pm_size);
	if (rc)
		return loader_fail(err, errlen, rc, path, "reading kernel: %s", strerror(-rc));

	/* Copy only the header bytes this kernel defines: 0x202 + jump offset. */
	hdr_len = 0x202 + boot[0x201] - 0x1f1;
	if (hdr_len > sizeof(*h))
		hdr_len = sizeof(*h);
	memset(&k->hdr, 0, sizeof(k->hdr));
	memcpy(&k->hdr, h, hdr_len);
	k->bzimage = 1;
	/* The 64-bit entry is 0x200 past the 32-bit one (boot.rst "64-bit BOOT PROTOCOL"). */
	k->entry = X86_BZIMAGE_ADDR + 0x200;
	k->end = X86_BZIMAGE_ADDR + need;
	k->cmdline_max = h->cmdline_size ? h->cmdline_size : 255;
	if (k->cmdline_max > X86_CMDLINE_MAX - 1)
		k->cmdline_max = X86_CMDLINE_MAX - 1;
	k->initrd_max = h->initrd_addr_max ? h->initrd_addr_max : 0x37ffffff;
	rc = loader_unpacked(gm, gm_translate(gm, X86_BZIMAGE_ADDR, pm_size), pm_size, path, k, err, errlen);
	return rc == -ENOTSUP ? 0 : rc;
}

int loader_kernel(const struct gm *gm, int fd, const char *path, struct loader_kernel *k,
		  char *err, size_t errlen)
{
	uint8_t magic[4];
	uint8_t sig[2];
	struct stat st;
	int rc;

	memset(k, 0, sizeof(*k));
	if (fstat(fd, &st) < 0)
		return loader_fail(err, errlen, -errno, path, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return loader_fail(err, errlen, -ENOEXEC, path, "not a regular file");
	if (st.st_size < 4)
		return loader_fail(err, errlen, -ENOEXEC, path, "not a kernel: file is %lld bytes", (long long)st.st_size);
	rc = loader_pread_full(fd, magic, 4, 0);
	if (rc)
		return loader_fail(err, errlen, rc, path, "read failed: %s", strerror(-rc));
	if (!memcmp(magic, ELFMAG, SELFMAG))
		return loader_elf(gm, &(struct loader_src){ .fd = fd, .size = (uint64_t)st.st_size }, path, k, err,
				  errlen);
	/* bzImage: boot_flag 0xAA55 at 0x1fe, "HdrS" at 0x202. */
	if (st.st_size >= 0x206 && loader_pread_full(fd, sig, 2, 0x1fe) == 0 &&
	    sig[0] == 0x55 && sig[1] == 0xaa &&
	    loader_pread_full(fd, magic, 4, 0x202) == 0 && !memcmp(magic, "HdrS", 4))
		return loader_bzimage(gm, fd, path, (uint64_t)st.st_size, k, err, errlen);
	return loader_fail(err, errlen, -ENOEXEC, path, "not a kernel: neither an ELF vmlinux nor a bzImage (bad magic)");
}

int loader_initrd(const struct gm *gm, int fd, const char *path, const struct loader_kernel *k,
		  uint64_t *gpa, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;
	uint64_t top, addr, len;
	int rc;

	if (fstat(fd, &st) < 0)
		return loader_fail(err, errlen, -errno, path, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return loader_fail(err, errlen, -EINVAL, path, "initrd is not a regular file");
	len = (uint64_t)st.st_size;
	if (len == 0)
		return loader_fail(err, errlen, -EINVAL, path, "initrd is empty");
	/* Highest usable byte: below initrd_addr_max and inside low RAM. */
	top = gm->r[0].gpa + gm->r[0].size;
	if (k->initrd_max + 1 < top)
		top = k->initrd_max + 1;
	if (len > top || ((top - len) & ~0xfffULL) < k->end)
		return loader_fail(err, errlen, -ENOMEM, path,
				   "initrd of %llu bytes does not fit between the kernel and the end of low RAM (raise -m)",
				   (unsigned long long)len);
	addr = (top - len) & ~0xfffULL;
	rc = loader_copy(gm, fd, 0, addr, len);
	if (rc)
		return loader_fail(err, errlen, rc, path, "reading initrd: %s", strerror(-rc));
	*gpa = addr;
	*size = len;
	return 0;
}
