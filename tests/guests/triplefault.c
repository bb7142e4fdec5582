/* Triple fault: load an empty IDT and raise #UD. Delivering #UD faults (#GP,
 * IDT limit), delivering that faults (#DF), and a fault while delivering #DF
 * is a triple fault: shutdown (Intel SDM vol. 3 6.15, interrupt 8), which
 * KVM reports as KVM_EXIT_SHUTDOWN and a VMM treats as a reset. */
#include "lib.h"

void guest_main(const uint8_t *boot_params)
{
	static const struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} empty_idt = {0, 0};
	serial_puts("triplefault: empty IDT, then ud2\n");
	__asm__ volatile("lidt %0; ud2" : : "m"(empty_idt));
	serial_puts("triplefault: still running after the triple fault\n");
	guest_exit(99);
}
