/* ARM PrimeCell PL031 real-time clock (ARM DDI 0224, "PrimeCell Real Time
 * Clock (PL031) Technical Reference Manual"): the arm64 guest's RTC. The
 * register model is plain data and functions of the host time, so tests
 * drive it without a bus, a clock or KVM; vmm/devices/pl031.c puts it on
 * the MMIO bus at the window the architecture names. */
#ifndef VMM_DEVICES_PL031_H
#define VMM_DEVICES_PL031_H
#include <stdbool.h>
#include <stdint.h>

/* TRM §3.2, register summary (offsets in the 4 KiB window). */
#define PL031_DR    0x000  /* data: the counter (read-only) */
#define PL031_MR    0x004  /* match */
#define PL031_LR    0x008  /* load: writing sets the counter */
#define PL031_CR    0x00c  /* control: bit 0 RTCStart */
#define PL031_IMSC  0x010  /* interrupt mask set/clear */
#define PL031_RIS   0x014  /* raw interrupt status (read-only) */
#define PL031_MIS   0x018  /* masked interrupt status (read-only) */
#define PL031_ICR   0x01c  /* interrupt clear (write-only) */
#define PL031_ID    0xfe0  /* RTCPeriphID0-3, RTCPCellID0-3: eight bytes in words */
#define PL031_SIZE  0x1000

/* The counter is host UTC seconds plus offset, modulo 2^32. */
struct pl031_regs {
	long long offset;  /* counter - host time, seconds (a load sets it) */
	uint32_t mr, lr;   /* match and the last value loaded */
	uint32_t imsc, ris;  /* bit 0 each: the match interrupt */
};

/* What a write changed, for the device around the model. */
#define PL031_REARM 1  /* the next match moved: re-arm the alarm timer */
#define PL031_LINE  2  /* the interrupt line may have changed */

void pl031_regs_init(struct pl031_regs *r);
/* A 32-bit register read at off (any offset: unknown ones read 0). */
uint32_t pl031_reg_read(const struct pl031_regs *r, uint32_t off, long long now);
/* A 32-bit register write at off (any offset and value: read-only and
 * unknown registers ignore it). Returns PL031_* flags. */
unsigned pl031_reg_write(struct pl031_regs *r, uint32_t off, uint32_t v, long long now);
/* Host time (seconds) at which the counter next equals the match register:
 * now itself when it does already (QEMU's pl031_set_alarm raises the
 * interrupt at once then), else at most 2^32 - 1 seconds ahead. */
long long pl031_next_match(const struct pl031_regs *r, long long now);
/* The counter reached the match register: latch the raw status. */
void pl031_match(struct pl031_regs *r);
/* The level of the interrupt line (RTCINTR = RTCMIS). */
bool pl031_irq_level(const struct pl031_regs *r);
#endif
