/* Crash-consistency guest for tests/native/crash_consistency.sh: the disk
 * is an array of REC_SIZE-byte records, record s (s = 1, 2, ...) in slot
 * s - 1. Each boot:
 *
 *  1. checks the disk: the longest prefix of whole records (magic, sequence
 *     number = slot + 1, payload as derived from the sequence number, and an
 *     FNV-1a 64 checksum over the rest), what follows it, and prints
 *       CHECK prefix=P torn=T stray=S wrong=W
 *     T: the slot right after the prefix holds bytes but not a whole record
 *        (a write the kill interrupted: allowed, it was never acknowledged);
 *     S: non-zero slots further on (a record beyond an unacknowledged one:
 *        must be 0, the guest writes one record at a time);
 *     W: records whose checksum matches but whose contents are wrong (a
 *        torn record the checksum would accept: must be 0);
 *  2. appends records P+1, P+2, ... each with one write request and a
 *     FLUSH (virtio 1.2 §5.2.6.1: a completed FLUSH means every write
 *     completed before it is on stable storage), and prints "ACK s" once
 *     the FLUSH completed;
 *  3. prints "FULL" and exits 0 when the disk has no free slot.
 * The host SIGKILLs vmm at random moments during step 2; every ACK it saw
 * must be inside the next boot's prefix. */
#include "vblk.h"

#define REC_SIZE 4096u
#define REC_SECTORS (REC_SIZE / 512u)
#define REC_MAGIC 0x43455256505041ull  /* "APPVREC" */

static uint64_t fnv64(const volatile uint8_t *p, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static uint8_t rec_byte(uint64_t seq, uint32_t i)
{
	return (uint8_t)((seq * 0x9e3779b97f4a7c15ull >> (i % 57)) + i * 131u);
}

static volatile uint8_t *buf(void)
{
	return (volatile uint8_t *)(uintptr_t)BUF;
}

static uint64_t get64(uint32_t off)
{
	return *(volatile uint64_t *)(uintptr_t)(BUF + off);
}

/* Layout: magic, seq, payload up to REC_SIZE - 8, checksum of all before. */
static void rec_fill(uint64_t seq)
{
	volatile uint8_t *b = buf();

	*(volatile uint64_t *)(uintptr_t)BUF = REC_MAGIC;
	*(volatile uint64_t *)(uintptr_t)(BUF + 8) = seq;
	for (uint32_t i = 16; i < REC_SIZE - 8; i++)
		b[i] = rec_byte(seq, i);
	*(volatile uint64_t *)(uintptr_t)(BUF + REC_SIZE - 8) = fnv64(b, REC_SIZE - 8);
}

enum rec_state { REC_ZERO, REC_WHOLE, REC_TORN, REC_WRONG };

static enum rec_state rec_judge(uint64_t seq)
{
	volatile uint8_t *b = buf();
	bool zero = true, payload_ok = true;

	for (uint32_t i = 0; i < REC_SIZE && zero; i++)
		zero = b[i] == 0;
	if (zero)
		return REC_ZERO;
	if (fnv64(b, REC_SIZE - 8) != get64(REC_SIZE - 8))
		return REC_TORN;
	for (uint32_t i = 16; i < REC_SIZE - 8 && payload_ok; i++)
		payload_ok = b[i] == rec_byte(seq, i);
	/* The checksum accepted it: anything else wrong is a record that must
	 * never be on the disk. */
	return get64(0) == REC_MAGIC && get64(8) == seq && payload_ok ? REC_WHOLE : REC_WRONG;
}

static void io(uint32_t type, uint64_t sector, uint32_t len, bool in, uint16_t *seen)
{
	uint8_t st;

	vblk_request(type, sector, len, in, seen, &st);
	if (st != 0)
		vblk_fail(18, "request failed");
}

void guest_main(const uint8_t *boot_params)
{
	uint16_t seen = 0;
	uint64_t slots, prefix = 0, torn = 0, stray = 0, wrong = 0;
	bool in_prefix = true;

	guest_lib_init(boot_params);
	vblk_find(false);
	if (vblk_init(DESC) != S_RUNNING)
		vblk_fail(15, "device did not accept DRIVER_OK");
	slots = (vblk_rd(R_CONFIG) | (uint64_t)vblk_rd(R_CONFIG + 4) << 32) / REC_SECTORS;
	for (uint64_t s = 0; s < slots; s++) {
		enum rec_state r;

		io(VBLK_T_IN, s * REC_SECTORS, REC_SIZE, true, &seen);
		r = rec_judge(s + 1);
		wrong += r == REC_WRONG;
		if (in_prefix && r == REC_WHOLE) {
			prefix++;
			continue;
		}
		if (in_prefix) {
			in_prefix = false;
			torn += r != REC_ZERO;
			continue;
		}
		stray += r != REC_ZERO;
	}
	serial_puts("CHECK prefix=");
	serial_put_dec(prefix);
	serial_puts(" torn=");
	serial_put_dec(torn);
	serial_puts(" stray=");
	serial_put_dec(stray);
	serial_puts(" wrong=");
	serial_put_dec(wrong);
	serial_puts("\n");
	for (uint64_t s = prefix; s < slots; s++) {
		rec_fill(s + 1);
		io(VBLK_T_OUT, s * REC_SECTORS, REC_SIZE, false, &seen);
		io(VBLK_T_FLUSH, 0, 0, false, &seen);
		serial_puts("ACK ");
		serial_put_dec(s + 1);
		serial_puts("\n");
	}
	serial_puts("FULL\n");
	guest_exit(0);
}
