#include "vmm/arch/x86_64/mptable.h"

#include <errno.h>
#include <string.h>

#include "vmm/arch/x86_64/layout.h"

/* MP spec 1.4 §4.1 floating pointer structure. */
struct mp_fp {
	char signature[4];  /* "_MP_" */
	uint32_t physptr;
	uint8_t length;     /* in 16-byte units: 1 */
	uint8_t spec_rev;   /* 4 */
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

/* §4.2 configuration table header. */
struct mp_conf {
	char signature[4];  /* "PCMP" */
	uint16_t length;    /* base table incl. header */
	uint8_t spec_rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

/* §4.3.1 processor entry (20 bytes). */
struct mp_cpu {
	uint8_t type;       /* 0 */
	uint8_t apic_id;
	uint8_t apic_ver;
	uint8_t flags;      /* bit0 enabled, bit1 bootstrap processor */
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));

/* §4.3.2 bus entry (8 bytes). */
struct mp_bus {
	uint8_t type;       /* 1 */
	uint8_t id;
	char name[6];       /* "ISA   " */
} __attribute__((packed));

/* §4.3.3 I/O APIC entry (8 bytes). */
struct mp_ioapic {
	uint8_t type;       /* 2 */
	uint8_t id;
	uint8_t ver;
	uint8_t flags;      /* bit0 enabled */
	uint32_t addr;
} __attribute__((packed));

/* §4.3.4/§4.3.5 I/O and local interrupt assignment entries (8 bytes). */
struct mp_irq {
	uint8_t type;       /* 3 I/O, 4 local */
	uint8_t irqtype;    /* 0 INT, 1 NMI, 2 SMI, 3 ExtINT */
	uint16_t flags;     /* polarity/trigger: 0 = conforms to bus */
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_id;     /* I/O APIC id, or local APIC id (0xff: all) */
	uint8_t dst_pin;    /* I/O APIC pin, or LINTn */
} __attribute__((packed));

#define MP_APIC_VERSION   0x14
#define MP_IOAPIC_VERSION 0x11
#define MP_MAX_CPUS       254   /* APIC ids 0..ncpus-1, the IOAPIC takes ncpus */

static uint8_t mptable_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

static size_t mptable_conf_size(unsigned ncpus)
{
	return sizeof(struct mp_conf) + ncpus * sizeof(struct mp_cpu) + sizeof(struct mp_bus) +
	       sizeof(struct mp_ioapic) + (X86_IOAPIC_PINS + 2) * sizeof(struct mp_irq);
}

size_t mptable_size(unsigned ncpus)
{
	return sizeof(struct mp_fp) + mptable_conf_size(ncpus);
}

int mptable_write(const struct gm *gm, uint64_t gpa, unsigned ncpus, uint32_t cpu_signature,
		  uint32_t cpu_features)
{
	size_t total = mptable_size(ncpus);
	uint8_t *base, *p;
	struct mp_fp *fp;
	struct mp_conf *conf;
	uint8_t ioapic_id = (uint8_t)ncpus;
	uint16_t count = 0;

	if (ncpus == 0 || ncpus > MP_MAX_CPUS)
		return -EINVAL;
	base = gm_translate(gm, gpa, total);
	if (!base)
		return -ENOMEM;
	memset(base, 0, total);

	fp = (struct mp_fp *)base;
	conf = (struct mp_conf *)(base + sizeof(*fp));
	p = (uint8_t *)(conf + 1);

	for (unsigned i = 0; i < ncpus; i++) {
		struct mp_cpu *c = (struct mp_cpu *)p;
		c->type = 0;
		c->apic_id = (uint8_t)i;
		c->apic_ver = MP_APIC_VERSION;
		c->flags = 1 | (i == 0 ? 2 : 0);
		c->signature = cpu_signature;
		c->features = cpu_features;
		p += sizeof(*c);
		count++;
	}
	{
		struct mp_bus *b = (struct mp_bus *)p;
		b->type = 1;
		b->id = 0;
		memcpy(b->name, "ISA   ", 6);
		p += sizeof(*b);
		count++;
	}
	{
		struct mp_ioapic *io = (struct mp_ioapic *)p;
		io->type = 2;
		io->id = ioapic_id;
		io->ver = MP_IOAPIC_VERSION;
		io->flags = 1;
		io->addr = (uint32_t)X86_IOAPIC_ADDR;
		p += sizeof(*io);
		count++;
	}
	/* KVM's default GSI routing sends GSI n to IOAPIC pin n
	 * (virt/kvm/irqchip.c default routing), the PIT included, so
	 * every ISA IRQ maps to the pin of the same number. */
	for (unsigned pin = 0; pin < X86_IOAPIC_PINS; pin++) {
		struct mp_irq *e = (struct mp_irq *)p;
		e->type = 3;
		e->irqtype = 0;
		e->src_bus = 0;
		e->src_irq = (uint8_t)pin;
		e->dst_id = ioapic_id;
		e->dst_pin = (uint8_t)pin;
		p += sizeof(*e);
		count++;
	}
	/* Local interrupts as a PC wires them (MP spec §5.1, virtual wire):
	 * ExtINT on LINT0, NMI on LINT1. */
	{
		struct mp_irq *e = (struct mp_irq *)p;
		e->type = 4;
		e->irqtype = 3;
		e->dst_id = 0xff;
		e->dst_pin = 0;
		p += sizeof(*e);
		e = (struct mp_irq *)p;
		e->type = 4;
		e->irqtype = 1;
		e->dst_id = 0xff;
		e->dst_pin = 1;
		p += sizeof(*e);
		count += 2;
	}

	memcpy(conf->signature, "PCMP", 4);
	conf->length = (uint16_t)(p - (uint8_t *)conf);
	conf->spec_rev = 4;
	memcpy(conf->oem, "APPVM   ", 8);
	memcpy(conf->product, "APPVM-VMM   ", 12);
	conf->count = count;
	conf->lapic = (uint32_t)X86_LAPIC_ADDR;
	conf->checksum = mptable_checksum(conf, conf->length);

	memcpy(fp->signature, "_MP_", 4);
	fp->physptr = (uint32_t)(gpa + sizeof(*fp));
	fp->length = 1;
	fp->spec_rev = 4;
	fp->checksum = mptable_checksum(fp, sizeof(*fp));
	return 0;
}
