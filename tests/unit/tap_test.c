/* TAP host side (vmm/devices/tap.c), each case in a child that made its
 * own network namespace (unshare(CLONE_NEWNET)): no host interface is ever
 * seen or touched. Needs root (CAP_NET_ADMIN in the new namespace). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/netns.h"
#include "tests/unit/t.h"
#include "tests/unit/virtq_fake.h"
#include "vmm/devices/tap.h"
#include "vmm/devices/vnet.h"

static void creates_tap(void)
{
	struct tap t;
	struct net_err e = { 0 };
	struct ifreq ifr = { 0 };
	int sz = 0;

	CHECK_EQ(tap_open(&t, "", &e), 0);
	CHECK(!strcmp(t.name, "vmtap0"));
	CHECK(t.created);
	CHECK_EQ(ioctl(t.fd, TUNGETIFF, &ifr), 0);
	CHECK_EQ(ifr.ifr_flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
	CHECK_EQ(ioctl(t.fd, TUNGETVNETHDRSZ, &sz), 0);
	CHECK_EQ(sz, 12);
	CHECK(fcntl(t.fd, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(t.fd, F_GETFD) & FD_CLOEXEC);
	CHECK_EQ(tap_set_offload(t.fd, VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
				       VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN)),
		 0);
	tap_close(&t);
	CHECK_EQ(t.fd, -1);
}

/* The host address is set and the link is up: a datagram to the guest's
 * address makes the kernel ARP for it through the TAP, and the frame read
 * there starts with a 12-byte virtio-net header (TUNSETVNETHDRSZ). */
static void configures_host_side(void)
{
	struct tap t;
	struct net_err e = { 0 };
	struct ifreq ifr = { 0 };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct pollfd p;
	uint8_t buf[2048];
	ssize_t n;
	int s;

	CHECK_EQ(tap_open(&t, "nt0", &e), 0);
	CHECK(!t.created);
	CHECK_EQ(tap_host_config("nt0", inet_addr("172.30.0.1"), inet_addr("255.255.255.252"), &e), 0);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "nt0");
	CHECK_EQ(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	CHECK(ifr.ifr_flags & IFF_UP);
	CHECK_EQ(ioctl(s, SIOCGIFADDR, &ifr), 0);
	CHECK_EQ(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr, inet_addr("172.30.0.1"));
	CHECK_EQ(ioctl(s, SIOCGIFNETMASK, &ifr), 0);
	CHECK_EQ(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr, inet_addr("255.255.255.252"));
	to.sin_addr.s_addr = inet_addr("172.30.0.2");
	CHECK_EQ(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
	p = (struct pollfd){ .fd = t.fd, .events = POLLIN };
	n = -1;
	/* Skip IPv6 router solicitations and the like until the ARP request. */
	for (int i = 0; i < 20 && poll(&p, 1, 3000) == 1; i++) {
		n = read(t.fd, buf, sizeof(buf));
		if (n >= VNET_HDR_LEN + 14 && buf[VNET_HDR_LEN + 12] == 0x08 && buf[VNET_HDR_LEN + 13] == 0x06)
			break;
		n = -1;
	}
	/* ARP request: 12 + 14 + 28 bytes, asking for 172.30.0.2. */
	CHECK_EQ(n, VNET_HDR_LEN + 14 + 28);
	CHECK(!memcmp(buf + VNET_HDR_LEN, "\xff\xff\xff\xff\xff\xff", 6));
	CHECK(n > 0 && !memcmp(buf + VNET_HDR_LEN + 14 + 24, "\xac\x1e\x00\x02", 4));
	close(s);
	tap_close(&t);
}

static void refuses_busy_and_foreign_names(void)
{
	struct tap a, b;
	struct net_err e = { 0 };

	CHECK_EQ(tap_open(&a, "busy0", &e), 0);
	CHECK_EQ(tap_open(&b, "busy0", &e), -EBUSY);
	CHECK(e.input);
	CHECK(!strcmp(e.msg, "tap busy0: in use (another process holds this TAP)"));
	CHECK_EQ(b.fd, -1);
	CHECK_EQ(tap_open(&b, "lo", &e), -EINVAL);
	CHECK(e.input);
	CHECK(!strcmp(e.msg, "tap lo: the name is taken by a device that is not a TAP"));
	tap_close(&a);
	/* Free again once the holder closed it (not persistent). */
	CHECK_EQ(tap_open(&b, "busy0", &e), 0);
	tap_close(&b);
}

/* Without CAP_NET_ADMIN (effective set cleared with capset) creating a
 * TAP is refused with the input-class EPERM error. */
static void refuses_without_cap_net_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };
	struct tap t;
	struct net_err e = { 0 };

	CHECK_EQ(syscall(SYS_capget, &h, d), 0);
	d[0].effective &= ~(1u << CAP_NET_ADMIN);
	CHECK_EQ(syscall(SYS_capset, &h, d), 0);
	CHECK_EQ(tap_open(&t, "np0", &e), -EPERM);
	CHECK(e.input);
	CHECK(strstr(e.msg, "tap np0: not permitted") == e.msg);
	CHECK(strstr(e.msg, "CAP_NET_ADMIN"));
}

static int open_tun(const char *name, short flags)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = flags;
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -1;
	return fd;
}

/* --tap-fd: what a manager hands over is checked before use. */
static void adopts_inherited_fd(void)
{
	struct tap t;
	struct net_err e = { 0 };
	int good = open_tun("mgr0", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
	int nohdr = open_tun("mgr1", IFF_TAP | IFF_NO_PI);
	int tun = open_tun("mgr2", IFF_TUN | IFF_NO_PI | IFF_VNET_HDR);
	int sz = 0, pp[2];

	CHECK(good >= 0 && nohdr >= 0 && tun >= 0);
	CHECK_EQ(tap_adopt_fd(&t, good, &e), 0);
	CHECK(!strcmp(t.name, "mgr0"));
	CHECK_EQ(t.fd, good);
	CHECK_EQ(ioctl(good, TUNGETVNETHDRSZ, &sz), 0);
	CHECK_EQ(sz, 12);
	CHECK(fcntl(good, F_GETFL) & O_NONBLOCK);
	CHECK_EQ(tap_adopt_fd(&t, nohdr, &e), -EINVAL);
	CHECK(e.input);
	CHECK(strstr(e.msg, "mgr1 was opened without IFF_VNET_HDR"));
	CHECK_EQ(t.fd, -1);
	/* (A TAP opened without IFF_NO_PI is not tested: kernel 6.18's
	 * TUNGETIFF reports IFF_NO_PI for it anyway.) */
	CHECK_EQ(tap_adopt_fd(&t, tun, &e), -EINVAL);
	CHECK(strstr(e.msg, "mgr2 is a TUN, not a TAP"));
	CHECK_EQ(pipe(pp), 0);
	CHECK_EQ(tap_adopt_fd(&t, pp[0], &e), -EINVAL);
	CHECK(strstr(e.msg, "not a TUN/TAP device"));
	CHECK_EQ(tap_adopt_fd(&t, 999, &e), -EBADF);
	CHECK(e.input);
	CHECK(!strcmp(e.msg, "--tap-fd 999: not an open file descriptor"));
}


static uint16_t csum16(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The data path on a real TAP: a UDP datagram the guest transmits
 * (header + frame in one descriptor) reaches a host socket; the host's
 * reply makes the kernel ARP for the guest, and that frame lands in the
 * guest's receive buffer with num_buffers = 1. */
static void vnet_over_tap(void)
{
	static const uint8_t gmac[6] = { 0x52, 0x54, 0, 0, 0, 2 };
	struct fake_ring r;  /* receiveq; transmitq at 0x80000 */
	struct virtq_config q[2];
	struct virtio_signal sig = { .irqfd = -1 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(5000) };
	struct ifreq ifr = { 0 };
	struct tap t;
	struct net_err e = { 0 };
	struct vnet *n = calloc(1, sizeof(*n));
	uint8_t *f, buf[64];
	uint16_t one = 1, v;
	int s;

	CHECK_EQ(tap_open(&t, "vn0", &e), 0);
	CHECK_EQ(tap_host_config("vn0", inet_addr("172.30.0.1"), inet_addr("255.255.255.252"), &e), 0);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	a.sin_addr.s_addr = inet_addr("172.30.0.1");
	CHECK_EQ(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "vn0");
	CHECK_EQ(ioctl(s, SIOCGIFHWADDR, &ifr), 0);

	fr_init(&r, 8);
	vnet_init(n, &r.gm, t.fd, true, gmac, &sig);
	q[VNET_RXQ] = fr_config(&r);
	q[VNET_TXQ] = (struct virtq_config){ .size = 8, .ready = true, .desc = 0x80000,
					     .avail = 0x81000, .used = 0x82000 };
	CHECK_EQ(vnet_activate(n, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |
				      VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM),
			       q, 2, 256), 0);
	/* virtio header (zeros) + Ethernet + IPv4 + UDP + "hello". */
	f = r.mem + 0x90000;
	memcpy(f + 12, ifr.ifr_hwaddr.sa_data, 6);
	memcpy(f + 12 + 6, gmac, 6);
	f[12 + 12] = 0x08;
	f[12 + 14] = 0x45;
	f[12 + 14 + 3] = 20 + 8 + 5;
	f[12 + 14 + 8] = 64;
	f[12 + 14 + 9] = 17;
	memcpy(f + 12 + 14 + 12, "\xac\x1e\x00\x02\xac\x1e\x00\x01", 8);
	v = htons(csum16(f + 12 + 14, 20));
	memcpy(f + 12 + 14 + 10, &v, 2);
	memcpy(f + 12 + 34, "\x13\x88\x13\x88\x00\x0d\x00\x00hello", 13);
	fr_desc_in(&r, 0x80000, 0, 0x90000, 12 + 14 + 20 + 8 + 5, 0, 0);
	memcpy(r.mem + 0x81004, "\0\0", 2);
	memcpy(r.mem + 0x81002, &one, 2);
	vnet_queue_notify(n, VNET_TXQ);
	CHECK_EQ(n->st.tx_packets, 1);
	CHECK_EQ(recv(s, buf, sizeof(buf), 0), 5);  /* blocking: the datagram is there */
	CHECK(!memcmp(buf, "hello", 5));

	/* Reply: the kernel ARPs for 172.30.0.2 through the TAP. */
	fr_desc(&r, 0, FR_DATA, 2048, VIRTQ_DESC_F_WRITE, 0);
	fr_avail(&r, 0);
	a.sin_addr.s_addr = inet_addr("172.30.0.2");
	CHECK_EQ(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)), 1);
	for (int i = 0; i < 300 && !n->st.rx_packets; i++) {
		struct pollfd p = { .fd = t.fd, .events = POLLIN };

		if (vnet_want_backend(n) && poll(&p, 1, 10) == 1)
			vnet_backend_ready(n);
	}
	CHECK_EQ(n->st.rx_packets, 1);
	CHECK_EQ(fr_used_idx(&r), 1);
	CHECK_EQ(r.mem[FR_DATA + 10], 1);                  /* num_buffers */
	CHECK_EQ(r.mem[FR_DATA + 12 + 12], 0x08);          /* an IPv6 RS or the ARP */
	close(s);
	tap_close(&t);
	free(n);
	fr_free(&r);
}

/* One RTM_* message for ifindex with flags, appended at buf + *off. */
static void nl_put(uint8_t *buf, size_t *off, uint16_t type, int ifindex, unsigned flags)
{
	struct nlmsghdr h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)), .nlmsg_type = type };
	struct ifinfomsg ifi = { .ifi_index = ifindex, .ifi_flags = flags };

	memcpy(buf + *off, &h, sizeof(h));
	memcpy(buf + *off + NLMSG_HDRLEN, &ifi, sizeof(ifi));
	*off += NLMSG_ALIGN(h.nlmsg_len);
}

/* The link news for one interface: the last of its messages wins, other
 * interfaces and other types are ignored, a truncated message ends the
 * walk. */
static void link_parse(void)
{
	uint32_t mem[256];
	uint8_t *buf = (uint8_t *)mem;
	size_t len = 0;

	nl_put(buf, &len, RTM_NEWLINK, 7, IFF_UP);
	CHECK_EQ(tap_link_parse(buf, len, 7), 1);
	CHECK_EQ(tap_link_parse(buf, len, 8), -ENOENT);
	nl_put(buf, &len, RTM_NEWLINK, 8, 0);
	nl_put(buf, &len, RTM_NEWADDR, 7, 0);
	CHECK_EQ(tap_link_parse(buf, len, 7), 1);
	CHECK_EQ(tap_link_parse(buf, len, 8), 0);
	nl_put(buf, &len, RTM_NEWLINK, 7, IFF_BROADCAST);
	CHECK_EQ(tap_link_parse(buf, len, 7), 0);
	nl_put(buf, &len, RTM_NEWLINK, 7, IFF_UP);
	CHECK_EQ(tap_link_parse(buf, len, 7), 1);
	/* The last message cut short: not read, the one before stands. */
	CHECK_EQ(tap_link_parse(buf, len - 1, 7), 0);
	len = 0;
	nl_put(buf, &len, RTM_DELLINK, 7, IFF_UP);
	CHECK_EQ(tap_link_parse(buf, len, 7), 0);
	/* A header claiming more than the datagram holds. */
	((struct nlmsghdr *)mem)->nlmsg_len = 4096;
	CHECK_EQ(tap_link_parse(buf, len, 7), -ENOENT);
	CHECK_EQ(tap_link_parse(buf, 3, 7), -ENOENT);
}

/* The monitor reports the state now and then `ip link set down`. */
static void link_monitor(void)
{
	struct tap t;
	struct net_err e = { 0 };
	struct ifreq ifr = { 0 };
	struct pollfd p;
	uint32_t buf[2048];
	int idx = -1, fd, s, st = -ENOENT;
	bool up = true;

	CHECK_EQ(tap_open(&t, "lm0", &e), 0);
	fd = tap_link_monitor("lm0", &idx, &up);
	CHECK(fd >= 0);
	CHECK_EQ(idx, (int)if_nametoindex("lm0"));
	CHECK(!up);  /* a new TAP is down */
	CHECK_EQ(tap_host_config("lm0", inet_addr("172.30.0.1"), inet_addr("255.255.255.252"), &e), 0);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	for (int i = 0; i < 20 && st != 1 && poll(&p, 1, 2000) == 1; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0 && tap_link_parse(buf, (size_t)n, idx) >= 0)
			st = tap_link_parse(buf, (size_t)n, idx);
	}
	CHECK_EQ(st, 1);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lm0");
	CHECK_EQ(ioctl(s, SIOCSIFFLAGS, &ifr), 0);  /* flags 0: down */
	for (int i = 0; i < 20 && st != 0 && poll(&p, 1, 2000) == 1; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0 && tap_link_parse(buf, (size_t)n, idx) >= 0)
			st = tap_link_parse(buf, (size_t)n, idx);
	}
	CHECK_EQ(st, 0);
	CHECK_EQ(tap_link_monitor("nosuch0", &idx, &up), -ENODEV);
	close(s);
	close(fd);
	tap_close(&t);
}

NS(creates_tap)
NS(link_monitor)
NS(configures_host_side)
NS(refuses_busy_and_foreign_names)
NS(refuses_without_cap_net_admin)
NS(adopts_inherited_fd)
NS(vnet_over_tap)

int main(void)
{
	t_suite = "tap";
	RUN(ns_creates_tap);
	RUN(ns_configures_host_side);
	RUN(ns_refuses_busy_and_foreign_names);
	RUN(ns_refuses_without_cap_net_admin);
	RUN(ns_adopts_inherited_fd);
	RUN(ns_vnet_over_tap);
	RUN(link_parse);
	RUN(ns_link_monitor);
	return t_done();
}
