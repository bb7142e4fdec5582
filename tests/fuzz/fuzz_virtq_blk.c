/* libFuzzer target: the split-ring walker and the virtio-blk request path
 * on guest memory the fuzzer controls entirely.
 *
 * Input: byte 0 = log2 of the queue size (mod 9: 1..256), byte 1 = flags
 * (bit 0: INDIRECT negotiated, bit 1: read-only disk, bit 2: DISCARD and
 * WRITE_ZEROES negotiated, bit 3: EVENT_IDX negotiated), bytes 2..3 = starting ring index (exercises
 * wrap-around), then the first 64 KiB of guest RAM: descriptor table at
 * 0x0, avail ring at 0x1000, used ring at 0x1800, everything else free for
 * headers, buffers and indirect tables. Guest RAM is a malloc of exactly
 * 64 KiB so ASan flags any access outside it. The disk is a 64 KiB memfd
 * (+ 100 bytes, for the partial last sector). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/devices/virtio_blk.h"
#include "vmm/log.h"
#include "vmm/virtq.h"

#define MEM (64u << 10)
#define DISK ((64u << 10) + 100)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct blk_dev *disk_rw, *disk_ro;
/* The disks keep a pointer to this; its region is swapped per run. */
static struct gm gm;
/* The device host's signals, one per disk. */
static struct virtio_signal sigs[2] = { { .irqfd = -1 }, { .irqfd = -1 } };

/* A memfd-backed disk (two: the rw one holds an exclusive image lock). */
static struct blk_dev *fuzz_disk(bool ro, unsigned index)
{
	static char path[2][64];
	struct blk_dev *b;
	int fd = memfd_create("fuzz-disk", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, DISK) < 0)
		abort();
	snprintf(path[index], sizeof(path[index]), "/proc/self/fd/%d", fd);
	if (blk_open(&b, path[index], ro, index, &gm, &sigs[index]) < 0)
		abort();
	return b;
}

static void fuzz_init(void)
{
	log_level = -1;
	disk_rw = fuzz_disk(false, 0);
	disk_ro = fuzz_disk(true, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtq_config c;
	struct virtq vq;
	struct virtq_chain *ch;
	struct blk_dev *b;
	uint8_t *mem;
	uint64_t features;
	uint16_t start;
	uint32_t written;

	if (!disk_rw)
		fuzz_init();
	if (size < 4)
		return 0;
	mem = calloc(1, MEM);
	ch = malloc(sizeof(*ch));
	if (!mem || !ch)
		abort();
	memcpy(mem, data + 4, size - 4 < MEM ? size - 4 : MEM);
	gm_init_test(&gm, mem, MEM);
	b = (data[1] & 2) ? disk_ro : disk_rw;
	c = (struct virtq_config){ .size = (uint16_t)(1u << (data[0] % 9)), .ready = true,
				   .desc = 0, .avail = 0x1000, .used = 0x1800 };
	start = (uint16_t)(data[2] | data[3] << 8);
	features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
	if (data[1] & 1)
		features |= VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	if (data[1] & 4)
		features |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	if (data[1] & 8)
		features |= VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);

	/* 1. The walker alone, as a device loop would use it. */
	if (virtq_setup(&vq, &gm, "fuzz", &c, 256, features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)) == 0) {
		virtq_set_event_idx(&vq, features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
		vq.last_avail = vq.used_idx = start;
		for (unsigned n = 0; n < 300; n++) {
			int r = virtq_pop(&vq, ch);
			if (r == 0 && virtq_arm_notify(&vq))
				continue;
			if (r <= 0)
				break;
			/* Touch every byte the walker vouched for. */
			for (unsigned s = 0; s < ch->nout + ch->nin; s++)
				if (ch->seg[s].len)
					ch->seg[s].host[ch->seg[s].len - 1] ^= ch->seg[s].host[0];
			virtq_push(&vq, ch->head, (uint32_t)ch->in_len);
		}
		virtq_should_signal(&vq);
	}

	/* 2. The blk device through its transport-facing ops. */
	memcpy(mem, data + 4, size - 4 < MEM ? size - 4 : MEM);
	blk_virtio_ops.reset(b);
	if (blk_virtio_ops.activate(b, features, &c, 1) == 0) {
		/* Twice: the second call sees a drained or broken ring. */
		blk_virtio_ops.queue_notify(b, 0);
		blk_virtio_ops.queue_notify(b, 0);
	}
	blk_virtio_ops.reset(b);
	blk_signal(b)->needs_reset = 0;
	blk_signal(b)->isr = 0;

	/* 3. One request handled directly from whatever chain pops first. */
	if (virtq_setup(&vq, &gm, "fuzz", &c, 256, true) == 0 && virtq_pop(&vq, ch) == 1)
		blk_handle_req(b, ch, &written);

	free(ch);
	free(mem);
	return 0;
}
