/* 16550A register model: what Linux's 8250 driver probes and relies on. */
#include <string.h>

#include "tests/unit/t.h"
#include "vmm/devices/serial.h"

static int irq_level, irq_changes, rx_ready_calls;
static char outbuf[4096];
static size_t outlen;

static void f_irq(void *ctx, int level) { irq_level = level; irq_changes++; }
static void f_out(void *ctx, const uint8_t *b, size_t n) { memcpy(outbuf + outlen, b, n); outlen += n; }
static void f_ready(void *ctx) { rx_ready_calls++; }

static struct serial s;
static void setup(void)
{
	irq_level = irq_changes = rx_ready_calls = 0;
	outlen = 0;
	serial_init(&s, f_irq, f_out, f_ready, NULL);
}

enum { THR = 0, IER = 1, IIR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

static void iir_idle_and_scratch(void)
{
	setup();
	CHECK_EQ(serial_read(&s, IIR), 0x01);  /* nothing pending */
	serial_write(&s, SCR, 0xa5);
	CHECK_EQ(serial_read(&s, SCR), 0xa5);
	CHECK_EQ(serial_read(&s, LSR) & 0x60, 0x60);
	CHECK_EQ(irq_level, 0);
}

static void divisor_latch(void)
{
	setup();
	serial_write(&s, LCR, 0x83);
	serial_write(&s, 0, 0x01);
	serial_write(&s, 1, 0x00);
	CHECK_EQ(serial_read(&s, 0), 0x01);
	CHECK_EQ(serial_read(&s, 1), 0x00);
	serial_write(&s, LCR, 0x03);
	/* With DLAB off, offset 1 is IER again and offset 0 transmits. */
	CHECK_EQ(serial_read(&s, IER), 0);
	serial_write(&s, THR, 'A');
	CHECK_EQ(outlen, 1);
	CHECK_EQ(outbuf[0], 'A');
	CHECK_EQ(serial_read(&s, LCR), 0x03);
}

static void thre_interrupt_driven_tx(void)
{
	setup();
	serial_write(&s, MCR, 0x08);  /* OUT2 */
	serial_write(&s, IER, 0x02);  /* enabling THRE with THR empty raises it */
	CHECK_EQ(irq_level, 1);
	CHECK_EQ(serial_read(&s, IIR) & 0x0f, 0x02);
	/* IIR read cleared it */
	CHECK_EQ(irq_level, 0);
	CHECK_EQ(serial_read(&s, IIR) & 0x0f, 0x01);
	/* Each byte written raises THRE again: the driver's next-byte trigger. */
	serial_write(&s, THR, 'x');
	CHECK_EQ(irq_level, 1);
	serial_write(&s, THR, 'y');
	CHECK_EQ(irq_level, 1);
	CHECK_EQ(outlen, 2);
	serial_write(&s, IER, 0x00);
	CHECK_EQ(irq_level, 0);
}

static void out2_gates_irq(void)
{
	setup();
	serial_write(&s, MCR, 0x00);
	serial_write(&s, IER, 0x02);
	CHECK_EQ(irq_level, 0);
	serial_write(&s, MCR, 0x08);
	CHECK_EQ(irq_level, 1);
}

static void rx_data_and_interrupt(void)
{
	setup();
	serial_write(&s, MCR, 0x08);
	serial_write(&s, IER, 0x01);
	CHECK_EQ(serial_input(&s, (const uint8_t *)"hi", 2), 2);
	CHECK_EQ(irq_level, 1);
	CHECK_EQ(serial_read(&s, IIR) & 0x0f, 0x04);
	CHECK_EQ(serial_read(&s, LSR) & 1, 1);
	CHECK_EQ(serial_read(&s, 0), 'h');
	CHECK_EQ(serial_read(&s, 0), 'i');
	CHECK_EQ(serial_read(&s, LSR) & 1, 0);
	CHECK_EQ(irq_level, 0);
}

static void rx_full_holds_input(void)
{
	uint8_t big[SERIAL_RX_CAP + 10];

	setup();
	memset(big, 'z', sizeof(big));
	CHECK_EQ(serial_input(&s, big, sizeof(big)), SERIAL_RX_CAP);
	CHECK_EQ(serial_rx_space(&s), 0);
	/* The rest is refused, not dropped: the caller keeps it. No overrun. */
	CHECK_EQ(serial_input(&s, big, 5), 0);
	CHECK_EQ(serial_read(&s, LSR) & 0x02, 0);
	CHECK_EQ(rx_ready_calls, 0);
	serial_read(&s, 0);
	CHECK_EQ(rx_ready_calls, 1);  /* room again: the host may feed more */
	CHECK_EQ(serial_rx_space(&s), 1);
}

static void loopback_msr_echo(void)
{
	setup();
	/* 8250 autoconfig: MCR = LOOP | OUT2 | RTS -> MSR high nibble 0x90. */
	serial_write(&s, MCR, 0x1a);
	CHECK_EQ(serial_read(&s, MSR) & 0xf0, 0x90);
	serial_write(&s, MCR, 0x1f);
	CHECK_EQ(serial_read(&s, MSR) & 0xf0, 0xf0);
	/* In loopback, transmitted bytes come back and never leave. */
	serial_write(&s, THR, 'L');
	CHECK_EQ(outlen, 0);
	CHECK_EQ(serial_read(&s, 0), 'L');
	/* Outside input waits while the line is looped back... */
	CHECK_EQ(serial_input(&s, (const uint8_t *)"q", 1), 0);
	/* ...and leaving loopback tells the host to retry. */
	serial_write(&s, MCR, 0x0b);
	CHECK_EQ(rx_ready_calls, 1);
	CHECK_EQ(serial_read(&s, MSR) & 0xb0, 0xb0);
}

static void fifo_bits_in_iir(void)
{
	setup();
	serial_write(&s, IIR, 0x07);  /* FCR: enable + clear */
	CHECK_EQ(serial_read(&s, IIR) & 0xc0, 0xc0);
	serial_write(&s, IIR, 0x00);
	CHECK_EQ(serial_read(&s, IIR) & 0xc0, 0x00);
}

int main(void)
{
	t_suite = "serial";
	RUN(iir_idle_and_scratch);
	RUN(divisor_latch);
	RUN(thre_interrupt_driven_tx);
	RUN(out2_gates_irq);
	RUN(rx_data_and_interrupt);
	RUN(rx_full_holds_input);
	RUN(loopback_msr_echo);
	RUN(fifo_bits_in_iir);
	return t_done();
}
