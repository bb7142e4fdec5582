/* Exit-port status: takes the status from "exitport.status=N" on the command
 * line and writes it to the port announced as appvm.exit_port=PORT, so the
 * test can check several values without a guest per value. */
#include "lib.h"

void guest_main(const uint8_t *boot_params)
{
	const char *v = cmdline_find("exitport.status=");
	uint64_t status;
	if (!v || !parse_uint(v, 255, &status)) {
		serial_puts("exitport: no valid exitport.status=N (0..255) on the command line\n");
		guest_reset();
	}
	serial_puts("exitport: writing status ");
	serial_put_dec(status);
	serial_puts("\n");
	guest_exit((uint8_t)status);
}
