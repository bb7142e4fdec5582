/* The tiny guests' polling virtio-blk driver (vblk.h). */
#include "vblk.h"

#define R_DEV_FEAT 0x010
#define R_DEV_FEAT_SEL 0x014
#define R_DRV_FEAT 0x020
#define R_DRV_FEAT_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_DESC_LO 0x080
#define R_DESC_HI 0x084
#define R_AVAIL_LO 0x090
#define R_AVAIL_HI 0x094
#define R_USED_LO 0x0a0
#define R_USED_HI 0x0a4
static uint64_t base;

uint32_t vblk_rd(uint32_t off)
{
	return *(volatile uint32_t *)(uintptr_t)(base + off);
}

void vblk_wr(uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(base + off) = v;
}

void vblk_barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

__attribute__((noreturn)) void vblk_fail(uint8_t code, const char *why)
{
	serial_puts("virtio-guest: FAILED: ");
	serial_puts(why);
	serial_puts("\n");
	guest_exit(code);
}

void vblk_put16(uint64_t a, uint16_t v) { *(volatile uint16_t *)(uintptr_t)a = v; }
static void put32(uint64_t a, uint32_t v) { *(volatile uint32_t *)(uintptr_t)a = v; }
static void put64(uint64_t a, uint64_t v) { *(volatile uint64_t *)(uintptr_t)a = v; }
uint16_t vblk_get16(uint64_t a) { return *(volatile uint16_t *)(uintptr_t)a; }
static uint32_t get32(uint64_t a) { return *(volatile uint32_t *)(uintptr_t)a; }

void vblk_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	put64(DESC + 16 * i, addr);
	put32(DESC + 16 * i + 8, len);
	vblk_put16(DESC + 16 * i + 12, flags);
	vblk_put16(DESC + 16 * i + 14, next);
}

uint32_t vblk_request(uint32_t type, uint64_t sector, uint32_t len, bool data_in,
		      uint16_t *used_seen, uint8_t *status)
{
	uint16_t idx = vblk_get16(AVAIL + 2);

	put32(HDR, type);
	put32(HDR + 4, 0);
	put64(HDR + 8, sector);
	*(volatile uint8_t *)(uintptr_t)STATUS = 0xff;
	/* Header, data (when any), status: §5.2.6. */
	vblk_desc(0, HDR, 16, F_NEXT, len ? 1 : 2);
	if (len)
		vblk_desc(1, BUF, len, F_NEXT | (data_in ? F_WRITE : 0), 2);
	vblk_desc(2, STATUS, 1, F_WRITE, 0);
	vblk_put16(AVAIL + 4 + 2 * (idx % QSIZE), 0);
	vblk_barrier();  /* x86 keeps stores in order; the compiler must too */
	vblk_put16(AVAIL + 2, (uint16_t)(idx + 1));
	vblk_barrier();
	vblk_wr(R_QUEUE_NOTIFY, 0);
	for (unsigned i = 0; i < GUEST_POLL_MAX; i++) {
		if (vblk_get16(USED + 2) != *used_seen)
			break;
		(void)vblk_rd(R_ISR);  /* an exit, so the VMM's threads get to run */
	}
	if (vblk_get16(USED + 2) == *used_seen)
		vblk_fail(16, "no used buffer within the poll limit");
	uint32_t id = get32(USED + 4 + 8 * (*used_seen % QSIZE));
	uint32_t ulen = get32(USED + 8 + 8 * (*used_seen % QSIZE));
	(*used_seen)++;
	if (id != 0)
		vblk_fail(17, "used ring returned the wrong head");
	*status = *(volatile uint8_t *)(uintptr_t)STATUS;
	return ulen;
}

void vblk_find(bool announce)
{
	/* The windows the VMM announced (4 KiB apart from 0xd0000000). */
	for (unsigned s = 0; s < MMIO_SLOTS && announce; s++) {
		base = MMIO_BASE + 0x1000ull * s;
		if (vblk_rd(R_MAGIC) != 0x74726976)
			continue;
		serial_puts("virtio: slot ");
		serial_put_dec(s);
		serial_puts(" id ");
		serial_put_dec(vblk_rd(R_DEVICE_ID));
		serial_puts("\n");
	}
	for (base = MMIO_BASE; base < MMIO_BASE + 0x1000ull * MMIO_SLOTS; base += 0x1000)
		if (vblk_rd(R_MAGIC) == 0x74726976 && vblk_rd(R_DEVICE_ID) == 2)
			break;
	if (base == MMIO_BASE + 0x1000ull * MMIO_SLOTS)
		vblk_fail(10, "no virtio-blk window");
	if (vblk_rd(R_VERSION) != 2)
		vblk_fail(11, "not virtio-mmio version 2");
}

/* §3.1.1 / §4.2.3.2: reset, ACKNOWLEDGE, DRIVER, VERSION_1 only,
 * FEATURES_OK, queue 0 at desc (avail and used follow), DRIVER_OK. */
uint32_t vblk_init(uint64_t desc)
{
	vblk_wr(R_STATUS, 0);
	if (vblk_rd(R_STATUS) != 0)
		vblk_fail(19, "status not 0 after reset");
	vblk_wr(R_STATUS, S_ACK);
	vblk_wr(R_STATUS, S_ACK | S_DRIVER);
	vblk_wr(R_DEV_FEAT_SEL, 1);
	if (!(vblk_rd(R_DEV_FEAT) & 1))
		vblk_fail(12, "device does not offer VIRTIO_F_VERSION_1");
	vblk_wr(R_DRV_FEAT_SEL, 0);
	vblk_wr(R_DRV_FEAT, 0);
	vblk_wr(R_DRV_FEAT_SEL, 1);
	vblk_wr(R_DRV_FEAT, 1);  /* VERSION_1 only */
	vblk_wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(vblk_rd(R_STATUS) & S_FEATURES_OK))
		vblk_fail(13, "FEATURES_OK refused");

	for (uint64_t a = DESC; a < BUF; a += 8)
		put64(a, 0);
	vblk_wr(R_QUEUE_SEL, 0);
	if (vblk_rd(R_QUEUE_READY) != 0 || vblk_rd(R_QUEUE_NUM_MAX) < QSIZE)
		vblk_fail(14, "queue 0 unusable");
	vblk_wr(R_QUEUE_NUM, QSIZE);
	vblk_wr(R_DESC_LO, (uint32_t)desc);
	vblk_wr(R_DESC_HI, (uint32_t)(desc >> 32));
	vblk_wr(R_AVAIL_LO, (uint32_t)AVAIL);
	vblk_wr(R_AVAIL_HI, 0);
	vblk_wr(R_USED_LO, (uint32_t)USED);
	vblk_wr(R_USED_HI, 0);
	vblk_wr(R_QUEUE_READY, 1);
	vblk_wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return vblk_rd(R_STATUS);
}

