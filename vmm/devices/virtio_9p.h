/* virtio-9p: host directories shared with the guest over 9P2000.L.
 *
 * One device instance per `--share HOSTDIR:TAG[,OPT]...` option, as QEMU's
 * -virtfs and crosvm's --shared-dir make one device per mount tag. virtio
 * 1.2 gives the 9P transport device ID 9 (§5) but no device section: the
 * configuration space and the one feature bit are Linux's and QEMU's
 * (include/uapi/linux/virtio_9p.h): le16 tag_len, then the tag, with
 * VIRTIO_9P_MOUNT_TAG offered. One request queue; each descriptor chain
 * carries one whole T-message in its device-readable part and receives one
 * R-message in its device-writable part (net/9p/trans_virtio.c).
 *
 * The VMM's open() opens HOSTDIR (O_PATH) and builds the p9 server
 * (p9/p9.h) on that fd; the serve ops only run the server on requests, so
 * they reach the host file system only through fds beneath the share
 * (openat2 RESOLVE_BENEATH, docs/P9.md) and work in a jailed process with
 * no file system of its own. Run-time grants arrive through the control op
 * as one line of text plus one directory fd (below).
 *
 * Tests drive one instance directly: p9dev_open, then p9_virtio_ops as the
 * device host would. */
#ifndef VMM_DEVICES_VIRTIO_9P_H
#define VMM_DEVICES_VIRTIO_9P_H
#include <stdbool.h>
#include <stdint.h>

#include "p9/p9.h"
#include "vmm/gm.h"
#include "vmm/virtio.h"

#define VIRTIO_ID_9P 9
/* Feature bit 0: the mount tag is in the configuration space. */
#define VIRTIO_9P_MOUNT_TAG 0

/* Shares (devices) per VM, mount tag length (fits the 256-byte config
 * space with room to spare; Linux reads any length). */
#define P9DEV_MAX_SHARES 8
#define P9DEV_TAG_MAX 64
/* Largest 9P message either way; the guest's msize is cut to this. */
#define P9DEV_MSIZE_MAX (512u * 1024)
/* Descriptors per queue. Linux's client puts up to 128 segments in one
 * request and uses indirect tables when offered. */
#define P9DEV_QUEUE_MAX 128
/* Fids per connection (the library's default), and the open-file limit
 * of the jailed device process: a file per fid, the grants' directory fds
 * (P9_MAX_SHARES), a received grant and the library's walk. */
#define P9DEV_FID_LIMIT 4096
#define P9DEV_NOFILE (P9DEV_FID_LIMIT + P9_MAX_SHARES + 64)
/* Bytes of request and reply one notification serves before the device
 * yields to the host (virtio_signal_requeue). */
#define P9DEV_BUDGET_BYTES (16u << 20)

/* One --share option. dir points into argv; "" for a device whose root
 * starts empty (only run-time grants appear in it). */
struct p9dev_share {
	const char *dir;
	char tag[P9DEV_TAG_MAX + 1];
	bool ro;
	enum p9_uid_policy policy;
	uint32_t uid, gid;   /* mapped: owner shown to the guest */
};

struct p9dev_opts {
	unsigned n;
	struct p9dev_share share[P9DEV_MAX_SHARES];
};

/* Control messages (struct virtio_device control; `vmm share|unshare`
 * build them), one line of words:
 *   "share TAG NAME ro|rw" with a directory fd: grant it as NAME (the guest
 *                          mounts it with aname=NAME; a share with an
 *                          empty HOSTDIR lists it in its root),
 *   "unshare TAG NAME":    revoke NAME; fids inside turn stale (ESTALE).
 * TAG "-" means the first share. An instance whose tag differs answers
 * -ENODEV so the host asks the next; else 0, -EINVAL (malformed),
 * -EEXIST, -ENOSPC, -ENOENT as p9_grant_fd/p9_revoke. */
#define P9DEV_CTL_DEVICE "virtio-9p"

struct p9dev;

/* Parse one --share value into o (appended). 0, or -EINVAL with one line
 * in err naming opt and what is wrong. val is modified (argv is ours). */
int p9dev_parse_share(struct p9dev_opts *o, const char *opt, char *val, char *err, size_t errlen);

/* The device for one share; dirfd (the share's directory, or -1 for an
 * empty root) is dup'ed, the caller keeps its own; jailed: it will serve
 * under virtio_9p.policy. -ENOMEM, or the p9 server's error (-EINVAL for a
 * policy the process cannot serve). */
int p9dev_open(struct p9dev **out, const struct p9dev_share *sh, int dirfd, bool jailed, const struct gm *gm,
	       struct virtio_signal *sig);
/* Mark the instance that control messages with TAG "-" address. */
void p9dev_set_first(struct p9dev *d);
void p9dev_close(struct p9dev *d);
/* The server, for tests. */
struct p9_server *p9dev_server(struct p9dev *d);

extern const struct virtio_device p9_virtio_ops;
#endif
