/* virtio-blk (virtio 1.2 §5.2) over a host file or block device.
 *
 * The VMM creates it through virtio_blk_device (device table: the -r,
 * --rwroot and -d options) and blk_virtio_ops (descriptor, open, serve
 * ops), one instance per disk. Tests and the benchmark drive one disk
 * directly: blk_open, then blk_virtio_ops as the device host would
 * (activate, queue_notify, reset), watching the signal they passed in.
 * A disk touches only guest memory, its image fd and its virtio_signal. */
#ifndef VMM_DEVICES_VIRTIO_BLK_H
#define VMM_DEVICES_VIRTIO_BLK_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "vmm/gm.h"
#include "vmm/virtio.h"
#include "vmm/virtq.h"

/* §5.2.3 Feature bits. */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* §5.2.6 Request types and status values. */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_DISCARD_UNMAP 1

/* Limits we announce in the config space. */
#define BLK_QUEUE_MAX VIRTQ_MAX_SIZE
#define BLK_SEG_MAX (VIRTQ_MAX_SIZE - 2)       /* + header + status */
#define BLK_SIZE_MAX (1u << 20)                /* bytes per segment */
#define BLK_MAX_DISCARD_SEG 32
#define BLK_MAX_DISCARD_SECTORS (1u << 22)     /* 2 GiB per segment */
/* WRITE_ZEROES may end in plain writes of zeros (a host file that can
 * neither ZERO_RANGE nor PUNCH_HOLE): at most 16 MiB per request, as
 * announced in max_write_zeroes_sectors/_seg (§5.2.4), and at most
 * BLK_ZERO_BUDGET bytes of such writes per notification, the rest
 * requeued. */
#define BLK_MAX_WZ_SEG 2
#define BLK_MAX_WZ_SECTORS (1u << 14)          /* 8 MiB per segment */
#define BLK_ZERO_BUDGET (32u << 20)

/* Config-space offsets (§5.2.4, struct virtio_blk_config). */
#define BLK_CFG_CAPACITY 0
#define BLK_CFG_SIZE_MAX 8
#define BLK_CFG_SEG_MAX 12
#define BLK_CFG_BLK_SIZE 20
#define BLK_CFG_MAX_DISCARD_SECTORS 36
#define BLK_CFG_MAX_DISCARD_SEG 40
#define BLK_CFG_DISCARD_ALIGN 44
#define BLK_CFG_MAX_WZ_SECTORS 48
#define BLK_CFG_MAX_WZ_SEG 52
#define BLK_CFG_WZ_MAY_UNMAP 56
#define BLK_CFG_BYTES 60

#define BLK_MAX_DISKS 8

/* Parsed options: the root disk (-r/--rwroot) first, then -d in order. */
struct blk_disk {
	const char *path;
	bool ro;
	bool root;     /* becomes /dev/vda, adds root=/dev/vda ro|rw */
};

struct blk_opts {
	unsigned ndisks;
	struct blk_disk disks[BLK_MAX_DISKS];
};

struct blk_dev;

/* The host I/O calls a disk makes: libc by default, a fake in tests. */
struct blk_backend {
	ssize_t (*preadv)(int fd, const struct iovec *iov, int n, off_t off);
	ssize_t (*pwritev)(int fd, const struct iovec *iov, int n, off_t off);
	int (*fdatasync)(int fd);
	int (*fallocate)(int fd, int mode, off_t off, off_t len);
};

/* Open the image at path for disk number index (0 -> "vda"); the disk
 * reports back through sig (owned by the caller). Logs one error line
 * naming path and returns dev_input_error(-errno) (vmm/device.h) when it
 * cannot be opened, is not a regular file or block device, or is locked by
 * another user; -errno for other failures. Warns when its size is not a
 * multiple of 512. */
int blk_open(struct blk_dev **out, const char *path, bool ro, unsigned index, const struct gm *gm,
	     struct virtio_signal *sig);
void blk_close(struct blk_dev *b);
/* Replace the host I/O calls (tests, benchmark): IN/OUT then go through
 * io's preadv/pwritev even where the image is mapped. NULL restores libc's
 * and the mapping. */
void blk_set_backend(struct blk_dev *b, const struct blk_backend *io);
struct virtio_signal *blk_signal(struct blk_dev *b);
/* Offered features and the config space (BLK_CFG_BYTES, read-only). */
uint64_t blk_features(const struct blk_dev *b);
const uint8_t *blk_config(const struct blk_dev *b);
/* Capacity in 512-byte sectors (a partial last sector counts). */
uint64_t blk_sectors(const struct blk_dev *b);

/* Handle one request chain (§5.2.6): returns the status byte written (or
 * -EINVAL when the chain has no room for one: nothing written) and sets
 * *written to the bytes written into the chain. */
int blk_handle_req(struct blk_dev *b, const struct virtq_chain *c, uint32_t *written);

/* The descriptor, open and serve ops; dev is a struct blk_dev *. */
extern const struct virtio_device blk_virtio_ops;
#endif
