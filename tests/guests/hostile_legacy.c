/* Category L: the legacy port devices (8250 UART, i8042, CMOS RTC, the
 * exit and boot-time ports) and the unclaimed port space. */
#include "hostile.h"

static void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* Back to 8N1, no loopback, no interrupts, FIFO on: our result lines must
 * still reach the host after a case played with the UART. */
static void uart_sane(void)
{
	outb(COM1 + 3, 0x03);
	outb(COM1 + 1, 0x00);
	outb(COM1 + 2, 0x07);
	outb(COM1 + 4, 0x03);
	for (unsigned i = 0; i < 64; i++)
		(void)inb(COM1);
}

/* Every UART register, every value, at widths 1, 2, 4 (DLAB on and off). */
int l_uart_regs(unsigned u)
{
	for (unsigned v = 0; v < 256; v++)
		for (unsigned r = 1; r < 8; r++)
			outb((uint16_t)(COM1 + r), (uint8_t)v);
	for (unsigned r = 0; r < 8; r++) {
		(void)inb((uint16_t)(COM1 + r));
		(void)inw((uint16_t)(COM1 + r));
		(void)inl((uint16_t)(COM1 + r));
		outw((uint16_t)(COM1 + r), 0xffff);
		outl((uint16_t)(COM1 + r), 0xffffffff);
	}
	uart_sane();
	return R_PASS;
}

/* n bytes into THR without waiting for THRE. */
int l_uart_flood(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		outb(COM1, (uint8_t)('a' + i % 26));
	serial_puts("\n");
	uart_sane();
	return R_PASS;
}

/* Loopback mode: what we send comes back on RBR (MCR bit 4). */
int l_uart_loopback(unsigned u)
{
	outb(COM1 + 4, 0x10);
	for (unsigned i = 0; i < 2000; i++) {
		outb(COM1, (uint8_t)i);
		(void)inb(COM1);
		(void)inb(COM1 + 5);
	}
	uart_sane();
	return R_PASS;
}

/* Every i8042 command but the reset pulses (0xf0-0xff, and 0xd1 with bit
 * 0 clear), each with a data byte, draining the output buffer. */
int l_i8042_cmds(unsigned u)
{
	for (unsigned c = 0; c < 0xf0; c++) {
		i8042_wait_ibf_clear();
		outb(I8042_CMD, (uint8_t)c);
		i8042_wait_ibf_clear();
		outb(I8042_DATA, 0xff);
		for (unsigned i = 0; i < 4 && (inb(I8042_CMD) & I8042_STR_OBF); i++)
			(void)inb(I8042_DATA);
	}
	for (unsigned i = 0; i < 2000; i++)
		outb(I8042_DATA, (uint8_t)i);
	return R_PASS;
}

/* The output port written with bit 0 clear: a reset (the VM ends, exit 0). */
int l_i8042_outport_reset(unsigned u)
{
	i8042_wait_ibf_clear();
	outb(I8042_CMD, 0xd1);
	i8042_wait_ibf_clear();
	outb(I8042_DATA, 0xfe);
	guest_halt();
}

static uint8_t cmos(uint8_t i)
{
	outb(0x70, i);
	return inb(0x71);
}

static bool bcd_ok(uint8_t v, uint8_t max)
{
	return (v & 0xf) <= 9 && (v >> 4) <= 9 && (v >> 4) * 10 + (v & 0xf) <= max;
}

/* The time registers must read as valid BCD (status B bit 2 clear). */
static int rtc_check(void)
{
	uint8_t b = cmos(0x0b);
	if (b & 4)
		return R_PASS;  /* binary mode: any byte is a number */
	if (!bcd_ok(cmos(0), 59) || !bcd_ok(cmos(2), 59) || !bcd_ok(cmos(4), 23) || !bcd_ok(cmos(7), 31) ||
	    !bcd_ok(cmos(8), 12) || !bcd_ok(cmos(9), 99) || !bcd_ok(cmos(0x32), 99)) {
		note("sec", cmos(0));
		note("year", cmos(9));
		note("century", cmos(0x32));
		return hv_bad("RTC time registers are not valid BCD");
	}
	return R_PASS;
}

/* Every index, NMI bit set or not, read; then written with 0xff. */
int l_rtc_all(unsigned write)
{
	for (unsigned i = 0; i < 256; i++)
		(void)cmos((uint8_t)i);
	if (write) {
		for (unsigned i = 0; i < 128; i++) {
			outb(0x70, (uint8_t)i);
			outb(0x71, 0xff);
		}
		outb(0x70, 0x0b);
		outb(0x71, 0x02);  /* back to BCD, 24 h, SET clear */
	}
	return rtc_check();
}

/* The clock moved to the end of what the registers can hold, in binary
 * mode (0xff everywhere: century 255), then read back in BCD: gmtime_r
 * must not be asked past its range, and no stack bytes may show. */
int l_rtc_far(unsigned mode)
{
	outb(0x70, 0x0b);
	outb(0x71, 0x86);  /* SET, binary, 24 h */
	static const uint8_t regs[] = { 0, 2, 4, 7, 8, 9, 0x32 };
	for (unsigned i = 0; i < sizeof(regs); i++) {
		outb(0x70, regs[i]);
		outb(0x71, mode ? 0x00 : 0xff);
	}
	outb(0x70, 0x0b);
	outb(0x71, 0x02);  /* SET clear, BCD */
	return rtc_check();
}

/* The boot-time port: every value, every width. */
int l_boot_port(unsigned u)
{
	for (unsigned v = 0; v < 256; v++) {
		outb(BOOT_TIME_PORT, (uint8_t)v);
		outw(BOOT_TIME_PORT, (uint16_t)(v * 257));
		outl(BOOT_TIME_PORT, v * 0x01010101u);
		(void)inb(BOOT_TIME_PORT);
		(void)inl(BOOT_TIME_PORT);
	}
	return R_PASS;
}

/* The exit port at width w with 77 in its low byte: vmm exits 77. */
int l_exit_port(unsigned w)
{
	if (w == 1)
		outb(0x510, 77);
	else if (w == 2)
		outw(0x510, 0x104d);
	else
		outl(0x510, 0x1234564d);
	guest_halt();
}

/* Every port but the ones that end the VM or carry our output: read at
 * every width, written with zeros. */
int l_port_sweep(unsigned u)
{
	for (uint32_t p = 0; p < 0x10000; p++) {
		if (p == 0x64 || p == 0x510 || p == 0x511 || (p >= COM1 && p < COM1 + 8) || p == 0xcf9 || p == 0x92)
			continue;
		(void)inb((uint16_t)p);
		if ((p & 0xff) == 0) {
			(void)inw((uint16_t)p);
			(void)inl((uint16_t)p);
		}
		outb((uint16_t)p, 0);
	}
	uart_sane();
	return rtc_check();
}
