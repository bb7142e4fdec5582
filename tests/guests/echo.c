/* Serial input: polls LSR.DR and reads RBR until a newline (at most 200
 * bytes), then prints "echo: <line>" and resets. Proves host stdin reaches
 * the guest through the UART receive path without loss or reordering. */
#include "lib.h"

#define UART_LSR_DR 0x01
/* Each poll is a VM exit; this bounds the wait for the host's input to
 * tens of seconds on an emulating host. */
#define ECHO_POLL_MAX 2000000u

void guest_main(const uint8_t *boot_params)
{
	char line[201];
	unsigned n = 0;
	serial_puts("echo: ready\n");
	for (unsigned i = 0; i < ECHO_POLL_MAX && n < sizeof(line) - 1; i++) {
		if (!(inb(COM1 + UART_LSR) & UART_LSR_DR))
			continue;
		char c = (char)inb(COM1);
		if (c == '\n' || c == '\r')
			break;
		line[n++] = c;
	}
	line[n] = 0;
	serial_puts("echo: ");
	serial_puts(line);
	serial_puts("\n");
	guest_reset();
}
