/* Boot-time marker: linked with the BOOT_MARKER_FIRST start, so the first
 * guest instruction writes 123 to port 0x3f0. Then one line and a reset. */
#include "lib.h"

void guest_main(const uint8_t *boot_params)
{
	serial_puts("boottime: marker written\n");
	guest_reset();
}
