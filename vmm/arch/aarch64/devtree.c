/* Device tree for arm64 guests, built with libfdt's sequential-write API
 * (the same shape kvmtool and crosvm give their guests). */
#include "vmm/arch/aarch64/devtree.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "vmm/arch/aarch64/layout.h"

#define DEVTREE_GIC_PHANDLE 1
#define DEVTREE_PCLK_PHANDLE 2
/* The PrimeCells' bus clock (bindings/clock/fixed-clock.yaml): a rate
 * nothing depends on, QEMU virt's 24 MHz. */
#define DEVTREE_PCLK_HZ 24000000
/* Documentation/devicetree/bindings/interrupt-controller/arm,gic*.yaml:
 * the first cell is the type, the third the trigger. */
#define GIC_SPI 0
#define GIC_PPI 1
#define IRQ_EDGE_RISING 1
#define IRQ_LEVEL_HIGH 4
#define IRQ_LEVEL_LOW 8
/* The architected timer's PPIs (bindings/timer/arm,arch_timer.yaml order:
 * secure, non-secure, virtual, hypervisor), numbered from 16. */
static const uint32_t devtree_timer_ppis[4] = { 13, 14, 11, 10 };
/* 16550 input clock (the PC's 1.8432 MHz), so the driver's divisor math
 * matches what our model ignores anyway. */
#define DEVTREE_UART_CLOCK 1843200

/* fdt_* return a negative FDT_ERR_*; anything but NOSPACE is our bug. */
#define DT(call) do { int dt_rc_ = (call); if (dt_rc_ < 0) return dt_rc_ == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL; } while (0)

static int devtree_reg(void *fdt, uint64_t base, uint64_t size)
{
	fdt64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(size) };

	return fdt_property(fdt, "reg", reg, sizeof(reg));
}

static int devtree_irq(void *fdt, uint32_t type, uint32_t num, uint32_t flags)
{
	fdt32_t irq[3] = { cpu_to_fdt32(type), cpu_to_fdt32(num), cpu_to_fdt32(flags) };

	return fdt_property(fdt, "interrupts", irq, sizeof(irq));
}

static int devtree_chosen(void *fdt, const struct devtree_cfg *cfg, const char *stdout_path)
{
	DT(fdt_begin_node(fdt, "chosen"));
	DT(fdt_property_string(fdt, "bootargs", cfg->cmdline ? cfg->cmdline : ""));
	if (stdout_path[0])
		DT(fdt_property_string(fdt, "stdout-path", stdout_path));
	if (cfg->initrd_end > cfg->initrd_start) {
		DT(fdt_property_u64(fdt, "linux,initrd-start", cfg->initrd_start));
		DT(fdt_property_u64(fdt, "linux,initrd-end", cfg->initrd_end));
	}
	DT(fdt_end_node(fdt));
	return 0;
}

static int devtree_cpus(void *fdt, unsigned ncpus)
{
	char name[24];

	DT(fdt_begin_node(fdt, "cpus"));
	DT(fdt_property_u32(fdt, "#address-cells", 1));
	DT(fdt_property_u32(fdt, "#size-cells", 0));
	for (unsigned i = 0; i < ncpus; i++) {
		snprintf(name, sizeof(name), "cpu@%x", i);
		DT(fdt_begin_node(fdt, name));
		DT(fdt_property_string(fdt, "device_type", "cpu"));
		DT(fdt_property_string(fdt, "compatible", "arm,arm-v8"));
		/* Secondary vCPUs start powered off; the kernel brings them up
		 * with PSCI CPU_ON (bindings/arm/cpus.yaml enable-method). */
		DT(fdt_property_string(fdt, "enable-method", "psci"));
		/* MPIDR affinity: KVM gives vCPU i Aff0 = i for i < 16. */
		DT(fdt_property_u32(fdt, "reg", i));
		DT(fdt_end_node(fdt));
	}
	DT(fdt_end_node(fdt));
	return 0;
}

static int devtree_gic(void *fdt, const struct devtree_cfg *cfg)
{
	char name[32];

	snprintf(name, sizeof(name), "intc@%llx", (unsigned long long)A64_GIC_DIST);
	DT(fdt_begin_node(fdt, name));
	if (cfg->gic_version == 3) {
		fdt64_t reg[4] = { cpu_to_fdt64(A64_GIC_DIST), cpu_to_fdt64(A64_GIC_DIST_SIZE),
				   cpu_to_fdt64(A64_GIC_REDIST),
				   cpu_to_fdt64(A64_GIC_REDIST_SIZE * cfg->ncpus) };
		DT(fdt_property_string(fdt, "compatible", "arm,gic-v3"));
		DT(fdt_property(fdt, "reg", reg, sizeof(reg)));
	} else {
		fdt64_t reg[4] = { cpu_to_fdt64(A64_GIC_DIST), cpu_to_fdt64(A64_GIC_V2_DIST_SIZE),
				   cpu_to_fdt64(A64_GIC_V2_CPU), cpu_to_fdt64(A64_GIC_V2_CPU_SIZE) };
		DT(fdt_property_string(fdt, "compatible", "arm,cortex-a15-gic"));
		DT(fdt_property(fdt, "reg", reg, sizeof(reg)));
	}
	DT(fdt_property_u32(fdt, "#interrupt-cells", 3));
	DT(fdt_property(fdt, "interrupt-controller", NULL, 0));
	DT(fdt_property_u32(fdt, "phandle", DEVTREE_GIC_PHANDLE));
	DT(fdt_end_node(fdt));
	return 0;
}

static int devtree_timer(void *fdt, const struct devtree_cfg *cfg)
{
	fdt32_t irqs[12];
	/* GICv2 PPIs name the CPUs they reach in flags bits 8-15
	 * (bindings/interrupt-controller/arm,gic.yaml); GICv3 has no mask. */
	uint32_t flags = IRQ_LEVEL_LOW;

	if (cfg->gic_version != 3)
		flags |= ((1U << (cfg->ncpus > 8 ? 8 : cfg->ncpus)) - 1) << 8;
	for (int i = 0; i < 4; i++) {
		irqs[3 * i] = cpu_to_fdt32(GIC_PPI);
		irqs[3 * i + 1] = cpu_to_fdt32(devtree_timer_ppis[i]);
		irqs[3 * i + 2] = cpu_to_fdt32(flags);
	}
	DT(fdt_begin_node(fdt, "timer"));
	DT(fdt_property_string(fdt, "compatible", "arm,armv8-timer"));
	DT(fdt_property(fdt, "interrupts", irqs, sizeof(irqs)));
	DT(fdt_property(fdt, "always-on", NULL, 0));
	DT(fdt_end_node(fdt));
	return 0;
}

/* A RES_ISA record: the platform device's ports are MMIO addresses in the
 * port window (layout.h). Only the 16550 (PNP0501) has an arm64 binding
 * (bindings/serial/8250.yaml, ns16550a); the PC-only devices (i8042, CMOS
 * RTC) are left out and their registers stay unused. */
static int devtree_isa(void *fdt, const struct dev_resource *r, char *stdout_path, size_t len)
{
	char name[32];

	if (r->pnp != RES_PNP(0x05, 0x01) || r->nports < 1)
		return 0;
	if (r->irq < 0 || (unsigned)r->irq >= A64_GIC_NR_SPIS)
		return -EINVAL;
	snprintf(name, sizeof(name), "uart@%x", r->port[0]);
	DT(fdt_begin_node(fdt, name));
	DT(fdt_property_string(fdt, "compatible", "ns16550a"));
	DT(devtree_reg(fdt, r->port[0], r->port_len[0]));
	DT(fdt_property_u32(fdt, "clock-frequency", DEVTREE_UART_CLOCK));
	DT(devtree_irq(fdt, GIC_SPI, (uint32_t)r->irq, IRQ_LEVEL_HIGH));
	DT(fdt_end_node(fdt));
	if (!stdout_path[0])
		snprintf(stdout_path, len, "/%s", name);
	return 0;
}

/* The fixed clock every PrimeCell names: the amba bus enables the
 * device's "apb_pclk" before reading its ids and fails the probe without
 * one (drivers/amba/bus.c, amba_get_enable_pclk; arm64 selects
 * COMMON_CLK). */
static int devtree_pclk(void *fdt)
{
	DT(fdt_begin_node(fdt, "apb-pclk"));
	DT(fdt_property_string(fdt, "compatible", "fixed-clock"));
	DT(fdt_property_u32(fdt, "#clock-cells", 0));
	DT(fdt_property_u32(fdt, "clock-frequency", DEVTREE_PCLK_HZ));
	DT(fdt_property_string(fdt, "clock-output-names", "clk24mhz"));
	DT(fdt_property_u32(fdt, "phandle", DEVTREE_PCLK_PHANDLE));
	DT(fdt_end_node(fdt));
	return 0;
}

/* A RES_PRIMECELL record (bindings/arm/primecell.yaml): its own
 * compatible then "arm,primecell", the window, a level-high SPI, the bus
 * clock. */
static int devtree_primecell(void *fdt, const struct dev_resource *r)
{
	char name[40], compat[sizeof(r->compat) + sizeof("arm,primecell")];
	size_t n = strnlen(r->compat, sizeof(r->compat));

	if (n == 0 || n == sizeof(r->compat) || r->irq < 0 || (unsigned)r->irq >= A64_GIC_NR_SPIS)
		return -EINVAL;
	memcpy(compat, r->compat, n + 1);
	memcpy(compat + n + 1, "arm,primecell", sizeof("arm,primecell"));
	snprintf(name, sizeof(name), "%.15s@%llx", strchr(r->compat, ',') ? strchr(r->compat, ',') + 1 : r->compat,
		 (unsigned long long)r->base);
	DT(fdt_begin_node(fdt, name));
	DT(fdt_property(fdt, "compatible", compat, (int)(n + 1 + sizeof("arm,primecell"))));
	DT(devtree_reg(fdt, r->base, r->size));
	DT(devtree_irq(fdt, GIC_SPI, (uint32_t)r->irq, IRQ_LEVEL_HIGH));
	DT(fdt_property_u32(fdt, "clocks", DEVTREE_PCLK_PHANDLE));
	DT(fdt_property_string(fdt, "clock-names", "apb_pclk"));
	DT(fdt_end_node(fdt));
	return 0;
}

/* bindings/virtio/mmio.yaml; the transport's interrupt is an edge from
 * its irqfd (KVM_IRQFD). */
static int devtree_virtio(void *fdt, const struct dev_resource *r)
{
	char name[40];

	if (r->irq < 0 || (unsigned)r->irq >= A64_GIC_NR_SPIS)
		return -EINVAL;
	snprintf(name, sizeof(name), "virtio_mmio@%llx", (unsigned long long)r->base);
	DT(fdt_begin_node(fdt, name));
	DT(fdt_property_string(fdt, "compatible", "virtio,mmio"));
	DT(devtree_reg(fdt, r->base, r->size));
	DT(devtree_irq(fdt, GIC_SPI, (uint32_t)r->irq, IRQ_EDGE_RISING));
	DT(fdt_property(fdt, "dma-coherent", NULL, 0));
	DT(fdt_end_node(fdt));
	return 0;
}

int devtree_build(void *buf, size_t size, const struct devtree_cfg *cfg, const struct dev_resource *res,
		  unsigned nres)
{
	char stdout_path[40] = "", mem[32];
	void *fdt = buf;
	int rc, pclk = 0;

	if (cfg->ncpus == 0 || (cfg->gic_version != 2 && cfg->gic_version != 3) || (cfg->gic_version == 2 && cfg->ncpus > 8))
		return -EINVAL;
	DT(fdt_create(fdt, (int)(size > 0x7fffffff ? 0x7fffffff : size)));
	DT(fdt_finish_reservemap(fdt));
	DT(fdt_begin_node(fdt, ""));
	DT(fdt_property_string(fdt, "compatible", "linux,dummy-virt"));
	DT(fdt_property_u32(fdt, "#address-cells", 2));
	DT(fdt_property_u32(fdt, "#size-cells", 2));
	DT(fdt_property_u32(fdt, "interrupt-parent", DEVTREE_GIC_PHANDLE));

	snprintf(mem, sizeof(mem), "memory@%llx", (unsigned long long)cfg->ram_base);
	DT(fdt_begin_node(fdt, mem));
	DT(fdt_property_string(fdt, "device_type", "memory"));
	DT(devtree_reg(fdt, cfg->ram_base, cfg->ram_size));
	DT(fdt_end_node(fdt));
	if ((rc = devtree_cpus(fdt, cfg->ncpus)))
		return rc;
	/* bindings/arm/psci.yaml: PSCI 0.2 function ids, called with hvc
	 * (KVM_ARM_VCPU_PSCI_0_2: KVM answers them itself). */
	DT(fdt_begin_node(fdt, "psci"));
	DT(fdt_property_string(fdt, "compatible", "arm,psci-0.2"));
	DT(fdt_property_string(fdt, "method", "hvc"));
	DT(fdt_end_node(fdt));
	if ((rc = devtree_gic(fdt, cfg)) || (rc = devtree_timer(fdt, cfg)))
		return rc;
	for (unsigned i = 0; i < nres; i++) {
		if (res[i].kind == RES_ISA)
			rc = devtree_isa(fdt, &res[i], stdout_path, sizeof(stdout_path));
		else if (res[i].kind == RES_VIRTIO_MMIO)
			rc = devtree_virtio(fdt, &res[i]);
		else if (res[i].kind == RES_PRIMECELL) {
			rc = pclk++ ? 0 : devtree_pclk(fdt);
			if (rc == 0)
				rc = devtree_primecell(fdt, &res[i]);
		}
		else
			rc = -EINVAL;
		if (rc)
			return rc;
	}
	if ((rc = devtree_chosen(fdt, cfg, stdout_path)))
		return rc;
	DT(fdt_end_node(fdt));
	DT(fdt_finish(fdt));
	return (int)fdt_totalsize(fdt);
}
