#include "vmm/devices/virtio_blk.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/device.h"
#include "vmm/log.h"
#include "vmm/mapio.h"

#define SECTOR 512u
/* Largest IN/OUT payload we accept: what seg_max * size_max allows; also
 * keeps the 32-bit used length exact. */
#define BLK_MAX_IO ((uint64_t)BLK_SEG_MAX * BLK_SIZE_MAX)
/* Granularity of the mapped path's "asked for before" bits (blk_seen). */
#define BLK_PAGE 4096u

struct blk_dev {
	struct virtio_signal *sig;      /* the host's */
	const struct gm *gm;
	const struct blk_backend *io;
	char name[8];                   /* "vda" */
	char vname[24];                 /* "virtio-blk vda" */
	char qname[24];                 /* "vda queue 0" */
	char id[VIRTIO_BLK_ID_BYTES];
	const char *path;
	int fd;
	bool ro;
	bool can_punch;                 /* FALLOC_FL_PUNCH_HOLE works on the image */
	uint64_t size;                  /* image bytes */
	uint64_t sectors;               /* capacity, partial last sector included */
	uint64_t writable_sectors;      /* whole sectors only: the partial one is never written */
	/* A regular file's image mapped MAP_SHARED, capacity bytes long (the
	 * partial last sector lies in the file's last page), or NULL. */
	uint8_t *map;
	uint64_t map_len;
	bool use_map;                   /* serve IN/OUT from map: no test backend */
	uint64_t *seen;                 /* a bit per BLK_PAGE of map asked for before */
	size_t seen_bytes;
	uint64_t acked;
	uint64_t zero_left;             /* BLK_ZERO_BUDGET left in this notification */
	bool active;
	struct virtq vq;
	struct virtq_chain chain;
	struct iovec iov[VIRTQ_MAX_SIZE];
	uint8_t config[BLK_CFG_BYTES];
};

/* A single buffer (most requests: Linux merges contiguous pages) takes the
 * plain pread/pwrite path, which spares the kernel importing an iovec array
 * (scripts/bench/blk.sh measures the difference). */
static ssize_t blk_libc_preadv(int fd, const struct iovec *iov, int n, off_t off)
{
	if (n == 1)
		return pread(fd, iov->iov_base, iov->iov_len, off);
	return preadv(fd, iov, n, off);
}

static ssize_t blk_libc_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	if (n == 1)
		return pwrite(fd, iov->iov_base, iov->iov_len, off);
	return pwritev(fd, iov, n, off);
}

static int blk_libc_fallocate(int fd, int mode, off_t off, off_t len)
{
	return fallocate(fd, mode, off, len);
}

static const struct blk_backend blk_libc = {
	.preadv = blk_libc_preadv,
	.pwritev = blk_libc_pwritev,
	.fdatasync = fdatasync,
	.fallocate = blk_libc_fallocate,
};

static void put_le32(uint8_t *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static void put_le64(uint8_t *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }

uint64_t blk_features(const struct blk_dev *b)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
		     VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) |
		     VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
		     VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);

	if (b->ro)
		return f | VIRTIO_BIT(VIRTIO_BLK_F_RO);
	/* Write-zeroes always works (fallocate or plain zero writes);
	 * discard only where the host file can punch holes. */
	f |= VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	if (b->can_punch)
		f |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD);
	return f;
}

static void blk_build_config(struct blk_dev *b)
{
	uint8_t *c = b->config;

	memset(c, 0, sizeof(b->config));
	put_le64(c + BLK_CFG_CAPACITY, b->sectors);
	put_le32(c + BLK_CFG_SIZE_MAX, BLK_SIZE_MAX);
	put_le32(c + BLK_CFG_SEG_MAX, BLK_SEG_MAX);
	put_le32(c + BLK_CFG_BLK_SIZE, SECTOR);
	put_le32(c + BLK_CFG_MAX_DISCARD_SECTORS, BLK_MAX_DISCARD_SECTORS);
	put_le32(c + BLK_CFG_MAX_DISCARD_SEG, BLK_MAX_DISCARD_SEG);
	put_le32(c + BLK_CFG_DISCARD_ALIGN, 8);  /* 4 KiB: host page / fs block */
	put_le32(c + BLK_CFG_MAX_WZ_SECTORS, BLK_MAX_WZ_SECTORS);
	put_le32(c + BLK_CFG_MAX_WZ_SEG, BLK_MAX_WZ_SEG);
	c[BLK_CFG_WZ_MAY_UNMAP] = b->can_punch;
}

const uint8_t *blk_config(const struct blk_dev *b)
{
	/* Only `writeback` would be writable, and only with
	 * VIRTIO_BLK_F_CONFIG_WCE, which we do not offer: read-only. */
	return b->config;
}

/* blk_rw through the mapping: a copy per buffer, no syscall. The range
 * check is the caller's (capacity); this one keeps a bug from reaching
 * past the mapping. */
static int blk_map_rw(struct blk_dev *b, bool write, const struct iovec *iov, int n, uint64_t off, uint64_t len)
{
	if (off > b->map_len || len > b->map_len - off)
		return -EIO;
	for (int i = 0; i < n; i++) {
		uint8_t *img = b->map + off;
		if (mapio_copy(write ? img : iov[i].iov_base, write ? iov[i].iov_base : img, iov[i].iov_len) < 0) {
			log_guest("%s: %s at byte %llu: SIGBUS from the mapped image (host I/O error, no "
				  "space, or the file shrank)", b->path, write ? "write" : "read",
				  (unsigned long long)off);
			return -EIO;
		}
		off += iov[i].iov_len;
	}
	return 0;
}

/* Was every page of [off, off + len) asked for before? Marks them all.
 * A page's first request goes through pread/pwrite, later ones through the
 * mapping: a copy from a page already mapped costs a fraction of the
 * syscall, but the first touch of a page through the mapping is a page
 * fault, dearer than the syscall (scripts/bench/blk.sh, "cold" rows), and
 * most blocks a guest reads it reads once (its own page cache keeps them). */
static bool blk_seen(struct blk_dev *b, uint64_t off, uint64_t len)
{
	bool all = true;

	for (uint64_t p = off / BLK_PAGE; p <= (off + len - 1) / BLK_PAGE; p++) {
		uint64_t bit = 1ull << (p % 64);
		if (!(b->seen[p / 64] & bit)) {
			b->seen[p / 64] |= bit;
			all = false;
		}
	}
	return all;
}

/* Full transfer of len bytes at off, looping over short host reads/writes.
 * Reads past the end of the image are zero-filled (the partial last
 * sector). Returns 0 or -errno. The iovec array is consumed. */
static int blk_rw(struct blk_dev *b, bool write, struct iovec *iov, int n, uint64_t off, uint64_t len)
{
	if (b->use_map && len && blk_seen(b, off, len))
		return blk_map_rw(b, write, iov, n, off, len);
	while (len) {
		ssize_t r = write ? b->io->pwritev(b->fd, iov, n, (off_t)off)
				  : b->io->preadv(b->fd, iov, n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			log_guest("%s: %s at byte %llu: %s", b->path, write ? "write" : "read",
				  (unsigned long long)off, strerror((int)-r));
			return (int)r;
		}
		if (r == 0) {
			if (write)
				return -EIO;
			for (int i = 0; i < n; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			return 0;
		}
		if ((uint64_t)r > len)
			return -EIO;  /* a backend claiming more than asked */
		off += (uint64_t)r;
		len -= (uint64_t)r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* sector + count within limit (no overflow). */
static bool blk_in_range(uint64_t sector, uint64_t count, uint64_t limit)
{
	return sector <= limit && count <= limit - sector;
}

static int blk_zero(struct blk_dev *b, uint64_t off, uint64_t len, bool unmap)
{
	static const uint8_t zeros[4096];
	struct iovec iov[64];

	/* PUNCH_HOLE reads back as zeros (fallocate(2)) and is what unmap
	 * asks for; ZERO_RANGE keeps the blocks allocated. Where ZERO_RANGE is
	 * unsupported (tmpfs, NFS, some FUSE) a hole is still zeros, which is
	 * all §5.2.6.2 requires of a write-zeroes. Plain writes only where
	 * neither works, counted against the notification's budget. */
	if (unmap && b->can_punch &&
	    b->io->fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (b->io->fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (!unmap && b->can_punch &&
	    b->io->fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	b->zero_left = len < b->zero_left ? b->zero_left - len : 0;
	while (len) {
		uint64_t chunk = len < sizeof(iov) / sizeof(iov[0]) * sizeof(zeros) ? len
			       : sizeof(iov) / sizeof(iov[0]) * sizeof(zeros);
		int n = 0;
		for (uint64_t left = chunk; left; n++) {
			iov[n].iov_base = (void *)zeros;
			iov[n].iov_len = left < sizeof(zeros) ? left : sizeof(zeros);
			left -= iov[n].iov_len;
		}
		int r = blk_rw(b, true, iov, n, off, chunk);
		if (r < 0)
			return r;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

/* DISCARD and WRITE_ZEROES: the readable data is an array of
 * {le64 sector, le32 num_sectors, le32 flags} (§5.2.6). */
static int blk_discard(struct blk_dev *b, const struct virtq_chain *c, bool zeroes)
{
	uint64_t bytes = c->out_len - 16;
	uint32_t max_sectors = zeroes ? BLK_MAX_WZ_SECTORS : BLK_MAX_DISCARD_SECTORS;
	unsigned max_seg = zeroes ? BLK_MAX_WZ_SEG : BLK_MAX_DISCARD_SEG;
	unsigned nseg;

	if (b->ro)
		return VIRTIO_BLK_S_IOERR;
	if (!zeroes && !(b->acked & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)))
		return VIRTIO_BLK_S_UNSUPP;
	if (zeroes && !(b->acked & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES)))
		return VIRTIO_BLK_S_UNSUPP;
	/* The limits announced in the config space (§5.2.4): checked for the
	 * whole request before anything is done, so a request is all or
	 * nothing and never more than max_seg * max_sectors. */
	if (bytes == 0 || bytes % 16 || bytes / 16 > max_seg)
		return VIRTIO_BLK_S_IOERR;
	nseg = (unsigned)(bytes / 16);
	for (unsigned i = 0; i < nseg; i++) {
		uint32_t num;

		if (virtq_chain_read(c, 16 + 16ull * i + 8, &num, 4) != 4 || le32toh(num) > max_sectors)
			return VIRTIO_BLK_S_IOERR;
	}
	for (unsigned i = 0; i < nseg; i++) {
		uint8_t raw[16];
		uint64_t sector;
		uint32_t num, flags;

		if (virtq_chain_read(c, 16 + 16ull * i, raw, 16) != 16)
			return VIRTIO_BLK_S_IOERR;
		memcpy(&sector, raw, 8);
		memcpy(&num, raw + 8, 4);
		memcpy(&flags, raw + 12, 4);
		sector = le64toh(sector);
		num = le32toh(num);
		flags = le32toh(flags);
		/* §5.2.6.1: unknown flags, or unmap on a discard, are UNSUPP. */
		if ((flags & ~VIRTIO_BLK_DISCARD_UNMAP) || (!zeroes && flags))
			return VIRTIO_BLK_S_UNSUPP;
		if (num > max_sectors || !blk_in_range(sector, num, b->writable_sectors))
			return VIRTIO_BLK_S_IOERR;
		if (num == 0)
			continue;
		if (zeroes) {
			if (blk_zero(b, sector * SECTOR, (uint64_t)num * SECTOR, flags & VIRTIO_BLK_DISCARD_UNMAP) < 0)
				return VIRTIO_BLK_S_IOERR;
		} else if (b->io->fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					    (off_t)(sector * SECTOR), (off_t)num * SECTOR) < 0) {
			return VIRTIO_BLK_S_IOERR;
		}
	}
	return VIRTIO_BLK_S_OK;
}

/* Where the status goes: the last byte of the writable part (§5.2.6), i.e.
 * the last byte of the last writable buffer unless that one is empty (then
 * NULL: virtq_chain_write finds it). Found before the I/O so that after it
 * only the status byte itself is touched, not the chain again. */
static uint8_t *blk_status_ptr(const struct virtq_chain *c)
{
	const struct virtq_seg *last = &c->seg[c->nout + c->nin - 1];  /* nin >= 1: in_len > 0 */

	return last->len ? last->host + last->len - 1 : NULL;
}

/* b->iov for [off, off+len) of the chain's readable or writable part.
 * Linux puts the data of a request in one buffer, right after the header
 * (OUT) or first in the writable part (IN): that case is one entry
 * without virtq_chain_iov's general walk. Returns the entry count or
 * -EINVAL (virtq_chain_iov). */
static int blk_iov(struct blk_dev *b, const struct virtq_chain *c, bool writable, uint64_t off, uint64_t len)
{
	unsigned s = writable ? c->nout : 0, end = writable ? c->nout + c->nin : c->nout;
	uint64_t o = off;

	if (s < end && o >= c->seg[s].len && s + 1 < end) {
		o -= c->seg[s].len;
		s++;
	}
	if (len && s < end && o < c->seg[s].len && len <= c->seg[s].len - o) {
		b->iov[0] = (struct iovec){ .iov_base = c->seg[s].host + o, .iov_len = len };
		return 1;
	}
	return virtq_chain_iov(c, writable, off, len, b->iov, VIRTQ_MAX_SIZE);
}

int blk_handle_req(struct blk_dev *b, const struct virtq_chain *c, uint32_t *written)
{
	struct { uint32_t type, reserved; uint64_t sector; } hdr;
	uint64_t len, sector;
	uint32_t type;
	uint8_t status;
	int n;

	*written = 0;
	/* §5.2.6: the last writable byte is the status. Without one there is
	 * nothing to answer with: the chain goes back unwritten. */
	if (c->in_len == 0) {
		log_guest("%s: request without a status byte", b->vname);
		return -EINVAL;
	}
	uint64_t data_in = c->in_len - 1;
	uint8_t *st = blk_status_ptr(c);
	/* The header is almost always one buffer of its own (Linux): a copy
	 * of fixed size, where virtq_chain_read's variable-length memcpy
	 * became `rep movsb` under -Os and was the device's largest single
	 * cost per 4 KiB request (scripts/bench/blk.sh). */
	if (c->nout && c->seg[0].len >= sizeof(hdr))
		memcpy(&hdr, c->seg[0].host, sizeof(hdr));
	else if (virtq_chain_read(c, 0, &hdr, sizeof(hdr)) != sizeof(hdr)) {
		status = VIRTIO_BLK_S_IOERR;
		goto out;
	}
	type = le32toh(hdr.type);
	sector = le64toh(hdr.sector);
	switch (type) {
	case VIRTIO_BLK_T_IN:
		len = data_in;
		if (len % SECTOR || len > BLK_MAX_IO || !blk_in_range(sector, len / SECTOR, b->sectors)) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		n = blk_iov(b, c, true, 0, len);
		if (n < 0 || blk_rw(b, false, b->iov, n, sector * SECTOR, len) < 0) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		*written = (uint32_t)len;  /* <= BLK_MAX_IO */
		status = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_OUT:
		len = c->out_len - sizeof(hdr);
		/* §5.2.5: writes to a VIRTIO_BLK_F_RO device fail. The partial
		 * last sector is outside writable_sectors, so never written. */
		if (b->ro || len % SECTOR || len > BLK_MAX_IO || !blk_in_range(sector, len / SECTOR, b->writable_sectors)) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		n = blk_iov(b, c, false, sizeof(hdr), len);
		status = n < 0 || blk_rw(b, true, b->iov, n, sector * SECTOR, len) < 0
			 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_FLUSH:
		status = b->io->fdatasync(b->fd) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID:
		/* 20 bytes, NUL-padded, not necessarily terminated (§5.2.6). */
		len = data_in < VIRTIO_BLK_ID_BYTES ? data_in : VIRTIO_BLK_ID_BYTES;
		*written = (uint32_t)virtq_chain_write(c, 0, b->id, (size_t)len);
		status = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		status = (uint8_t)blk_discard(b, c, type == VIRTIO_BLK_T_WRITE_ZEROES);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
out:
	if (st)
		*st = status;
	else
		virtq_chain_write(c, data_in, &status, 1);
	/* The used length is a 32-bit field: a read of more than 4 GiB cannot
	 * pass the range check of any image we serve below 2 TiB, but clamp. */
	*written = *written > UINT32_MAX - 1 ? UINT32_MAX : *written + 1;
	return status;
}

static int blk_activate(void *dev, uint64_t features, const struct virtq_config *q, unsigned nq)
{
	struct blk_dev *b = dev;
	int r;

	b->acked = features;
	b->active = false;
	if (!q[0].ready)
		return 0;  /* a driver may leave the queue off; nothing to serve */
	r = virtq_setup(&b->vq, b->gm, b->qname, &q[0], BLK_QUEUE_MAX,
			features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC));
	if (r < 0)
		return r;
	virtq_set_event_idx(&b->vq, features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
	b->active = true;
	return 0;
}

/* One request for virtq_serve. Besides the ring's worth per notification,
 * at most BLK_ZERO_BUDGET bytes of zeros are written (WRITE_ZEROES on a
 * file that can neither ZERO_RANGE nor PUNCH_HOLE) before the rest is
 * requeued. */
static int blk_handle(void *dev, const struct virtq_chain *c, uint32_t *written)
{
	struct blk_dev *b = dev;

	/* A chain without a status byte goes back unwritten; the driver's
	 * other requests are still served. */
	blk_handle_req(b, c, written);
	return b->zero_left ? 0 : 1;
}

static void blk_queue_notify(void *dev, unsigned q)
{
	struct blk_dev *b = dev;

	if (!b->active)
		return;
	b->zero_left = BLK_ZERO_BUDGET;
	if (virtq_serve(&b->vq, q, b->sig, &b->chain, blk_handle, b) < 0)
		b->active = false;
}

static void blk_reset(void *dev)
{
	struct blk_dev *b = dev;

	b->active = false;
	b->acked = 0;
	memset(&b->vq, 0, sizeof(b->vq));
}

/* Map a regular file's image for IN/OUT: a 4 KiB request then costs a
 * copy instead of a pread/pwrite (scripts/bench/blk.sh: the syscall was
 * ~90% of a request's CPU), as kvmtool serves read-only raw images. Page
 * cache coherent with the fd, so FLUSH's fdatasync writes back what the
 * copies dirtied and DISCARD/WRITE_ZEROES (fallocate) read back as zeros
 * through the mapping. Errors a syscall would return arrive as SIGBUS:
 * mapio turns them into -EIO. Regular files only (block devices keep the
 * syscalls: not measured). Failure to map is not an error: syscalls. */
static void blk_map(struct blk_dev *b, const struct stat *st)
{
	uint64_t len = b->sectors * SECTOR;
	size_t bits = (size_t)((len + BLK_PAGE - 1) / BLK_PAGE);
	void *m, *seen;

	if (!S_ISREG(st->st_mode) || len == 0 || mapio_init() < 0)
		return;
	/* The bitmap is 1/32768 of the image, in pages of zeros until the
	 * guest asks for their part of the disk. */
	b->seen_bytes = (bits + 63) / 64 * 8;
	seen = mmap(NULL, b->seen_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	m = mmap(NULL, len, PROT_READ | (b->ro ? 0 : PROT_WRITE), MAP_SHARED, b->fd, 0);
	if (seen == MAP_FAILED || m == MAP_FAILED) {
		log_debug("disk image %s: not mapped (%s): served with pread/pwrite", b->path, strerror(errno));
		if (seen != MAP_FAILED)
			munmap(seen, b->seen_bytes);
		if (m != MAP_FAILED)
			munmap(m, len);
		return;
	}
	b->seen = seen;
	b->map = m;
	b->map_len = len;
	b->use_map = true;
}

/* Can the image punch holes? Probe past the end of the file, where a
 * successful punch changes nothing (KEEP_SIZE). */
static bool blk_probe_punch(struct blk_dev *b, const struct stat *st)
{
	off_t at = (off_t)((b->size + 4095) & ~4095ull);

	if (b->ro || !S_ISREG(st->st_mode))
		return false;
	return b->io->fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, 4096) == 0;
}

int blk_open(struct blk_dev **out, const char *path, bool ro, unsigned index, const struct gm *gm,
	     struct virtio_signal *sig)
{
	struct blk_dev *b;
	struct stat st;
	const char *base;
	int r;

	*out = NULL;
	if (index >= 26)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->sig = sig;
	b->gm = gm;
	b->fd = -1;
	b->io = &blk_libc;
	b->path = path;
	b->ro = ro;
	snprintf(b->name, sizeof(b->name), "vd%c", 'a' + index);
	snprintf(b->vname, sizeof(b->vname), "virtio-blk %s", b->name);
	snprintf(b->qname, sizeof(b->qname), "%s queue 0", b->name);
	b->fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		/* The user named a file we cannot open: their input. */
		r = dev_input_error(-errno);
		log_err("disk image %s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(b->fd, &st) < 0) {
		r = -errno;
		log_err("disk image %s: %s", path, strerror(-r));
		goto fail;
	}
	if (S_ISREG(st.st_mode)) {
		b->size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd, BLKGETSIZE64, &b->size) < 0) {
			r = -errno;
			log_err("disk image %s: size of block device: %s", path, strerror(-r));
			goto fail;
		}
	} else {
		r = dev_input_error(-EINVAL);
		log_err("disk image %s: not a regular file or block device", path);
		goto fail;
	}
	/* Two VMs writing one image corrupt it (crosvm locks too). */
	if (flock(b->fd, (ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		r = -errno;
		log_err("disk image %s: %s", path,
			r == -EWOULDBLOCK ? "in use by another process (locked)" : strerror(-r));
		if (r == -EWOULDBLOCK)
			r = dev_input_error(r);  /* another VM's image: the user's choice */
		goto fail;
	}
	b->sectors = (b->size + SECTOR - 1) / SECTOR;
	b->writable_sectors = b->size / SECTOR;
	if (b->size % SECTOR)
		log_warn("disk image %s: size %llu is not a multiple of 512; its last %llu bytes read "
			 "zero-padded and are never written", path, (unsigned long long)b->size,
			 (unsigned long long)(b->size % SECTOR));
	b->can_punch = blk_probe_punch(b, &st);
	blk_map(b, &st);
	/* GET_ID: the image's file name, as much as fits. */
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	strncpy(b->id, base, sizeof(b->id));
	blk_build_config(b);
	*out = b;
	return 0;
fail:
	blk_close(b);
	return r;
}

void blk_close(struct blk_dev *b)
{
	if (!b)
		return;
	if (b->map) {
		munmap(b->map, b->map_len);
		munmap(b->seen, b->seen_bytes);
	}
	if (b->fd >= 0)
		close(b->fd);
	free(b);
}

void blk_set_backend(struct blk_dev *b, const struct blk_backend *io)
{
	b->io = io ? io : &blk_libc;
	b->use_map = !io && b->map;
}

struct virtio_signal *blk_signal(struct blk_dev *b)
{
	return b->sig;
}

uint64_t blk_sectors(const struct blk_dev *b)
{
	return b->sectors;
}

/* ---- the device host's view ---------------------------------------------- */

static unsigned blk_instances(const void *cfg)
{
	return ((const struct blk_opts *)cfg)->ndisks;
}

/* Disk index becomes /dev/vd('a'+index): the host announces the windows in
 * index order, and the kernel names virtio-blk devices in probe order. */
static int blk_dev_open(void **dev, const void *cfg, unsigned index, const struct dev_env *env,
			struct virtio_signal *sig, struct virtio_dev_info *info)
{
	const struct blk_opts *o = cfg;
	const struct blk_disk *d = &o->disks[index];
	struct blk_dev *b;
	int r;

	r = blk_open(&b, d->path, d->ro, index, env->gm, sig);
	if (r < 0)
		return r;
	snprintf(info->name, sizeof(info->name), "%s", b->vname);
	info->features = blk_features(b);
	info->config_len = sizeof(b->config);
	memcpy(info->config, b->config, sizeof(b->config));
	if (d->root)
		snprintf(info->cmdline, sizeof(info->cmdline), "root=/dev/%s %s", b->name, d->ro ? "ro" : "rw");
	log_debug("%s: %s (%llu sectors%s)", b->name, d->path, (unsigned long long)b->sectors,
		  d->ro ? ", read-only" : "");
	*dev = b;
	return 0;
}

static void blk_dev_close(void *dev)
{
	blk_close(dev);
}

static void blk_dump(void *dev)
{
	struct blk_dev *b = dev;

	virtq_log_state(&b->vq, b->vname, 0);
}

const struct virtio_device blk_virtio_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.queue_max = BLK_QUEUE_MAX,
	.instances = blk_instances,
	.open = blk_dev_open,
	.close = blk_dev_close,
	.activate = blk_activate,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
	.dump = blk_dump,
};

/* ---- options ------------------------------------------------------------- */

static int blk_add_disk(struct blk_opts *o, const char *path, bool ro, bool root, const char *opt, char *err,
			size_t errlen)
{
	if (!*path)
		return dev_option_error(err, errlen, "%s: empty path", opt);
	if (o->ndisks >= BLK_MAX_DISKS)
		return dev_option_error(err, errlen, "%s %s: too many disks (max %d)", opt, path, BLK_MAX_DISKS);
	if (root) {
		if (o->ndisks && o->disks[0].root)
			return dev_option_error(err, errlen, "%s %s: a root disk was already given", opt, path);
		/* The root is always the first disk, /dev/vda. */
		memmove(&o->disks[1], &o->disks[0], o->ndisks * sizeof(o->disks[0]));
		o->disks[0] = (struct blk_disk){ .path = path, .ro = ro, .root = true };
	} else {
		o->disks[o->ndisks] = (struct blk_disk){ .path = path, .ro = ro };
	}
	o->ndisks++;
	return 0;
}

static int blk_opt_root(void *cfg, const char *opt, const char *val, char *err, size_t errlen)
{
	return blk_add_disk(cfg, val, true, true, opt, err, errlen);
}

static int blk_opt_rwroot(void *cfg, const char *opt, const char *val, char *err, size_t errlen)
{
	return blk_add_disk(cfg, val, false, true, opt, err, errlen);
}

static int blk_opt_disk(void *cfg, const char *opt, const char *val, char *err, size_t errlen)
{
	const char *comma = strrchr(val, ',');
	bool ro = false;

	if (comma) {
		if (strcmp(comma + 1, "ro"))
			return dev_option_error(err, errlen, "%s '%s': unknown disk flag '%s' (only 'ro')", opt, val,
						comma + 1);
		/* Keep the path NUL-terminated without copying: argv is ours. */
		*(char *)comma = 0;
		ro = true;
	}
	return blk_add_disk(cfg, val, ro, false, opt, err, errlen);
}

static const struct dev_option blk_options[] = {
	{ .name = "--root", .alias = "-r", .takes_value = true, .parse = blk_opt_root,
	  .usage = "  -r, --root IMG        read-only root disk as /dev/vda; adds root=/dev/vda ro\n" },
	{ .name = "--rwroot", .takes_value = true, .parse = blk_opt_rwroot,
	  .usage = "      --rwroot IMG      writable root disk as /dev/vda; adds root=/dev/vda rw.\n"
		   "                        WARNING: the guest writes the image directly; a guest\n"
		   "                        crash or a second VM using it can corrupt it\n" },
	{ .name = "--disk", .alias = "-d", .takes_value = true, .parse = blk_opt_disk,
	  .usage = "  -d, --disk PATH[,ro]  another disk (vdb, vdc, ... after the root; may repeat)\n" },
	{ 0 },
};

static int blk_status_json(const void *cfg, char *buf, size_t len)
{
	int n = snprintf(buf, len, "\"disks\":%u", ((const struct blk_opts *)cfg)->ndisks);

	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

const struct device_ops virtio_blk_device = {
	.name = "virtio-blk",
	.options = blk_options,
	.cfg_size = sizeof(struct blk_opts),
	.status_json = blk_status_json,
	.virtio = &blk_virtio_ops,
};
