/* libFuzzer target: the legacy port devices a guest reaches with in/out --
 * the i8042 (0x60/0x64), the CMOS RTC (0x70/0x71), the exit and boot-time
 * ports (0x510, 0x3f0), created through their device_ops on a port bus, and
 * the 16550 UART model (vmm/devices/serial_model.c) with host input.
 *
 * Input: 4-byte operations {op, a, b, c}:
 *   op % 8 = 0/1: out/in of width 1 << (b % 4) at port table[a] (+ c % 4)
 *   op % 8 = 2/3: out/in of one byte at any port a | b << 8
 *   op % 8 = 4/5: UART register a % 8 written with b / read
 *   op % 8 = 6:   c bytes of host input for the UART (the next input bytes)
 *   op % 8 = 7:   RTC: select register a, read it and check its format
 * Checks, besides ASan/UBSan: a byte written to the exit port asks the VM to
 * exit with exactly that status; RTC clock registers read valid BCD (or
 * binary) values in their ranges (MC146818A datasheet, table 3); the UART's
 * interrupt line is what its IIR says (with OUT2 set) and it never holds
 * more received bytes than its FIFO. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/device.h"
#include "vmm/devices/serial.h"
#include "vmm/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct device_ops i8042_device, rtc_device, debugport_device;

struct fz_state {
	struct bus pio, mmio;
	int exit_reason, exit_status;
	int uart_irq;
	size_t uart_out;
};

static struct fz_state fz;

static void fz_exit(struct vm *vm, enum vm_exit_reason r, int status)
{
	fz.exit_reason = (int)r;
	fz.exit_status = status;
}

static int fz_irq_line(struct vm *vm, unsigned gsi, int level) { return 0; }
static int fz_cmdline(struct vm *vm, const char *w) { return 0; }
static void fz_uart_irq(void *ctx, int level) { fz.uart_irq = level; }
static void fz_uart_out(void *ctx, const uint8_t *buf, size_t len) { fz.uart_out += len; }

static const uint16_t fz_ports[] = { 0x60, 0x64, 0x70, 0x71, 0x510, 0x3f0, 0x61, 0x80 };

/* Decode an RTC clock value: BCD unless register B's DM bit (0x04) is set. */
static unsigned fz_rtc_val(uint8_t v, uint8_t reg_b)
{
	if (reg_b & 0x04)
		return v;
	if ((v & 0x0f) > 9 || (v >> 4) > 9)
		abort();
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t fz_in8(uint16_t port)
{
	uint8_t v = 0;
	bus_read(&fz.pio, port, &v, 1);
	return v;
}

static void fz_out8(uint16_t port, uint8_t v)
{
	bus_write(&fz.pio, port, &v, 1);
}

static void fz_rtc_check(uint8_t idx)
{
	static const unsigned max[10] = { 59, 0, 59, 0, 23, 0, 7, 31, 12, 99 };
	uint8_t reg_b, v, h;
	unsigned val;

	fz_out8(0x70, 0x0b);
	reg_b = fz_in8(0x71);
	fz_out8(0x70, idx);
	v = fz_in8(0x71);
	if (idx > 9 || !max[idx])
		return;
	if (idx == 4 && !(reg_b & 0x02)) {
		/* 12-hour mode: bit 7 is PM, the hour is 1..12. */
		h = v & 0x7f;
		val = fz_rtc_val(h, reg_b);
		if (val < 1 || val > 12)
			abort();
		return;
	}
	val = fz_rtc_val(v, reg_b);
	if (val > max[idx] || ((idx == 6 || idx == 7 || idx == 8) && val < 1))
		abort();
}

static int fz_publish(struct vm *vm, const struct dev_resource *r) { return 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct dev_env env = {
		.pio = &fz.pio, .mmio = &fz.mmio, .irq_line = fz_irq_line,
		.request_exit = fz_exit, .cmdline_add = fz_cmdline, .publish = fz_publish,
	};
	void *st_i8042 = NULL, *st_rtc = NULL, *st_debug = NULL;
	struct serial uart;
	size_t i = 0;

	log_level = -1;
	memset(&fz, 0, sizeof(fz));
	if (i8042_device.create(&env, NULL, &st_i8042) || rtc_device.create(&env, NULL, &st_rtc) ||
	    debugport_device.create(&env, NULL, &st_debug))
		abort();
	serial_init(&uart, fz_uart_irq, fz_uart_out, NULL, NULL);

	while (i + 4 <= size) {
		uint8_t op = data[i], a = data[i + 1], b = data[i + 2], c = data[i + 3];
		uint8_t buf[8];
		uint32_t len = 1u << (b % 4);
		uint16_t port;

		i += 4;
		switch (op % 8) {
		case 0:
		case 1:
			port = (uint16_t)(fz_ports[a % 8] + c % 4);
			memset(buf, c, sizeof(buf));
			if (op % 8 == 0)
				bus_write(&fz.pio, port, buf, len);
			else
				bus_read(&fz.pio, port, buf, len);
			break;
		case 2:
			port = (uint16_t)(a | b << 8);
			fz.exit_reason = 0;
			fz_out8(port, c);
			if (port == 0x510 && (fz.exit_reason != VM_EXIT_STATUS || fz.exit_status != c))
				abort();
			break;
		case 3:
			fz_in8((uint16_t)(a | b << 8));
			break;
		case 4:
			serial_write(&uart, a % 8, b);
			break;
		case 5:
			if (a % 8 == 2) {
				/* IIR bit 0 clear = an interrupt is pending; the line
				 * follows it when OUT2 (MCR bit 3) gates it on. */
				int level = fz.uart_irq;
				uint8_t iir = serial_read(&uart, 2);
				if ((uart.mcr & 0x08) && level != !(iir & 0x01))
					abort();
			} else {
				serial_read(&uart, a % 8);
			}
			break;
		case 6: {
			size_t n = c < size - i ? c : size - i;
			size_t space = serial_rx_space(&uart);
			size_t took = serial_input(&uart, data + i, n);
			if (took > n || took > space)
				abort();
			i += n;
			break;
		}
		case 7:
			fz_rtc_check(a);
			break;
		}
		if (uart.rx_len > SERIAL_RX_CAP || fz.uart_irq != uart.irq_level)
			abort();
	}
	serial_destroy(&uart);
	debugport_device.destroy(st_debug);
	rtc_device.destroy(st_rtc);
	i8042_device.destroy(st_i8042);
	return 0;
}
