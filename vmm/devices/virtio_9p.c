#include "vmm/devices/virtio_9p.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/device.h"
#include "vmm/log.h"
#include "vmm/virtq.h"

struct p9dev {
	struct virtio_signal *sig;
	const struct gm *gm;
	struct p9_server *srv;
	char name[12 + P9DEV_TAG_MAX]; /* "virtio-9p TAG" for warnings */
	char tag[P9DEV_TAG_MAX + 1];
	bool first;                  /* addressed by control TAG "-" */
	bool active;
	/* The serving thread has its own umask 0 (see p9dev_umask). */
	bool umask_done;
	uint64_t budget;             /* bytes left in this notification */
	uint64_t requests;
	struct virtq vq;
	struct virtq_chain chain;
	/* One request and one reply in flight (requests are served in order,
	 * one at a time: the library is not thread-safe, docs/P9.md). */
	uint8_t req[P9DEV_MSIZE_MAX];
	uint8_t reply[P9DEV_MSIZE_MAX];
};

static int p9dev_activate(void *dev, uint64_t features, const struct virtq_config *q, unsigned nq)
{
	struct p9dev *d = dev;

	d->active = false;
	if (!q[0].ready)
		return 0;
	if (virtq_setup(&d->vq, d->gm, d->name, &q[0], P9DEV_QUEUE_MAX,
			features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)) < 0)
		return -EINVAL;
	virtq_set_event_idx(&d->vq, features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
	d->active = true;
	return 0;
}

/* One chain = one 9P request (net/9p/trans_virtio.c): the T-message is the
 * device-readable part (a zero-copy Twrite adds the payload as further
 * readable segments), the R-message goes into the writable part (a
 * zero-copy Tread offers an 11-byte header buffer, then the user's pages).
 * Gathering into d->req and scattering from d->reply handles every split.
 * A chain too short to carry a header or to take an Rlerror is a confused
 * driver: the queue breaks and the device asks for a reset. Anything else
 * wrong inside the message is the server's to answer with Rlerror. */
static int p9dev_handle(void *dev, const struct virtq_chain *c, uint32_t *written)
{
	struct p9dev *d = dev;
	size_t len = virtq_chain_read(c, 0, d->req, c->out_len < sizeof(d->req) ? c->out_len : sizeof(d->req));
	size_t cap = c->in_len < sizeof(d->reply) ? c->in_len : sizeof(d->reply);
	long n = p9_handle(d->srv, d->req, len, d->reply, cap);

	*written = 0;
	if (n < 0) {
		log_guest("%s: request of %llu bytes with %llu writable: %s (driver confused?)", d->name,
			  (unsigned long long)c->out_len, (unsigned long long)c->in_len,
			  n == -ENOBUFS ? "no room for a reply" : "shorter than a 9P header");
		return (int)n;
	}
	*written = (uint32_t)virtq_chain_write(c, 0, d->reply, (size_t)n);
	d->requests++;
	/* Our own budget: a ring of maximal requests is 128 x 1 MiB copied. */
	if ((uint64_t)len + (uint64_t)n >= d->budget)
		return 1;
	d->budget -= (uint64_t)len + (uint64_t)n;
	return 0;
}

/* The p9 library applies the guest's modes through the process umask, so
 * it must be 0 (the guest kernel applied the guest's umask already). The
 * VMM's own files must keep its umask: the serving thread takes a private
 * fs_struct (CLONE_FS, allowed in a multithreaded process) and sets 0 there
 * only. In a jailed device process this is that process's only thread. */
static void p9dev_umask(struct p9dev *d)
{
	if (d->umask_done)
		return;
	if (unshare(CLONE_FS) < 0)
		log_warn("%s: unshare(CLONE_FS): %s; guest file modes get vmm's umask", d->name, strerror(errno));
	else
		umask(0);
	d->umask_done = true;
}

static void p9dev_queue_notify(void *dev, unsigned q)
{
	struct p9dev *d = dev;

	if (!d->active)
		return;
	p9dev_umask(d);
	d->budget = P9DEV_BUDGET_BYTES;
	if (virtq_serve(&d->vq, q, d->sig, &d->chain, p9dev_handle, d) < 0)
		d->active = false;
}

/* A reset forgets the rings; the 9P session ends with the driver that
 * owned it, and the next driver starts with Tversion, which clunks every
 * fid (version(5)). */
static void p9dev_reset(void *dev)
{
	struct p9dev *d = dev;

	d->active = false;
	memset(&d->vq, 0, sizeof(d->vq));
}

int p9dev_open(struct p9dev **out, const struct p9dev_share *sh, int dirfd, bool jailed, const struct gm *gm,
	       struct virtio_signal *sig)
{
	struct p9_share_config pc = { .name = sh->tag, .dirfd = dirfd, .ro = sh->ro };
	struct p9_config cfg = {
		.shares = &pc, .n_shares = dirfd >= 0, .msize_max = P9DEV_MSIZE_MAX, .fid_limit = P9DEV_FID_LIMIT,
		.uid_policy = sh->policy, .guest_uid = sh->uid, .guest_gid = sh->gid,
		/* The share itself is what the guest mounts (aname ""); run-time
		 * grants are reached with aname=NAME. Without a directory the
		 * guest mounts the synthetic root listing the grants. */
		.root_share = dirfd >= 0 ? sh->tag : NULL,
		/* virtio_9p.policy cannot name fchmodat2 (see there). */
		.no_fchmodat2 = jailed,
	};
	struct p9dev *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->srv = p9_server_new(&cfg);
	if (!d->srv) {
		int e = errno;
		free(d);
		return -e;
	}
	d->sig = sig;
	d->gm = gm;
	snprintf(d->name, sizeof(d->name), "virtio-9p %s", sh->tag);
	snprintf(d->tag, sizeof(d->tag), "%s", sh->tag);
	*out = d;
	return 0;
}

void p9dev_close(struct p9dev *d)
{
	if (!d)
		return;
	p9_server_free(d->srv);
	free(d);
}

struct p9_server *p9dev_server(struct p9dev *d)
{
	return d->srv;
}

void p9dev_set_first(struct p9dev *d)
{
	d->first = true;
}

/* Run-time grants (seneschal's model): the message format is in
 * virtio_9p.h. The VMM trusts itself, but the bytes are still parsed with
 * bounds: they cross into the device process as plain data. */
static int p9dev_control(void *dev, const void *msg, size_t len, int fd)
{
	struct p9dev *d = dev;
	char buf[VIRTIO_CONTROL_MAX + 1], *w[5], *save = NULL;
	int n = 0;

	if (len >= sizeof(buf) || memchr(msg, 0, len))
		return -EINVAL;
	memcpy(buf, msg, len);
	buf[len] = 0;
	for (char *t = strtok_r(buf, " \n", &save); t && n < 5; t = strtok_r(NULL, " \n", &save))
		w[n++] = t;
	if (n < 3 || n > 4)
		return -EINVAL;
	if (strcmp(w[1], "-") ? strcmp(w[1], d->tag) != 0 : !d->first)
		return -ENODEV;
	if (!strcmp(w[0], "share") && n == 4 && fd >= 0 && (!strcmp(w[3], "ro") || !strcmp(w[3], "rw"))) {
		int r = p9_grant_fd(d->srv, fd, w[2], !strcmp(w[3], "ro"));
		if (r == 0)
			log_info("%s: granted %s%s", d->name, w[2], !strcmp(w[3], "ro") ? " (read-only)" : "");
		return r;
	}
	if (!strcmp(w[0], "unshare") && n == 3) {
		int r = p9_revoke(d->srv, w[2]);
		if (r == 0)
			log_info("%s: revoked %s", d->name, w[2]);
		return r;
	}
	return -EINVAL;
}

/* ---- the device host's view ---------------------------------------------- */

static unsigned p9dev_instances(const void *cfg)
{
	return ((const struct p9dev_opts *)cfg)->n;
}

/* The jailed process's RLIMIT_NOFILE: P9DEV_NOFILE, but never above vmm's
 * own hard limit (the jail cannot raise it: setrlimit fails with EPERM,
 * seen with the common hard limit of 4096). Fids beyond it get EMFILE. */
static unsigned p9dev_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < P9DEV_NOFILE)
		return (unsigned)rl.rlim_max;
	return P9DEV_NOFILE;
}

/* Privileged half, in the VMM: open the share's directory (the only path
 * ever resolved outside the share; a private nodev,nosuid,nosymfollow
 * mount of it where vmm may, read-only for ro: devdir_open) and build the
 * server on that fd. */
static int p9dev_dev_open(void **dev, const void *cfg, unsigned index, const struct dev_env *env,
			  struct virtio_signal *sig, struct virtio_dev_info *info)
{
	const struct p9dev_share *sh = &((const struct p9dev_opts *)cfg)->share[index];
	size_t tlen = strlen(sh->tag);
	struct p9dev *d;
	int dirfd = -1, r;

	if (sh->policy == P9_UID_PASSTHROUGH && geteuid() != 0) {
		log_err("--share %s:%s: security=passthrough needs vmm to run as root (use mapped)", sh->dir,
			sh->tag);
		return dev_input_error(-EPERM);
	}
	/* The jailed process's user namespace maps one uid (vmm's): it could
	 * not give files the guest's ids. */
	if (sh->policy == P9_UID_PASSTHROUGH && !(env->cfg && env->cfg->disable_sandbox)) {
		log_err("--share %s:%s: security=passthrough needs --disable-sandbox (the jailed device maps "
			"only vmm's uid)", sh->dir, sh->tag);
		return dev_input_error(-EPERM);
	}
	if (sh->dir[0]) {
		bool hardened;

		dirfd = devdir_open(sh->dir, sh->ro, &hardened);
		if (dirfd < 0) {
			log_err("--share %s:%s: %s", sh->dir, sh->tag,
				dirfd == -ENOTDIR ? "not a directory" : strerror(-dirfd));
			return dev_input_error(dirfd);
		}
		if (!hardened)
			log_debug("--share %s:%s: no private nodev,nosuid mount (vmm lacks CAP_SYS_ADMIN)", sh->dir,
				  sh->tag);
	}
	r = p9dev_open(&d, sh, dirfd, !(env->cfg && env->cfg->disable_sandbox), env->gm, sig);
	if (dirfd >= 0)
		close(dirfd);
	if (r < 0) {
		log_err("--share %s:%s: %s", sh->dir, sh->tag, strerror(-r));
		return r;
	}
	/* The host's log prefix is shorter: a long tag is cut there. */
	snprintf(info->name, sizeof(info->name), "%.*s", (int)sizeof(info->name) - 1, d->name);
	info->features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
			 VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_9P_MOUNT_TAG);
	/* struct virtio_9p_config: le16 tag_len, tag (not NUL-terminated). */
	info->config[0] = (uint8_t)tlen;
	info->config[1] = (uint8_t)(tlen >> 8);
	memcpy(info->config + 2, sh->tag, tlen);
	info->config_len = (uint32_t)(2 + tlen);
	/* Jailed: the fids' open files and directory fds, grants arriving
	 * over the socket, a few for the library's walks; and vmm's own
	 * uid, so files are created and opened as vmm would. */
	info->nofile = p9dev_nofile();
	info->as_vmm_user = true;
	if (index == 0)
		p9dev_set_first(d);
	log_debug("%s: %s%s", d->name, sh->dir[0] ? sh->dir : "(empty root)", sh->ro ? ", read-only" : "");
	*dev = d;
	return 0;
}

static void p9dev_dev_close(void *dev)
{
	p9dev_close(dev);
}

static void p9dev_dump(void *dev)
{
	struct p9dev *d = dev;

	log_state("%s: %llu requests, %u fids, msize %u", d->name, (unsigned long long)d->requests,
		  p9_fid_count(d->srv), p9_msize(d->srv));
	virtq_log_state(&d->vq, d->name, 0);
}

const struct virtio_device p9_virtio_ops = {
	.name = "virtio-9p",
	.device_id = VIRTIO_ID_9P,
	.num_queues = 1,
	.queue_max = P9DEV_QUEUE_MAX,
	.instances = p9dev_instances,
	.open = p9dev_dev_open,
	.close = p9dev_dev_close,
	.activate = p9dev_activate,
	.queue_notify = p9dev_queue_notify,
	.reset = p9dev_reset,
	.dump = p9dev_dump,
	.control = p9dev_control,
};

/* ---- options ------------------------------------------------------------- */

/* Tags name the device in the guest's mount(8) and in init.mount= (where
 * ':' and ',' separate fields), and the share in the p9 name space (one
 * path component): letters, digits, '_', '-', '.', starting with a letter
 * or digit. */
static bool p9dev_tag_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > P9DEV_TAG_MAX)
		return false;
	if (!((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z') || (t[0] >= '0' && t[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= '0' && t[i] <= '9') ||
		      t[i] == '_' || t[i] == '-' || t[i] == '.'))
			return false;
	return true;
}

static int p9dev_opt_id(const char *opt, const char *v, const char *key, uint32_t *out, char *err, size_t errlen)
{
	unsigned long long x;

	if (dev_option_u64(v, 0, 0xfffffffe, &x) < 0)
		return dev_option_error(err, errlen, "%s: %s='%s': expected a number from 0 to 4294967294", opt, key, v);
	*out = (uint32_t)x;
	return 0;
}

int p9dev_parse_share(struct p9dev_opts *o, const char *opt, char *val, char *err, size_t errlen)
{
	struct p9dev_share sh = { .policy = P9_UID_MAPPED };
	char *flags = strchr(val, ','), *colon;

	if (o->n >= P9DEV_MAX_SHARES)
		return dev_option_error(err, errlen, "%s %s: too many shares (max %d)", opt, val, P9DEV_MAX_SHARES);
	if (flags)
		*flags++ = 0;
	/* HOSTDIR may contain ':' itself; the tag follows the last one. */
	colon = strrchr(val, ':');
	if (!colon)
		return dev_option_error(err, errlen, "%s '%s': expected HOSTDIR:TAG[,ro][,security=mapped|passthrough]",
					opt, val);
	*colon = 0;
	if (!p9dev_tag_ok(colon + 1))
		return dev_option_error(err, errlen,
					"%s %s:%s: bad tag '%s' (1-%d of A-Z a-z 0-9 _ - ., starting with a letter or digit)",
					opt, val, colon + 1, colon + 1, P9DEV_TAG_MAX);
	strcpy(sh.tag, colon + 1);
	sh.dir = val;
	for (unsigned i = 0; i < o->n; i++)
		if (!strcmp(o->share[i].tag, sh.tag))
			return dev_option_error(err, errlen, "%s %s:%s: tag '%s' already used", opt, val, sh.tag, sh.tag);
	while (flags && *flags) {
		char *f = flags, *eq;

		flags = strchr(f, ',');
		if (flags)
			*flags++ = 0;
		eq = strchr(f, '=');
		if (!strcmp(f, "ro")) {
			sh.ro = true;
		} else if (!strcmp(f, "security=mapped")) {
			sh.policy = P9_UID_MAPPED;
		} else if (!strcmp(f, "security=passthrough")) {
			sh.policy = P9_UID_PASSTHROUGH;
		} else if (eq && !strncmp(f, "uid=", 4)) {
			if (p9dev_opt_id(opt, eq + 1, "uid", &sh.uid, err, errlen) < 0)
				return -EINVAL;
		} else if (eq && !strncmp(f, "gid=", 4)) {
			if (p9dev_opt_id(opt, eq + 1, "gid", &sh.gid, err, errlen) < 0)
				return -EINVAL;
		} else {
			return dev_option_error(err, errlen,
						"%s %s:%s: unknown flag '%s' (ro, security=mapped|passthrough, uid=N, gid=N)",
						opt, val, sh.tag, f);
		}
	}
	o->share[o->n++] = sh;
	return 0;
}

static int p9dev_opt_share(void *cfg, const char *opt, const char *val, char *err, size_t errlen)
{
	/* Edited in place (the tag and flags are cut off): argv is ours. */
	return p9dev_parse_share(cfg, opt, (char *)val, err, errlen);
}

static const struct dev_option p9dev_options[] = {
	{ .name = "--share", .takes_value = true, .parse = p9dev_opt_share,
	  .usage = "      --share HOSTDIR:TAG[,ro][,security=mapped|passthrough][,uid=N][,gid=N]\n"
		   "                        share HOSTDIR over virtio-9p; the guest mounts it with\n"
		   "                        mount -t 9p -o trans=virtio,version=9p2000.L TAG DIR\n"
		   "                        (or init.mount=TAG:DIR:9p:trans=virtio,version=9p2000.L).\n"
		   "                        mapped (default): files are vmm's, shown as uid:gid\n"
		   "                        (default 0:0); passthrough: guest ids kept (vmm as root).\n"
		   "                        Empty HOSTDIR: a root that only run-time grants fill.\n"
		   "                        May repeat (max 8), one device per TAG\n" },
	{ 0 },
};

static int p9dev_status_json(const void *cfg, char *buf, size_t len)
{
	int n = snprintf(buf, len, "\"shares\":%u", ((const struct p9dev_opts *)cfg)->n);

	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

const struct device_ops virtio_9p_device = {
	.name = P9DEV_CTL_DEVICE,
	.options = p9dev_options,
	.cfg_size = sizeof(struct p9dev_opts),
	.status_json = p9dev_status_json,
	.virtio = &p9_virtio_ops,
};
