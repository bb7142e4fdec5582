/* Tiny guest driving virtio-blk by hand over virtio-mmio (virtio 1.2 §4.2.3
 * driver initialisation, §2.7 split ring, §5.2.6 requests), with no
 * interrupts (polls the used ring and the status register). Prints what it
 * finds on COM1 for tests/native/kvm_virtio.sh:
 *
 *   virtio: slot N id D           for every virtio-mmio window found
 *   capacity: SECTORS
 *   read status: S len L          read of sector 0, then
 *   sector0: <first 48 bytes>
 *   isr: 0xN
 *   write status: S len L         write of sector 1
 *   loop status: 0xS used N isr 0xI
 *                                 a chain whose descriptor points at itself:
 *                                 the device must set DEVICE_NEEDS_RESET
 *                                 (0x40) and use nothing
 *   bad ring status: 0xS          after a reset, rings outside RAM: refused
 *                                 at DRIVER_OK with DEVICE_NEEDS_RESET
 *   recovered read status: S len L
 *                                 after another reset, a good queue works
 *
 * and exits through the exit port: 0 when every step ran, otherwise a
 * distinct code per step that could not (10..20). */
#include "lib.h"

#define MMIO_BASE 0xd0000000ull
#define MMIO_SLOTS 8
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEV_FEAT 0x010
#define R_DEV_FEAT_SEL 0x014
#define R_DRV_FEAT 0x020
#define R_DRV_FEAT_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_ISR 0x060
#define R_ISR_ACK 0x064
#define R_STATUS 0x070
#define R_DESC_LO 0x080
#define R_DESC_HI 0x084
#define R_AVAIL_LO 0x090
#define R_AVAIL_HI 0x094
#define R_USED_LO 0x0a0
#define R_USED_HI 0x0a4
#define R_CONFIG 0x100

#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 0x40

#define QSIZE 4
/* Ring and buffers in guest RAM well above the image (loaded at 2 MiB). */
#define DESC 0x800000ull
#define AVAIL 0x801000ull
#define USED 0x802000ull
#define HDR 0x803000ull
#define STATUS 0x803100ull
#define BUF 0x804000ull
#define F_NEXT 1
#define F_WRITE 2
/* Not RAM (the VM has 256 MiB), not an MMIO window either. */
#define NOT_RAM 0xf0000000ull

static uint64_t base;

static uint32_t rd(uint32_t off)
{
	return *(volatile uint32_t *)(uintptr_t)(base + off);
}

static void wr(uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(base + off) = v;
}

static void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

static void fail(uint8_t code, const char *why)
{
	serial_puts("virtio-guest: FAILED: ");
	serial_puts(why);
	serial_puts("\n");
	guest_exit(code);
}

static void put16(uint64_t a, uint16_t v) { *(volatile uint16_t *)(uintptr_t)a = v; }
static void put32(uint64_t a, uint32_t v) { *(volatile uint32_t *)(uintptr_t)a = v; }
static void put64(uint64_t a, uint64_t v) { *(volatile uint64_t *)(uintptr_t)a = v; }
static uint16_t get16(uint64_t a) { return *(volatile uint16_t *)(uintptr_t)a; }
static uint32_t get32(uint64_t a) { return *(volatile uint32_t *)(uintptr_t)a; }

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	put64(DESC + 16 * i, addr);
	put32(DESC + 16 * i + 8, len);
	put16(DESC + 16 * i + 12, flags);
	put16(DESC + 16 * i + 14, next);
}

/* One request: header, data buffer, status. Returns the used length;
 * *status gets the status byte. */
static uint32_t request(uint32_t type, uint64_t sector, bool data_in, uint16_t *used_seen,
			uint8_t *status)
{
	uint16_t idx = get16(AVAIL + 2);

	put32(HDR, type);
	put32(HDR + 4, 0);
	put64(HDR + 8, sector);
	*(volatile uint8_t *)(uintptr_t)STATUS = 0xff;
	desc(0, HDR, 16, F_NEXT, 1);
	desc(1, BUF, 512, F_NEXT | (data_in ? F_WRITE : 0), 2);
	desc(2, STATUS, 1, F_WRITE, 0);
	put16(AVAIL + 4 + 2 * (idx % QSIZE), 0);
	barrier();  /* x86 keeps stores in order; the compiler must too */
	put16(AVAIL + 2, (uint16_t)(idx + 1));
	barrier();
	wr(R_QUEUE_NOTIFY, 0);
	for (unsigned i = 0; i < GUEST_POLL_MAX; i++) {
		if (get16(USED + 2) != *used_seen)
			break;
		(void)rd(R_ISR);  /* an exit, so the VMM's threads get to run */
	}
	if (get16(USED + 2) == *used_seen)
		fail(16, "no used buffer within the poll limit");
	uint32_t id = get32(USED + 4 + 8 * (*used_seen % QSIZE));
	uint32_t len = get32(USED + 8 + 8 * (*used_seen % QSIZE));
	(*used_seen)++;
	if (id != 0)
		fail(17, "used ring returned the wrong head");
	*status = *(volatile uint8_t *)(uintptr_t)STATUS;
	return len;
}

/* §3.1.1 / §4.2.3.2: reset, ACKNOWLEDGE, DRIVER, VERSION_1 only,
 * FEATURES_OK, queue 0 at desc (avail and used follow), DRIVER_OK. Returns
 * the status register read back after DRIVER_OK. */
static uint32_t init_device(uint64_t desc)
{
	wr(R_STATUS, 0);
	if (rd(R_STATUS) != 0)
		fail(19, "status not 0 after reset");
	wr(R_STATUS, S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DEV_FEAT_SEL, 1);
	if (!(rd(R_DEV_FEAT) & 1))
		fail(12, "device does not offer VIRTIO_F_VERSION_1");
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, 0);
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, 1);  /* VERSION_1 only */
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd(R_STATUS) & S_FEATURES_OK))
		fail(13, "FEATURES_OK refused");

	for (uint64_t a = DESC; a < BUF + 512; a += 8)
		put64(a, 0);
	wr(R_QUEUE_SEL, 0);
	if (rd(R_QUEUE_READY) != 0 || rd(R_QUEUE_NUM_MAX) < QSIZE)
		fail(14, "queue 0 unusable");
	wr(R_QUEUE_NUM, QSIZE);
	wr(R_DESC_LO, (uint32_t)desc);
	wr(R_DESC_HI, (uint32_t)(desc >> 32));
	wr(R_AVAIL_LO, (uint32_t)AVAIL);
	wr(R_AVAIL_HI, 0);
	wr(R_USED_LO, (uint32_t)USED);
	wr(R_USED_HI, 0);
	wr(R_QUEUE_READY, 1);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return rd(R_STATUS);
}

void guest_main(const uint8_t *boot_params)
{
	uint16_t used_seen = 0;
	uint8_t st;
	uint32_t len;

	guest_lib_init(boot_params);
	serial_puts("virtio-guest: start\n");
	/* Find the windows the VMM announced (4 KiB apart from 0xd0000000). */
	for (unsigned s = 0; s < MMIO_SLOTS; s++) {
		uint64_t b = MMIO_BASE + 0x1000ull * s;
		base = b;
		if (rd(R_MAGIC) != 0x74726976)
			continue;
		serial_puts("virtio: slot ");
		serial_put_dec(s);
		serial_puts(" id ");
		serial_put_dec(rd(R_DEVICE_ID));
		serial_puts("\n");
	}
	for (base = MMIO_BASE; base < MMIO_BASE + 0x1000ull * MMIO_SLOTS; base += 0x1000)
		if (rd(R_MAGIC) == 0x74726976 && rd(R_DEVICE_ID) == 2)
			break;
	if (base == MMIO_BASE + 0x1000ull * MMIO_SLOTS)
		fail(10, "no virtio-blk window");
	if (rd(R_VERSION) != 2)
		fail(11, "not virtio-mmio version 2");

	if (init_device(DESC) != (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK))
		fail(15, "device did not accept DRIVER_OK");

	serial_puts("capacity: ");
	serial_put_dec(rd(R_CONFIG) | (uint64_t)rd(R_CONFIG + 4) << 32);
	serial_puts("\n");

	/* Read sector 0. */
	len = request(0, 0, true, &used_seen, &st);
	serial_puts("read status: ");
	serial_put_dec(st);
	serial_puts(" len ");
	serial_put_dec(len);
	serial_puts("\nsector0: ");
	for (unsigned i = 0; i < 48; i++) {
		char c = *(volatile char *)(uintptr_t)(BUF + i);
		serial_putc(c >= 32 && c < 127 ? c : '.');
	}
	serial_puts("\n");
	serial_puts("isr: 0x");
	serial_put_hex(rd(R_ISR), 1);
	serial_puts("\n");
	wr(R_ISR_ACK, 1);
	if (st != 0 || len != 513)
		fail(18, "read request failed");

	/* Write sector 1 (refused with IOERR on a read-only disk). */
	static const char msg[] = "written by the appvm virtio-blk test guest";
	for (unsigned i = 0; i < 512; i++)
		*(volatile char *)(uintptr_t)(BUF + i) = i < sizeof(msg) ? msg[i] : 0;
	len = request(1, 1, false, &used_seen, &st);
	serial_puts("write status: ");
	serial_put_dec(st);
	serial_puts(" len ");
	serial_put_dec(len);
	serial_puts("\n");

	/* A descriptor that chains to itself (§2.7.5.2 forbids loops). */
	uint16_t idx = get16(AVAIL + 2);
	desc(0, HDR, 16, F_NEXT, 0);
	put16(AVAIL + 4 + 2 * (idx % QSIZE), 0);
	barrier();
	put16(AVAIL + 2, (uint16_t)(idx + 1));
	barrier();
	wr(R_QUEUE_NOTIFY, 0);
	uint32_t status = 0;
	for (unsigned i = 0; i < GUEST_POLL_MAX && !(status & S_NEEDS_RESET); i++)
		status = rd(R_STATUS);
	serial_puts("loop status: 0x");
	serial_put_hex(status, 2);
	serial_puts(" used ");
	serial_put_dec((uint16_t)(get16(USED + 2) - used_seen));
	serial_puts(" isr 0x");
	serial_put_hex(rd(R_ISR), 1);
	serial_puts("\n");
	wr(R_ISR_ACK, 3);

	/* Reset, then rings the device cannot reach. */
	status = init_device(NOT_RAM);
	serial_puts("bad ring status: 0x");
	serial_put_hex(status, 2);
	serial_puts("\n");

	/* Reset once more: a good queue works again. */
	if (init_device(DESC) != (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK))
		fail(20, "device did not accept DRIVER_OK after the resets");
	used_seen = 0;
	len = request(0, 0, true, &used_seen, &st);
	serial_puts("recovered read status: ");
	serial_put_dec(st);
	serial_puts(" len ");
	serial_put_dec(len);
	serial_puts("\n");
	guest_exit(0);
}
