/* x86_64 implementation of vmm/arch.h: VM setup, image loading and the
 * register state for the Linux 64-bit boot protocol
 * (Documentation/x86/boot.rst "64-bit BOOT PROTOCOL"). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "vmm/arch.h"
#include "vmm/arch/x86_64/acpi.h"
#include "vmm/arch/x86_64/bootparams.h"
#include "vmm/arch/x86_64/cpuid.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/arch/x86_64/loader.h"
#include "vmm/arch/x86_64/mptable.h"
#include "vmm/log.h"

/* GDT entries: boot.rst requires __BOOT_CS = 0x10 and __BOOT_DS = 0x18. */
#define GDT_CODE64 0x00af9b000000ffffULL  /* P, DPL0, code RX, L, G */
#define GDT_DATA   0x00cf93000000ffffULL  /* P, DPL0, data RW, D/B, G */
#define GDT_TSS    0x00008b0000000000ULL  /* P, busy 64-bit TSS */
#define SEL_CODE   0x10
#define SEL_DATA   0x18
#define SEL_TSS    0x20

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

const char *arch_default_cmdline(void)
{
	/* i8042.*: our controller has no AUX port and no MUX; saying so
	 * spares the kernel's probe timeouts (as Firecracker does). Its PnP
	 * entry is in the ACPI DSDT for kernels that use ACPI.
	 * reboot=k: a reboot goes through the i8042 reset line, which ends
	 * the VM; panic=-1: a panic reboots at once, ending the VM too. */
	return "console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.dumbkbd";
}

int arch_virtio_window(unsigned idx, unsigned gsi_from, uint64_t *base, uint64_t *size, unsigned *gsi,
		       char *word, size_t wordlen)
{
	unsigned g = gsi_from;

	/* ISA IRQs 8 (RTC) and 12 (PS/2 mouse) keep their meaning. */
	while (g == 8 || g == 12)
		g++;
	if (g >= X86_IOAPIC_PINS || idx >= (X86_IOAPIC_ADDR - X86_VIRTIO_MMIO_BASE) / X86_VIRTIO_MMIO_SIZE)
		return -ENOSPC;
	*base = X86_VIRTIO_MMIO_BASE + idx * X86_VIRTIO_MMIO_SIZE;
	*size = X86_VIRTIO_MMIO_SIZE;
	*gsi = g;
	/* Documentation/admin-guide/kernel-parameters.txt, virtio_mmio.device=
	 * <size>@<baseaddr>:<irq>: kernels without ACPI find the window so;
	 * ACPI kernels through the DSDT (acpi.c). */
	snprintf(word, wordlen, "virtio_mmio.device=4K@0x%llx:%u", (unsigned long long)*base, g);
	return 0;
}

int arch_platform_window(const char *name, uint64_t *base, uint64_t *size, unsigned *gsi)
{
	/* The PC's platform devices sit on ports (the MC146818 RTC, not a
	 * PL031). */
	(void)name; (void)base; (void)size; (void)gsi;
	return -ENODEV;
}

int arch_check_kvm(int kvm_fd)
{
	/* The in-kernel LAPIC/IOAPIC/PIC and the CPUID leaves we patch. */
	static const struct { int cap; const char *name; } caps[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	};

	for (unsigned i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			log_err("/dev/kvm: missing %s", caps[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

void arch_vcpu_dump(int fd, unsigned id, int level)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_vcpu_events e;
	struct kvm_mp_state mp;

	if (ioctl(fd, KVM_GET_REGS, &r) < 0 || ioctl(fd, KVM_GET_SREGS, &s) < 0)
		return;
	log_msg(level, "vcpu%u: rip=0x%llx rsp=0x%llx rflags=0x%llx cs=0x%x cr0=0x%llx cr2=0x%llx cr3=0x%llx "
		"cr4=0x%llx efer=0x%llx idt=0x%llx/%u gdt=0x%llx/%u", id,
		(unsigned long long)r.rip, (unsigned long long)r.rsp, (unsigned long long)r.rflags, s.cs.selector,
		(unsigned long long)s.cr0, (unsigned long long)s.cr2, (unsigned long long)s.cr3,
		(unsigned long long)s.cr4, (unsigned long long)s.efer, (unsigned long long)s.idt.base, s.idt.limit,
		(unsigned long long)s.gdt.base, s.gdt.limit);
	if (ioctl(fd, KVM_GET_VCPU_EVENTS, &e) == 0)
		log_msg(level, "vcpu%u: exception injected %u nr %u error 0x%x; interrupt injected %u nr %u; nmi %u",
			id, e.exception.injected, e.exception.nr, e.exception.error_code, e.interrupt.injected,
			e.interrupt.nr, e.nmi.injected);
	/* api.rst 4.38: RUNNABLE 0, UNINITIALIZED 1, INIT_RECEIVED 2, HALTED 3. */
	if (ioctl(fd, KVM_GET_MP_STATE, &mp) == 0)
		log_msg(level, "vcpu%u: mp_state %u", id, mp.mp_state);
}

/* The in-kernel i8254, only on request (--pit). A Linux guest with
 * kvmclock knows its TSC frequency (kvmclock.c: kvm_get_tsc_khz sets
 * X86_FEATURE_TSC_KNOWN_FREQ) and, with the TSC-deadline timer in CPUID
 * (x86_cpuid), never programs the PIT: apic.c apic_needs_pit() is false, so
 * time.c skips pit_timer_init and io_apic.c check_timer() returns without a
 * global clock event. A PIT nobody uses still costs a kernel thread (the
 * "kvm-pit" worker, seen in L1 soft lockups under nesting) and SRCU grace
 * periods at VM creation and teardown (docs/BENCHMARKS.md). */
static int x86_pit(int kvm_fd, int vm_fd)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvm_reinject_control rc = { .pit_reinject = 0 };

	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_PIT2) <= 0 ||
	    ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_REINJECT_CONTROL) <= 0) {
		log_err("--pit: /dev/kvm lacks KVM_CAP_PIT2 or KVM_CAP_REINJECT_CONTROL");
		return -ENOTSUP;
	}
	if (ioctl(vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return -errno;
	/* api.rst KVM_REINJECT_CONTROL: ticks the guest missed are dropped, not
	 * queued and replayed (QEMU's lost_tick_policy=discard); replaying
	 * them keeps the kvm-pit worker busy when the host is slow. */
	if (ioctl(vm_fd, KVM_REINJECT_CONTROL, &rc) < 0)
		return -errno;
	return 0;
}

unsigned arch_irq_line_id(unsigned gsi)
{
	return gsi;
}

int arch_has_port_io(void)
{
	return 1;
}

int arch_vm_finalize(int vm_fd, struct arch_boot *ab)
{
	return 0;
}

int arch_vm_init(int kvm_fd, int vm_fd, const struct vmm_config *cfg, struct arch_boot *ab)
{
	uint64_t ident = X86_IDENTITY_ADDR;

	/* api.rst: KVM_SET_TSS_ADDR is needed on Intel; three pages
	 * below 4 GiB outside RAM and MMIO. */
	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, (unsigned long)X86_TSS_ADDR) < 0)
		return -errno;
	if (ioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
		return -errno;
	if (ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return -errno;
	if (cfg->pit)
		return x86_pit(kvm_fd, vm_fd);
	return 0;
}

/* Identity-map the first 4 GiB with 2 MiB pages: the 64-bit entry needs
 * paging on and the kernel, zero page and command line mapped. */
static int x86_page_tables(const struct gm *gm)
{
	uint64_t *pml4 = gm_translate(gm, X86_PML4_ADDR, 4096);
	uint64_t *pdpt = gm_translate(gm, X86_PDPT_ADDR, 4096);
	uint64_t *pd = gm_translate(gm, X86_PD_ADDR, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -ENOMEM;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = X86_PDPT_ADDR | 0x3;  /* present, writable */
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (X86_PD_ADDR + i * 4096) | 0x3;
	for (unsigned i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;  /* present, writable, 2 MiB */
	return 0;
}

static int x86_gdt(const struct gm *gm)
{
	uint64_t gdt[5] = { 0, 0, GDT_CODE64, GDT_DATA, GDT_TSS };
	uint64_t idt = 0;

	if (gm_write(gm, X86_GDT_ADDR, gdt, sizeof(gdt)) || gm_write(gm, X86_IDT_ADDR, &idt, sizeof(idt)))
		return -ENOMEM;
	return 0;
}

static int x86_open(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return -e;
	}
	return fd;
}

/* What arch_load_images leaves for arch_setup_boot in struct arch_boot's
 * private area. */
struct x86_loaded {
	struct loader_kernel k;
	uint64_t initrd_gpa, initrd_size;
};
_Static_assert(sizeof(struct x86_loaded) <= sizeof(((struct arch_boot *)0)->priv),
	       "arch_boot.priv too small for x86_loaded");

int arch_load_images(struct gm *gm, const struct vmm_config *cfg, struct arch_boot *ab, char *err,
		     size_t errlen)
{
	struct x86_loaded *l = (struct x86_loaded *)ab->priv;
	int fd, rc;

	memset(ab, 0, sizeof(*ab));
	if (gm_ram_size(gm) < 2 * X86_HIMEM_START) {
		snprintf(err, errlen, "-m: guest RAM must be at least 2 MiB");
		return -EINVAL;
	}
	fd = x86_open(cfg->kernel, err, errlen);
	if (fd < 0)
		return fd;
	rc = loader_kernel(gm, fd, cfg->kernel, &l->k, err, errlen);
	close(fd);
	if (rc)
		return rc;
	if (cfg->initrd) {
		fd = x86_open(cfg->initrd, err, errlen);
		if (fd < 0)
			return fd;
		rc = loader_initrd(gm, fd, cfg->initrd, &l->k, &l->initrd_gpa, &l->initrd_size, err, errlen);
		close(fd);
		if (rc)
			return rc;
	}
	ab->entry = l->k.entry;
	ab->zero_page = X86_ZERO_PAGE;
	ab->bzimage = l->k.bzimage;
	return 0;
}

int arch_setup_boot(struct gm *gm, const struct vmm_config *cfg, const char *cmdline,
		    const struct dev_resource *res, unsigned nres, struct arch_boot *ab, char *err,
		    size_t errlen)
{
	const struct x86_loaded *l = (const struct x86_loaded *)ab->priv;
	int rc;

	rc = bootparams_write(gm, &l->k, cmdline, l->initrd_gpa, l->initrd_size);
	if (rc == -E2BIG) {
		snprintf(err, errlen, "%s: kernel command line of %zu bytes exceeds this kernel's limit of %u",
			 cfg->kernel, strlen(cmdline), l->k.cmdline_max);
		return rc;
	}
	if (rc == 0)
		rc = mptable_write(gm, X86_MPTABLE_ADDR, cfg->vcpus, 0x600, 0x201);
	if (rc == 0) {
		rc = acpi_write(gm, X86_ACPI_ADDR, X86_ACPI_SIZE, cfg->vcpus, res, nres);
		rc = rc < 0 ? rc : 0;
	}
	if (rc == 0)
		rc = x86_page_tables(gm);
	if (rc == 0)
		rc = x86_gdt(gm);
	if (rc) {
		snprintf(err, errlen, "writing boot structures: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

static int x86_cpuid(int kvm_fd, int vcpu_fd, unsigned id, unsigned ncpus)
{
	unsigned nent = 128;
	struct kvm_cpuid2 *c;
	int rc = 0;

	for (;;) {
		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			break;
		rc = -errno;
		free(c);
		if (rc != -E2BIG || nent >= 4096)
			return rc;
		nent *= 2;
	}
	/* api.rst KVM_GET_SUPPORTED_CPUID: the TSC-deadline timer is emulated
	 * by the in-kernel LAPIC but not reported there; KVM_CAP says it. */
	cpuid_patch(c, id, ncpus, ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0);
	rc = ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	return rc;
}

static int x86_lapic(int vcpu_fd)
{
	struct kvm_lapic_state st;
	uint32_t *lvt0 = (uint32_t *)(st.regs + APIC_LVT0);
	uint32_t *lvt1 = (uint32_t *)(st.regs + APIC_LVT1);

	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &st) < 0)
		return -errno;
	/* Virtual-wire mode as firmware leaves it: LINT0 ExtINT (the PIC),
	 * LINT1 NMI. Delivery mode is bits 10:8 of the LVT. */
	*lvt0 = (*lvt0 & ~0x700U) | (APIC_MODE_EXTINT << 8);
	*lvt1 = (*lvt1 & ~0x700U) | (APIC_MODE_NMI << 8);
	if (ioctl(vcpu_fd, KVM_SET_LAPIC, &st) < 0)
		return -errno;
	return 0;
}

static void x86_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->s = 1;
	s->g = 1;
	s->l = code ? 1 : 0;
	s->db = code ? 0 : 1;
}

static int x86_boot_regs(int vcpu_fd, const struct arch_boot *ab)
{
	struct kvm_sregs sr;
	struct kvm_regs r;
	struct kvm_fpu fpu;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	x86_seg(&sr.cs, SEL_CODE, 0xb, 1);
	x86_seg(&sr.ds, SEL_DATA, 0x3, 0);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	memset(&sr.tr, 0, sizeof(sr.tr));
	sr.tr.selector = SEL_TSS;
	sr.tr.type = 0xb;
	sr.tr.present = 1;
	sr.tr.limit = 0xffff;
	sr.gdt.base = X86_GDT_ADDR;
	sr.gdt.limit = 5 * 8 - 1;
	sr.idt.base = X86_IDT_ADDR;
	sr.idt.limit = 7;
	sr.cr0 = CR0_PE | CR0_ET | CR0_PG;
	sr.cr3 = X86_PML4_ADDR;
	sr.cr4 = CR4_PAE;
	sr.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sr) < 0)
		return -errno;

	memset(&r, 0, sizeof(r));
	r.rflags = 0x2;  /* bit 1 is reserved-one; IF clear */
	r.rip = ab->entry;
	r.rsi = ab->zero_page;  /* boot.rst: %rsi holds the boot_params address */
	r.rsp = X86_BOOT_STACK;
	r.rbp = X86_BOOT_STACK;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0)
		return -errno;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;     /* x87 reset state */
	fpu.mxcsr = 0x1f80;  /* SSE reset state */
	if (ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

int arch_vcpu_init(int kvm_fd, int vcpu_fd, unsigned id, unsigned ncpus, const struct arch_boot *ab)
{
	int rc = x86_cpuid(kvm_fd, vcpu_fd, id, ncpus);

	if (rc == 0)
		rc = x86_lapic(vcpu_fd);
	/* Application processors stay in wait-for-SIPI (the in-kernel LAPIC
	 * holds them) until the kernel starts them through the MP table. */
	if (rc == 0 && id == 0)
		rc = x86_boot_regs(vcpu_fd, ab);
	return rc;
}
