/* TAP host side (vmm/devices/tap.c), each case in a child that made its
 * own network namespace (unshare(CLONE_NEWNET)): no host interface is ever
 * seen or touched. Needs root (CAP_NET_ADMIN in the new namespace). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/t.h"
#include "vmm/devices/tap.h"
#include "vmm/devices/vnet.h"

/* Run fn in a forked child inside a fresh network namespace; the case
 * fails when the child's checks did. */
static void in_netns(void (*fn)(void))
{
	pid_t pid;
	int st = 0;

	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		if (unshare(CLONE_NEWNET) < 0) {
			printf("  unshare(CLONE_NEWNET): %s\n", strerror(errno));
			_exit(1);
		}
		fn();
		fflush(stdout);
		_exit(t_case_failed);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

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

#define NS(fn) static void ns_##fn(void) { in_netns(fn); }
NS(creates_tap)
NS(configures_host_side)
NS(refuses_busy_and_foreign_names)
NS(refuses_without_cap_net_admin)
NS(adopts_inherited_fd)

int main(void)
{
	t_suite = "tap";
	RUN(ns_creates_tap);
	RUN(ns_configures_host_side);
	RUN(ns_refuses_busy_and_foreign_names);
	RUN(ns_refuses_without_cap_net_admin);
	RUN(ns_adopts_inherited_fd);
	return t_done();
}
