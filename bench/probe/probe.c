/* Bare KVM probe: the baseline that `make bench` compares vmm against.
 *
 * It makes only the KVM calls any VMM must make to run a 64-bit guest
 * (Documentation/virt/kvm/api.rst): open /dev/kvm, KVM_CREATE_VM, TSS and
 * identity-map addresses, in-kernel irqchip and PIT, memfd-backed RAM with
 * KVM_SET_USER_MEMORY_REGION, KVM_CREATE_VCPU, the kvm_run mapping, CPUID,
 * long-mode sregs/regs, then KVM_RUN until the guest ends the VM, and an
 * explicit teardown. The guest is an ELF64 "vmlinux" entered as the Linux
 * 64-bit boot protocol does (Documentation/x86/boot.rst): paging on with the
 * first 4 GiB identity mapped by 2 MiB pages, __BOOT_CS 0x10 / __BOOT_DS 0x18,
 * interrupts off, %rsi = zero page.
 *
 * Just enough port I/O to run the tiny test guests (tests/guests/) with the
 * same observable behaviour as vmm: COM1 THR/LSR to stdout, the i8042 status,
 * CTR read, self-test and reset, the exit port 0x510, the boot-time port
 * 0x3f0. Triple fault = reset. SIGTERM/SIGINT end the VM with status 0.
 *
 *   probe -k GUEST.elf [-p PARAMS] [-m MiB] [-x irqfd|ioeventfd]...
 * Each -x adds one optional KVM object the way vmm's virtio-mmio devices
 * register them (irqfds on GSI 5, 6, ...; datamatch ioeventfds for queue 0,
 * 1, ... on a virtio-mmio QueueNotify register), so scripts/bench/vmm.sh can
 * attribute vmm's costs to them.
 * Exit codes as vmm: exit-port status; 0 reset/signal; 1 runtime; 2 usage. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Below the 4 GiB boundary, out of RAM (we refuse RAM above 3 GiB). */
#define PROBE_IDMAP_ADDR 0xfffbc000ull
#define PROBE_TSS_ADDR 0xfffbd000ull
/* Guest physical layout of what the probe builds below 1 MiB. */
#define GDT_ADDR 0x500ull
#define ZERO_PAGE_ADDR 0x7000ull
#define PML4_ADDR 0x9000ull
#define PDPT_ADDR 0xa000ull
#define PD_ADDR 0xb000ull /* four pages: 4 GiB of 2 MiB pages */
#define CMDLINE_ADDR 0x20000ull
#define CMDLINE_MAX 2048
#define LOW_END 0x100000ull /* ELF segments must load at or above 1 MiB */
#define MEM_MAX_MIB 3072ull

#define EXIT_PORT 0x510
#define BOOT_TIME_PORT 0x3f0
#define COM1 0x3f8
#define I8042_DATA 0x60
#define I8042_CMD 0x64
/* -x extras: where vmm puts its first virtio-mmio device and its IRQ. */
#define EXTRA_GSI 5
#define EXTRA_NOTIFY_ADDR (0xd0000000ull + 0x50)
#define EXTRA_MAX 8

struct probe {
	const char *kernel;
	const char *params;
	uint64_t mem_size;
	uint64_t t0_ns;
	int kvm, vm, vcpu, memfd;
	/* -x: how many of each were asked for, and their eventfds. */
	unsigned n_irqfd, n_ioeventfd;
	int irqfd[EXTRA_MAX], ioeventfd[EXTRA_MAX];
	uint8_t *ram;
	struct kvm_run *run;
	size_t run_size;
	uint64_t entry;
	/* i8042: one output byte and the controller configuration byte. */
	uint8_t kbd_out, kbd_ctr;
	bool kbd_full;
	bool bad_input; /* the failure was the user's input: exit 2 */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int probe_err(const char *what)
{
	int e = errno;
	fprintf(stderr, "probe: %s: %s\n", what, strerror(e));
	return -e;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* ELF64 x86-64 loader: every PT_LOAD at p_paddr, bounds checked against the
 * file and RAM. Errors name the file; returns 0 or -EINVAL/-errno. */
static int probe_load_elf(struct probe *p)
{
	int fd = open(p->kernel, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "probe: %s: %s\n", p->kernel, strerror(errno));
		p->bad_input = true;
		return -EINVAL;
	}
	struct stat st;
	Elf64_Ehdr eh;
	const char *why = NULL;
	if (fstat(fd, &st) < 0 || pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
		why = "too short for an ELF header";
	else if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		why = "not an ELF file";
	else if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
		 eh.e_machine != EM_X86_64)
		why = "not an x86-64 ELF64 file";
	else if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
		 eh.e_phoff > (uint64_t)st.st_size ||
		 (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > (uint64_t)st.st_size - eh.e_phoff)
		why = "bad or truncated program header table";
	unsigned loads = 0;
	for (unsigned i = 0; !why && i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != (ssize_t)sizeof(ph)) {
			why = "truncated program header";
			break;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > (uint64_t)st.st_size ||
		    ph.p_filesz > (uint64_t)st.st_size - ph.p_offset) {
			why = "segment extends past the end of the file (truncated?)";
			break;
		}
		if (ph.p_paddr < LOW_END || ph.p_paddr > p->mem_size || ph.p_memsz > p->mem_size - ph.p_paddr) {
			why = "segment does not fit in guest RAM (raise -m)";
			break;
		}
		if (pread(fd, p->ram + ph.p_paddr, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz) {
			why = "short read of a segment";
			break;
		}
		loads++;
	}
	if (!why && loads == 0)
		why = "no PT_LOAD segment";
	if (!why && (eh.e_entry < LOW_END || eh.e_entry >= p->mem_size))
		why = "entry point outside guest RAM";
	close(fd);
	if (why) {
		fprintf(stderr, "probe: %s: %s\n", p->kernel, why);
		p->bad_input = true;
		return -EINVAL;
	}
	p->entry = eh.e_entry;
	return 0;
}

/* Zero page, command line, GDT and identity page tables in guest RAM. */
static int probe_build_boot(struct probe *p)
{
	uint8_t *zp = p->ram + ZERO_PAGE_ADDR;
	/* Setup header (Documentation/x86/boot.rst). */
	zp[0x1fe] = 0x55;
	zp[0x1ff] = 0xaa;
	memcpy(zp + 0x202, "HdrS", 4);
	zp[0x206] = 0x0f; /* protocol 2.15 */
	zp[0x207] = 0x02;
	zp[0x210] = 0xff; /* type_of_loader: undefined */
	zp[0x211] = 0x01; /* loadflags: LOADED_HIGH */
	int n = snprintf((char *)p->ram + CMDLINE_ADDR, CMDLINE_MAX, "appvm.exit_port=0x%x%s%s",
			 EXIT_PORT, p->params ? " " : "", p->params ? p->params : "");
	if (n < 0 || n >= CMDLINE_MAX) {
		fprintf(stderr, "probe: -p: command line longer than %d bytes\n", CMDLINE_MAX - 1);
		p->bad_input = true;
		return -E2BIG;
	}
	uint32_t v = (uint32_t)CMDLINE_ADDR;
	memcpy(zp + 0x228, &v, 4);
	v = CMDLINE_MAX - 1;
	memcpy(zp + 0x238, &v, 4);
	/* e820 (zero-page.rst: count at 0x1e8, table at 0x2d0, 20 bytes each). */
	uint8_t *e = zp + 0x2d0;
	put64(e, 0);
	put64(e + 8, 0x9fc00);
	v = 1;
	memcpy(e + 16, &v, 4);
	put64(e + 20, LOW_END);
	put64(e + 28, p->mem_size - LOW_END);
	memcpy(e + 36, &v, 4);
	zp[0x1e8] = 2;
	/* GDT: null, null, __BOOT_CS 64-bit code, __BOOT_DS flat data. */
	put64(p->ram + GDT_ADDR + 0x10, 0x00af9b000000ffffull);
	put64(p->ram + GDT_ADDR + 0x18, 0x00cf93000000ffffull);
	/* Page tables: PML4[0] -> PDPT, PDPT[0..3] -> PDs of 2 MiB pages. */
	put64(p->ram + PML4_ADDR, PDPT_ADDR | 3);
	for (uint64_t i = 0; i < 4; i++) {
		put64(p->ram + PDPT_ADDR + 8 * i, (PD_ADDR + 0x1000 * i) | 3);
		for (uint64_t j = 0; j < 512; j++)
			put64(p->ram + PD_ADDR + 0x1000 * i + 8 * j, ((i * 512 + j) << 21) | 0x83);
	}
	return 0;
}

static int probe_setup_cpuid(struct probe *p)
{
	for (unsigned nent = 64; nent <= 1024; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(p->kvm, KVM_GET_SUPPORTED_CPUID, c) < 0) {
			int e = errno;
			free(c);
			if (e == E2BIG)
				continue;
			errno = e;
			return probe_err("KVM_GET_SUPPORTED_CPUID");
		}
		for (unsigned i = 0; i < c->nent; i++)
			if (c->entries[i].function == 1)
				c->entries[i].ecx |= 1u << 31; /* hypervisor present */
		int r = ioctl(p->vcpu, KVM_SET_CPUID2, c);
		free(c);
		return r < 0 ? probe_err("KVM_SET_CPUID2") : 0;
	}
	fprintf(stderr, "probe: KVM_GET_SUPPORTED_CPUID: too many entries\n");
	return -E2BIG;
}

static int probe_setup_vcpu(struct probe *p)
{
	struct kvm_sregs s;
	if (ioctl(p->vcpu, KVM_GET_SREGS, &s) < 0)
		return probe_err("KVM_GET_SREGS");
	struct kvm_segment cs = {
		.base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 11,
		.present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment ds = cs;
	ds.selector = 0x18;
	ds.type = 3;
	ds.l = 0;
	ds.db = 1;
	s.cs = cs;
	s.ds = s.es = s.fs = s.gs = s.ss = ds;
	s.gdt.base = GDT_ADDR;
	s.gdt.limit = 0x1f;
	s.cr0 = 0x80050033; /* PG WP AM NE ET MP PE */
	s.cr3 = PML4_ADDR;
	s.cr4 = 0x20;       /* PAE */
	s.efer = 0x500;     /* LMA LME */
	if (ioctl(p->vcpu, KVM_SET_SREGS, &s) < 0)
		return probe_err("KVM_SET_SREGS");
	struct kvm_regs r = {.rip = p->entry, .rsi = ZERO_PAGE_ADDR, .rflags = 2};
	if (ioctl(p->vcpu, KVM_SET_REGS, &r) < 0)
		return probe_err("KVM_SET_REGS");
	/* SIGTERM/SIGINT stay blocked except inside KVM_RUN, so a signal that
	 * arrives between two runs makes the next KVM_RUN return EINTR at once
	 * instead of being lost while the guest halts. */
	struct kvm_signal_mask *m = calloc(1, sizeof(*m) + 8);
	if (!m)
		return -ENOMEM;
	m->len = 8; /* kernel sigset_t; empty: nothing blocked while running */
	int rc = ioctl(p->vcpu, KVM_SET_SIGNAL_MASK, m);
	free(m);
	return rc < 0 ? probe_err("KVM_SET_SIGNAL_MASK") : 0;
}

/* -x irqfd / -x ioeventfd (Documentation/virt/kvm/api.rst 4.75 KVM_IRQFD,
 * 4.59 KVM_IOEVENTFD): not needed to run a guest, only to measure them. */
static int probe_extras(struct probe *p)
{
	for (unsigned i = 0; i < p->n_irqfd; i++) {
		p->irqfd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->irqfd[i] < 0)
			return probe_err("eventfd");
		struct kvm_irqfd irqfd = {.fd = (uint32_t)p->irqfd[i], .gsi = EXTRA_GSI + i};
		if (ioctl(p->vm, KVM_IRQFD, &irqfd) < 0)
			return probe_err("KVM_IRQFD");
	}
	for (unsigned i = 0; i < p->n_ioeventfd; i++) {
		p->ioeventfd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->ioeventfd[i] < 0)
			return probe_err("eventfd");
		struct kvm_ioeventfd io = {.datamatch = i, .addr = EXTRA_NOTIFY_ADDR, .len = 4,
					   .fd = p->ioeventfd[i], .flags = KVM_IOEVENTFD_FLAG_DATAMATCH};
		if (ioctl(p->vm, KVM_IOEVENTFD, &io) < 0)
			return probe_err("KVM_IOEVENTFD");
	}
	return 0;
}

static int probe_create(struct probe *p)
{
	p->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (p->kvm < 0)
		return probe_err("/dev/kvm");
	if (ioctl(p->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		fprintf(stderr, "probe: /dev/kvm: KVM API version is not %d\n", KVM_API_VERSION);
		return -ENOTSUP;
	}
	p->vm = ioctl(p->kvm, KVM_CREATE_VM, 0);
	if (p->vm < 0)
		return probe_err("KVM_CREATE_VM");
	if (ioctl(p->vm, KVM_SET_TSS_ADDR, (unsigned long)PROBE_TSS_ADDR) < 0)
		return probe_err("KVM_SET_TSS_ADDR");
	uint64_t idmap = PROBE_IDMAP_ADDR;
	if (ioctl(p->vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return probe_err("KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(p->vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return probe_err("KVM_CREATE_IRQCHIP");
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(p->vm, KVM_CREATE_PIT2, &pit) < 0)
		return probe_err("KVM_CREATE_PIT2");
	p->memfd = memfd_create("guest-ram", MFD_CLOEXEC);
	if (p->memfd < 0)
		return probe_err("memfd_create");
	if (ftruncate(p->memfd, (off_t)p->mem_size) < 0)
		return probe_err("ftruncate guest RAM");
	p->ram = mmap(NULL, p->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, p->memfd, 0);
	if (p->ram == MAP_FAILED) {
		p->ram = NULL;
		return probe_err("mmap guest RAM");
	}
	struct kvm_userspace_memory_region reg = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = p->mem_size,
		.userspace_addr = (uint64_t)(uintptr_t)p->ram,
	};
	if (ioctl(p->vm, KVM_SET_USER_MEMORY_REGION, &reg) < 0)
		return probe_err("KVM_SET_USER_MEMORY_REGION");
	int rc = probe_load_elf(p);
	if (rc < 0)
		return rc;
	rc = probe_extras(p);
	if (rc < 0)
		return rc;
	rc = probe_build_boot(p);
	if (rc < 0)
		return rc;
	p->vcpu = ioctl(p->vm, KVM_CREATE_VCPU, 0);
	if (p->vcpu < 0)
		return probe_err("KVM_CREATE_VCPU");
	int sz = ioctl(p->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run))
		return probe_err("KVM_GET_VCPU_MMAP_SIZE");
	p->run_size = (size_t)sz;
	p->run = mmap(NULL, p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->vcpu, 0);
	if (p->run == MAP_FAILED) {
		p->run = NULL;
		return probe_err("mmap kvm_run");
	}
	rc = probe_setup_cpuid(p);
	if (rc < 0)
		return rc;
	return probe_setup_vcpu(p);
}

static void probe_destroy(struct probe *p)
{
	if (p->run)
		munmap(p->run, p->run_size);
	if (p->vcpu >= 0)
		close(p->vcpu);
	if (p->ram)
		munmap(p->ram, p->mem_size);
	if (p->memfd >= 0)
		close(p->memfd);
	/* Like vmm: the device eventfds go before the VM. */
	for (unsigned i = 0; i < EXTRA_MAX; i++) {
		if (p->irqfd[i] >= 0)
			close(p->irqfd[i]);
		if (p->ioeventfd[i] >= 0)
			close(p->ioeventfd[i]);
	}
	if (p->vm >= 0)
		close(p->vm);
	if (p->kvm >= 0)
		close(p->kvm);
}

/* One port access. Returns -1 to keep running, else the exit status. */
static int probe_pio(struct probe *p, uint16_t port, bool out, uint8_t *data)
{
	if (out) {
		uint8_t v = *data;
		switch (port) {
		case COM1:
			if (write(STDOUT_FILENO, &v, 1) < 0) {
				/* stdout gone: the guest cannot be heard; carry on */
			}
			return -1;
		case BOOT_TIME_PORT:
			if (v == 123)
				fprintf(stderr, "probe: boot-time: %.3f ms since exec\n",
					(double)(now_ns() - p->t0_ns) / 1e6);
			return -1;
		case EXIT_PORT:
			return v;
		case I8042_CMD:
			if (v == 0xfe)
				return 0; /* pulse reset */
			if (v == 0xaa) {
				p->kbd_out = 0x55; /* self-test passed */
				p->kbd_full = true;
			} else if (v == 0x20) {
				p->kbd_out = p->kbd_ctr;
				p->kbd_full = true;
			}
			return -1;
		default:
			return -1;
		}
	}
	switch (port) {
	case COM1 + 5:
		*data = 0x60; /* LSR: THRE | TEMT */
		break;
	case I8042_CMD:
		*data = (uint8_t)(0x14 | (p->kbd_full ? 1 : 0)); /* not inhibited, SYS */
		break;
	case I8042_DATA:
		*data = p->kbd_out;
		p->kbd_full = false;
		break;
	default:
		*data = (port >= COM1 && port < COM1 + 8) ? 0 : 0xff;
		break;
	}
	return -1;
}

static int probe_run(struct probe *p)
{
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	for (;;) {
		if (ioctl(p->vcpu, KVM_RUN, 0) < 0) {
			if (errno != EINTR && errno != EAGAIN) {
				probe_err("KVM_RUN");
				return 1;
			}
			struct timespec zero = {0, 0};
			if (sigtimedwait(&stop, NULL, &zero) > 0)
				return 0;
			continue;
		}
		struct kvm_run *r = p->run;
		switch (r->exit_reason) {
		case KVM_EXIT_IO: {
			uint8_t *d = (uint8_t *)r + r->io.data_offset;
			if (r->io.data_offset > p->run_size ||
			    (uint64_t)r->io.size * r->io.count > p->run_size - r->io.data_offset) {
				fprintf(stderr, "probe: KVM_EXIT_IO data outside kvm_run\n");
				return 1;
			}
			for (uint32_t i = 0; i < r->io.count; i++, d += r->io.size) {
				/* Only byte ports exist here; wider accesses use the low byte. */
				if (r->io.direction == KVM_EXIT_IO_IN)
					memset(d, 0xff, r->io.size);
				int st = probe_pio(p, r->io.port, r->io.direction == KVM_EXIT_IO_OUT, d);
				if (st >= 0)
					return st;
			}
			break;
		}
		case KVM_EXIT_SHUTDOWN:
			fprintf(stderr, "probe: guest triple fault: reset\n");
			return 0;
		case KVM_EXIT_INTR:
			break;
		default:
			fprintf(stderr, "probe: unexpected KVM exit reason %u\n", r->exit_reason);
			return 1;
		}
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: probe -k GUEST.elf [-p PARAMS] [-m MiB] [-x irqfd|ioeventfd]...\n");
}

int main(int argc, char **argv)
{
	struct probe p = {.kvm = -1, .vm = -1, .vcpu = -1, .memfd = -1,
			  .mem_size = 256ull << 20, .kbd_ctr = 0x45};
	p.t0_ns = now_ns();
	for (unsigned i = 0; i < EXTRA_MAX; i++)
		p.irqfd[i] = p.ioeventfd[i] = -1;
	int opt;
	while ((opt = getopt(argc, argv, "k:p:m:x:h")) != -1) {
		switch (opt) {
		case 'k':
			p.kernel = optarg;
			break;
		case 'p':
			p.params = optarg;
			break;
		case 'm': {
			char *end;
			errno = 0;
			unsigned long long m = strtoull(optarg, &end, 10);
			if (errno || *end || m < 4 || m > MEM_MAX_MIB) {
				fprintf(stderr, "probe: -m %s: want MiB in 4..%llu\n", optarg, MEM_MAX_MIB);
				return 2;
			}
			p.mem_size = m << 20;
			break;
		}
		case 'x':
			if (strcmp(optarg, "irqfd") == 0 && p.n_irqfd < EXTRA_MAX) {
				p.n_irqfd++;
			} else if (strcmp(optarg, "ioeventfd") == 0 && p.n_ioeventfd < EXTRA_MAX) {
				p.n_ioeventfd++;
			} else {
				fprintf(stderr, "probe: -x '%s': want irqfd or ioeventfd, at most %d of each\n",
					optarg, EXTRA_MAX);
				return 2;
			}
			break;
		case 'h':
			usage();
			return 0;
		default:
			return 2; /* getopt printed the one-line reason */
		}
	}
	if (!p.kernel) {
		fprintf(stderr, "probe: no kernel given (-k GUEST.elf)\n");
		return 2;
	}
	if (optind != argc) {
		fprintf(stderr, "probe: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	int rc = probe_create(&p);
	int status;
	if (rc < 0 && p.bad_input)
		status = 2; /* the guest image or the command line */
	else if (rc < 0)
		status = 1;
	else
		status = probe_run(&p);
	probe_destroy(&p);
	return status;
}
