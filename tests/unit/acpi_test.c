/* ACPI tables: checksums, pointers, MADT entries, and the DSDT's AML, which
 * is also disassembled with ACPICA's iasl (acpica-tools) to prove it is
 * well-formed and names one LNRO0005 device per virtio-mmio window. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/t.h"
#include "vmm/arch/x86_64/acpi.h"
#include "vmm/arch/x86_64/layout.h"

static uint8_t *mem;
static struct gm gm;

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* What the platform devices and three virtio-mmio transports publish
 * (serial.c, i8042.c, rtc.c, virtio_mmio.c), in device-table order. */
#define VIRTIO_RES(b_, g_) { .kind = RES_VIRTIO_MMIO, .base = (b_), .size = 0x1000, .irq = (g_), \
				.reset_port = -1 }
static const struct dev_resource devs[6] = {
	{ .kind = RES_ISA, .name = "COM1", .pnp = RES_PNP(0x05, 0x01), .nports = 1, .port = { 0x3f8 },
	  .port_len = { 8 }, .irq = 4, .reset_port = -1 },
	{ .kind = RES_ISA, .name = "PS2K", .pnp = RES_PNP(0x03, 0x03), .nports = 2, .port = { 0x60, 0x64 },
	  .port_len = { 1, 1 }, .irq = 1, .reset_port = 0x64, .reset_value = 0xfe },
	{ .kind = RES_ISA, .name = "RTC_", .pnp = RES_PNP(0x0b, 0x00), .nports = 1, .port = { 0x70 },
	  .port_len = { 2 }, .irq = 8, .reset_port = -1 },
	VIRTIO_RES(0xd0000000, 5), VIRTIO_RES(0xd0001000, 6), VIRTIO_RES(0xd0002000, 7),
};
#define NDEVS 6

static void tables_consistent(void)
{
	const uint8_t *rsdp = mem + X86_ACPI_ADDR, *xsdt, *fadt = NULL, *madt = NULL, *dsdt;
	int n = acpi_write(&gm, X86_ACPI_ADDR, X86_ACPI_SIZE, 2, devs, NDEVS);

	CHECK(n > 0 && n < (int)X86_ACPI_SIZE);
	CHECK(!memcmp(rsdp, "RSD PTR ", 8));
	CHECK_EQ(sum(rsdp, 20), 0);
	CHECK_EQ(sum(rsdp, 36), 0);
	CHECK_EQ(rsdp[15], 2);
	xsdt = mem + rd64(rsdp + 24);
	CHECK(!memcmp(xsdt, "XSDT", 4));
	CHECK_EQ(sum(xsdt, rd32(xsdt + 4)), 0);
	CHECK_EQ(rd32(xsdt + 4), 36 + 16);
	for (unsigned i = 0; i < 2; i++) {
		const uint8_t *t = mem + rd64(xsdt + 36 + 8 * i);
		CHECK_EQ(sum(t, rd32(t + 4)), 0);
		if (!memcmp(t, "FACP", 4))
			fadt = t;
		if (!memcmp(t, "APIC", 4))
			madt = t;
	}
	CHECK(fadt && madt);
	if (!fadt || !madt)
		return;
	CHECK_EQ(rd32(fadt + 4), 276);
	CHECK(rd32(fadt + 112) & (1U << 20));        /* hardware-reduced */
	CHECK_EQ(fadt[116], 1);                       /* reset register in I/O space */
	CHECK_EQ(rd64(fadt + 120), 0x64);
	CHECK_EQ(fadt[128], 0xfe);
	dsdt = mem + rd64(fadt + 140);
	CHECK_EQ(rd32(fadt + 40), rd64(fadt + 140));
	CHECK(!memcmp(dsdt, "DSDT", 4));
	CHECK_EQ(sum(dsdt, rd32(dsdt + 4)), 0);
	/* MADT: 2 local APICs (ids 0, 1, enabled) + IOAPIC id 2 at 0xfec00000 */
	CHECK_EQ(rd32(madt + 4), 44 + 2 * 8 + 12 + 3 * 10);
	CHECK_EQ(rd32(madt + 36), 0xfee00000);
	CHECK_EQ(madt[44], 0);
	CHECK_EQ(madt[47], 0);
	CHECK_EQ(madt[52], 0);
	CHECK_EQ(madt[55], 1);
	CHECK_EQ(madt[60], 1);
	CHECK_EQ(madt[62], 2);
	CHECK_EQ(rd32(madt + 64), 0xfec00000);
	/* One interrupt source override per published ISA IRQ, in record
	 * order: 4 (COM1), 1 (i8042), 8 (RTC), each identity-mapped. */
	CHECK_EQ(madt[72], 2);
	CHECK_EQ(madt[75], 4);
	CHECK_EQ(rd32(madt + 76), 4);
	CHECK_EQ(madt[82], 2);
	CHECK_EQ(madt[85], 1);
	CHECK_EQ(rd32(madt + 86), 1);
	CHECK_EQ(madt[95], 8);
	/* Everything inside the reserved BIOS area. */
	CHECK(rd64(rsdp + 24) + 52 <= X86_ACPI_ADDR + X86_ACPI_SIZE);
}

static void dsdt_disassembles(void)
{
	uint8_t aml[4096], tab[4096 + 36];
	char dir[] = "/tmp/acpi_testXXXXXX", path[128], cmd[512], line[512];
	int n = acpi_dsdt_aml(aml, sizeof(aml), devs, NDEVS), found = 0, mem_ok = 0, irq_ok = 0, isa = 0;
	FILE *f;

	CHECK(n > 0);
	CHECK(mkdtemp(dir) != NULL);
	/* Wrap it as acpi_write does and let iasl disassemble the table. */
	{
		static uint8_t m[X86_ACPI_SIZE + X86_ACPI_ADDR];
		struct gm g;
		const uint8_t *fadt, *dsdt, *xsdt;
		gm_init_test(&g, m, sizeof(m));
		CHECK(acpi_write(&g, X86_ACPI_ADDR, X86_ACPI_SIZE, 1, devs, NDEVS) > 0);
		xsdt = m + rd64(m + X86_ACPI_ADDR + 24);
		fadt = m + rd64(xsdt + 36);
		dsdt = m + rd64(fadt + 140);
		memcpy(tab, dsdt, rd32(dsdt + 4));
		snprintf(path, sizeof(path), "%s/dsdt.dat", dir);
		f = fopen(path, "wb");
		fwrite(tab, 1, rd32(dsdt + 4), f);
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d dsdt.dat >iasl.log 2>&1", dir);
	CHECK_EQ(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	f = fopen(path, "r");
	CHECK(f != NULL);
	while (f && fgets(line, sizeof(line), f)) {
		if (strstr(line, "\"LNRO0005\""))
			found++;
		if (strstr(line, "EisaId (\"PNP0501\")") || strstr(line, "EisaId (\"PNP0303\")") ||
		    strstr(line, "EisaId (\"PNP0B00\")"))
			isa++;
		if (strstr(line, "0xD0002000,") || strstr(line, "0xD0002000, "))
			mem_ok++;
		if (strstr(line, "0x00000007,") || strstr(line, "0x00000007 ") || strstr(line, "0x00000007\n"))
			irq_ok++;
	}
	if (f)
		fclose(f);
	CHECK_EQ(found, 3);
	CHECK_EQ(isa, 3);  /* COM1, i8042, RTC as PnP devices */
	CHECK(mem_ok >= 1);
	CHECK(irq_ok >= 1);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("  could not remove %s\n", dir);
}

static void bad_arguments(void)
{
	CHECK_EQ(acpi_write(&gm, X86_ACPI_ADDR, X86_ACPI_SIZE, 0, devs, 1), -EINVAL);
	CHECK_EQ(acpi_write(&gm, X86_ACPI_ADDR + 4, X86_ACPI_SIZE, 1, devs, 1), -EINVAL);
	CHECK_EQ(acpi_write(&gm, X86_ACPI_ADDR, 100, 1, devs, 1), -ENOMEM);
	CHECK_EQ(acpi_write(&gm, (64ULL << 20) - 4096, 8192, 1, devs, 1), -ENOMEM);
	CHECK_EQ(acpi_dsdt_aml((uint8_t[8]){ 0 }, 8, devs, NDEVS), -ENOSPC);
	CHECK_EQ(acpi_write(&gm, X86_ACPI_ADDR, X86_ACPI_SIZE, 1, devs, RES_MAX + 1), -EINVAL);
}

/* Without a record offering a reset register, the FADT offers none. */
static void reset_register_from_records(void)
{
	const uint8_t *xsdt, *fadt;

	CHECK(acpi_write(&gm, X86_ACPI_ADDR, X86_ACPI_SIZE, 1, devs + 2, NDEVS - 2) > 0);
	xsdt = mem + rd64(mem + X86_ACPI_ADDR + 24);
	fadt = mem + rd64(xsdt + 36);
	CHECK(!memcmp(fadt, "FACP", 4));
	CHECK_EQ(rd32(fadt + 112) & (1U << 10), 0);  /* no RESET_REG_SUP */
	CHECK_EQ(rd64(fadt + 120), 0);
	CHECK_EQ(fadt[128], 0);
}

static void many_devices_use_two_byte_pkglength(void)
{
	struct dev_resource d[32];
	for (unsigned i = 0; i < 32; i++)
		d[i] = (struct dev_resource)VIRTIO_RES(0xd0000000 + i * 0x1000, 5 + i);
	CHECK(acpi_write(&gm, X86_ACPI_ADDR, X86_ACPI_SIZE, 16, d, 32) > 0);
	/* A Scope body over 63 bytes needs the 2-byte PkgLength form (bits 7:6 = 1). */
	CHECK_EQ(mem[X86_ACPI_ADDR + 48 + 36] , 0x10);
	CHECK_EQ(mem[X86_ACPI_ADDR + 48 + 37] >> 6, 1);
}

int main(void)
{
	t_suite = "acpi";
	mem = calloc(1, 64ULL << 20);
	gm_init_test(&gm, mem, 64ULL << 20);
	RUN(tables_consistent);
	RUN(dsdt_disassembles);
	RUN(bad_arguments);
	RUN(reset_register_from_records);
	RUN(many_devices_use_two_byte_pkglength);
	free(mem);
	return t_done();
}
