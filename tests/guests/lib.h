/* Freestanding helpers shared by the tiny test guests: port I/O, the COM1
 * 16550, the i8042, the exit port and the kernel command line from the zero
 * page. No libc, no SSE, no interrupts. */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COM1 0x3f8
#define UART_LSR 5          /* line status register */
#define UART_LSR_THRE 0x20  /* transmit holding register empty */
#define I8042_DATA 0x60
#define I8042_CMD 0x64      /* write: command; read: status */
#define I8042_STR_OBF 0x01  /* output buffer full: data waiting on 0x60 */
#define I8042_STR_IBF 0x02  /* input buffer full: controller still busy */
#define BOOT_TIME_PORT 0x3f0
#define BOOT_TIME_MARKER 123

/* Every poll loop gives up after this many reads: the emulated vCPU runs
 * ~100k instructions/s and each read is a VM exit, so this is seconds. */
#define GUEST_POLL_MAX 20000

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* Called from start.S with the zero page address the VMM passed in %rsi. */
void guest_main(const uint8_t *boot_params);

/* Zero page given to guest_main (set by guest_lib_init). */
void guest_lib_init(const uint8_t *boot_params);

void serial_putc(char c);
void serial_puts(const char *s);
void serial_put_hex(uint64_t v, unsigned digits);
void serial_put_dec(uint64_t v);

/* The kernel command line (NUL-terminated, at most cmdline_size bytes), or
 * "" when the zero page has none. */
const char *cmdline_get(void);
/* Value of the first "key=value" word whose key matches (key includes the
 * '='), or NULL. The value ends at the next space or NUL. */
const char *cmdline_find(const char *key);
/* Parse a decimal or 0x-prefixed hex number ending at space/NUL.
 * Returns false on anything else or on overflow past max. */
bool parse_uint(const char *s, uint64_t max, uint64_t *out);

/* Wait for a condition on the i8042 status register; false on timeout. */
bool i8042_wait_ibf_clear(void);
bool i8042_wait_obf(void);

/* i8042 pulse-reset (command 0xFE): the VM ends. Never returns. */
__attribute__((noreturn)) void guest_reset(void);
/* Write status to the exit port announced as appvm.exit_port=PORT on the
 * command line (docs/DEVELOPING.md). Without that key the guest prints why
 * and resets instead. Never returns. */
__attribute__((noreturn)) void guest_exit(uint8_t status);
/* cli; hlt forever. */
__attribute__((noreturn)) void guest_halt(void);
#endif
