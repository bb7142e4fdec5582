#include "vmm/arch/x86_64/acpi.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "vmm/arch/x86_64/layout.h"

/* ACPI 6.4 §5.2.6 common table header. */
struct acpi_hdr {
	char sig[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

/* §5.2.5.3 RSDP, revision 2. */
struct acpi_rsdp {
	char sig[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum;
	uint8_t reserved[3];
} __attribute__((packed));

/* §5.2.3.2 Generic Address Structure. */
struct acpi_gas {
	uint8_t space;     /* 1: system I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access;    /* 1: byte */
	uint64_t address;
} __attribute__((packed));

#define FADT_LEN 276
#define FADT_F_RESET_REG_SUP (1U << 10)
#define FADT_F_HW_REDUCED (1U << 20)
#define FADT_BOOT_8042 (1U << 1)
#define FADT_BOOT_NO_VGA (1U << 2)
#define FADT_BOOT_NO_MSI (1U << 3)

static uint8_t acpi_sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n--)
		s += *b++;
	return (uint8_t)-s;
}

static void acpi_hdr_fill(struct acpi_hdr *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->sig, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, "APPVM ", 6);
	memcpy(h->oem_table_id, "APPVMVMM", 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, "AVMM", 4);
	h->creator_revision = 1;
	h->checksum = 0;
	h->checksum = acpi_sum(h, len);
}

/* AML PkgLength (ACPI 6.4 §20.2.4): the length includes its own bytes. */
static int acpi_pkglen(uint8_t *out, size_t body)
{
	if (body + 1 < 0x40) {
		out[0] = (uint8_t)(body + 1);
		return 1;
	}
	if (body + 2 < 0x1000) {
		size_t n = body + 2;
		out[0] = (uint8_t)(0x40 | (n & 0xf));
		out[1] = (uint8_t)(n >> 4);
		return 2;
	}
	if (body + 3 < 0x100000) {
		size_t n = body + 3;
		out[0] = (uint8_t)(0x80 | (n & 0xf));
		out[1] = (uint8_t)(n >> 4);
		out[2] = (uint8_t)(n >> 12);
		return 3;
	}
	return -1;
}

static void acpi_put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Device(name) { Name(_HID, hid) Name(_UID, uid) Name(_CRS, Buffer{crs}) }
 * into out (ACPI 6.4 §19.6.30 Device, §20 AML encoding); returns its length.
 * hid is the encoded data object (String or EISAID DWord). */
static size_t acpi_aml_dev(uint8_t *out, const char name[4], const uint8_t *hid, size_t hid_len, uint8_t uid,
			   const uint8_t *crs, size_t crs_len)
{
	uint8_t body[192];
	size_t n = 0;
	int pl;

	body[n++] = 0x08;  /* NameOp */
	memcpy(body + n, "_HID", 4);
	n += 4;
	memcpy(body + n, hid, hid_len);
	n += hid_len;
	body[n++] = 0x08;  /* NameOp _UID, BytePrefix uid */
	memcpy(body + n, "_UID", 4);
	n += 4;
	body[n++] = 0x0a;
	body[n++] = uid;
	body[n++] = 0x08;  /* NameOp _CRS, BufferOp PkgLength BufferSize bytes */
	memcpy(body + n, "_CRS", 4);
	n += 4;
	body[n++] = 0x11;
	pl = acpi_pkglen(body + n, 2 + crs_len);
	n += (size_t)pl;
	body[n++] = 0x0a;
	body[n++] = (uint8_t)crs_len;
	memcpy(body + n, crs, crs_len);
	n += crs_len;

	out[0] = 0x5b;  /* DeviceOp: ExtOpPrefix 0x82 */
	out[1] = 0x82;
	pl = acpi_pkglen(out + 2, 4 + n);
	memcpy(out + 2 + pl, name, 4);
	memcpy(out + 2 + pl + 4, body, n);
	return 2 + (size_t)pl + 4 + n;
}

/* A virtio-mmio window: _HID "LNRO0005" (the virtio_mmio driver's ACPI id),
 * Memory32Fixed (§6.4.3.4) + Extended Interrupt (§6.4.3.6: consumer, edge,
 * active-high, exclusive). */
static size_t acpi_aml_virtio(uint8_t *out, unsigned idx, const struct dev_resource *d)
{
	static const char hex[] = "0123456789ABCDEF";
	static const uint8_t hid[] = { 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0 };
	char name[4] = { 'V', hex[(idx >> 8) & 0xf], hex[(idx >> 4) & 0xf], hex[idx & 0xf] };
	uint8_t crs[32];
	size_t c = 0;

	crs[c++] = 0x86;
	crs[c++] = 0x09;
	crs[c++] = 0x00;
	crs[c++] = 0x01;  /* read/write */
	acpi_put32(crs + c, (uint32_t)d->base);
	c += 4;
	acpi_put32(crs + c, (uint32_t)d->size);
	c += 4;
	crs[c++] = 0x89;
	crs[c++] = 0x06;
	crs[c++] = 0x00;
	crs[c++] = 0x03;  /* consumer | edge-triggered */
	crs[c++] = 0x01;  /* one interrupt */
	acpi_put32(crs + c, (uint32_t)d->irq);
	c += 4;
	crs[c++] = 0x79;  /* End Tag */
	crs[c++] = 0x00;
	return acpi_aml_dev(out, name, hid, sizeof(hid), (uint8_t)idx, crs, c);
}

/* A legacy ISA device: EISAID _HID, I/O port ranges (§6.4.2.5, 16-bit
 * decode) and one ISA IRQ (§6.4.2.1, edge, active high). Hardware-reduced
 * ACPI has no legacy IRQ map, so the kernel wires these IRQs only through
 * such devices (8250_pnp, i8042 PNP, rtc_cmos PNP). */
static size_t acpi_aml_isa(uint8_t *out, const struct dev_resource *r)
{
	uint8_t hid[5] = { 0x0c };  /* DWordPrefix */
	uint8_t crs[64];
	size_t c = 0;

	memcpy(hid + 1, &r->pnp, 4);
	for (unsigned i = 0; i < r->nports && i < RES_MAX_PORTS; i++) {
		crs[c++] = 0x47;
		crs[c++] = 0x01;
		crs[c++] = (uint8_t)r->port[i];
		crs[c++] = (uint8_t)(r->port[i] >> 8);
		crs[c++] = (uint8_t)r->port[i];
		crs[c++] = (uint8_t)(r->port[i] >> 8);
		crs[c++] = 0x01;
		crs[c++] = r->port_len[i];
	}
	if (r->irq >= 0 && r->irq < 16) {
		crs[c++] = 0x22;
		crs[c++] = (uint8_t)(1U << r->irq);
		crs[c++] = (uint8_t)((1U << r->irq) >> 8);
	}
	crs[c++] = 0x79;
	crs[c++] = 0x00;
	return acpi_aml_dev(out, r->name, hid, sizeof(hid), 0, crs, c);
}

/* An ISA record with an interrupt the kernel must route (ISA IRQs only). */
static bool acpi_isa_irq(const struct dev_resource *r)
{
	return r->kind == RES_ISA && r->irq >= 0 && r->irq < 16;
}

int acpi_dsdt_aml(uint8_t *out, size_t cap, const struct dev_resource *res, unsigned nres)
{
	uint8_t devbuf[RES_MAX * 96];
	size_t dn = 0;
	unsigned nvirtio = 0;
	int pl;

	if (nres > RES_MAX)
		return -ENOSPC;
	for (unsigned i = 0; i < nres; i++) {
		if (res[i].kind == RES_ISA && res[i].pnp)
			dn += acpi_aml_isa(devbuf + dn, &res[i]);
		else if (res[i].kind == RES_VIRTIO_MMIO)
			dn += acpi_aml_virtio(devbuf + dn, nvirtio++, &res[i]);
	}
	/* ScopeOp PkgLength "_SB_" devices */
	if (cap < 1 + 3 + 4 + dn)
		return -ENOSPC;
	out[0] = 0x10;
	pl = acpi_pkglen(out + 1, 4 + dn);
	if (pl < 0)
		return -ENOSPC;
	memcpy(out + 1 + pl, "_SB_", 4);
	memcpy(out + 1 + pl + 4, devbuf, dn);
	return (int)(1 + (size_t)pl + 4 + dn);
}

int acpi_write(const struct gm *gm, uint64_t gpa, size_t max, unsigned ncpus,
	       const struct dev_resource *res, unsigned nres)
{
	uint8_t *base = gm_translate(gm, gpa, max);
	uint64_t off = 0, xsdt_off, fadt_off, madt_off, dsdt_off;
	const struct dev_resource *reset = NULL;
	unsigned nisa = 0;
	struct acpi_rsdp *rsdp;
	int aml;

	if (ncpus == 0 || ncpus > 255 || nres > RES_MAX || (gpa & 15))
		return -EINVAL;
	for (unsigned i = 0; i < nres; i++) {
		nisa += acpi_isa_irq(&res[i]);
		if (!reset && res[i].reset_port >= 0)
			reset = &res[i];
	}
	if (!base || max < 4096)
		return -ENOMEM;
	memset(base, 0, max);

	/* RSDP first: Linux scans the BIOS area on 16-byte boundaries. */
	rsdp = (struct acpi_rsdp *)base;
	off = (sizeof(*rsdp) + 15) & ~15ULL;

	/* DSDT: header + AML. */
	dsdt_off = off;
	aml = acpi_dsdt_aml(base + dsdt_off + sizeof(struct acpi_hdr), max - dsdt_off - sizeof(struct acpi_hdr),
			    res, nres);
	if (aml < 0)
		return -ENOMEM;
	/* Revision 2: 64-bit AML integers. */
	acpi_hdr_fill((struct acpi_hdr *)(base + dsdt_off), "DSDT", (uint32_t)(sizeof(struct acpi_hdr) + aml), 2);
	off = (dsdt_off + sizeof(struct acpi_hdr) + (size_t)aml + 15) & ~15ULL;

	/* FADT (§5.2.9), revision 6: hardware-reduced; reset through the
	 * register a device published (the i8042's), which ends the VM. */
	fadt_off = off;
	if (fadt_off + FADT_LEN > max)
		return -ENOMEM;
	{
		uint8_t *f = base + fadt_off;
		uint32_t flags = FADT_F_HW_REDUCED | (reset ? FADT_F_RESET_REG_SUP : 0);
		uint16_t boot = FADT_BOOT_8042 | FADT_BOOT_NO_VGA | FADT_BOOT_NO_MSI;
		uint64_t dsdt = gpa + dsdt_off;

		acpi_put32(f + 40, (uint32_t)dsdt);        /* DSDT */
		memcpy(f + 109, &boot, 2);                  /* IAPC_BOOT_ARCH */
		memcpy(f + 112, &flags, 4);                 /* Flags */
		if (reset) {
			struct acpi_gas reg = { .space = 1, .bit_width = 8, .access = 1,
						.address = (uint64_t)reset->reset_port };
			memcpy(f + 116, &reg, sizeof(reg)); /* RESET_REG */
			f[128] = reset->reset_value;        /* RESET_VALUE */
		}
		f[131] = 4;                                 /* FADT minor version: 6.4 */
		memcpy(f + 140, &dsdt, 8);                  /* X_DSDT */
		acpi_hdr_fill((struct acpi_hdr *)f, "FACP", FADT_LEN, 6);
	}
	off = (fadt_off + FADT_LEN + 15) & ~15ULL;

	/* MADT (§5.2.12): local APIC address and flags, then one Processor
	 * Local APIC per vCPU (ids as in the MP table) and the IOAPIC. */
	madt_off = off;
	{
		size_t len = sizeof(struct acpi_hdr) + 8 + ncpus * 8 + 12 + nisa * 10;
		uint8_t *m = base + madt_off, *e;
		if (madt_off + len > max)
			return -ENOMEM;
		acpi_put32(m + 36, (uint32_t)X86_LAPIC_ADDR);
		acpi_put32(m + 40, 0);  /* no 8259 compatibility: hardware-reduced */
		e = m + 44;
		for (unsigned i = 0; i < ncpus; i++, e += 8) {
			e[0] = 0;               /* Processor Local APIC */
			e[1] = 8;
			e[2] = (uint8_t)i;      /* ACPI processor UID */
			e[3] = (uint8_t)i;      /* APIC id */
			acpi_put32(e + 4, 1);   /* enabled */
		}
		e[0] = 1;                       /* I/O APIC */
		e[1] = 12;
		e[2] = (uint8_t)ncpus;          /* id after the CPUs, as in the MP table */
		acpi_put32(e + 4, (uint32_t)X86_IOAPIC_ADDR);
		acpi_put32(e + 8, 0);           /* GSI base */
		e += 12;
		/* Interrupt Source Overrides (§5.2.12.5) for the legacy devices'
		 * ISA IRQs: hardware-reduced ACPI has no 8259, so Linux maps ISA
		 * IRQs to IOAPIC pins only where an override says so
		 * (arch/x86/kernel/acpi/boot.c). Identity, flags 0 = ISA default
		 * (edge, active high). */
		for (unsigned i = 0; i < nres; i++) {
			uint16_t flags = 0;
			if (!acpi_isa_irq(&res[i]))
				continue;
			e[0] = 2;
			e[1] = 10;
			e[2] = 0;               /* ISA bus */
			e[3] = (uint8_t)res[i].irq;
			acpi_put32(e + 4, (uint32_t)res[i].irq);
			memcpy(e + 8, &flags, 2);
			e += 10;
		}
		acpi_hdr_fill((struct acpi_hdr *)m, "APIC", (uint32_t)len, 5);
		off = (madt_off + len + 15) & ~15ULL;
	}

	/* XSDT (§5.2.8): FADT and MADT. */
	xsdt_off = off;
	{
		size_t len = sizeof(struct acpi_hdr) + 2 * 8;
		uint64_t e[2] = { gpa + fadt_off, gpa + madt_off };
		if (xsdt_off + len > max)
			return -ENOMEM;
		memcpy(base + xsdt_off + sizeof(struct acpi_hdr), e, sizeof(e));
		acpi_hdr_fill((struct acpi_hdr *)(base + xsdt_off), "XSDT", (uint32_t)len, 1);
		off = xsdt_off + len;
	}

	memcpy(rsdp->sig, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, "APPVM ", 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt = gpa + xsdt_off;
	rsdp->checksum = acpi_sum(rsdp, 20);
	rsdp->ext_checksum = acpi_sum(rsdp, sizeof(*rsdp));
	return (int)off;
}
