/* SMP bring-up the way Linux does it with an MP table (Intel MultiProcessor
 * Specification 1.4): find the floating pointer "_MP_" in the last KiB of
 * base memory or the BIOS area, check both checksums, list the enabled
 * processor entries, then start every AP with INIT-SIPI-SIPI through the
 * local APIC (Intel SDM vol. 3 8.4.4.1) into the trampoline (smp_tramp.S).
 * Prints
 *   smp: mptable cpus=N bsp=ID
 *   smp: aps started=M of N-1 apic-ids=BITMAP
 * and resets. Everything bounded: a missing AP is reported, not waited on. */
#include "lib.h"
#include "smp.h"

#define LAPIC_BASE 0xfee00000ull
#define LAPIC_ID 0x20
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_INIT 0x00004500u    /* INIT, level assert */
#define ICR_STARTUP 0x00004600u /* start-up IPI | vector */
#define ICR_BUSY 0x00001000u

extern const uint8_t smp_tramp_start[], smp_tramp_end[], smp_tramp_cr3[], smp_tramp_count[],
	smp_tramp_bitmap[];

static volatile uint32_t ap_count;
static volatile uint64_t ap_bitmap[4]; /* APIC IDs 0..255 */

static uint32_t lapic_rd(unsigned reg)
{
	return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg);
}

static void lapic_wr(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = v;
}

static uint8_t sum(const uint8_t *p, unsigned n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static const uint8_t *mp_find(uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a + 16 <= end; a += 16) {
		const uint8_t *p = (const uint8_t *)(uintptr_t)a;
		if (p[0] == '_' && p[1] == 'M' && p[2] == 'P' && p[3] == '_' && p[8] == 1 && sum(p, 16) == 0)
			return p;
	}
	return NULL;
}

static void die(const char *why)
{
	serial_puts("smp: ");
	serial_puts(why);
	serial_puts("\n");
	guest_reset();
}

/* Is [a, a + len) inside one e820 RAM entry of the zero page? */
static bool e820_is_ram(const uint8_t *bp, uint64_t a, uint64_t len)
{
	unsigned n = bp[0x1e8];
	for (unsigned i = 0; i < n && i < 128; i++) {
		const uint8_t *e = bp + 0x2d0 + 20 * i;
		uint64_t base = 0, size = 0;
		uint32_t type = 0;
		for (unsigned k = 0; k < 8; k++) {
			base |= (uint64_t)e[k] << (8 * k);
			size |= (uint64_t)e[8 + k] << (8 * k);
		}
		for (unsigned k = 0; k < 4; k++)
			type |= (uint32_t)e[16 + k] << (8 * k);
		if (type == 1 && a >= base && a + len <= base + size)
			return true;
	}
	return false;
}

static void icr_send(uint8_t apic_id, uint32_t lo)
{
	lapic_wr(LAPIC_ICR_HI, (uint32_t)apic_id << 24);
	lapic_wr(LAPIC_ICR_LO, lo);
	for (unsigned i = 0; i < GUEST_POLL_MAX && (lapic_rd(LAPIC_ICR_LO) & ICR_BUSY); i++)
		;
}

void guest_main(const uint8_t *bp)
{
	const uint8_t *fp = mp_find(0x9fc00, 0xa0000);
	if (!fp)
		fp = mp_find(0xf0000, 0x100000);
	if (!fp)
		die("no MP floating pointer with a valid checksum");
	uint32_t conf_addr = (uint32_t)fp[4] | (uint32_t)fp[5] << 8 | (uint32_t)fp[6] << 16 | (uint32_t)fp[7] << 24;
	if (conf_addr == 0 || conf_addr >= 0x100000)
		die("MP configuration table pointer missing or above 1 MiB");
	const uint8_t *conf = (const uint8_t *)(uintptr_t)conf_addr;
	unsigned len = (unsigned)conf[4] | (unsigned)conf[5] << 8;
	unsigned count = (unsigned)conf[0x22] | (unsigned)conf[0x23] << 8;
	if (conf[0] != 'P' || conf[1] != 'C' || conf[2] != 'M' || conf[3] != 'P' || len < 0x2c ||
	    conf_addr + len > 0x100000 || sum(conf, len) != 0)
		die("MP configuration table: bad signature, length or checksum");

	uint8_t ids[256];
	unsigned ncpu = 0, bsp_entries = 0;
	uint8_t bsp_id = (uint8_t)(lapic_rd(LAPIC_ID) >> 24), bsp_listed = 0xff;
	const uint8_t *e = conf + 0x2c, *end = conf + len;
	for (unsigned i = 0; i < count && e < end; i++) {
		unsigned sz = e[0] == 0 ? 20 : 8; /* processor entries 20 bytes, others 8 */
		if (e + sz > end || e[0] > 4)
			die("MP configuration table: bad entry");
		if (e[0] == 0 && (e[3] & 1)) {
			if (ncpu == sizeof(ids))
				die("MP configuration table: more than 256 enabled processors");
			ids[ncpu++] = e[1];
			if (e[3] & 2) {
				bsp_entries++;
				bsp_listed = e[1];
			}
		}
		e += sz;
	}
	serial_puts("smp: mptable cpus=");
	serial_put_dec(ncpu);
	serial_puts(" bsp=");
	serial_put_dec(bsp_id);
	serial_puts("\n");
	if (bsp_entries != 1 || bsp_listed != bsp_id)
		die("MP table does not flag exactly this CPU as the bootstrap processor");

	/* Copy the trampoline and patch in CR3 and the shared variables. */
	unsigned tlen = (unsigned)(smp_tramp_end - smp_tramp_start);
	if (!e820_is_ram(bp, SMP_TRAMP_ADDR, 4096))
		die("trampoline page is not RAM in the e820 map");
	uint8_t *t = (uint8_t *)(uintptr_t)SMP_TRAMP_ADDR;
	for (unsigned i = 0; i < tlen; i++)
		t[i] = smp_tramp_start[i];
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	if (cr3 >= 0x100000000ull)
		die("page tables above 4 GiB: a 32-bit CR3 load cannot reach them");
	*(volatile uint32_t *)(t + (smp_tramp_cr3 - smp_tramp_start)) = (uint32_t)cr3;
	*(volatile uint32_t *)(t + (smp_tramp_count - smp_tramp_start)) = (uint32_t)(uintptr_t)&ap_count;
	*(volatile uint32_t *)(t + (smp_tramp_bitmap - smp_tramp_start)) = (uint32_t)(uintptr_t)ap_bitmap;

	lapic_wr(LAPIC_SVR, 0x1ff); /* software enable, spurious vector 0xff */
	unsigned aps = 0;
	for (unsigned i = 0; i < ncpu; i++) {
		if (ids[i] == bsp_id)
			continue;
		aps++;
		icr_send(ids[i], ICR_INIT);
		icr_send(ids[i], ICR_STARTUP | (SMP_TRAMP_ADDR >> 12));
		icr_send(ids[i], ICR_STARTUP | (SMP_TRAMP_ADDR >> 12));
	}
	for (unsigned i = 0; i < 50 * GUEST_POLL_MAX && ap_count < aps; i++)
		__asm__ volatile("pause");
	serial_puts("smp: aps started=");
	serial_put_dec(ap_count);
	serial_puts(" of ");
	serial_put_dec(aps);
	serial_puts(" apic-ids=");
	for (unsigned w = 4; w-- > 0;)
		serial_put_hex(ap_bitmap[w], 16);
	serial_puts("\n");
	guest_reset();
}
