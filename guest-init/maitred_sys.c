/* Maitred's synchronous handlers: GetInfo, SetTime, Mount, ConfigureNetwork.
 * Each runs inside init's loop and is short (no waiting on other
 * processes). Every field comes from the host: bounded by nanopb already,
 * checked again here for meaning (paths, addresses, ranges). */
#include "guest-init/maitred.h"
#include "guest-init/sys.h"
#include "guest-init/log.h"
#include "guest-init/mount.h"
#include "guest-init/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

/* sysinfo(2): loads are fixed point with SI_LOAD_SHIFT fraction bits. */
#define MAITRED_SI_LOAD_SHIFT 16

/* Bounded copy, cut at n - 1 bytes, always terminated. */
static void sys_copy(char *dst, size_t n, const char *src)
{
	size_t l = strnlen(src, n - 1);

	memcpy(dst, src, l);
	dst[l] = '\0';
}

/* MemAvailable from /proc/meminfo (kB), 0 when absent (kernels < 3.14). */
static uint64_t sys_mem_available(void)
{
	char buf[4096];
	int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	const char *p;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "MemAvailable:");
	return p ? strtoull(p + 13, NULL, 10) : 0;
}

uint32_t init_maitred_get_info(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	maitred_GetInfoResponse *o = resp;
	struct utsname u;
	struct sysinfo si;
	struct timespec ts;

	(void)ctx;
	(void)req;
	if (uname(&u) < 0 || sysinfo(&si) < 0) {
		rpc_status_set(st, RPC_INTERNAL, "getinfo: %s", strerror(errno));
		return st->code;
	}
	sys_copy(o->kernel_release, sizeof(o->kernel_release), u.release);
	sys_copy(o->kernel_version, sizeof(o->kernel_version), u.version);
	sys_copy(o->hostname, sizeof(o->hostname), u.nodename);
	sys_copy(o->init_version, sizeof(o->init_version), INIT_MAITRED_VERSION);
	/* CLOCK_BOOTTIME is sysinfo's uptime with milliseconds. */
	if (clock_gettime(CLOCK_BOOTTIME, &ts) == 0)
		o->uptime_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	else
		o->uptime_ms = (uint64_t)si.uptime * 1000;
	o->load1_milli = (uint32_t)(((uint64_t)si.loads[0] * 1000) >> MAITRED_SI_LOAD_SHIFT);
	o->load5_milli = (uint32_t)(((uint64_t)si.loads[1] * 1000) >> MAITRED_SI_LOAD_SHIFT);
	o->load15_milli = (uint32_t)(((uint64_t)si.loads[2] * 1000) >> MAITRED_SI_LOAD_SHIFT);
	o->mem_total_kib = (uint64_t)si.totalram * si.mem_unit / 1024;
	o->mem_free_kib = (uint64_t)si.freeram * si.mem_unit / 1024;
	o->mem_available_kib = sys_mem_available();
	o->nprocs = si.procs;
	return RPC_OK;
}

uint32_t init_maitred_set_time(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	struct init_maitred *m = ctx;
	const maitred_SetTimeRequest *r = req;
	struct timespec ts;
	int e;

	(void)resp;
	if (r->nsec >= 1000000000u) {
		rpc_status_set(st, RPC_INVALID_ARGUMENT, "settime: nsec %u out of range (0..999999999)",
			       r->nsec);
		return st->code;
	}
	/* Before the epoch, or past what a 64-bit time_t in ns-resolution
	 * kernel time can hold (ktime_t, about year 2262). */
	if (r->sec < 0 || r->sec > 9223372035LL) {
		rpc_status_set(st, RPC_INVALID_ARGUMENT, "settime: sec %lld out of range (0..9223372035)",
			       (long long)r->sec);
		return st->code;
	}
	ts.tv_sec = (time_t)r->sec;
	ts.tv_nsec = (long)r->nsec;
	if (m->ops.set_clock)
		e = m->ops.set_clock(m->ops.arg, &ts);
	else
		e = clock_settime(CLOCK_REALTIME, &ts) < 0 ? -errno : 0;
	if (e < 0) {
		rpc_status_set(st, e == -EPERM ? RPC_PERMISSION_DENIED : RPC_INVALID_ARGUMENT,
			       "settime %lld.%09u: %s", (long long)r->sec, r->nsec, strerror(-e));
		return st->code;
	}
	init_log(INIT_LOG_INFO, "maitred: clock set to %lld.%09u", (long long)r->sec, r->nsec);
	return RPC_OK;
}


/* The MS_* flags a request may carry (mount(2)); MS_MOVE and the
 * propagation flags change other mounts and are not for this call. */
#define SYS_MOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS | \
			 MS_REMOUNT | MS_DIRSYNC | MS_NOATIME | MS_NODIRATIME | MS_BIND | \
			 MS_REC | MS_SILENT | MS_RELATIME | MS_STRICTATIME | MS_LAZYTIME)

static uint32_t sys_errno_code(int e)
{
	switch (e) {
	case -ENOENT:
	case -ENOTDIR:
	case -ENXIO:
		return RPC_NOT_FOUND;
	case -EPERM:
	case -EACCES:
	case -EROFS:
		return RPC_PERMISSION_DENIED;
	case -EBUSY:
	case -EEXIST:
		return RPC_FAILED_PRECONDITION;
	case -EINVAL:
	case -ENODEV:
	case -ENOTBLK:
	case -ENAMETOOLONG:
		return RPC_INVALID_ARGUMENT;
	default:
		return RPC_INTERNAL;
	}
}

uint32_t init_maitred_mount(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	struct init_maitred *m = ctx;
	const maitred_MountRequest *r = req;
	const char *fstype = r->fstype, *src = r->source[0] ? r->source : r->fstype;
	int e;

	(void)resp;
	if (!init_sys_path_ok(r->target)) {
		rpc_status_set(st, RPC_INVALID_ARGUMENT,
			       "mount: target '%.200s' must be an absolute path without . or ..", r->target);
		return st->code;
	}
	if (r->flags & ~(uint64_t)SYS_MOUNT_FLAGS) {
		rpc_status_set(st, RPC_INVALID_ARGUMENT, "mount %.200s: flags 0x%llx not allowed",
			       r->target, (unsigned long long)(r->flags & ~(uint64_t)SYS_MOUNT_FLAGS));
		return st->code;
	}
	if (!src[0] && !(r->flags & (MS_REMOUNT | MS_BIND))) {
		rpc_status_set(st, RPC_INVALID_ARGUMENT, "mount %.200s: no source and no fstype",
			       r->target);
		return st->code;
	}
	if (!fstype[0] && !(r->flags & (MS_REMOUNT | MS_BIND))) {
		fstype = init_mount_detect(src);
		if (!fstype) {
			rpc_status_set(st, errno == ENOENT ? RPC_NOT_FOUND : RPC_INVALID_ARGUMENT,
				       "mount %.200s: cannot detect the filesystem of %.200s: %s",
				       r->target, src, errno == EINVAL ? "unknown superblock" : strerror(errno));
			return st->code;
		}
	}
	if (r->mkdir && (e = init_mkdir_p(r->target)) < 0) {
		rpc_status_set(st, sys_errno_code(e), "mount: mkdir -p %.200s: %s", r->target, strerror(-e));
		return st->code;
	}
	if (m->ops.mount)
		e = m->ops.mount(m->ops.arg, src, r->target, fstype, (unsigned long)r->flags, r->data);
	else
		e = mount(src, r->target, fstype[0] ? fstype : NULL, (unsigned long)r->flags,
			  r->data[0] ? r->data : NULL) < 0 ? -errno : 0;
	if (e < 0) {
		rpc_status_set(st, sys_errno_code(e), "mount %.200s on %.200s (%s): %s", src, r->target,
			       fstype[0] ? fstype : "-", strerror(-e));
		return st->code;
	}
	init_log(INIT_LOG_INFO, "maitred: mounted %s on %s (%s)", src, r->target, fstype[0] ? fstype : "-");
	return RPC_OK;
}

/* ---- ConfigureNetwork ---- */

static uint32_t sys_net_common(const maitred_ConfigureNetworkRequest *r,
			       struct init_maitred_net *o, struct rpc_status *st);

/* An IPv6 address: prefix_len (1..128) instead of a netmask; the gateway,
 * if any, IPv6 too (link-local ones are the usual router address, so no
 * subnet check). */
static uint32_t sys_net_parse6(const maitred_ConfigureNetworkRequest *r, const struct in6_addr *a6,
			       struct init_maitred_net *o, struct rpc_status *st)
{
	struct in6_addr g;

	if (r->netmask[0] || r->prefix_len < 1 || r->prefix_len > 128) {
		rpc_status_set(st, RPC_INVALID_ARGUMENT,
			       "network: IPv6 address %s needs prefix_len 1..128 (no netmask)", r->address);
		return st->code;
	}
	o->has_addr6 = true;
	memcpy(o->addr6, a6, 16);
	o->prefix6 = r->prefix_len;
	if (r->gateway[0]) {
		if (inet_pton(AF_INET6, r->gateway, &g) != 1) {
			rpc_status_set(st, RPC_INVALID_ARGUMENT, "network: gateway '%.46s' is not IPv6",
				       r->gateway);
			return st->code;
		}
		o->has_gw6 = true;
		memcpy(o->gw6, &g, 16);
	}
	return sys_net_common(r, o, st);
}

uint32_t init_maitred_net_parse(const maitred_ConfigureNetworkRequest *r,
				struct init_maitred_net *o, struct rpc_status *st)
{
	struct in_addr a;
	struct in6_addr a6;

	memset(o, 0, sizeof(*o));
	if (strlen(r->ifname) >= IF_NAMESIZE || strchr(r->ifname, '/') ||
	    !strcmp(r->ifname, ".") || !strcmp(r->ifname, "..")) {
		rpc_status_set(st, RPC_INVALID_ARGUMENT, "network: bad interface name '%.20s'", r->ifname);
		return st->code;
	}
	sys_copy(o->ifname, sizeof(o->ifname), r->ifname);
	if (r->address[0]) {
		if (inet_pton(AF_INET, r->address, &a) != 1) {
			if (inet_pton(AF_INET6, r->address, &a6) == 1)
				return sys_net_parse6(r, &a6, o, st);
			rpc_status_set(st, RPC_INVALID_ARGUMENT, "network: address '%.46s' is not IPv4 or IPv6",
				       r->address);
			return st->code;
		}
		o->has_addr = true;
		o->addr = a.s_addr;
		if (r->netmask[0]) {
			uint32_t mk;

			if (inet_pton(AF_INET, r->netmask, &a) != 1) {
				rpc_status_set(st, RPC_INVALID_ARGUMENT, "network: netmask '%.46s' is not IPv4",
					       r->netmask);
				return st->code;
			}
			mk = ntohl(a.s_addr);
			/* Contiguous ones: ~m + 1 is a power of two. */
			if ((~mk + 1) & ~mk) {
				rpc_status_set(st, RPC_INVALID_ARGUMENT, "network: netmask %s is not contiguous",
					       r->netmask);
				return st->code;
			}
			o->mask = a.s_addr;
		} else if (r->prefix_len >= 1 && r->prefix_len <= 32) {
			o->mask = htonl(r->prefix_len == 32 ? 0xffffffffu :
					~(0xffffffffu >> r->prefix_len));
		} else {
			rpc_status_set(st, RPC_INVALID_ARGUMENT,
				       "network: prefix_len %u out of range (1..32) and no netmask",
				       r->prefix_len);
			return st->code;
		}
	} else if (r->gateway[0] || r->netmask[0] || r->prefix_len) {
		rpc_status_set(st, RPC_INVALID_ARGUMENT, "network: gateway/netmask/prefix without an address");
		return st->code;
	}
	if (r->gateway[0]) {
		if (inet_pton(AF_INET, r->gateway, &a) != 1) {
			rpc_status_set(st, RPC_INVALID_ARGUMENT, "network: gateway '%.46s' is not IPv4",
				       r->gateway);
			return st->code;
		}
		if ((a.s_addr & o->mask) != (o->addr & o->mask)) {
			rpc_status_set(st, RPC_INVALID_ARGUMENT, "network: gateway %s is outside %s's subnet",
				       r->gateway, r->address);
			return st->code;
		}
		o->gw = a.s_addr;
	}
	return sys_net_common(r, o, st);
}

/* MTU and name servers, for either family. */
static uint32_t sys_net_common(const maitred_ConfigureNetworkRequest *r,
			       struct init_maitred_net *o, struct rpc_status *st)
{
	struct in_addr a;
	struct in6_addr a6;

	if (r->mtu && (r->mtu < 68 || r->mtu > 65535)) {
		/* 68: the IPv4 minimum (RFC 791); 65535 the largest IP packet. */
		rpc_status_set(st, RPC_INVALID_ARGUMENT, "network: mtu %u out of range (68..65535)", r->mtu);
		return st->code;
	}
	o->mtu = r->mtu;
	for (pb_size_t i = 0; i < r->dns_count; i++) {
		if (inet_pton(AF_INET, r->dns[i], &a) != 1 && inet_pton(AF_INET6, r->dns[i], &a6) != 1) {
			rpc_status_set(st, RPC_INVALID_ARGUMENT, "network: name server '%.46s' is not an IP address",
				       r->dns[i]);
			return st->code;
		}
		sys_copy(o->dns[o->ndns++], sizeof(o->dns[0]), r->dns[i]);
	}
	return RPC_OK;
}

int init_maitred_resolv_text(const struct init_maitred_net *n, char *buf, size_t len)
{
	size_t o = 0;
	int k = snprintf(buf, len, "# written by init (maitred ConfigureNetwork)\n");

	if (k < 0 || (size_t)k >= len)
		return -ENOSPC;
	o = (size_t)k;
	for (int i = 0; i < n->ndns; i++) {
		k = snprintf(buf + o, len - o, "nameserver %s\n", n->dns[i]);
		if (k < 0 || (size_t)k >= len - o)
			return -ENOSPC;
		o += (size_t)k;
	}
	return (int)o;
}

/* The first ethernet interface (lowest ifindex with /sys/class/net/X/type
 * 1, ARPHRD_ETHER), as init's ip= picks it. */
static int sys_first_ether(char *name, size_t n)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	unsigned best = 0;

	if (!ifs)
		return -errno;
	for (i = ifs; i->if_index; i++) {
		char p[64], t[16] = "";
		int fd;
		ssize_t k;

		snprintf(p, sizeof(p), "/sys/class/net/%s/type", i->if_name);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		k = read(fd, t, sizeof(t) - 1);
		close(fd);
		if (k <= 0 || atoi(t) != 1 || (best && i->if_index >= best))
			continue;
		best = i->if_index;
		sys_copy(name, n, i->if_name);
	}
	if_freenameindex(ifs);
	return best ? 0 : -ENODEV;
}

static int sys_set_mtu(const char *ifname, unsigned mtu)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), e = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	sys_copy(ifr.ifr_name, sizeof(ifr.ifr_name), ifname);
	ifr.ifr_mtu = (int)mtu;
	if (ioctl(fd, SIOCSIFMTU, &ifr) < 0)
		e = -errno;
	close(fd);
	return e;
}

/* IPv6 over rtnetlink (rtnetlink(7)); init_net_config does IPv4 only. One
 * request with NLM_F_ACK, its NLMSG_ERROR read back. */
struct sys_nlreq {
	struct nlmsghdr nh;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
		struct rtmsg rt;
	};
	char attrs[128];
};

static void sys_nl_attr(struct sys_nlreq *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static int sys_nl_talk(struct sys_nlreq *r, unsigned seq)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[4096];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), e = -EPROTO;

	if (fd < 0)
		return -errno;
	r->nh.nlmsg_seq = seq;
	r->nh.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || send(fd, r, r->nh.nlmsg_len, 0) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		unsigned int len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? -errno : -EPROTO;
			break;
		}
		len = (unsigned int)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			struct nlmsgerr *ne = NLMSG_DATA(h);

			if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			e = h->nlmsg_len < NLMSG_LENGTH(sizeof(*ne)) ? -EPROTO : ne->error;
			close(fd);
			return e;
		}
	}
	close(fd);
	return e;
}

/* Link up, the address (IFA_F_NODAD: usable at once, no tentative phase;
 * the host assigned it), the default route via the gateway. Returns 0 or
 * -errno with *step naming the failing one. */
static int sys_net_apply6(const struct init_maitred_net *n, int idx, const char **step)
{
	struct sys_nlreq r;
	uint32_t oif = (uint32_t)idx, flags = IFA_F_NODAD;
	int e;

	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.nh.nlmsg_type = RTM_NEWLINK;
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = idx;
	r.ifi.ifi_flags = IFF_UP;
	r.ifi.ifi_change = IFF_UP;
	*step = "set up";
	if ((e = sys_nl_talk(&r, 1)) < 0)
		return e;
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	r.nh.nlmsg_type = RTM_NEWADDR;
	r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	r.ifa.ifa_family = AF_INET6;
	r.ifa.ifa_prefixlen = (unsigned char)n->prefix6;
	r.ifa.ifa_flags = IFA_F_NODAD;
	r.ifa.ifa_index = (unsigned)idx;
	sys_nl_attr(&r, IFA_LOCAL, n->addr6, 16);
	sys_nl_attr(&r, IFA_ADDRESS, n->addr6, 16);
	sys_nl_attr(&r, IFA_FLAGS, &flags, sizeof(flags));
	*step = "add address";
	if ((e = sys_nl_talk(&r, 2)) < 0 || !n->has_gw6)
		return e;
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.nh.nlmsg_type = RTM_NEWROUTE;
	r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	r.rt.rtm_family = AF_INET6;
	r.rt.rtm_table = RT_TABLE_MAIN;
	r.rt.rtm_protocol = RTPROT_BOOT;
	r.rt.rtm_scope = RT_SCOPE_UNIVERSE;
	r.rt.rtm_type = RTN_UNICAST;
	sys_nl_attr(&r, RTA_GATEWAY, n->gw6, 16);
	sys_nl_attr(&r, RTA_OIF, &oif, 4);
	*step = "default route";
	return sys_nl_talk(&r, 3);
}

static int sys_write_file(const char *path, const char *text, size_t len)
{
	/* Written in place (not renamed over), so an image whose
	 * /etc/resolv.conf links into /run keeps its link. */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), e = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		e = errno ? -errno : -EIO;
	if (close(fd) < 0 && !e)
		e = -errno;
	return e;
}

uint32_t init_maitred_configure_network(void *ctx, const void *req, void *resp,
					struct rpc_status *st)
{
	struct init_maitred *m = ctx;
	struct init_maitred_net n;
	char dev[IF_NAMESIZE + 1];
	int e;

	(void)resp;
	if (init_maitred_net_parse(req, &n, st) != RPC_OK)
		return st->code;
	if (n.ifname[0]) {
		sys_copy(dev, sizeof(dev), n.ifname);
		if (!if_nametoindex(dev)) {
			rpc_status_set(st, RPC_NOT_FOUND, "network: no interface %s", dev);
			return st->code;
		}
	} else if (n.has_addr || n.has_addr6 || n.mtu) {
		e = sys_first_ether(dev, sizeof(dev));
		if (e < 0) {
			rpc_status_set(st, RPC_NOT_FOUND, "network: no ethernet interface: %s", strerror(-e));
			return st->code;
		}
	}
	if (n.mtu && (e = sys_set_mtu(dev, n.mtu)) < 0) {
		rpc_status_set(st, sys_errno_code(e), "network: %s mtu %u: %s", dev, n.mtu, strerror(-e));
		return st->code;
	}
	if (n.has_addr) {
		struct init_ip ip;

		memset(&ip, 0, sizeof(ip));
		ip.set = true;
		ip.addr = n.addr;
		ip.mask = n.mask;
		ip.gw = n.gw;
		sys_copy(ip.dev, sizeof(ip.dev), dev);
		e = init_net_config(&ip);
		if (e < 0) {
			rpc_status_set(st, sys_errno_code(e), "network: configure %s as %s: %s", dev,
				       ((const maitred_ConfigureNetworkRequest *)req)->address, strerror(-e));
			return st->code;
		}
	}
	if (n.has_addr6) {
		const char *step = "";

		e = sys_net_apply6(&n, (int)if_nametoindex(dev), &step);
		if (e < 0) {
			rpc_status_set(st, sys_errno_code(e), "network: %s: %s %s/%u: %s", dev, step,
				       ((const maitred_ConfigureNetworkRequest *)req)->address, n.prefix6,
				       strerror(-e));
			return st->code;
		}
		init_log(INIT_LOG_INFO, "maitred: %s: %s/%u", dev,
			 ((const maitred_ConfigureNetworkRequest *)req)->address, n.prefix6);
	}
	if (n.ndns) {
		char text[512];
		const char *path = m->ops.resolv_conf ? m->ops.resolv_conf : "/etc/resolv.conf";
		int len = init_maitred_resolv_text(&n, text, sizeof(text));

		e = len < 0 ? len : sys_write_file(path, text, (size_t)len);
		if (e < 0) {
			rpc_status_set(st, e == -EROFS ? RPC_FAILED_PRECONDITION : sys_errno_code(e),
				       "network: write %s: %s%s", path, strerror(-e),
				       e == -EROFS ? " (read-only root: link it to a file in /run)" : "");
			return st->code;
		}
	}
	return RPC_OK;
}
