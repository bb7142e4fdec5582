#include "vmm/devices/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/devices/vnet.h"

/* Header size and non-blocking mode, common to a created and an adopted
 * fd: the RX path reads only when the guest has buffers and must never
 * block the device's loop. */
static int tap_prepare(int fd, const char *name, struct net_err *e)
{
	int sz = TAP_VNET_HDR_LEN, fl;

	if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0)
		return net_err_set(e, false, -errno, "tap %s: TUNSETVNETHDRSZ: %s", name, strerror(errno));
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return net_err_set(e, false, -errno, "tap %s: O_NONBLOCK: %s", name, strerror(errno));
	/* No offloads until the guest negotiates them (activate). */
	if (tap_set_offload(fd, 0) < 0)
		return net_err_set(e, false, -errno, "tap %s: TUNSETOFFLOAD: %s", name, strerror(errno));
	return 0;
}

int tap_open(struct tap *t, const char *name, struct net_err *e)
{
	struct ifreq ifr;
	int fd, r;

	t->fd = -1;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		return net_err_set(e, err == ENOENT || err == ENODEV || err == EACCES || err == EPERM,
				   -err, "/dev/net/tun: %s (virtio-net needs the tun driver%s)", strerror(err),
				   err == EACCES || err == EPERM ? " and access to it" : "");
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name[0] ? name : "vmtap%d");
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;
		const char *n = name[0] ? name : "vmtap%d";

		close(fd);
		if (err == EPERM)
			return net_err_set(e, true, -err,
					   "tap %s: not permitted (creating or attaching a TAP needs CAP_NET_ADMIN, or a TAP owned by this user)",
					   n);
		if (err == EBUSY)
			return net_err_set(e, true, -err, "tap %s: in use (another process holds this TAP)", n);
		if (err == EINVAL)
			return net_err_set(e, true, -err, "tap %s: the name is taken by a device that is not a TAP",
					   n);
		return net_err_set(e, false, -err, "tap %s: TUNSETIFF: %s", n, strerror(err));
	}
	memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
	t->name[IFNAMSIZ - 1] = '\0';
	r = tap_prepare(fd, t->name, e);
	if (r < 0) {
		close(fd);
		return r;
	}
	t->fd = fd;
	t->created = !name[0];
	return 0;
}

int tap_adopt_fd(struct tap *t, int fd, struct net_err *e)
{
	struct ifreq ifr;
	int r, want = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;

	t->fd = -1;
	memset(&ifr, 0, sizeof(ifr));
	if (fcntl(fd, F_GETFD) < 0)
		return net_err_set(e, true, -EBADF, "--tap-fd %d: not an open file descriptor", fd);
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return net_err_set(e, true, -EINVAL, "--tap-fd %d: not a TUN/TAP device (TUNGETIFF: %s)", fd,
				   strerror(errno));
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TAP)
		return net_err_set(e, true, -EINVAL, "--tap-fd %d: %s is a TUN, not a TAP device", fd,
				   ifr.ifr_name);
	if ((ifr.ifr_flags & want) != want)
		return net_err_set(e, true, -EINVAL,
				   "--tap-fd %d: %s was opened without %s (set IFF_TAP|IFF_NO_PI|IFF_VNET_HDR in TUNSETIFF)",
				   fd, ifr.ifr_name, ifr.ifr_flags & IFF_NO_PI ? "IFF_VNET_HDR" : "IFF_NO_PI");
	memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
	t->name[IFNAMSIZ - 1] = '\0';
	r = tap_prepare(fd, t->name, e);
	if (r < 0)
		return r;
	t->fd = fd;
	t->created = false;
	return 0;
}

int tap_set_offload(int fd, uint64_t features)
{
	unsigned off = 0;

	/* The TUN_F_* flags say what the guest accepts (virtio 1.2 §5.1.3:
	 * the GUEST_* features): partial checksums, then GSO kinds. */
	if (features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		if (features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
		if ((off & (TUN_F_TSO4 | TUN_F_TSO6)) && (features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN)))
			off |= TUN_F_TSO_ECN;
	}
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)off) < 0)
		return -errno;
	return 0;
}

void tap_close(struct tap *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* rtnetlink: one request with NLM_F_ACK and its NLMSG_ERROR answer. */
struct tap_nlreq {
	struct nlmsghdr nh;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
	};
	char attrs[64];
};

static int tap_nl_talk(int fd, struct tap_nlreq *r, unsigned seq)
{
	char buf[1024];

	r->nh.nlmsg_seq = seq;
	r->nh.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (send(fd, r, r->nh.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		unsigned len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		len = (unsigned)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			struct nlmsgerr *er = NLMSG_DATA(h);

			if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			return h->nlmsg_len < NLMSG_LENGTH(sizeof(*er)) ? -EPROTO : er->error;
		}
	}
}

static void tap_nl_attr(struct tap_nlreq *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

int tap_host_config(const char *name, uint32_t addr, uint32_t mask, struct net_err *e)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct tap_nlreq r;
	unsigned idx = if_nametoindex(name), prefix = 0;
	uint32_t brd = addr | ~mask;
	char as[INET_ADDRSTRLEN];
	int fd, err;

	if (!idx)
		return net_err_set(e, false, -errno, "tap %s: %s", name, strerror(errno));
	for (uint32_t m = ntohl(mask); m & 0x80000000u; m <<= 1)
		prefix++;
	inet_ntop(AF_INET, &addr, as, sizeof(as));
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return net_err_set(e, false, -errno, "tap %s: netlink socket: %s", name, strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	/* RTM_NEWADDR (rtnetlink(7)): local address, prefix, broadcast. */
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	r.nh.nlmsg_type = RTM_NEWADDR;
	r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	r.ifa.ifa_family = AF_INET;
	r.ifa.ifa_prefixlen = (unsigned char)prefix;
	r.ifa.ifa_index = idx;
	tap_nl_attr(&r, IFA_LOCAL, &addr, 4);
	tap_nl_attr(&r, IFA_ADDRESS, &addr, 4);
	if (prefix < 31)
		tap_nl_attr(&r, IFA_BROADCAST, &brd, 4);
	err = tap_nl_talk(fd, &r, 1);
	if (err) {
		net_err_set(e, err == -EPERM, err, "tap %s: add %s/%u: %s%s", name, as, prefix, strerror(-err),
			    err == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
		goto out_close;
	}
	/* RTM_NEWLINK: IFF_UP. */
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.nh.nlmsg_type = RTM_NEWLINK;
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = (int)idx;
	r.ifi.ifi_flags = IFF_UP;
	r.ifi.ifi_change = IFF_UP;
	err = tap_nl_talk(fd, &r, 2);
	if (err)
		net_err_set(e, err == -EPERM, err, "tap %s: set up: %s", name, strerror(-err));
	goto out_close;
out:
	net_err_set(e, false, err, "tap %s: netlink: %s", name, strerror(-err));
out_close:
	close(fd);
	return err;
}

int tap_link_monitor(const char *name, int *ifindex, bool *up)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	struct ifreq ifr;
	int fd, s, err;

	/* The initial state through SIOCGIFFLAGS (netdevice(7)), then the
	 * changes as RTM_NEWLINK multicasts: a socket that only listens
	 * (rtnetlink(7), RTMGRP_LINK). */
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	err = ioctl(s, SIOCGIFINDEX, &ifr) < 0 ? -errno : 0;
	*ifindex = ifr.ifr_ifindex;
	if (!err)
		err = ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ? -errno : 0;
	close(s);
	if (err)
		return err;
	*up = ifr.ifr_flags & IFF_UP;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int tap_link_parse(const void *buf, size_t len, int ifindex)
{
	const uint8_t *p = buf;
	int state = -ENOENT;

	/* Each header's length is checked against what is left, so a
	 * truncated message ends the walk (NLMSG_OK's rule). */
	for (size_t off = 0; len - off >= sizeof(struct nlmsghdr);) {
		struct nlmsghdr h;
		struct ifinfomsg ifi;

		memcpy(&h, p + off, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len - off)
			break;
		if ((h.nlmsg_type == RTM_NEWLINK || h.nlmsg_type == RTM_DELLINK) &&
		    h.nlmsg_len >= NLMSG_HDRLEN + sizeof(ifi)) {
			memcpy(&ifi, p + off + NLMSG_HDRLEN, sizeof(ifi));
			/* The last one is the news; a deleted TAP is down. */
			if (ifi.ifi_index == ifindex)
				state = h.nlmsg_type == RTM_NEWLINK && (ifi.ifi_flags & IFF_UP);
		}
		off += NLMSG_ALIGN(h.nlmsg_len);
		if (off > len)
			break;
	}
	return state;
}
