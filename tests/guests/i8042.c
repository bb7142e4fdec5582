/* i8042 probe the way Linux's i8042 driver starts (drivers/input/serio/
 * i8042.c): read the status register, read the controller configuration byte
 * (command 0x20), run the controller self-test (command 0xAA: a working 8042
 * answers 0x55 on the data port, 0xFC on failure), check the output buffer is
 * empty once the byte was read, then pulse reset (0xFE). Prints one line:
 *   i8042: status=SS ctr=CC selftest=TT obf-after=N
 * and "i8042: timeout ..." if the controller never answers. */
#include "lib.h"

static void fail(const char *what)
{
	serial_puts("i8042: timeout ");
	serial_puts(what);
	serial_puts("\n");
	guest_reset();
}

void guest_main(const uint8_t *boot_params)
{
	uint8_t st = inb(I8042_CMD);
	if (!i8042_wait_ibf_clear())
		fail("waiting for IBF clear");
	outb(I8042_CMD, 0x20);
	if (!i8042_wait_obf())
		fail("waiting for the CTR");
	uint8_t ctr = inb(I8042_DATA);
	if (!i8042_wait_ibf_clear())
		fail("waiting for IBF clear");
	outb(I8042_CMD, 0xaa);
	if (!i8042_wait_obf())
		fail("waiting for the self-test result");
	uint8_t res = inb(I8042_DATA);
	uint8_t after = inb(I8042_CMD);
	serial_puts("i8042: status=");
	serial_put_hex(st, 2);
	serial_puts(" ctr=");
	serial_put_hex(ctr, 2);
	serial_puts(" selftest=");
	serial_put_hex(res, 2);
	serial_puts(" obf-after=");
	serial_put_dec(after & I8042_STR_OBF);
	serial_puts("\n");
	guest_reset();
}
