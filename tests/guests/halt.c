/* Halts forever with interrupts off after one line: with the in-kernel
 * irqchip the vCPU sleeps inside KVM_RUN, so only a host signal (SIGTERM,
 * SIGINT) can end this VM. */
#include "lib.h"

void guest_main(const uint8_t *boot_params)
{
	serial_puts("halt: halting with interrupts off\n");
	guest_halt();
}
