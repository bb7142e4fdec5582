/* vmm/arch/aarch64/devtree.c: the device tree an arm64 guest boots from.
 * libfdt's own checks, the nodes the kernel looks for, and a round trip
 * through Debian's dtc (`dtc -I dtb -O dts`) compared with the golden
 * source tests/golden/aarch64/NAME.dts. No KVM.
 *
 * To regenerate a golden file after an intended change, run this test with
 * DEVTREE_GOLDEN_WRITE=1 and review the diff. */
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/t.h"
#include "vmm/arch/aarch64/devtree.h"
#include "vmm/arch/aarch64/layout.h"

#define GOLDEN_DIR "tests/golden/aarch64"

/* What vm.c collects from the default devices plus two virtio windows:
 * COM1, the i8042 (no arm64 binding: left out), the PL031 RTC, two
 * virtio-mmio windows. */
static const struct dev_resource devtree_res[] = {
	{ .kind = RES_ISA, .name = "COM1", .pnp = RES_PNP(0x05, 0x01), .nports = 1, .port = { 0x3f8 },
	  .port_len = { 8 }, .irq = 4, .reset_port = -1 },
	{ .kind = RES_ISA, .name = "PS2K", .pnp = RES_PNP(0x03, 0x03), .nports = 2, .port = { 0x60, 0x64 },
	  .port_len = { 1, 1 }, .irq = 1, .reset_port = 0x64, .reset_value = 0xfe },
	{ .kind = RES_PRIMECELL, .compat = "arm,pl031", .base = A64_PL031_BASE, .size = A64_PL031_SIZE,
	  .irq = A64_PL031_SPI, .reset_port = -1 },
	{ .kind = RES_VIRTIO_MMIO, .base = A64_VIRTIO_MMIO_BASE, .size = 0x1000, .irq = 5, .reset_port = -1 },
	{ .kind = RES_VIRTIO_MMIO, .base = A64_VIRTIO_MMIO_BASE + 0x1000, .size = 0x1000, .irq = 6, .reset_port = -1 },
};

static struct devtree_cfg devtree_cfg(int gic, unsigned ncpus)
{
	return (struct devtree_cfg){ .ram_base = A64_RAM_BASE, .ram_size = 256ULL << 20, .ncpus = ncpus,
				     .gic_version = gic, .cmdline = "console=ttyS0 earlycon panic=-1 root=/dev/vda",
				     .initrd_start = 0x8f000000ULL, .initrd_end = 0x8f123000ULL };
}

static int devtree_buf(void *buf, size_t len, int gic, unsigned ncpus)
{
	struct devtree_cfg c = devtree_cfg(gic, ncpus);

	return devtree_build(buf, len, &c, devtree_res, sizeof(devtree_res) / sizeof(devtree_res[0]));
}

/* 64-bit cells are only 4-byte aligned in the blob. */
static uint64_t at64(const void *p, int i)
{
	fdt64_t v;

	memcpy(&v, (const char *)p + 8 * i, sizeof(v));
	return fdt64_to_cpu(v);
}

static const void *prop(const void *fdt, const char *path, const char *name, int *len)
{
	int off = fdt_path_offset(fdt, path);

	return off < 0 ? NULL : fdt_getprop(fdt, off, name, len);
}

static void devtree_nodes(void)
{
	static char buf[65536];
	const fdt32_t *p32;
	const fdt64_t *p64;
	const char *s;
	int len, n = devtree_buf(buf, sizeof(buf), 3, 2);

	CHECK(n > 0);
	CHECK_EQ(fdt_check_header(buf), 0);
	CHECK_EQ(fdt_check_full(buf, (size_t)n), 0);
	CHECK_EQ(fdt_totalsize(buf), n);
	s = prop(buf, "/chosen", "bootargs", &len);
	CHECK(s && !strcmp(s, "console=ttyS0 earlycon panic=-1 root=/dev/vda"));
	s = prop(buf, "/chosen", "stdout-path", &len);
	CHECK(s && !strcmp(s, "/uart@3f8"));
	p64 = prop(buf, "/chosen", "linux,initrd-start", &len);
	CHECK(p64 && len == 8 && at64(p64, 0) == 0x8f000000ULL);
	p64 = prop(buf, "/chosen", "linux,initrd-end", &len);
	CHECK(p64 && len == 8 && at64(p64, 0) == 0x8f123000ULL);
	p64 = prop(buf, "/memory@80000000", "reg", &len);
	CHECK(p64 && len == 16 && at64(p64, 0) == A64_RAM_BASE && at64(p64, 1) == 256ULL << 20);
	s = prop(buf, "/cpus/cpu@1", "enable-method", &len);
	CHECK(s && !strcmp(s, "psci"));
	CHECK_EQ(fdt_path_offset(buf, "/cpus/cpu@2"), -FDT_ERR_NOTFOUND);
	s = prop(buf, "/psci", "method", &len);
	CHECK(s && !strcmp(s, "hvc"));
	/* The redistributor region covers every vCPU (arm-vgic-v3.rst). */
	p64 = prop(buf, "/intc@8000000", "reg", &len);
	CHECK(p64 && len == 32 && at64(p64, 2) == A64_GIC_REDIST &&
	      at64(p64, 3) == 2 * A64_GIC_REDIST_SIZE);
	/* The virtio window's SPI, edge-triggered. */
	p32 = prop(buf, "/virtio_mmio@a001000", "interrupts", &len);
	CHECK(p32 && len == 12 && fdt32_to_cpu(p32[0]) == 0 && fdt32_to_cpu(p32[1]) == 6 &&
	      fdt32_to_cpu(p32[2]) == 1);
	p32 = prop(buf, "/uart@3f8", "interrupts", &len);
	CHECK(p32 && len == 12 && fdt32_to_cpu(p32[1]) == 4 && fdt32_to_cpu(p32[2]) == 4);
	/* The PL031 as the amba bus probes it (bindings/arm/primecell.yaml):
	 * its compatible then "arm,primecell", a level-high SPI, and the
	 * "apb_pclk" clock, which is the fixed clock's phandle. */
	s = prop(buf, "/pl031@9010000", "compatible", &len);
	CHECK(s && len == (int)sizeof("arm,pl031\0arm,primecell") && !memcmp(s, "arm,pl031\0arm,primecell", (size_t)len));
	p64 = prop(buf, "/pl031@9010000", "reg", &len);
	CHECK(p64 && len == 16 && at64(p64, 0) == A64_PL031_BASE && at64(p64, 1) == 0x1000);
	p32 = prop(buf, "/pl031@9010000", "interrupts", &len);
	CHECK(p32 && len == 12 && fdt32_to_cpu(p32[0]) == 0 && fdt32_to_cpu(p32[1]) == A64_PL031_SPI &&
	      fdt32_to_cpu(p32[2]) == 4);
	s = prop(buf, "/pl031@9010000", "clock-names", &len);
	CHECK(s && !strcmp(s, "apb_pclk"));
	p32 = prop(buf, "/pl031@9010000", "clocks", &len);
	CHECK(p32 && len == 4);
	if (p32)
		CHECK_EQ(fdt_node_offset_by_phandle(buf, fdt32_to_cpu(p32[0])), fdt_path_offset(buf, "/apb-pclk"));
	s = prop(buf, "/apb-pclk", "compatible", &len);
	CHECK(s && !strcmp(s, "fixed-clock"));
	/* The i8042 has no arm64 binding. */
	CHECK_EQ(fdt_path_offset(buf, "/i8042@60"), -FDT_ERR_NOTFOUND);
}

static void devtree_errors(void)
{
	static char buf[65536];
	struct devtree_cfg c = devtree_cfg(3, 2);
	struct dev_resource bad = devtree_res[3];

	CHECK_EQ(devtree_buf(buf, 256, 3, 2), -ENOSPC);
	CHECK_EQ(devtree_buf(buf, sizeof(buf), 4, 2), -EINVAL);
	CHECK_EQ(devtree_buf(buf, sizeof(buf), 2, 9), -EINVAL);  /* GICv2: 8 CPUs at most */
	CHECK_EQ(devtree_buf(buf, sizeof(buf), 3, 0), -EINVAL);
	bad.irq = (int)A64_GIC_NR_SPIS;
	CHECK_EQ(devtree_build(buf, sizeof(buf), &c, &bad, 1), -EINVAL);
	/* A PrimeCell without a compatible, or one that fills the field
	 * without a terminator, or with no interrupt. */
	bad = devtree_res[2];
	bad.compat[0] = 0;
	CHECK_EQ(devtree_build(buf, sizeof(buf), &c, &bad, 1), -EINVAL);
	memset(bad.compat, 'x', sizeof(bad.compat));
	CHECK_EQ(devtree_build(buf, sizeof(buf), &c, &bad, 1), -EINVAL);
	bad = devtree_res[2];
	bad.irq = -1;
	CHECK_EQ(devtree_build(buf, sizeof(buf), &c, &bad, 1), -EINVAL);
}

/* buf[n] through `dtc -I dtb -O dts` == GOLDEN_DIR/name.dts. */
static void devtree_golden(const char *name, const void *buf, int n)
{
	char dtb[] = "/tmp/devtree_test.XXXXXX", cmd[256], golden[128];
	static char out[65536], want[65536];
	size_t nout, nwant;
	FILE *f;
	int fd = mkstemp(dtb);

	CHECK(fd >= 0 && n > 0);
	if (fd < 0 || n <= 0)
		return;
	CHECK_EQ(write(fd, buf, (size_t)n), n);
	close(fd);
	snprintf(cmd, sizeof(cmd), "dtc -q -I dtb -O dts %s", dtb);
	f = popen(cmd, "r");
	CHECK(f);
	if (!f)
		return;
	nout = fread(out, 1, sizeof(out) - 1, f);
	CHECK_EQ(pclose(f), 0);
	unlink(dtb);
	out[nout] = 0;
	snprintf(golden, sizeof(golden), GOLDEN_DIR "/%s.dts", name);
	if (getenv("DEVTREE_GOLDEN_WRITE")) {
		f = fopen(golden, "w");
		CHECK(f && fwrite(out, 1, nout, f) == nout);
		if (f)
			fclose(f);
	}
	f = fopen(golden, "r");
	CHECK(f);
	if (!f)
		return;
	nwant = fread(want, 1, sizeof(want) - 1, f);
	fclose(f);
	want[nwant] = 0;
	if (nout != nwant || memcmp(out, want, nout)) {
		printf("  %s differs from dtc's output:\n%s", golden, out);
		CHECK(!"golden device tree differs");
	}
}

static void devtree_golden_v3(void)
{
	static char buf[65536];

	devtree_golden("devtree_gicv3", buf, devtree_buf(buf, sizeof(buf), 3, 2));
}

static void devtree_golden_v2(void)
{
	static char buf[65536];

	devtree_golden("devtree_gicv2", buf, devtree_buf(buf, sizeof(buf), 2, 2));
}

int main(void)
{
	t_suite = "aarch64_devtree";
	RUN(devtree_nodes);
	RUN(devtree_errors);
	RUN(devtree_golden_v3);
	RUN(devtree_golden_v2);
	return t_done();
}
