#include "guest-init/net.h"
#include "guest-init/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if_arp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One request buffer: header, family struct, a few attributes. */
struct net_req {
	struct nlmsghdr nh;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
		struct rtmsg rt;
	};
	char attrs[256];
};

int init_net_prefix(uint32_t mask)
{
	uint32_t m = ntohl(mask);
	int n = 0;

	while (m & 0x80000000u) {
		n++;
		m <<= 1;
	}
	return n;
}

static int net_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

static void net_attr(struct net_req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Send a request with NLM_F_ACK and wait for its NLMSG_ERROR answer. */
static int net_talk(int fd, struct net_req *r, unsigned seq)
{
	char buf[4096];

	r->nh.nlmsg_seq = seq;
	r->nh.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (send(fd, r, r->nh.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;
		unsigned int len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		len = (unsigned int)n;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EPROTO;
				return e->error;
			}
		}
	}
}

static int net_link_up(int fd, int ifindex, unsigned seq)
{
	struct net_req r;

	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.nh.nlmsg_type = RTM_NEWLINK;
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = ifindex;
	r.ifi.ifi_flags = IFF_UP;
	r.ifi.ifi_change = IFF_UP;
	return net_talk(fd, &r, seq);
}

int init_net_lo_up(void)
{
	int fd = net_open(), r;
	unsigned idx = if_nametoindex("lo");

	if (fd < 0)
		return fd;
	r = idx ? net_link_up(fd, (int)idx, 1) : -ENODEV;
	close(fd);
	return r;
}

/* Dump links (RTM_GETLINK) and return the lowest ifindex of type
 * ARPHRD_ETHER, with its name. */
static int net_first_ether(int fd, char *name, size_t n)
{
	struct net_req r;
	char buf[16384];
	int best = -ENODEV;

	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.nh.nlmsg_type = RTM_GETLINK;
	r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	r.nh.nlmsg_seq = 2;
	r.ifi.ifi_family = AF_UNSPEC;
	if (send(fd, &r, r.nh.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t got = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;
		unsigned int len;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		len = (unsigned int)got;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			struct ifinfomsg *ifi = NLMSG_DATA(h);
			struct rtattr *a;
			int alen;

			if (h->nlmsg_type == NLMSG_DONE)
				return best;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -EPROTO;
			if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
				continue;
			if (ifi->ifi_type != ARPHRD_ETHER || (best > 0 && ifi->ifi_index >= best))
				continue;
			alen = (int)IFLA_PAYLOAD(h);
			for (a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				size_t l = RTA_PAYLOAD(a);

				if (a->rta_type != IFLA_IFNAME || !l || l > n)
					continue;
				memcpy(name, RTA_DATA(a), l);
				name[l - 1] = '\0';
				best = ifi->ifi_index;
			}
		}
	}
}

int init_net_config(const struct init_ip *ip)
{
	char dev[IF_NAMESIZE + 1] = "";
	char as[INET_ADDRSTRLEN], gs[INET_ADDRSTRLEN];
	struct net_req r;
	int fd, idx, err, prefix = init_net_prefix(ip->mask);

	fd = net_open();
	if (fd < 0) {
		init_log(INIT_LOG_ERR, "ip=: netlink socket: %s", strerror(-fd));
		return fd;
	}
	if (ip->dev[0]) {
		snprintf(dev, sizeof(dev), "%s", ip->dev);
		idx = (int)if_nametoindex(dev);
		if (!idx)
			idx = -ENODEV;
	} else {
		idx = net_first_ether(fd, dev, sizeof(dev));
	}
	if (idx < 0) {
		init_log(INIT_LOG_ERR, "ip=: %s%s: %s", ip->dev[0] ? "device " : "no ethernet interface",
			 ip->dev, strerror(-idx));
		close(fd);
		return idx;
	}
	inet_ntop(AF_INET, &ip->addr, as, sizeof(as));
	inet_ntop(AF_INET, &ip->gw, gs, sizeof(gs));

	/* RTM_NEWADDR: address + local, prefix length from the netmask. */
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	r.nh.nlmsg_type = RTM_NEWADDR;
	r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	r.ifa.ifa_family = AF_INET;
	r.ifa.ifa_prefixlen = (unsigned char)prefix;
	r.ifa.ifa_index = (unsigned)idx;
	net_attr(&r, IFA_LOCAL, &ip->addr, 4);
	net_attr(&r, IFA_ADDRESS, &ip->addr, 4);
	err = net_talk(fd, &r, 3);
	if (err) {
		init_log(INIT_LOG_ERR, "ip=: add %s/%d to %s: %s", as, prefix, dev, strerror(-err));
		goto out;
	}
	err = net_link_up(fd, idx, 4);
	if (err) {
		init_log(INIT_LOG_ERR, "ip=: set %s up: %s", dev, strerror(-err));
		goto out;
	}
	if (ip->gw) {
		uint32_t any = 0;

		memset(&r, 0, sizeof(r));
		r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
		r.nh.nlmsg_type = RTM_NEWROUTE;
		r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
		r.rt.rtm_family = AF_INET;
		r.rt.rtm_dst_len = 0;
		r.rt.rtm_table = RT_TABLE_MAIN;
		r.rt.rtm_protocol = RTPROT_BOOT;
		r.rt.rtm_scope = RT_SCOPE_UNIVERSE;
		r.rt.rtm_type = RTN_UNICAST;
		net_attr(&r, RTA_DST, &any, 4);
		net_attr(&r, RTA_GATEWAY, &ip->gw, 4);
		net_attr(&r, RTA_OIF, &idx, 4);
		err = net_talk(fd, &r, 5);
		if (err) {
			init_log(INIT_LOG_ERR, "ip=: default route via %s on %s: %s", gs, dev,
				 strerror(-err));
			goto out;
		}
	}
	init_log(INIT_LOG_INFO, "%s: %s/%d%s%s", dev, as, prefix, ip->gw ? " via " : "",
		 ip->gw ? gs : "");
out:
	close(fd);
	return err;
}
