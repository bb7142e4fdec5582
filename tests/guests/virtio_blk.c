/* Tiny guest driving virtio-blk by hand over virtio-mmio (virtio 1.2 §4.2.3
 * driver initialisation, §2.7 split ring, §5.2.6 requests), with no
 * interrupts (polls the used ring and the status register). Prints what it
 * finds on COM1 for tests/native/kvm_virtio.sh:
 *
 *   virtio: slot N id D           for every virtio-mmio window found
 *   capacity: SECTORS
 *   read status: S len L          read of sector 0, then
 *   sector0: <first 48 bytes>
 *   isr: 0xN
 *   write status: S len L         write of sector 1
 *   loop status: 0xS used N isr 0xI
 *                                 a chain whose descriptor points at itself:
 *                                 the device must set DEVICE_NEEDS_RESET
 *                                 (0x40) and use nothing
 *   bad ring status: 0xS          after a reset, rings outside RAM: refused
 *                                 at DRIVER_OK with DEVICE_NEEDS_RESET
 *   recovered read status: S len L
 *                                 after another reset, a good queue works
 *
 * and exits through the exit port: 0 when every step ran, otherwise a
 * distinct code per step that could not (10..20). */
#include "vblk.h"

/* Not RAM (the VM has 256 MiB), not an MMIO window either. */
#define NOT_RAM 0xf0000000ull

void guest_main(const uint8_t *boot_params)
{
	uint16_t used_seen = 0;
	uint8_t st;
	uint32_t len;

	guest_lib_init(boot_params);
	serial_puts("virtio-guest: start\n");
	vblk_find(true);

	if (vblk_init(DESC) != S_RUNNING)
		vblk_fail(15, "device did not accept DRIVER_OK");

	serial_puts("capacity: ");
	serial_put_dec(vblk_rd(R_CONFIG) | (uint64_t)vblk_rd(R_CONFIG + 4) << 32);
	serial_puts("\n");

	/* Read sector 0. */
	len = vblk_request(VBLK_T_IN, 0, 512, true, &used_seen, &st);
	serial_puts("read status: ");
	serial_put_dec(st);
	serial_puts(" len ");
	serial_put_dec(len);
	serial_puts("\nsector0: ");
	for (unsigned i = 0; i < 48; i++) {
		char c = *(volatile char *)(uintptr_t)(BUF + i);
		serial_putc(c >= 32 && c < 127 ? c : '.');
	}
	serial_puts("\n");
	serial_puts("isr: 0x");
	serial_put_hex(vblk_rd(R_ISR), 1);
	serial_puts("\n");
	vblk_wr(R_ISR_ACK, 1);
	if (st != 0 || len != 513)
		vblk_fail(18, "read request failed");

	/* Write sector 1 (refused with IOERR on a read-only disk). */
	static const char msg[] = "written by the appvm virtio-blk test guest";
	for (unsigned i = 0; i < 512; i++)
		*(volatile char *)(uintptr_t)(BUF + i) = i < sizeof(msg) ? msg[i] : 0;
	len = vblk_request(VBLK_T_OUT, 1, 512, false, &used_seen, &st);
	serial_puts("write status: ");
	serial_put_dec(st);
	serial_puts(" len ");
	serial_put_dec(len);
	serial_puts("\n");

	/* A descriptor that chains to itself (§2.7.5.2 forbids loops). */
	uint16_t idx = vblk_get16(AVAIL + 2);
	vblk_desc(0, HDR, 16, F_NEXT, 0);
	vblk_put16(AVAIL + 4 + 2 * (idx % QSIZE), 0);
	vblk_barrier();
	vblk_put16(AVAIL + 2, (uint16_t)(idx + 1));
	vblk_barrier();
	vblk_wr(R_QUEUE_NOTIFY, 0);
	uint32_t status = 0;
	for (unsigned i = 0; i < GUEST_POLL_MAX && !(status & S_NEEDS_RESET); i++)
		status = vblk_rd(R_STATUS);
	serial_puts("loop status: 0x");
	serial_put_hex(status, 2);
	serial_puts(" used ");
	serial_put_dec((uint16_t)(vblk_get16(USED + 2) - used_seen));
	serial_puts(" isr 0x");
	serial_put_hex(vblk_rd(R_ISR), 1);
	serial_puts("\n");
	vblk_wr(R_ISR_ACK, 3);

	/* Reset, then rings the device cannot reach. */
	status = vblk_init(NOT_RAM);
	serial_puts("bad ring status: 0x");
	serial_put_hex(status, 2);
	serial_puts("\n");

	/* Reset once more: a good queue works again. */
	if (vblk_init(DESC) != S_RUNNING)
		vblk_fail(20, "device did not accept DRIVER_OK after the resets");
	used_seen = 0;
	len = vblk_request(VBLK_T_IN, 0, 512, true, &used_seen, &st);
	serial_puts("recovered read status: ");
	serial_put_dec(st);
	serial_puts(" len ");
	serial_put_dec(len);
	serial_puts("\n");
	guest_exit(0);
}
