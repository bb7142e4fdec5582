/* Architecture hooks the core calls; vmm/arch/<arch>/ implements them. */
#ifndef VMM_ARCH_H
#define VMM_ARCH_H
#include <stddef.h>
#include <stdint.h>

#include "vmm/config.h"
#include "vmm/gm.h"

/* What the boot vCPU needs once the images are in guest memory. */
struct arch_boot {
	uint64_t entry;      /* guest physical entry point */
	uint64_t zero_page;  /* x86: boot_params address passed in %rsi */
	int bzimage;         /* which loader took the kernel (for logs/tests) */
};

/* A virtio-mmio window the firmware tables must describe. */
struct arch_mmio_dev {
	uint64_t base;
	uint64_t size;
	unsigned gsi;
};

/* VM-wide setup before vCPUs: TSS/identity map, irqchip, PIT. -errno. */
int arch_vm_init(int vm_fd);
/* Load kernel and initrd from cfg into gm, write the boot structures (zero
 * page, e820, command line, MP table, ACPI tables, page tables). On bad input returns
 * -ENOEXEC/-EINVAL/-E2BIG/-ENOMEM/-errno with a one-line reason in err
 * (naming the file). */
int arch_load(struct gm *gm, const struct vmm_config *cfg, const char *cmdline,
	      const struct arch_mmio_dev *devs, unsigned ndevs, struct arch_boot *ab, char *err, size_t errlen);
/* Per-vCPU setup: CPUID, MSRs, FPU, LAPIC LINTs and, for vCPU 0, the
 * registers for the 64-bit boot entry. -errno. */
int arch_vcpu_init(int kvm_fd, int vcpu_fd, unsigned id, unsigned ncpus, const struct arch_boot *ab);
/* Default kernel command-line words this architecture's devices need. */
const char *arch_default_cmdline(void);
#endif
