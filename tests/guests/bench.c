/* Benchmark guest: the start linked before this writes the boot-time marker
 * as its first instruction; then one i8042 reset. That is the whole cycle:
 * start -> one OUT -> reset -> teardown. */
#include "lib.h"

void guest_main(const uint8_t *boot_params)
{
	outb(I8042_CMD, 0xfe);
	guest_halt();
}
