/* A polling virtio-blk driver over virtio-mmio for the tiny test guests
 * (virtio 1.2 §4.2.3 driver initialisation, §2.7 split ring, §5.2.6
 * requests): no interrupts, one queue of QSIZE, one request at a time. Every
 * step that cannot go on ends the VM through vblk_fail with a distinct exit
 * code (10..19), which tests/native/kvm_virtio.sh reports. */
#ifndef GUEST_VBLK_H
#define GUEST_VBLK_H
#include "lib.h"

#define MMIO_BASE 0xd0000000ull
#define MMIO_SLOTS 8
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_QUEUE_NOTIFY 0x050
#define R_ISR 0x060
#define R_ISR_ACK 0x064
#define R_STATUS 0x070
#define R_CONFIG 0x100

#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 0x40
#define S_RUNNING (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK)

#define QSIZE 4
/* Ring and buffers in guest RAM well above the image (loaded at 2 MiB);
 * BUF holds up to VBLK_BUF_MAX bytes. */
#define DESC 0x800000ull
#define AVAIL 0x801000ull
#define USED 0x802000ull
#define HDR 0x803000ull
#define STATUS 0x803100ull
#define BUF 0x804000ull
#define VBLK_BUF_MAX 0x4000u
#define F_NEXT 1
#define F_WRITE 2
#define VBLK_T_IN 0
#define VBLK_T_OUT 1
#define VBLK_T_FLUSH 4

uint32_t vblk_rd(uint32_t off);
void vblk_wr(uint32_t off, uint32_t v);
void vblk_barrier(void);
__attribute__((noreturn)) void vblk_fail(uint8_t code, const char *why);
void vblk_put16(uint64_t a, uint16_t v);
uint16_t vblk_get16(uint64_t a);
void vblk_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
/* Select the first virtio-blk window (fails 10/11 without one); when
 * announce, print "virtio: slot N id D" for every window found. */
void vblk_find(bool announce);
/* §3.1.1: reset, VERSION_1 only, queue 0 at desc; the status read back
 * after DRIVER_OK. */
uint32_t vblk_init(uint64_t desc);
/* One request of type at sector with len bytes of BUF (none when 0; the
 * device writes them when data_in). Returns the used length; *status gets
 * the status byte. */
uint32_t vblk_request(uint32_t type, uint64_t sector, uint32_t len, bool data_in,
		      uint16_t *used_seen, uint8_t *status);
#endif
