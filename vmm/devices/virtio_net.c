#include "vmm/devices/virtio_net.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vmm/device.h"
#include "vmm/devices/tap.h"
#include "vmm/log.h"

/* Tags in the device's own epoll set (its poll_fd). */
#define NET_TAG_TAP 1u
#define NET_TAG_LINK 2u
/* rtnetlink datagrams read per poll at most; more wait for the next. */
#define NET_LINK_READS 8

struct net_dev {
	struct vnet n;               /* ~70 KiB: why the device is calloc'd */
	struct virtio_signal *sig;
	int tap_fd, link_fd, ep;     /* owned */
	int ifindex;
	bool watching;               /* the TAP is in ep with EPOLLIN */
	bool tap_gone;               /* its interface was deleted: out of ep for good */
	char name[32];               /* "virtio-net " + the TAP name */
};

struct vnet *net_vnet(void *dev)
{
	return &((struct net_dev *)dev)->n;
}

/* ---- serve ops: guest memory, the TAP, the link socket, ep -------------- */

/* The counters into the page the VMM reads for `vmm status`: after every
 * serve op, which is where they change (11 relaxed stores, noise beside a
 * frame's copy). */
static void net_publish(struct net_dev *d)
{
	uint64_t w[VNET_STATS_WORDS];

	vnet_stats_to_words(&d->n.st, w);
	virtio_signal_stats(d->sig, w, VNET_STATS_WORDS);
}

/* Watch the TAP exactly when vnet could place what a read returns; called
 * after every serve op, whose work may have changed the answer. */
static void net_watch(struct net_dev *d)
{
	bool want = vnet_want_backend(&d->n);
	struct epoll_event ev = { .events = want ? EPOLLIN : 0, .data.u32 = NET_TAG_TAP };

	if (d->tap_gone || want == d->watching)
		return;
	if (epoll_ctl(d->ep, EPOLL_CTL_MOD, d->tap_fd, &ev) < 0) {
		log_guest("%s: watching the TAP: %s", d->name, strerror(errno));
		return;
	}
	d->watching = want;
}

/* Apply the link state: STATUS bit and a configuration change interrupt
 * (§5.1.4: the driver rereads status when notified). */
static void net_set_link(struct net_dev *d, bool up)
{
	uint16_t st = up ? VIRTIO_NET_S_LINK_UP : 0;

	if (d->n.status == st)
		return;
	d->n.status = st;
	__atomic_store_n(&d->sig->config[NET_CFG_STATUS], (uint8_t)st, __ATOMIC_SEQ_CST);
	__atomic_store_n(&d->sig->config[NET_CFG_STATUS + 1], (uint8_t)(st >> 8), __ATOMIC_SEQ_CST);
	virtio_signal_config(d->sig);
	log_info("%s: link %s", d->name, up ? "up" : "down");
}

static void net_link_read(struct net_dev *d)
{
	/* nlmsghdr alignment for tap_link_parse. */
	uint32_t buf[2048];
	int news = -ENOENT;

	for (int i = 0; i < NET_LINK_READS; i++) {
		ssize_t got = read(d->link_fd, buf, sizeof(buf));
		if (got < 0) {
			if (errno == EINTR)
				continue;
			/* ENOBUFS: the kernel dropped notifications; the next
			 * one carries the full state again. */
			if (errno != EAGAIN)
				log_guest("%s: link notifications: %s", d->name, strerror(errno));
			break;
		}
		int st = tap_link_parse(buf, (size_t)got, d->ifindex);
		if (st >= 0)
			news = st;
	}
	if (news >= 0)
		net_set_link(d, news == 1);
}

static void net_poll(void *dev)
{
	struct net_dev *d = dev;
	struct epoll_event ev[2];
	/* epoll_pwait with no mask: musl's epoll_wait is that call, glibc's
	 * is epoll_wait(2), and the device policy allows only the first (as
	 * virtio_host.c and virtio_vsock.c). */
	int n = epoll_pwait(d->ep, ev, 2, 0, NULL);

	for (int i = 0; i < n; i++) {
		if (ev[i].data.u32 == NET_TAG_LINK) {
			net_link_read(d);
		} else if (ev[i].events & (EPOLLERR | EPOLLHUP)) {
			/* `ip link del` of an attached TAP: the fd reports
			 * EPOLLERR whatever it is asked for (tun_chr_poll) and
			 * every read fails. Stop watching it, or the level-
			 * triggered set would wake the worker forever; the
			 * link is down, transmits fail and are counted. */
			epoll_ctl(d->ep, EPOLL_CTL_DEL, d->tap_fd, NULL);
			d->tap_gone = true;
			d->watching = false;
			log_warn("%s: the TAP's interface is gone; no more receiving", d->name);
			net_set_link(d, false);
		} else {
			vnet_backend_ready(&d->n);
		}
	}
	net_watch(d);
	net_publish(d);
}

static int net_activate(void *dev, uint64_t features, const struct virtq_config *q, unsigned nq)
{
	struct net_dev *d = dev;
	int r = vnet_activate(&d->n, features, q, nq, NET_QUEUE_MAX);

	net_watch(d);
	net_publish(d);
	return r;
}

static void net_queue_notify(void *dev, unsigned q)
{
	struct net_dev *d = dev;

	vnet_queue_notify(&d->n, q);
	net_watch(d);
	net_publish(d);
}

static void net_reset(void *dev)
{
	struct net_dev *d = dev;

	vnet_reset(&d->n);
	net_watch(d);
}

static void net_dump(void *dev)
{
	struct net_dev *d = dev;
	char js[512];

	if (vnet_stats_json(&d->n.st, js, sizeof(js)) < 0)
		snprintf(js, sizeof(js), "?");
	log_state("%s: active %d link %s watching the TAP %d held frame %u/%u bytes stats %s", d->name,
		  d->n.active, d->n.status & VIRTIO_NET_S_LINK_UP ? "up" : "down", d->watching,
		  d->n.rx_off, d->n.rx_len, js);
	virtq_log_state(&d->n.rxq, d->name, VNET_RXQ);
	virtq_log_state(&d->n.txq, d->name, VNET_TXQ);
}

static void net_close(void *dev)
{
	struct net_dev *d = dev;

	if (!d)
		return;
	if (d->ep >= 0)
		close(d->ep);
	if (d->link_fd >= 0)
		close(d->link_fd);
	if (d->tap_fd >= 0)
		close(d->tap_fd);
	free(d);
}

/* ---- open(): in the VMM ------------------------------------------------- */

static int net_fail(const struct net_err *e, int r)
{
	log_err("%s", e->msg);
	return e->input ? dev_input_error(r) : r;
}

/* Every device's option combination, before any TAP is opened: a bad
 * second device must not leave a configured first one behind. */
static int net_check_all(const struct net_opts *o)
{
	for (unsigned i = 0; i < o->ndev; i++) {
		struct netcfg c = o->dev[i];
		struct net_err e = { 0 };
		int r = netcfg_finish(&c, getpid(), &e);

		if (r < 0)
			return net_fail(&e, r);
	}
	return 0;
}

static int net_epoll(struct net_dev *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = NET_TAG_LINK };

	d->ep = epoll_create1(EPOLL_CLOEXEC);
	if (d->ep < 0 || epoll_ctl(d->ep, EPOLL_CTL_ADD, d->link_fd, &ev) < 0)
		return -errno;
	/* In the set from the start, with no events until net_watch. */
	ev = (struct epoll_event){ .events = 0, .data.u32 = NET_TAG_TAP };
	if (epoll_ctl(d->ep, EPOLL_CTL_ADD, d->tap_fd, &ev) < 0)
		return -errno;
	return 0;
}

static int net_open(void **dev, const void *cfg, unsigned index, const struct dev_env *env,
		    struct virtio_signal *sig, struct virtio_dev_info *info)
{
	const struct net_opts *o = cfg;
	struct netcfg c;
	struct net_err e = { 0 };
	struct tap t = { .fd = -1 };
	struct net_dev *d;
	bool up = false;
	int r;

	*dev = NULL;
	if (index >= o->ndev)
		return -EINVAL;
	if (index == 0 && (r = net_check_all(o)) < 0)
		return r;
	c = o->dev[index];
	r = netcfg_finish(&c, getpid(), &e);
	if (r < 0)
		return net_fail(&e, r);
	r = c.tap_fd >= 0 ? tap_adopt_fd(&t, c.tap_fd, &e) : tap_open(&t, c.tap, &e);
	if (r < 0)
		return net_fail(&e, r);
	if (c.tap_fd >= 0) {
		/* The device host hands a jailed device the fds its open()
		 * created: move the inherited one to a new, close-on-exec
		 * number (the manager gave it to us to own). */
		int fd = fcntl(t.fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0) {
			r = -errno;
			log_err("--tap-fd %d: %s", c.tap_fd, strerror(-r));
			return r;
		}
		close(t.fd);
		t.fd = fd;
	}
	if (c.host_ip && (r = tap_host_config(t.name, c.host_ip, c.netmask, &e)) < 0) {
		tap_close(&t);
		return net_fail(&e, r);
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		tap_close(&t);
		return -ENOMEM;
	}
	d->tap_fd = t.fd;
	d->ep = -1;
	d->sig = sig;
	snprintf(d->name, sizeof(d->name), "virtio-net %s", t.name);
	d->link_fd = tap_link_monitor(t.name, &d->ifindex, &up);
	if (d->link_fd < 0) {
		r = d->link_fd;
		log_err("%s: link state: %s", d->name, strerror(-r));
		goto fail;
	}
	if ((r = net_epoll(d)) < 0) {
		log_err("%s: epoll: %s", d->name, strerror(-r));
		goto fail;
	}
	vnet_init(&d->n, env->gm, d->tap_fd, true, c.mac, sig);
	/* A TAP nobody brought up is a cable not plugged in yet. */
	d->n.status = up ? VIRTIO_NET_S_LINK_UP : 0;
	snprintf(info->name, sizeof(info->name), "%.23s", d->name);
	info->features = vnet_features(&d->n);
	info->config_len = NET_CFG_LEN;
	vnet_config_read(&d->n, 0, info->config, NET_CFG_LEN);
	info->poll_fd = d->ep;
	if (netcfg_ip_word(&c, info->cmdline, sizeof(info->cmdline)) < 0) {
		r = -ENOSPC;
		goto fail;
	}
	log_info("%s: mac %02x:%02x:%02x:%02x:%02x:%02x, link %s", d->name, c.mac[0], c.mac[1], c.mac[2],
		 c.mac[3], c.mac[4], c.mac[5], up ? "up" : "down");
	*dev = d;
	return 0;
fail:
	net_close(d);
	return r;
}

/* In the VMM, over words a (jailed) device published: any value renders
 * as numbers, so the JSON stays valid whatever the device wrote. */
static int net_stats_json(const uint64_t *w, char *buf, size_t len)
{
	struct vnet_stats st;

	vnet_stats_from_words(w, &st);
	return vnet_stats_json(&st, buf, len);
}

static unsigned net_instances(const void *cfg)
{
	return ((const struct net_opts *)cfg)->ndev;
}

const struct virtio_device net_virtio_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,             /* receiveq1, transmitq1 (§5.1.2); no control queue */
	.queue_max = NET_QUEUE_MAX,
	.instances = net_instances,
	.open = net_open,
	.close = net_close,
	.activate = net_activate,
	.queue_notify = net_queue_notify,
	.poll = net_poll,
	.reset = net_reset,
	.dump = net_dump,
	.stats_key = "net",
	.stats_json = net_stats_json,
};

/* ---- options ------------------------------------------------------------ */

static int net_add(struct net_opts *o, const char *opt, const char *val, char *err, size_t errlen)
{
	if (o->ndev >= NET_MAX_DEVICES)
		return dev_option_error(err, errlen, "%s %s: too many network devices (max %d)", opt, val,
					NET_MAX_DEVICES);
	netcfg_init(&o->dev[o->ndev], o->ndev);
	o->ndev++;
	return 0;
}

/* The crosvm-style flat options configure the first device. */
static int net_opt_flat(void *cfg, const char *opt, const char *val, char *err, size_t errlen)
{
	struct net_opts *o = cfg;
	struct net_err e = { 0 };
	int r;

	if (o->ndev == 0 && (r = net_add(o, opt, val, err, errlen)) < 0)
		return r;
	r = netcfg_set(&o->dev[0], opt + 2, val, &e);
	if (r == 1)
		return dev_option_error(err, errlen, "%s: not a network option", opt);
	return r < 0 ? dev_option_error(err, errlen, "%s", e.msg) : 0;
}

/* --net KEY=VALUE[,KEY=VALUE...] (or "auto"): one more device. */
static int net_opt_net(void *cfg, const char *opt, const char *val, char *err, size_t errlen)
{
	struct net_opts *o = cfg;
	char spec[256], *save = NULL;
	int r;

	if (strlen(val) >= sizeof(spec))
		return dev_option_error(err, errlen, "%s: value longer than %zu bytes", opt, sizeof(spec) - 1);
	if ((r = net_add(o, opt, val, err, errlen)) < 0)
		return r;
	if (!strcmp(val, "auto"))
		return 0;
	memcpy(spec, val, strlen(val) + 1);
	for (char *kv = strtok_r(spec, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		struct net_err e = { 0 };

		if (!eq)
			return dev_option_error(err, errlen, "%s %s: '%s' is not KEY=VALUE", opt, val, kv);
		*eq = '\0';
		r = netcfg_set(&o->dev[o->ndev - 1], kv, eq + 1, &e);
		if (r == 1)
			return dev_option_error(err, errlen,
						"%s %s: unknown key '%s' (tap, tap-fd, host-ip, netmask, guest-ip, mac)",
						opt, val, kv);
		if (r < 0)
			return dev_option_error(err, errlen, "%s %s: %s", opt, val, e.msg);
	}
	return 0;
}

static const struct dev_option net_options[] = {
	{ .name = "--net", .takes_value = true, .parse = net_opt_net,
	  .usage = "      --net SPEC        a virtio-net device on a TAP (repeatable, max 4); SPEC is\n"
		   "                        'auto' or KEY=VALUE,... with tap=NAME, tap-fd=N, host-ip=A,\n"
		   "                        netmask=M, guest-ip=A, mac=52:54:...\n" },
	{ .name = "--host-ip", .alias = "--host_ip", .takes_value = true, .parse = net_opt_flat,
	  .usage = "      --host-ip A --netmask M [--guest-ip A] [--mac MAC] [--tap NAME | --tap-fd N]\n"
		   "                        the first virtio-net device (crosvm's spellings too): vmm gives\n"
		   "                        the TAP address A and the guest the next one (ip=)\n" },
	{ .name = "--netmask", .takes_value = true, .parse = net_opt_flat },
	{ .name = "--guest-ip", .alias = "--guest_ip", .takes_value = true, .parse = net_opt_flat },
	{ .name = "--mac", .takes_value = true, .parse = net_opt_flat },
	{ .name = "--tap", .takes_value = true, .parse = net_opt_flat },
	{ .name = "--tap-fd", .alias = "--tap_fd", .takes_value = true, .parse = net_opt_flat },
	{ 0 },
};

static void net_cfg_init(void *cfg)
{
	struct net_opts *o = cfg;

	for (unsigned i = 0; i < NET_MAX_DEVICES; i++)
		netcfg_init(&o->dev[i], i);
}

static int net_status_json(const void *cfg, char *buf, size_t len)
{
	int n = snprintf(buf, len, "\"net_devices\":%u", ((const struct net_opts *)cfg)->ndev);

	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

const struct device_ops virtio_net_device = {
	.name = "virtio-net",
	.options = net_options,
	.cfg_size = sizeof(struct net_opts),
	.cfg_init = net_cfg_init,
	.status_json = net_status_json,
	.virtio = &net_virtio_ops,
};
