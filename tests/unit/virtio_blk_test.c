/* virtio-blk request handling (virtio 1.2 §5.2.6) driven the way a
 * transport drives it: activate with a hand-built ring, offer requests,
 * queue_notify, then look at the used ring, status bytes, guest buffers and
 * the image file. Images live in /dev/shm (tmpfs: holes can be punched). */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/t.h"
#include "tests/unit/virtq_fake.h"
#include "vmm/device.h"
#include "vmm/devices/virtio_blk.h"
#include "vmm/log.h"

#define HDR FR_DATA            /* request header */
#define BUF (FR_DATA + 0x1000) /* data, up to 64 KiB */
#define ST (FR_DATA + 0x20000) /* status byte */
#define SEGS (FR_DATA + 0x21000)
#define F_NEXT VIRTQ_DESC_F_NEXT
#define F_WRITE VIRTQ_DESC_F_WRITE
#define IMG_BYTES (64 * 512)

static struct fake_ring r;
static struct blk_dev *b;
static struct virtio_signal sig;  /* the device host's, here the test's */
static char img[64];
static const char *img_dir = "/dev/shm";
static const uint64_t feat_all = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
	VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
	VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);

static uint8_t pattern(uint64_t off) { return (uint8_t)(off * 7 + (off >> 9)); }

/* Image of `bytes` bytes filled with pattern(). */
static void make_image(size_t bytes)
{
	uint8_t *p = malloc(bytes ? bytes : 1);
	int fd;

	snprintf(img, sizeof(img), "%s/blktest-%d.img", img_dir, getpid());
	for (size_t i = 0; i < bytes; i++)
		p[i] = pattern(i);
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, p, bytes), (long long)bytes);
	close(fd);
	free(p);
}

static void start(size_t bytes, bool ro, uint64_t features)
{
	struct virtq_config c;

	make_image(bytes);
	fr_init(&r, 16);
	sig = (struct virtio_signal){ .irqfd = -1 };
	CHECK_EQ(blk_open(&b, img, ro, 0, &r.gm, &sig), 0);
	c = fr_config(&r);
	features &= blk_features(b);
	CHECK_EQ(blk_virtio_ops.activate(b, features, &c, 1), 0);
}

static void stop(void)
{
	blk_close(b);
	b = NULL;
	fr_free(&r);
	unlink(img);
}

static void put_hdr(uint32_t type, uint64_t sector)
{
	memcpy(r.mem + HDR, &type, 4);
	memset(r.mem + HDR + 4, 0, 4);
	memcpy(r.mem + HDR + 8, &sector, 8);
}

/* Submit header + one data buffer (device-writable for reads) + status;
 * returns the status byte, *used_len the used length. */
static int submit(uint32_t type, uint64_t sector, uint32_t len, bool data_writable, uint32_t *used_len)
{
	uint16_t before = fr_used_idx(&r);
	uint32_t id;

	put_hdr(type, sector);
	r.mem[ST] = 0xee;
	if (len) {
		fr_desc(&r, 0, HDR, 16, F_NEXT, 1);
		fr_desc(&r, 1, BUF, len, F_NEXT | (data_writable ? F_WRITE : 0), 2);
	} else {
		fr_desc(&r, 0, HDR, 16, F_NEXT, 2);
	}
	fr_desc(&r, 2, ST, 1, F_WRITE, 0);
	fr_avail(&r, 0);
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(fr_used_idx(&r), (uint16_t)(before + 1));
	fr_used(&r, before, &id, used_len);
	CHECK_EQ(id, 0);
	return r.mem[ST];
}

static void file_bytes(uint64_t off, void *dst, size_t len)
{
	int fd = open(img, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, dst, len, (off_t)off), (long long)len);
	close(fd);
}

static void read_sectors(void)
{
	uint32_t len;

	start(IMG_BYTES, false, feat_all);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 3, 4096, true, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(len, 4097);
	for (unsigned i = 0; i < 4096; i++)
		if (r.mem[BUF + i] != pattern(3 * 512 + i)) {
			CHECK_EQ(r.mem[BUF + i], pattern(3 * 512 + i));
			break;
		}
	/* The last sector of the disk. */
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 63, 512, true, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(r.mem[BUF + 511], pattern(IMG_BYTES - 1));
	stop();
}

static void read_scattered_indirect(void)
{
	uint32_t id, len;

	start(IMG_BYTES, false, feat_all);
	/* Indirect table: header, three data pieces (100 + 312 + 612 bytes =
	 * 2 sectors), status. */
	put_hdr(VIRTIO_BLK_T_IN, 10);
	fr_desc_in(&r, SEGS, 0, HDR, 16, F_NEXT, 1);
	fr_desc_in(&r, SEGS, 1, BUF, 100, F_NEXT | F_WRITE, 2);
	fr_desc_in(&r, SEGS, 2, BUF + 0x1000, 312, F_NEXT | F_WRITE, 3);
	fr_desc_in(&r, SEGS, 3, BUF + 0x2000, 612, F_NEXT | F_WRITE, 4);
	fr_desc_in(&r, SEGS, 4, ST, 1, F_WRITE, 0);
	fr_desc(&r, 5, SEGS, 5 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	fr_avail(&r, 5);
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(fr_used_idx(&r), 1);
	fr_used(&r, 0, &id, &len);
	CHECK_EQ(id, 5);
	CHECK_EQ(len, 1025);
	CHECK_EQ(r.mem[ST], VIRTIO_BLK_S_OK);
	CHECK_EQ(r.mem[BUF + 99], pattern(10 * 512 + 99));
	CHECK_EQ(r.mem[BUF + 0x1000], pattern(10 * 512 + 100));
	CHECK_EQ(r.mem[BUF + 0x2000 + 611], pattern(10 * 512 + 1023));
	stop();
}

static void write_sectors(void)
{
	uint8_t back[1024];
	uint32_t len;

	start(IMG_BYTES, false, feat_all);
	for (unsigned i = 0; i < 1024; i++)
		r.mem[BUF + i] = (uint8_t)(0xa5 ^ i);
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, 5, 1024, false, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(len, 1);  /* only the status byte was written */
	file_bytes(5 * 512, back, sizeof(back));
	CHECK(memcmp(back, r.mem + BUF, 1024) == 0);
	/* Neighbours untouched. */
	file_bytes(4 * 512 + 511, back, 1);
	CHECK_EQ(back[0], pattern(4 * 512 + 511));
	file_bytes(7 * 512, back, 1);
	CHECK_EQ(back[0], pattern(7 * 512));
	stop();
}

/* Layouts other than Linux's header / data / status buffers, which take
 * the general paths next to the one-buffer fast paths (header copy, data
 * iovec, status byte): each must address the same bytes. */
static void buffer_layouts(void)
{
	uint8_t back[1024];
	uint32_t id, len;
	uint16_t used = 0;

	start(IMG_BYTES, false, feat_all);
	/* OUT: header and data in one readable buffer. */
	put_hdr(VIRTIO_BLK_T_OUT, 8);
	for (unsigned i = 0; i < 1024; i++)
		r.mem[HDR + 16 + i] = (uint8_t)(0x3c ^ i);
	r.mem[ST] = 0xee;
	fr_desc(&r, 0, HDR, 16 + 1024, F_NEXT, 1);
	fr_desc(&r, 1, ST, 1, F_WRITE, 0);
	fr_avail(&r, 0);
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(fr_used_idx(&r), ++used);
	CHECK_EQ(r.mem[ST], VIRTIO_BLK_S_OK);
	file_bytes(8 * 512, back, sizeof(back));
	CHECK(memcmp(back, r.mem + HDR + 16, sizeof(back)) == 0);
	/* OUT: header split 5 + 11, then the data: the general iovec walk. */
	put_hdr(VIRTIO_BLK_T_OUT, 12);
	for (unsigned i = 0; i < 512; i++)
		r.mem[BUF + i] = (uint8_t)(0x5a ^ i);
	r.mem[ST] = 0xee;
	fr_desc(&r, 0, HDR, 5, F_NEXT, 3);
	fr_desc(&r, 3, HDR + 5, 11, F_NEXT, 4);
	fr_desc(&r, 4, BUF, 512, F_NEXT, 1);
	fr_avail(&r, 0);
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(fr_used_idx(&r), ++used);
	CHECK_EQ(r.mem[ST], VIRTIO_BLK_S_OK);
	file_bytes(12 * 512, back, 512);
	CHECK(memcmp(back, r.mem + BUF, 512) == 0);
	/* IN: data and status in one writable buffer. */
	put_hdr(VIRTIO_BLK_T_IN, 20);
	memset(r.mem + BUF, 0, 513);
	r.mem[BUF + 512] = 0xee;
	fr_desc(&r, 0, HDR, 16, F_NEXT, 1);
	fr_desc(&r, 1, BUF, 513, F_WRITE, 0);
	fr_avail(&r, 0);
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(fr_used_idx(&r), ++used);
	fr_used(&r, (uint16_t)(used - 1), &id, &len);
	CHECK_EQ(len, 513);
	CHECK_EQ(r.mem[BUF + 512], VIRTIO_BLK_S_OK);
	CHECK_EQ(r.mem[BUF], pattern(20 * 512));
	CHECK_EQ(r.mem[BUF + 511], pattern(20 * 512 + 511));
	/* IN: the same, then an empty writable buffer: the status is still
	 * the last byte of the 513-byte one. */
	memset(r.mem + BUF, 0, 513);
	r.mem[BUF + 512] = 0xee;
	fr_desc(&r, 1, BUF, 513, F_NEXT | F_WRITE, 2);
	fr_desc(&r, 2, ST, 0, F_WRITE, 0);
	r.mem[ST] = 0x77;
	fr_avail(&r, 0);
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(fr_used_idx(&r), ++used);
	CHECK_EQ(r.mem[BUF + 512], VIRTIO_BLK_S_OK);
	CHECK_EQ(r.mem[ST], 0x77);
	CHECK_EQ(r.mem[BUF + 511], pattern(20 * 512 + 511));
	stop();
}

/* FLUSH must reach fdatasync on the image's fd, once per request. */
static unsigned sync_calls;
static int sync_fd;
static int counting_fdatasync(int fd)
{
	sync_calls++;
	sync_fd = fd;
	return fdatasync(fd);
}
static ssize_t libc_preadv(int fd, const struct iovec *iov, int n, off_t off) { return preadv(fd, iov, n, off); }
static ssize_t libc_pwritev(int fd, const struct iovec *iov, int n, off_t off) { return pwritev(fd, iov, n, off); }
static int libc_fallocate(int fd, int mode, off_t off, off_t len) { return fallocate(fd, mode, off, len); }

static void flush_and_get_id(void)
{
	static const struct blk_backend counting = {
		.preadv = libc_preadv, .pwritev = libc_pwritev,
		.fdatasync = counting_fdatasync, .fallocate = libc_fallocate,
	};
	uint32_t len;
	struct stat a, st;

	start(IMG_BYTES, false, feat_all);
	blk_set_backend(b, &counting);
	sync_calls = 0;
	sync_fd = -1;
	CHECK_EQ(submit(VIRTIO_BLK_T_FLUSH, 0, 0, false, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(len, 1);
	CHECK_EQ(sync_calls, 1);
	/* ... on the image itself, not some other fd. */
	CHECK(sync_fd >= 0 && fstat(sync_fd, &a) == 0 && stat(img, &st) == 0 && a.st_ino == st.st_ino);
	/* Reads and writes do not sync (no write-through promised). */
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 0, 512, true, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(sync_calls, 1);
	/* NULL puts the real host calls back. */
	blk_set_backend(b, NULL);
	CHECK_EQ(submit(VIRTIO_BLK_T_FLUSH, 0, 0, false, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(sync_calls, 1);
	memset(r.mem + BUF, 0x55, 32);
	CHECK_EQ(submit(VIRTIO_BLK_T_GET_ID, 0, 20, true, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(len, 21);
	/* The id is the image's file name, truncated to 20 bytes. */
	CHECK(memcmp(r.mem + BUF, strrchr(img, '/') + 1, 20) == 0);
	CHECK_EQ(r.mem[BUF + 20], 0x55);
	stop();
}

static void put_seg(unsigned i, uint64_t sector, uint32_t num, uint32_t flags)
{
	memcpy(r.mem + BUF + 16 * i, &sector, 8);
	memcpy(r.mem + BUF + 16 * i + 8, &num, 4);
	memcpy(r.mem + BUF + 16 * i + 12, &flags, 4);
}

static bool file_zero(uint64_t off, size_t len)
{
	uint8_t buf[4096];
	file_bytes(off, buf, len);
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			return false;
	return true;
}

static void discard_and_write_zeroes(void)
{
	uint32_t len;
	uint8_t c;

	start(IMG_BYTES, false, feat_all);
	CHECK(blk_features(b) & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));  /* tmpfs punches */
	put_seg(0, 8, 8, 0);
	put_seg(1, 32, 1, 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_DISCARD, 0, 32, false, &len), VIRTIO_BLK_S_OK);
	CHECK(file_zero(8 * 512, 4096));
	CHECK(file_zero(32 * 512, 512));
	file_bytes(33 * 512, &c, 1);
	CHECK_EQ(c, pattern(33 * 512));
	/* Discard with the unmap flag, an unknown flag: UNSUPP (§5.2.6.2). */
	put_seg(0, 40, 1, VIRTIO_BLK_DISCARD_UNMAP);
	CHECK_EQ(submit(VIRTIO_BLK_T_DISCARD, 0, 16, false, &len), VIRTIO_BLK_S_UNSUPP);
	put_seg(0, 40, 1, 0x80);
	CHECK_EQ(submit(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, &len), VIRTIO_BLK_S_UNSUPP);
	CHECK(!file_zero(40 * 512, 512));
	/* Write zeroes, with and without unmap. */
	put_seg(0, 40, 2, 0);
	put_seg(1, 50, 1, VIRTIO_BLK_DISCARD_UNMAP);
	CHECK_EQ(submit(VIRTIO_BLK_T_WRITE_ZEROES, 0, 32, false, &len), VIRTIO_BLK_S_OK);
	CHECK(file_zero(40 * 512, 1024));
	CHECK(file_zero(50 * 512, 512));
	file_bytes(42 * 512, &c, 1);
	CHECK_EQ(c, pattern(42 * 512));
	/* Out of range segment, malformed segment array. */
	put_seg(0, 63, 2, 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_DISCARD, 0, 16, false, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(submit(VIRTIO_BLK_T_DISCARD, 0, 12, false, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(submit(VIRTIO_BLK_T_DISCARD, 0, 16 * (BLK_MAX_DISCARD_SEG + 1), false, &len),
		 VIRTIO_BLK_S_IOERR);
	stop();

	/* Not negotiated: UNSUPP. */
	start(IMG_BYTES, false, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	put_seg(0, 8, 8, 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_DISCARD, 0, 16, false, &len), VIRTIO_BLK_S_UNSUPP);
	CHECK(!file_zero(8 * 512, 512));
	stop();
}

static void out_of_range_sectors(void)
{
	uint32_t len;

	start(IMG_BYTES, false, feat_all);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 64, 512, true, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(len, 1);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 63, 1024, true, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, UINT64_MAX, 512, true, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, UINT64_MAX / 512 + 1, 512, true, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, 64, 512, false, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, UINT64_MAX - 1, 1024, false, &len), VIRTIO_BLK_S_IOERR);
	/* Data not a multiple of 512. */
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 0, 500, true, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, 0, 100, false, &len), VIRTIO_BLK_S_IOERR);
	/* Unknown type. */
	CHECK_EQ(submit(77, 0, 512, true, &len), VIRTIO_BLK_S_UNSUPP);
	stop();
}

static void read_only_disk(void)
{
	uint8_t back[512];
	uint32_t len;

	start(IMG_BYTES, true, feat_all);
	CHECK(blk_features(b) & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	CHECK(!(blk_features(b) & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)));
	memset(r.mem + BUF, 0xcc, 512);
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, 2, 512, false, &len), VIRTIO_BLK_S_IOERR);
	put_seg(0, 2, 1, 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(submit(VIRTIO_BLK_T_DISCARD, 0, 16, false, &len), VIRTIO_BLK_S_IOERR);
	file_bytes(2 * 512, back, 512);
	for (unsigned i = 0; i < 512; i++)
		if (back[i] != pattern(2 * 512 + i)) {
			CHECK_EQ(back[i], pattern(2 * 512 + i));
			break;
		}
	/* Reads still work. */
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 2, 512, true, &len), VIRTIO_BLK_S_OK);
	CHECK(memcmp(r.mem + BUF, back, 512) == 0);
	stop();
}

/* Regular-file images are served from a mapping (blk_map) from the second
 * request on a page: what a pread would report as an error arrives there
 * as SIGBUS and must come back as an I/O error for that request only. The
 * image shrinks under the device (another process truncating it): a
 * syscall reads zeros past the end and succeeds, the mapping faults; then
 * it grows back and requests work again. */
static void mapped_image_shrinks(void)
{
	uint8_t back[512];
	uint32_t len;

	start(IMG_BYTES, false, feat_all);
	/* First requests on these pages: pread/pwrite. */
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 16, 4096, true, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 40, 512, true, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 2, 512, true, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(truncate(img, 4096), 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 16, 4096, true, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(len, 1);  /* nothing but the status counts as written */
	memset(r.mem + BUF, 0x3c, 512);
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, 40, 512, false, &len), VIRTIO_BLK_S_IOERR);
	/* A page not asked for before still takes the syscall: zeros past
	 * the end of the file. */
	memset(r.mem + BUF, 0x3c, 512);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 24, 512, true, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(r.mem[BUF], 0);
	/* Within what is left of the file: served, through the mapping. */
	memset(r.mem + BUF, 0x3c, 512);
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, 2, 512, false, &len), VIRTIO_BLK_S_OK);
	file_bytes(2 * 512, back, 512);
	CHECK(memcmp(back, r.mem + BUF, 512) == 0);
	CHECK_EQ(truncate(img, IMG_BYTES), 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 40, 512, true, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(r.mem[BUF], 0);  /* the regrown part is a hole */
	/* A hole punched by DISCARD reads back as zeros through the mapping. */
	put_seg(0, 2, 1, 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_DISCARD, 0, 16, false, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 2, 512, true, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(r.mem[BUF], 0);
	CHECK_EQ(r.mem[BUF + 511], 0);
	stop();
}

static void partial_last_sector(void)
{
	uint8_t back[8];
	uint32_t len;
	uint8_t cfg[8];
	uint64_t cap;

	start(1000, false, feat_all);
	CHECK_EQ(blk_sectors(b), 2);
	memcpy(cfg, blk_config(b) + BLK_CFG_CAPACITY, 8);
	memcpy(&cap, cfg, 8);
	CHECK_EQ(cap, 2);
	/* Twice: pread, then the mapping (blk_seen), both zero-padded. */
	for (int i = 0; i < 2; i++) {
		memset(r.mem + BUF, 0xee, 512);
		CHECK_EQ(submit(VIRTIO_BLK_T_IN, 1, 512, true, &len), VIRTIO_BLK_S_OK);
		CHECK_EQ(r.mem[BUF], pattern(512));
		CHECK_EQ(r.mem[BUF + 487], pattern(999));
		CHECK_EQ(r.mem[BUF + 488], 0);
		CHECK_EQ(r.mem[BUF + 511], 0);
	}
	/* The partial sector is never written... */
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, 1, 512, false, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, 0, 1024, false, &len), VIRTIO_BLK_S_IOERR);
	put_seg(0, 1, 1, 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, &len), VIRTIO_BLK_S_IOERR);
	file_bytes(992, back, 8);
	CHECK_EQ(back[7], pattern(999));
	struct stat st;
	CHECK_EQ(stat(img, &st), 0);
	CHECK_EQ(st.st_size, 1000);
	/* ...but the whole one before it is, by either path, and the file
	 * keeps its size and its last bytes. */
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, 0, 512, false, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, 0, 512, false, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(stat(img, &st), 0);
	CHECK_EQ(st.st_size, 1000);
	file_bytes(992, back, 8);
	CHECK_EQ(back[7], pattern(999));
	stop();
}

/* A backend returning at most 100 bytes per call and EINTR every other
 * call: the device must loop until the request is complete. */
static unsigned short_calls;
static ssize_t short_preadv(int fd, const struct iovec *iov, int n, off_t off)
{
	struct iovec one = iov[0];
	if (short_calls++ % 2 == 0) {
		errno = EINTR;
		return -1;
	}
	if (one.iov_len > 100)
		one.iov_len = 100;
	return preadv(fd, &one, 1, off);
}
static ssize_t short_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	struct iovec one = iov[0];
	if (one.iov_len > 100)
		one.iov_len = 100;
	short_calls++;
	return pwritev(fd, &one, 1, off);
}
static ssize_t fail_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	errno = EIO;
	return -1;
}
static int fail_fdatasync(int fd)
{
	errno = EIO;
	return -1;
}
static int plain_fallocate(int fd, int mode, off_t off, off_t len)
{
	errno = EOPNOTSUPP;
	return -1;
}

static void short_host_io(void)
{
	static const struct blk_backend shorty = {
		.preadv = short_preadv, .pwritev = short_pwritev,
		.fdatasync = fdatasync, .fallocate = plain_fallocate,
	};
	uint8_t back[2048];
	uint32_t len;

	start(IMG_BYTES, false, feat_all);
	blk_set_backend(b, &shorty);
	short_calls = 0;
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 4, 2048, true, &len), VIRTIO_BLK_S_OK);
	CHECK(short_calls >= 2 * 21);  /* 2048 / 100 -> 21 reads, each after an EINTR */
	for (unsigned i = 0; i < 2048; i++)
		if (r.mem[BUF + i] != pattern(4 * 512 + i)) {
			CHECK_EQ(r.mem[BUF + i], pattern(4 * 512 + i));
			break;
		}
	for (unsigned i = 0; i < 2048; i++)
		r.mem[BUF + i] = (uint8_t)(i * 13);
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, 4, 2048, false, &len), VIRTIO_BLK_S_OK);
	file_bytes(4 * 512, back, 2048);
	CHECK(memcmp(back, r.mem + BUF, 2048) == 0);
	/* Write-zeroes without fallocate support falls back to writing. */
	put_seg(0, 4, 4, 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, &len), VIRTIO_BLK_S_OK);
	CHECK(file_zero(4 * 512, 2048));
	stop();
}

static void host_io_errors(void)
{
	static const struct blk_backend failing = {
		.preadv = short_preadv, .pwritev = fail_pwritev,
		.fdatasync = fail_fdatasync, .fallocate = plain_fallocate,
	};
	uint32_t len;

	start(IMG_BYTES, false, feat_all);
	blk_set_backend(b, &failing);
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, 0, 512, false, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(submit(VIRTIO_BLK_T_FLUSH, 0, 0, false, &len), VIRTIO_BLK_S_IOERR);
	stop();
}

static void malformed_requests(void)
{
	uint32_t id, len;

	start(IMG_BYTES, false, feat_all);
	/* No device-writable byte: returned untouched, used length 0. */
	put_hdr(VIRTIO_BLK_T_IN, 0);
	fr_desc(&r, 0, HDR, 16, 0, 0);
	fr_avail(&r, 0);
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(fr_used_idx(&r), 1);
	fr_used(&r, 0, &id, &len);
	CHECK_EQ(len, 0);
	/* Zero-length and short headers: IOERR. */
	r.mem[ST] = 0xee;
	fr_desc(&r, 0, HDR, 0, F_NEXT, 1);
	fr_desc(&r, 1, ST, 1, F_WRITE, 0);
	fr_avail(&r, 0);
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(r.mem[ST], VIRTIO_BLK_S_IOERR);
	r.mem[ST] = 0xee;
	fr_desc(&r, 0, HDR, 8, F_NEXT, 1);
	fr_avail(&r, 0);
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(r.mem[ST], VIRTIO_BLK_S_IOERR);
	/* Header split over two buffers is fine. */
	put_hdr(VIRTIO_BLK_T_FLUSH, 0);
	r.mem[ST] = 0xee;
	fr_desc(&r, 0, HDR, 5, F_NEXT, 3);
	fr_desc(&r, 3, HDR + 5, 11, F_NEXT, 1);
	fr_avail(&r, 0);
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(r.mem[ST], VIRTIO_BLK_S_OK);
	CHECK_EQ(fr_used_idx(&r), 4);
	stop();
}

static void malformed_ring_needs_reset(void)
{
	struct virtio_signal *s;
	uint64_t cnt = 0;
	uint32_t len;

	start(IMG_BYTES, false, feat_all);
	s = blk_signal(b);
	s->irqfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(s->irqfd >= 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 0, 512, true, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(s->isr, VIRTIO_ISR_USED);
	CHECK_EQ(read(s->irqfd, &cnt, 8), 8);
	CHECK_EQ(cnt, 1);
	/* A descriptor loop. */
	fr_desc(&r, 0, HDR, 16, F_NEXT, 0);
	fr_avail(&r, 0);
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(s->needs_reset, 1);
	CHECK(s->isr & VIRTIO_ISR_CONFIG);
	CHECK_EQ(read(s->irqfd, &cnt, 8), 8);
	/* The device ignores the queue from now on, even a good request. */
	fr_desc(&r, 0, HDR, 16, F_NEXT, 1);
	fr_avail(&r, 0);
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(fr_used_idx(&r), 1);
	/* After reset and a fresh activation it works again. */
	blk_virtio_ops.reset(b);
	memset(r.mem + FR_USED, 0, 4);
	fr_set_avail_idx(&r, 0);
	struct virtq_config c = fr_config(&r);
	CHECK_EQ(blk_virtio_ops.activate(b, feat_all, &c, 1), 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 0, 512, true, &len), VIRTIO_BLK_S_OK);
	close(s->irqfd);
	s->irqfd = -1;
	stop();
}

static void batch_one_interrupt(void)
{
	struct virtio_signal *s;
	uint64_t cnt = 0;

	start(IMG_BYTES, false, feat_all);
	s = blk_signal(b);
	s->irqfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	for (unsigned i = 0; i < 4; i++) {
		uint64_t hdr = HDR + 16 * i;
		uint32_t type = VIRTIO_BLK_T_IN;
		uint64_t sector = i;
		memcpy(r.mem + hdr, &type, 4);
		memcpy(r.mem + hdr + 8, &sector, 8);
		fr_desc(&r, (uint16_t)(3 * i), hdr, 16, F_NEXT, (uint16_t)(3 * i + 1));
		fr_desc(&r, (uint16_t)(3 * i + 1), BUF + 512 * i, 512, F_NEXT | F_WRITE, (uint16_t)(3 * i + 2));
		fr_desc(&r, (uint16_t)(3 * i + 2), ST + i, 1, F_WRITE, 0);
		fr_avail(&r, (uint16_t)(3 * i));
	}
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(fr_used_idx(&r), 4);
	CHECK_EQ(read(s->irqfd, &cnt, 8), 8);
	CHECK_EQ(cnt, 1);  /* one interrupt for the batch */
	for (unsigned i = 0; i < 4; i++) {
		CHECK_EQ(r.mem[ST + i], VIRTIO_BLK_S_OK);
		CHECK_EQ(r.mem[BUF + 512 * i + 3], pattern(512 * i + 3));
	}
	close(s->irqfd);
	s->irqfd = -1;
	stop();
}

/* A driver that refills the ring as fast as the device serves it (another
 * vCPU): every host read offers chain 0 once more, 40 times in all. The
 * device serves one ring's worth (16) per notification, asks to be called
 * again (requeue) while chains remain, and interrupts once per call. */
static unsigned refills;
static ssize_t refilling_preadv(int fd, const struct iovec *iov, int n, off_t off)
{
	if (refills < 40) {
		refills++;
		fr_avail(&r, 0);
	}
	return preadv(fd, iov, n, off);
}

static void busy_queue_requeued(void)
{
	static const struct blk_backend refilling = {
		.preadv = refilling_preadv, .pwritev = libc_pwritev,
		.fdatasync = fdatasync, .fallocate = libc_fallocate,
	};
	struct virtio_signal *s;
	uint64_t cnt;

	start(IMG_BYTES, false, feat_all);
	blk_set_backend(b, &refilling);
	refills = 0;
	s = blk_signal(b);
	s->irqfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	put_hdr(VIRTIO_BLK_T_IN, 1);
	fr_desc(&r, 0, HDR, 16, F_NEXT, 1);
	fr_desc(&r, 1, BUF, 512, F_NEXT | F_WRITE, 2);
	fr_desc(&r, 2, ST, 1, F_WRITE, 0);
	fr_avail(&r, 0);
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(fr_used_idx(&r), 16);
	CHECK_EQ(s->requeue, 1u);
	CHECK_EQ(read(s->irqfd, &cnt, 8), 8);
	CHECK_EQ(cnt, 1);
	s->requeue = 0;  /* what the transport does before calling again */
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(fr_used_idx(&r), 32);
	CHECK_EQ(s->requeue, 1u);
	s->requeue = 0;
	/* 41 offered in all: the last 9 fit in the budget, the ring ends empty
	 * and nothing more is asked for. */
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(fr_used_idx(&r), 41);
	CHECK_EQ(s->requeue, 0u);
	CHECK_EQ(r.mem[ST], VIRTIO_BLK_S_OK);
	CHECK_EQ(r.mem[BUF + 5], pattern(512 + 5));
	/* A full ring (exactly the budget) is served without a requeue. */
	for (unsigned i = 0; i < 16; i++)
		fr_avail(&r, 0);
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(fr_used_idx(&r), 57);
	CHECK_EQ(s->requeue, 0u);
	close(s->irqfd);
	s->irqfd = -1;
	stop();
}

/* EVENT_IDX negotiated (Linux always takes it): after draining, the device
 * tells the driver where to notify next (avail_event) and interrupts only
 * when the driver's used_event is passed. */
static void event_idx(void)
{
	struct virtio_signal *s;
	uint64_t cnt;
	uint16_t v;

	start(IMG_BYTES, false, feat_all | VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
	CHECK(blk_features(b) & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
	s = blk_signal(b);
	s->irqfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	put_hdr(VIRTIO_BLK_T_IN, 2);
	fr_desc(&r, 0, HDR, 16, F_NEXT, 1);
	fr_desc(&r, 1, BUF, 512, F_NEXT | F_WRITE, 2);
	fr_desc(&r, 2, ST, 1, F_WRITE, 0);
	/* used_event = 2: the driver wants an interrupt once used->idx passes 2. */
	v = 2;
	memcpy(r.mem + FR_AVAIL + 4 + 2 * 16, &v, 2);
	fr_avail(&r, 0);
	fr_avail(&r, 0);
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(fr_used_idx(&r), 2);
	memcpy(&v, r.mem + FR_USED + 4 + 8 * 16, 2);
	CHECK_EQ(v, 2);                                  /* avail_event */
	CHECK_EQ(read(s->irqfd, &cnt, 8), -1);           /* 0 -> 2 did not pass 2 */
	fr_avail(&r, 0);
	blk_virtio_ops.queue_notify(b, 0);
	CHECK_EQ(fr_used_idx(&r), 3);
	CHECK_EQ(read(s->irqfd, &cnt, 8), 8);            /* 2 -> 3 did */
	memcpy(&v, r.mem + FR_USED + 4 + 8 * 16, 2);
	CHECK_EQ(v, 3);
	CHECK_EQ(r.mem[ST], VIRTIO_BLK_S_OK);
	CHECK_EQ(r.mem[BUF + 9], pattern(2 * 512 + 9));
	close(s->irqfd);
	s->irqfd = -1;
	stop();
}

/* EVENT_IDX with a deep queue: one notification brings exactly a ring's
 * worth (the per-call budget). The device serves all of it and stops at
 * the budget without finding the ring empty; the driver, following
 * vring_need_event, must still notify for its next request, or that
 * request never completes (the driver waits for an interrupt forever). */
static void event_idx_full_ring(void)
{
	start(IMG_BYTES, false, feat_all | VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
	put_hdr(VIRTIO_BLK_T_IN, 1);
	fr_desc(&r, 0, HDR, 16, F_NEXT, 1);
	fr_desc(&r, 1, BUF, 512, F_NEXT | F_WRITE, 2);
	fr_desc(&r, 2, ST, 1, F_WRITE, 0);
	for (unsigned round = 0; round < 3; round++) {
		bool notified = false;
		for (unsigned i = 0; i < 16; i++)
			notified |= fr_avail_notify(&r, 0);
		CHECK(notified);
		blk_virtio_ops.queue_notify(b, 0);
		CHECK_EQ(fr_used_idx(&r), (uint16_t)(16 * (round + 1)));
		CHECK_EQ(blk_signal(b)->requeue, 0u);
	}
	CHECK_EQ(r.mem[ST], VIRTIO_BLK_S_OK);
	stop();
}

/* Host calls that count the zeros written (pwritev of an all-zero iovec)
 * and, for huge sparse images, do not really write them; fallocate as
 * tmpfs (ZERO_RANGE unsupported), a filesystem that can do neither, or
 * the real thing. */
static uint64_t zero_bytes_written;
static ssize_t counting_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	ssize_t sum = 0;
	for (int i = 0; i < n; i++)
		sum += (ssize_t)iov[i].iov_len;
	zero_bytes_written += (uint64_t)sum;
	return sum;
}
static int tmpfs_fallocate(int fd, int mode, off_t off, off_t len)
{
	if (mode & FALLOC_FL_ZERO_RANGE) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return fallocate(fd, mode, off, len);
}
static const struct blk_backend no_fallocate = {
	.preadv = libc_preadv, .pwritev = counting_pwritev,
	.fdatasync = fdatasync, .fallocate = plain_fallocate,
};

/* A sparse image of `bytes` (never written: the backends above count). */
static void start_sparse(uint64_t bytes, const struct blk_backend *io)
{
	struct virtq_config c;
	int fd;

	snprintf(img, sizeof(img), "/dev/shm/blktest-%d.img", getpid());
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)bytes) == 0);
	close(fd);
	fr_init(&r, 16);
	sig = (struct virtio_signal){ .irqfd = -1 };
	CHECK_EQ(blk_open(&b, img, false, 0, &r.gm, &sig), 0);
	blk_set_backend(b, io);
	c = fr_config(&r);
	CHECK_EQ(blk_virtio_ops.activate(b, feat_all & blk_features(b), &c, 1), 0);
	zero_bytes_written = 0;
}

/* The audit's request: WRITE_ZEROES without unmap, 32 segments of 2 GiB
 * (529 bytes), where neither ZERO_RANGE nor PUNCH_HOLE works. Before, 64
 * GiB of synchronous pwritev on the event loop; now the request is
 * refused for exceeding max_write_zeroes_seg / _sectors (announced in the
 * config space, §5.2.4) and nothing is written. */
static void write_zeroes_amplification(void)
{
	uint32_t len, v;
	uint8_t cfg[4];

	start_sparse(64ull << 30, &no_fallocate);
	memcpy(cfg, blk_config(b) + BLK_CFG_MAX_WZ_SECTORS, 4);
	memcpy(&v, cfg, 4);
	CHECK_EQ(v, BLK_MAX_WZ_SECTORS);
	memcpy(cfg, blk_config(b) + BLK_CFG_MAX_WZ_SEG, 4);
	memcpy(&v, cfg, 4);
	CHECK_EQ(v, BLK_MAX_WZ_SEG);
	CHECK((uint64_t)BLK_MAX_WZ_SECTORS * BLK_MAX_WZ_SEG * 512 <= (16u << 20));
	for (unsigned i = 0; i < 32; i++)
		put_seg(i, (uint64_t)i << 22, 1u << 22, 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_WRITE_ZEROES, 0, 32 * 16, false, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(zero_bytes_written, 0);
	/* One segment past max_write_zeroes_sectors: refused too. */
	put_seg(0, 0, BLK_MAX_WZ_SECTORS + 1, 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(zero_bytes_written, 0);
	/* At the limit: written, exactly. */
	put_seg(0, 8, BLK_MAX_WZ_SECTORS, 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(zero_bytes_written, (uint64_t)BLK_MAX_WZ_SECTORS * 512);
	stop();
}

/* Per notification: a ring full of maximal WRITE_ZEROES that must be
 * written as zeros is served BLK_ZERO_BUDGET bytes at a time, the rest
 * requeued (before: all 16 requests in one call). */
static void write_zeroes_budget(void)
{
	const uint64_t per = (uint64_t)BLK_MAX_WZ_SECTORS * 512;
	uint64_t served = 0;

	start_sparse(1ull << 30, &no_fallocate);
	for (unsigned i = 0; i < 16; i++) {
		uint64_t hdr = HDR + 16 * i, seg = BUF + 16 * i;
		uint32_t type = VIRTIO_BLK_T_WRITE_ZEROES, num = BLK_MAX_WZ_SECTORS, flags = 0;
		uint64_t sector = (uint64_t)i * BLK_MAX_WZ_SECTORS;
		memcpy(r.mem + hdr, &type, 4);
		memset(r.mem + hdr + 4, 0, 12);
		memcpy(r.mem + seg, &sector, 8);
		memcpy(r.mem + seg + 8, &num, 4);
		memcpy(r.mem + seg + 12, &flags, 4);
		fr_desc(&r, (uint16_t)(3 * i % 48), hdr, 16, F_NEXT, (uint16_t)((3 * i + 1) % 48));
		fr_desc(&r, (uint16_t)((3 * i + 1) % 48), seg, 16, F_NEXT, (uint16_t)((3 * i + 2) % 48));
		fr_desc(&r, (uint16_t)((3 * i + 2) % 48), ST + i, 1, F_WRITE, 0);
	}
	/* Chains of three in a 16-entry table: five at a time. */
	for (unsigned i = 0; i < 5; i++)
		fr_avail(&r, (uint16_t)(3 * i));
	blk_virtio_ops.queue_notify(b, 0);
	CHECK(zero_bytes_written <= BLK_ZERO_BUDGET);
	CHECK(zero_bytes_written >= per);
	CHECK_EQ(fr_used_idx(&r), zero_bytes_written / per);
	CHECK_EQ(blk_signal(b)->requeue, 1u);
	for (unsigned calls = 0; calls < 10 && fr_used_idx(&r) < 5; calls++) {
		blk_signal(b)->requeue = 0;
		served = zero_bytes_written;
		blk_virtio_ops.queue_notify(b, 0);
		CHECK(zero_bytes_written - served <= BLK_ZERO_BUDGET);
	}
	CHECK_EQ(fr_used_idx(&r), 5);
	CHECK_EQ(zero_bytes_written, 5 * per);
	for (unsigned i = 0; i < 5; i++)
		CHECK_EQ(r.mem[ST + i], VIRTIO_BLK_S_OK);
	stop();
}

/* tmpfs: ZERO_RANGE fails (EOPNOTSUPP), so write-zeroes punches a hole
 * instead of writing zeros; reads come back zero. */
static void write_zeroes_tmpfs_punches(void)
{
	static const struct blk_backend tmpfs = {
		.preadv = libc_preadv, .pwritev = counting_pwritev,
		.fdatasync = fdatasync, .fallocate = tmpfs_fallocate,
	};
	uint32_t len;
	uint8_t c;

	start(IMG_BYTES, false, feat_all);
	blk_set_backend(b, &tmpfs);
	zero_bytes_written = 0;
	put_seg(0, 8, 16, 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(zero_bytes_written, 0);
	CHECK(file_zero(8 * 512, 4096));
	CHECK(file_zero(16 * 512, 4096));
	file_bytes(24 * 512, &c, 1);
	CHECK_EQ(c, pattern(24 * 512));
	file_bytes(8 * 512 - 1, &c, 1);
	CHECK_EQ(c, pattern(8 * 512 - 1));
	stop();
	/* The real tmpfs agrees: ZERO_RANGE is refused there. */
	make_image(8192);
	int fd = open(img, O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096) < 0);
	close(fd);
	unlink(img);
}

/* A regular file (ext4 here): write-zeroes without unmap keeps the blocks
 * allocated (ZERO_RANGE), with unmap frees them; both read back zero. */
static void write_zeroes_regular_file(void)
{
	struct stat a, st;
	uint32_t len;
	uint8_t c;

	img_dir = "/tmp";
	start(IMG_BYTES, false, feat_all);
	CHECK_EQ(stat(img, &a), 0);
	put_seg(0, 8, 16, 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, &len), VIRTIO_BLK_S_OK);
	CHECK(file_zero(8 * 512, 4096));
	CHECK(file_zero(16 * 512, 4096));
	file_bytes(24 * 512, &c, 1);
	CHECK_EQ(c, pattern(24 * 512));
	CHECK_EQ(stat(img, &st), 0);
	CHECK_EQ(st.st_blocks, a.st_blocks);
	put_seg(0, 8, 16, VIRTIO_BLK_DISCARD_UNMAP);
	CHECK_EQ(submit(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, &len), VIRTIO_BLK_S_OK);
	CHECK(file_zero(8 * 512, 4096));
	CHECK_EQ(stat(img, &st), 0);
	CHECK(st.st_blocks < a.st_blocks);
	stop();
	img_dir = "/dev/shm";
}

static void bad_images(void)
{
	struct gm gm;
	uint8_t mem[16];
	struct blk_dev *d = (void *)1;

	gm_init_test(&gm, mem, sizeof(mem));
	CHECK_EQ(blk_open(&d, "/nonexistent/appvm-disk.img", true, 0, &gm, &sig), dev_input_error(-ENOENT));
	CHECK(d == NULL);
	CHECK_EQ(blk_open(&d, "/", true, 0, &gm, &sig), dev_input_error(-EINVAL));
	/* Read-write open of a read-only file fails; read-only open works. */
	make_image(512);
	chmod(img, 0400);
	if (geteuid() != 0) {
		CHECK_EQ(blk_open(&d, img, false, 0, &gm, &sig), dev_input_error(-EACCES));
	}
	CHECK_EQ(blk_open(&d, img, true, 0, &gm, &sig), 0);
	blk_close(d);
	/* A second writer is refused while the first holds the image. */
	chmod(img, 0600);
	struct blk_dev *d2;
	CHECK_EQ(blk_open(&d, img, false, 0, &gm, &sig), 0);
	CHECK_EQ(blk_open(&d2, img, false, 1, &gm, &sig), dev_input_error(-EWOULDBLOCK));
	blk_close(d);
	unlink(img);
}

static void config_space(void)
{
	uint8_t c[BLK_CFG_BYTES + 8];
	uint32_t v;

	start(IMG_BYTES, false, feat_all);
	/* Plain data for the transport, which reads bytes past its end as 0
	 * (virtio_mmio_test access_widths_and_config). */
	memcpy(c, blk_config(b), BLK_CFG_BYTES);
	memcpy(&v, c + BLK_CFG_SEG_MAX, 4);
	CHECK_EQ(v, BLK_SEG_MAX);
	memcpy(&v, c + BLK_CFG_BLK_SIZE, 4);
	CHECK_EQ(v, 512);
	stop();
}

int main(void)
{
	t_suite = "virtio_blk";
	log_level = -1;
	RUN(read_sectors);
	RUN(read_scattered_indirect);
	RUN(write_sectors);
	RUN(buffer_layouts);
	RUN(flush_and_get_id);
	RUN(discard_and_write_zeroes);
	RUN(out_of_range_sectors);
	RUN(read_only_disk);
	RUN(partial_last_sector);
	RUN(mapped_image_shrinks);
	RUN(short_host_io);
	RUN(host_io_errors);
	RUN(malformed_requests);
	RUN(malformed_ring_needs_reset);
	RUN(batch_one_interrupt);
	RUN(busy_queue_requeued);
	RUN(event_idx);
	RUN(event_idx_full_ring);
	RUN(write_zeroes_amplification);
	RUN(write_zeroes_budget);
	RUN(write_zeroes_tmpfs_punches);
	RUN(write_zeroes_regular_file);
	RUN(bad_images);
	RUN(config_space);
	return t_done();
}
