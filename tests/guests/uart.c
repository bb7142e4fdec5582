/* 16550 register checks through KVM port I/O, the way Linux's 8250 driver
 * probes and drives the port (drivers/tty/serial/8250/8250_port.c; register
 * semantics from the TI/National PC16550D data sheet). One line per check:
 *   uart: NAME got XX want YY ok|BAD
 * then "uart: N checks, M bad" and a reset. Interrupts stay off: THRE
 * "interrupts" are observed through IIR only. */
#include "lib.h"

#define UART_RBR 0 /* DLAB=0 read */
#define UART_DLL 0 /* DLAB=1 */
#define UART_IER 1
#define UART_DLM 1 /* DLAB=1 */
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_MSR 6
#define UART_SCR 7

/* Results are printed only after all checks: every THR write re-arms THRE
 * and would disturb the IIR checks. */
struct uart_check {
	const char *name;
	uint8_t got, want;
};
static struct uart_check checks[32];
static unsigned nchecks;

static void check(const char *name, uint8_t got, uint8_t want)
{
	if (nchecks < sizeof(checks) / sizeof(checks[0]))
		checks[nchecks++] = (struct uart_check){name, got, want};
}

static void report(void)
{
	unsigned bad = 0;
	for (unsigned i = 0; i < nchecks; i++) {
		serial_puts("uart: ");
		serial_puts(checks[i].name);
		serial_puts(" got ");
		serial_put_hex(checks[i].got, 2);
		serial_puts(" want ");
		serial_put_hex(checks[i].want, 2);
		if (checks[i].got == checks[i].want) {
			serial_puts(" ok\n");
		} else {
			bad++;
			serial_puts(" BAD\n");
		}
	}
	serial_puts("uart: ");
	serial_put_dec(nchecks);
	serial_puts(" checks, ");
	serial_put_dec(bad);
	serial_puts(" bad\n");
}

static uint8_t rd(unsigned reg)
{
	return inb((uint16_t)(COM1 + reg));
}

static void wr(unsigned reg, uint8_t v)
{
	outb((uint16_t)(COM1 + reg), v);
}

void guest_main(const uint8_t *boot_params)
{
	/* Linux autoconfig's existence test: IER holds what is written (low 4 bits). */
	wr(UART_IER, 0);
	check("ier-zero", rd(UART_IER) & 0x0f, 0x00);
	wr(UART_IER, 0x0f);
	check("ier-0f", rd(UART_IER) & 0x0f, 0x0f);
	wr(UART_IER, 0);
	/* No interrupt pending: IIR bit 0 set, id 0 (NESTED_KVM.md: a UART that
	 * gets this wrong hangs Linux's /init at its first console write). */
	check("iir-idle", rd(UART_IIR) & 0x0f, 0x01);
	/* Transmitter idle: THRE and TEMT. */
	check("lsr-idle", rd(UART_LSR) & 0x60, 0x60);
	/* Enabling the THRE interrupt with THR empty raises it at once (id 0x2);
	 * reading IIR while it is the source clears it. */
	wr(UART_IER, 0x02);
	check("iir-thre", rd(UART_IIR) & 0x0f, 0x02);
	check("iir-thre-cleared", rd(UART_IIR) & 0x0f, 0x01);
	/* Writing THR re-arms it: the byte goes out (a space) and THR is empty
	 * again, so THRE is pending again once the transmitter drained. */
	for (unsigned i = 0; i < GUEST_POLL_MAX; i++)
		if (rd(UART_LSR) & UART_LSR_THRE)
			break;
	wr(0, ' ');
	for (unsigned i = 0; i < GUEST_POLL_MAX; i++)
		if (rd(UART_LSR) & UART_LSR_THRE)
			break;
	check("iir-thre-rearmed", rd(UART_IIR) & 0x0f, 0x02);
	wr(UART_IER, 0);
	check("iir-ier-off", rd(UART_IIR) & 0x0f, 0x01);
	/* Divisor latch behind DLAB (LCR bit 7): 115200 / 12 = 9600 baud. */
	wr(UART_LCR, 0x83);
	wr(UART_DLL, 0x0c);
	wr(UART_DLM, 0x00);
	check("dll", rd(UART_DLL), 0x0c);
	check("dlm", rd(UART_DLM), 0x00);
	check("lcr-dlab", rd(UART_LCR), 0x83);
	wr(UART_LCR, 0x03);
	check("lcr-8n1", rd(UART_LCR), 0x03);
	/* With DLAB clear, offset 1 is IER again, not DLM. */
	wr(UART_IER, 0x01);
	check("ier-not-dlm", rd(UART_IER) & 0x0f, 0x01);
	wr(UART_IER, 0);
	/* Scratch register (16450 and later). */
	wr(UART_SCR, 0x5a);
	check("scr", rd(UART_SCR), 0x5a);
	/* Modem control holds DTR|RTS|OUT2 as written. */
	wr(UART_MCR, 0x0b);
	check("mcr", rd(UART_MCR) & 0x1f, 0x0b);
	serial_puts("\n");
	report();
	guest_reset();
}
