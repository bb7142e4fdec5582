/* The hostile guest (tests/native/hostile.sh, docs/HOSTILE.md): one tiny
 * freestanding guest that runs one attack on vmm's guest-facing devices,
 * chosen by "hostile.case=NAME" on the command line, then tells the host
 * on COM1 what it saw:
 *
 *   HOSTILE BEGIN <name>
 *   HOSTILE RESULT PASS | REJECT | BAD <why>
 *   HOSTILE END
 *
 * or, for an attack that never stops (notify and refill storms),
 *   HOSTILE STORM
 * after which it keeps attacking while the host checks that vmm still
 * answers. REJECT means the device showed DEVICE_NEEDS_RESET (virtio 1.2
 * §2.1.2); after every attack the guest resets the device and checks that it
 * works again (the "health check"), so a REJECT is a device that recovered,
 * not one that died. BAD: the device returned something it must never
 * return (more bytes than a buffer holds, data past the disk, a packet
 * beyond the credit) or stayed broken after a reset.
 *
 * This file: the polling virtio-mmio driver every attack is built from. No
 * interrupts are used; every wait is a bounded poll of MMIO reads (each a VM
 * exit, so the VMM's threads run meanwhile). */
#ifndef GUEST_HOSTILE_H
#define GUEST_HOSTILE_H
#include "lib.h"

/* vmm runs this guest with -m 64: RAM is [0, 64 MiB). */
#define RAM_END 0x4000000ull
#define MMIO_BASE 0xd0000000ull
#define MMIO_SLOTS 8

/* virtio-mmio registers (§4.2.2). */
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_VENDOR 0x00c
#define R_DEV_FEAT 0x010
#define R_DEV_FEAT_SEL 0x014
#define R_DRV_FEAT 0x020
#define R_DRV_FEAT_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_ISR 0x060
#define R_ISR_ACK 0x064
#define R_STATUS 0x070
#define R_DESC_LO 0x080
#define R_DESC_HI 0x084
#define R_AVAIL_LO 0x090
#define R_AVAIL_HI 0x094
#define R_USED_LO 0x0a0
#define R_USED_HI 0x0a4
#define R_SHM_SEL 0x0ac
#define R_CONFIG_GEN 0x0fc
#define R_CONFIG 0x100

/* Device status (§2.1). */
#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 0x40
#define S_FAILED 0x80

/* Feature bits (§6). */
#define F_INDIRECT (1ull << 28)
#define F_EVENT_IDX (1ull << 29)
#define F_VERSION_1 (1ull << 32)

/* Descriptor flags (§2.7.5). */
#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4

#define ID_NET 1
#define ID_BLK 2
#define ID_RNG 4
#define ID_VSOCK 19

/* What an attack saw (the host turns it into the verdict). */
enum { R_PASS, R_REJECT, R_BAD, R_STORM };

struct hdev {
	uint64_t base;
	uint32_t id;
	unsigned slot;
};

/* One split virtqueue the guest drives: desc at mem, avail at mem+0x1000,
 * used at mem+0x2000, scratch (indirect tables) from mem+0x4000. */
struct hq {
	struct hdev *d;
	unsigned q;
	uint16_t size;
	uint64_t mem, desc, avail, used;
	uint16_t aidx;   /* our avail->idx */
	uint16_t useen;  /* used entries consumed */
};

/* Guest memory accessors (identity mapped). */
static inline void put8(uint64_t a, uint8_t v) { *(volatile uint8_t *)(uintptr_t)a = v; }
static inline void put16(uint64_t a, uint16_t v) { *(volatile uint16_t *)(uintptr_t)a = v; }
static inline void put32(uint64_t a, uint32_t v) { *(volatile uint32_t *)(uintptr_t)a = v; }
static inline void put64(uint64_t a, uint64_t v) { *(volatile uint64_t *)(uintptr_t)a = v; }
static inline uint8_t get8(uint64_t a) { return *(volatile uint8_t *)(uintptr_t)a; }
static inline uint16_t get16(uint64_t a) { return *(volatile uint16_t *)(uintptr_t)a; }
static inline uint32_t get32(uint64_t a) { return *(volatile uint32_t *)(uintptr_t)a; }
static inline uint64_t get64(uint64_t a) { return *(volatile uint64_t *)(uintptr_t)a; }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
void fill(uint64_t a, uint8_t v, uint64_t n);
bool same(uint64_t a, const char *s, unsigned n);

/* Record why an attack failed; returns R_BAD. */
int hv_bad(const char *why);
void note(const char *what, uint64_t v);

/* Device discovery and registers. hv_find: false when vmm has no such
 * device (the host always gives blk, rng and vsock; net with flag n). */
bool hv_find(struct hdev *d, uint32_t id);
uint32_t hv_rd(const struct hdev *d, uint32_t off);
void hv_wr(const struct hdev *d, uint32_t off, uint32_t v);
bool hv_needs_reset(const struct hdev *d);
void hv_reset(const struct hdev *d);
/* §3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK. True when the
 * device kept FEATURES_OK. */
bool hv_start(const struct hdev *d, uint64_t features);
void hv_driver_ok(const struct hdev *d);
/* Program queue qi (size entries, rings in mem, zeroed) and set it ready. */
void hq_setup(struct hq *q, struct hdev *d, unsigned qi, uint16_t size, uint64_t mem);
/* The same, without touching the device's registers (rings only). */
void hq_layout(struct hq *q, struct hdev *d, unsigned qi, uint16_t size, uint64_t mem);
void hq_desc(const struct hq *q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
/* Make head available (no notify). */
void hq_post(struct hq *q, uint16_t head);
void hq_kick(const struct hq *q);
/* Wait (at most polls MMIO reads) for a used entry; true if one came,
 * false at once when the device shows NEEDS_RESET. */
bool hq_wait(const struct hq *q, unsigned polls);
/* Take the next used entry; false when there is none. */
bool hq_used(struct hq *q, uint32_t *id, uint32_t *len);
/* used_event / avail_event slots (§2.7.10). */
uint64_t hq_used_event(const struct hq *q);
uint64_t hq_avail_event(const struct hq *q);

/* A ring whose device-side bookkeeping goes wrong gets NEEDS_RESET; then
 * (or if the device stays silent) the guest resets and checks it again.
 * The result of an attack on d: R_REJECT when d showed NEEDS_RESET, R_PASS
 * otherwise; R_BAD when d does not work after a reset. */
int hv_verdict(struct hdev *d);
/* Health checks (each resets and re-initialises its device): a read of the
 * disk's marker sector, 64 random bytes, a REQUEST answered by RST. */
bool blk_health(struct hdev *d);
bool rng_health(struct hdev *d);
bool vsock_health(struct hdev *d);
/* virtio-net (flag n): an ARP request for the host's address answered
 * (hostile_net.c). */
bool net_health(struct hdev *d);

/* Memory map (below RAM_END). */
#define QMEM(slot, q) (0x1000000ull + 0x100000ull * (slot) + 0x10000ull * (q))
#define DATA 0x2000000ull         /* 16 MiB of buffers */
#define DATA_END 0x3000000ull

/* A device brought up for an attack: found, started with features, queue
 * 0 (or every queue for vsock) set up with size entries, DRIVER_OK. False
 * with a BAD reason recorded when something refused. */
bool hv_up(struct hdev *d, uint32_t id, uint64_t features, struct hq *qs, unsigned nq, uint16_t size);

/* virtio-blk (§5.2.6) and vsock (§5.10.6) helpers shared by the attacks. */
#define BLK_HDR 0x2f00000ull
#define BLK_ST 0x2f00100ull
#define DISK_MARKER "HOSTILE-DISK-SECTOR-0"
#define DISK_MARKER_LEN 21
/* One request: header, data (len bytes at data, device-writable when in;
 * none when len is 0), status. Returns true when it completed within the
 * poll limit; *st and *ulen get the status byte and used length. */
bool blk_req(struct hq *q, uint32_t type, uint64_t sector, uint64_t data, uint32_t len, bool in,
	     uint8_t *st, uint32_t *ulen);

#define VS_HDR 44
#define VS_CID 3
#define VS_HOST 2
/* The attack scenarios (tests/guests/hostile_cases.h). */
#define H(name, class, flags, fn, arg) int fn(unsigned arg_);
#include "hostile_cases.h"
#undef H
#endif
