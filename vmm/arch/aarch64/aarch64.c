/* arm64 implementation of vmm/arch.h: the Image, initrd and device tree in
 * guest RAM (Documentation/arm64/booting.rst), the in-kernel vGIC
 * (Documentation/virt/kvm/devices/arm-vgic-v3.rst, arm-vgic.rst) and vCPUs
 * through KVM_ARM_PREFERRED_TARGET + KVM_ARM_VCPU_INIT with PSCI 0.2
 * (api.rst 4.82-4.83). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "vmm/arch.h"
#include "vmm/arch/aarch64/devtree.h"
#include "vmm/arch/aarch64/image.h"
#include "vmm/arch/aarch64/layout.h"
#include "vmm/log.h"

/* What the arch keeps in struct arch_boot's private area between hooks. */
struct a64_boot {
	struct image_info k;
	uint64_t fdt_addr, initrd_addr, initrd_size;
	struct kvm_vcpu_init init;   /* KVM_ARM_PREFERRED_TARGET's answer */
	int gic_version;
	int gic_fd;
};
_Static_assert(sizeof(struct a64_boot) <= sizeof(((struct arch_boot *)0)->priv),
	       "arch_boot.priv too small for a64_boot");

/* api.rst 4.68 KVM_SET_ONE_REG: a core register is its offset in struct
 * kvm_regs counted in 32-bit words. */
#define A64_CORE_REG(x) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
			 (offsetof(struct kvm_regs, x) / sizeof(__u32)))

const char *arch_default_cmdline(void)
{
	/* The console is the device tree's 16550 (ttyS0, and earlycon from
	 * /chosen/stdout-path); panic=-1: a panic resets at once, which PSCI
	 * SYSTEM_RESET turns into the end of the VM. */
	return "console=ttyS0 earlycon panic=-1";
}

unsigned arch_irq_line_id(unsigned gsi)
{
	/* api.rst KVM_IRQ_LINE (arm64): irq_type in bits 31-24, the INTID in
	 * 15-0; SPI n is INTID 32 + n. irqfd GSIs are SPI numbers already. */
	return (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | (gsi + 32);
}

int arch_has_port_io(void)
{
	return 0;
}

int arch_virtio_window(unsigned idx, unsigned gsi_from, uint64_t *base, uint64_t *size, unsigned *gsi,
		       char *word, size_t wordlen)
{
	if (idx >= A64_VIRTIO_MMIO_MAX || gsi_from >= A64_GIC_NR_SPIS)
		return -ENOSPC;
	*base = A64_VIRTIO_MMIO_BASE + idx * A64_VIRTIO_MMIO_SIZE;
	*size = A64_VIRTIO_MMIO_SIZE;
	*gsi = gsi_from;
	/* The device tree announces the window (devtree.c). */
	if (wordlen)
		word[0] = 0;
	return 0;
}

int arch_platform_window(const char *name, uint64_t *base, uint64_t *size, unsigned *gsi)
{
	if (strcmp(name, "pl031") != 0)
		return -ENODEV;
	*base = A64_PL031_BASE;
	*size = A64_PL031_SIZE;
	*gsi = A64_PL031_SPI;
	return 0;
}

int arch_check_kvm(int kvm_fd)
{
	static const struct { int cap; const char *name; } caps[] = {
		{ KVM_CAP_ARM_PSCI_0_2, "KVM_CAP_ARM_PSCI_0_2" },
		{ KVM_CAP_ONE_REG, "KVM_CAP_ONE_REG" },
		{ KVM_CAP_DEVICE_CTRL, "KVM_CAP_DEVICE_CTRL" },
	};

	for (unsigned i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			log_err("/dev/kvm: missing %s", caps[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

static int a64_get_reg(int fd, uint64_t id, uint64_t *v)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)v };

	return ioctl(fd, KVM_GET_ONE_REG, &r) < 0 ? -errno : 0;
}

static int a64_set_reg(int fd, uint64_t id, uint64_t v)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)&v };

	return ioctl(fd, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

void arch_vcpu_dump(int fd, unsigned id, int level)
{
	uint64_t pc = 0, sp = 0, pstate = 0, lr = 0, x0 = 0;
	struct kvm_mp_state mp;

	if (a64_get_reg(fd, A64_CORE_REG(regs.pc), &pc) || a64_get_reg(fd, A64_CORE_REG(regs.pstate), &pstate))
		return;
	a64_get_reg(fd, A64_CORE_REG(sp_el1), &sp);
	a64_get_reg(fd, A64_CORE_REG(regs.regs[30]), &lr);
	a64_get_reg(fd, A64_CORE_REG(regs.regs[0]), &x0);
	log_msg(level, "vcpu%u: pc=0x%llx pstate=0x%llx sp_el1=0x%llx lr=0x%llx x0=0x%llx", id,
		(unsigned long long)pc, (unsigned long long)pstate, (unsigned long long)sp,
		(unsigned long long)lr, (unsigned long long)x0);
	/* api.rst 4.38 (arm64): RUNNABLE 0, STOPPED 5 (powered off by PSCI). */
	if (ioctl(fd, KVM_GET_MP_STATE, &mp) == 0)
		log_msg(level, "vcpu%u: mp_state %u", id, mp.mp_state);
}

static int a64_gic_attr(int fd, uint32_t group, uint64_t attr, const void *val)
{
	struct kvm_device_attr a = { .group = group, .attr = attr, .addr = (uint64_t)(uintptr_t)val };

	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -errno : 0;
}

/* The in-kernel GICv3, or GICv2 where the host has no GICv3 emulation
 * (arm-vgic-v3.rst, arm-vgic.rst): created before the vCPUs with its
 * frames placed, initialised once they all exist (arch_vm_finalize). */
static int a64_gic_create(int vm_fd, unsigned ncpus, struct a64_boot *b)
{
	struct kvm_create_device d = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	uint64_t dist = A64_GIC_DIST, redist = A64_GIC_REDIST, cpu = A64_GIC_V2_CPU;
	uint32_t nr_irqs = A64_GIC_NR_IRQS;
	int rc;

	b->gic_version = 3;
	if (ioctl(vm_fd, KVM_CREATE_DEVICE, &d) < 0) {
		d = (struct kvm_create_device){ .type = KVM_DEV_TYPE_ARM_VGIC_V2 };
		if (ioctl(vm_fd, KVM_CREATE_DEVICE, &d) < 0) {
			rc = -errno;
			log_err("KVM_CREATE_DEVICE: neither a vGICv3 nor a vGICv2: %s", strerror(errno));
			return rc;
		}
		b->gic_version = 2;
		if (ncpus > 8) {
			close((int)d.fd);
			log_err("-c %u: a vGICv2 serves at most 8 vCPUs", ncpus);
			return -EINVAL;
		}
	}
	b->gic_fd = (int)d.fd;
	if (b->gic_version == 3) {
		rc = a64_gic_attr(b->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist);
		if (rc == 0)
			rc = a64_gic_attr(b->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist);
	} else {
		rc = a64_gic_attr(b->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_DIST, &dist);
		if (rc == 0)
			rc = a64_gic_attr(b->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_CPU, &cpu);
	}
	if (rc == 0)
		rc = a64_gic_attr(b->gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs);
	if (rc)
		log_err("vGICv%d setup: %s", b->gic_version, strerror(-rc));
	return rc;
}

int arch_vm_init(int kvm_fd, int vm_fd, const struct vmm_config *cfg, struct arch_boot *ab)
{
	struct a64_boot *b = (struct a64_boot *)ab->priv;

	(void)kvm_fd;
	b->gic_fd = -1;
	if (ioctl(vm_fd, KVM_ARM_PREFERRED_TARGET, &b->init) < 0) {
		log_err("KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
		return -errno;
	}
	return a64_gic_create(vm_fd, cfg->vcpus, b);
}

int arch_vm_finalize(int vm_fd, struct arch_boot *ab)
{
	struct a64_boot *b = (struct a64_boot *)ab->priv;
	int rc;

	(void)vm_fd;
	/* arm-vgic-v3.rst KVM_DEV_ARM_VGIC_CTRL_INIT: after every vCPU exists. */
	rc = a64_gic_attr(b->gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
	if (rc)
		log_err("vGICv%d init: %s", b->gic_version, strerror(-rc));
	/* The device lives as long as the VM; its fd is not needed again. */
	close(b->gic_fd);
	b->gic_fd = -1;
	return rc;
}

static int a64_open(const char *path, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* Read size bytes of fd into guest RAM at gpa. -EIO on a short read. */
static int a64_read_into(const struct gm *gm, int fd, uint64_t gpa, uint64_t size, const char *path, char *err,
			 size_t errlen)
{
	uint8_t *dst = gm_translate(gm, gpa, size);
	uint64_t done = 0;

	if (!dst) {
		snprintf(err, errlen, "%s: does not fit in guest RAM", path);
		return -E2BIG;
	}
	while (done < size) {
		ssize_t n = pread(fd, dst + done, size - done, (off_t)done);
		if (n <= 0) {
			snprintf(err, errlen, "%s: read failed: %s", path, n < 0 ? strerror(errno) : "file shrank");
			return -EIO;
		}
		done += (uint64_t)n;
	}
	return 0;
}

int arch_load_images(struct gm *gm, const struct vmm_config *cfg, struct arch_boot *ab, char *err,
		     size_t errlen)
{
	struct a64_boot *b = (struct a64_boot *)ab->priv;
	uint8_t hdr[0x210];
	uint64_t ram = gm_ram_size(gm), ksize, isize = 0;
	ssize_t n;
	int fd, rc;

	memset(ab, 0, sizeof(*ab));
	if (ram > A64_IPA_LIMIT - A64_RAM_BASE) {
		snprintf(err, errlen, "-m: at most %llu MiB of guest RAM on arm64 (40-bit guest physical space)",
			 (unsigned long long)((A64_IPA_LIMIT - A64_RAM_BASE) >> 20));
		return -EINVAL;
	}
	/* gm_create lays RAM out for x86 (a hole below 4 GiB); arm64 RAM is one
	 * region from A64_RAM_BASE over the same memfd. */
	gm->r[0] = (struct gm_region){ .gpa = A64_RAM_BASE, .size = ram, .host = gm->map, .fd_off = 0 };
	gm->nregions = 1;

	fd = a64_open(cfg->kernel, &ksize, err, errlen);
	if (fd < 0)
		return fd;
	n = pread(fd, hdr, sizeof(hdr), 0);
	if (n < 0) {
		snprintf(err, errlen, "%s: read failed: %s", cfg->kernel, strerror(errno));
		close(fd);
		return -EIO;
	}
	char why[256];
	rc = image_parse(hdr, (size_t)n, ksize, A64_RAM_BASE, ram, &b->k, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "%s: %s", cfg->kernel, why);
		close(fd);
		return rc;
	}
	rc = a64_read_into(gm, fd, b->k.load_addr, ksize, cfg->kernel, err, errlen);
	close(fd);
	if (rc)
		return rc;
	if (cfg->initrd) {
		fd = a64_open(cfg->initrd, &isize, err, errlen);
		if (fd < 0)
			return fd;
	}
	if (image_place(&b->k, A64_RAM_BASE, ram, isize, &b->fdt_addr, &b->initrd_addr)) {
		if (cfg->initrd)
			snprintf(err, errlen, "%s: %llu bytes do not fit in guest RAM beside the kernel", cfg->initrd,
				 (unsigned long long)isize);
		else
			snprintf(err, errlen, "%s: the kernel and its device tree do not fit in %llu MiB of guest RAM",
				 cfg->kernel, (unsigned long long)(ram >> 20));
		if (cfg->initrd)
			close(fd);
		return -E2BIG;
	}
	if (cfg->initrd) {
		rc = a64_read_into(gm, fd, b->initrd_addr, isize, cfg->initrd, err, errlen);
		close(fd);
		if (rc)
			return rc;
		b->initrd_size = isize;
	}
	ab->entry = b->k.load_addr;
	return 0;
}

int arch_setup_boot(struct gm *gm, const struct vmm_config *cfg, const char *cmdline,
		    const struct dev_resource *res, unsigned nres, struct arch_boot *ab, char *err,
		    size_t errlen)
{
	struct a64_boot *b = (struct a64_boot *)ab->priv;
	struct devtree_cfg dc = {
		.ram_base = A64_RAM_BASE, .ram_size = gm_ram_size(gm), .ncpus = cfg->vcpus,
		.gic_version = b->gic_version, .cmdline = cmdline,
		.initrd_start = b->initrd_addr, .initrd_end = b->initrd_addr + b->initrd_size,
	};
	void *fdt = gm_translate(gm, b->fdt_addr, A64_FDT_MAX);
	int rc;

	if (!fdt) {
		snprintf(err, errlen, "device tree: no room at 0x%llx", (unsigned long long)b->fdt_addr);
		return -ENOMEM;
	}
	rc = devtree_build(fdt, A64_FDT_MAX, &dc, res, nres);
	if (rc < 0) {
		snprintf(err, errlen, "building the device tree: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

int arch_vcpu_init(int kvm_fd, int vcpu_fd, unsigned id, unsigned ncpus, const struct arch_boot *ab)
{
	const struct a64_boot *b = (const struct a64_boot *)ab->priv;
	struct kvm_vcpu_init init = b->init;
	int rc;

	(void)kvm_fd;
	(void)ncpus;
	/* PSCI 0.2 answered by KVM (CPU_ON, SYSTEM_OFF, SYSTEM_RESET, which
	 * exit as KVM_EXIT_SYSTEM_EVENT); secondaries wait powered off for
	 * the guest's CPU_ON. */
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (id != 0)
		init.features[0] |= 1U << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(vcpu_fd, KVM_ARM_VCPU_INIT, &init) < 0)
		return -errno;
	if (id != 0)
		return 0;
	/* booting.rst §4: x0 = the DTB's physical address, x1-x3 = 0, MMU
	 * off, interrupts masked (KVM_ARM_VCPU_INIT leaves EL1h with DAIF
	 * set), pc = the Image's first instruction. */
	rc = a64_set_reg(vcpu_fd, A64_CORE_REG(regs.regs[0]), b->fdt_addr);
	if (rc == 0)
		rc = a64_set_reg(vcpu_fd, A64_CORE_REG(regs.pc), ab->entry);
	return rc;
}
