/* Serial hello: one greeting line and the kernel command line on COM1, then
 * an i8042 reset. The test looks for the greeting and for a word it passed
 * with -p, which proves both the UART and the command line reach the guest. */
#include "lib.h"

void guest_main(const uint8_t *boot_params)
{
	serial_puts("hello from appvm test guest\n");
	serial_puts("cmdline: ");
	serial_puts(cmdline_get());
	serial_puts("\n");
	guest_reset();
}
