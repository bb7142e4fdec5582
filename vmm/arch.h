/* Architecture hooks the core calls; vmm/arch/<arch>/ implements them. */
#ifndef VMM_ARCH_H
#define VMM_ARCH_H
#include <stddef.h>
#include <stdint.h>

#include "vmm/config.h"
#include "vmm/gm.h"
#include "vmm/resource.h"

/* What the boot vCPU needs once the images are in guest memory, plus the
 * architecture's private record of the loaded kernel between
 * arch_load_images and arch_setup_boot. */
struct arch_boot {
	uint64_t entry;      /* guest physical entry point */
	uint64_t zero_page;  /* x86: boot_params address passed in %rsi */
	int bzimage;         /* which loader took the kernel (for logs/tests) */
	_Alignas(8) unsigned char priv[512];  /* arch-private, see x86.c */
};

/* VM-wide setup before vCPUs (after arch_load_images): TSS/identity map,
 * irqchip, the timers cfg asks for. -errno, with a one-line reason logged. */
int arch_vm_init(int kvm_fd, int vm_fd, const struct vmm_config *cfg, struct arch_boot *ab);
/* Once every vCPU exists, before any runs (arm64: the vGIC's
 * KVM_DEV_ARM_VGIC_CTRL_INIT). -errno, with a one-line reason logged. */
int arch_vm_finalize(int vm_fd, struct arch_boot *ab);
/* KVM_IRQ_LINE's irq field for a GSI (x86: the GSI; arm64: SPI encoding,
 * api.rst KVM_IRQ_LINE). */
unsigned arch_irq_line_id(unsigned gsi);
/* 1: the platform devices' ports are a separate I/O space (x86); 0: they
 * sit on the MMIO bus at the same addresses (arm64's port window at 0). */
int arch_has_port_io(void);
/* Load kernel and initrd from cfg into gm. Needs no KVM: bad input is
 * refused before any VM exists. On bad input returns -ENOEXEC/-EINVAL/
 * -ENOMEM/-EPROTONOSUPPORT/-errno with a one-line reason in err (naming the
 * file). */
int arch_load_images(struct gm *gm, const struct vmm_config *cfg, struct arch_boot *ab, char *err,
		     size_t errlen);
/* Once every device has added its command-line words and published its
 * resources: write the boot structures (zero page, e820, command line, MP
 * table, firmware tables rendered from res, page tables). -E2BIG (command
 * line too long for this kernel) or -errno, with a one-line reason in err. */
int arch_setup_boot(struct gm *gm, const struct vmm_config *cfg, const char *cmdline,
		    const struct dev_resource *res, unsigned nres, struct arch_boot *ab, char *err,
		    size_t errlen);
/* Per-vCPU setup: CPUID, MSRs, FPU, LAPIC LINTs and, for vCPU 0, the
 * registers for the 64-bit boot entry. -errno. */
int arch_vcpu_init(int kvm_fd, int vcpu_fd, unsigned id, unsigned ncpus, const struct arch_boot *ab);
/* The idx-th virtio-mmio window and the first usable GSI at or after
 * gsi_from (legacy ISA lines the platform devices own are skipped), and
 * the word announcing it on the guest kernel command line ("" where the
 * firmware tables alone announce it, as an FDT would). -ENOSPC when the
 * window area or the interrupt controller is full. */
int arch_virtio_window(unsigned idx, unsigned gsi_from, uint64_t *base, uint64_t *size, unsigned *gsi,
		       char *word, size_t wordlen);
/* The MMIO window and GSI of the platform device named name (arm64:
 * "pl031"), outside RAM, the virtio windows and the GSIs
 * arch_virtio_window hands out. -ENODEV when this architecture has none. */
int arch_platform_window(const char *name, uint64_t *base, uint64_t *size, unsigned *gsi);
/* The KVM capabilities this architecture needs beyond the core's (api.rst
 * §4): 0, or -ENOTSUP with one line logged naming the missing one. */
int arch_check_kvm(int kvm_fd);
/* Log where and why a vCPU stopped (registers, pending events, mp_state)
 * at the given log level; for triple faults, failed entries, SIGUSR2. */
void arch_vcpu_dump(int vcpu_fd, unsigned id, int level);
/* Default kernel command-line words this architecture's devices need. */
const char *arch_default_cmdline(void);
#endif
