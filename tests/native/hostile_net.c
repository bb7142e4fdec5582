/* The host side of the hostile suite's virtio-net scenarios
 * (tests/native/hostile.sh, flags "n" and "nf"; docs/HOSTILE.md):
 *
 *   hostile-net ns CMD [ARG...]
 *       CMD in a new, empty network namespace (unshare(CLONE_NEWNET), then
 *       exec: the same pid). vmm creates its TAP there, so no host
 *       interface is ever touched, and the namespace (with the TAP) goes
 *       away with vmm. IPv6 is off in it, so the kernel sends the guest
 *       nothing of its own (router solicitations, MLD).
 *   hostile-net flood PID IFNAME COUNT SECS LEN
 *       Enter PID's network namespace (refused when it is ours: a flood
 *       never reaches a host interface), wait for IFNAME to be up, and
 *       send at most COUNT Ethernet frames of LEN bytes (broadcast,
 *       ethertype 0x88b5, IEEE's local experimental one) out of it with an
 *       AF_PACKET socket, for at most SECS seconds. On a TAP they become
 *       frames for the guest. Prints "sent N" on stderr.
 *
 * Exit: 0 done, 100 usage, 111 system error (house style). Root only. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ETH_TEST 0x88b5

static int die(const char *what)
{
	fprintf(stderr, "hostile-net: %s: %s\n", what, strerror(errno));
	return 111;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_ns(char **argv)
{
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		return die("unshare(CLONE_NEWNET)");
	/* /proc/sys/net is the opener's namespace: this one. */
	fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1\n", 2) != 2)
			fprintf(stderr, "hostile-net: disable_ipv6: %s\n", strerror(errno));
		close(fd);
	}
	execvp(argv[0], argv);
	return die(argv[0]);
}

static bool if_up(int s, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	return ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
}

static int cmd_flood(char **argv)
{
	char path[64];
	struct stat ours, theirs;
	unsigned long count = strtoul(argv[2], NULL, 0), len = strtoul(argv[4], NULL, 0), sent = 0;
	double secs = strtod(argv[3], NULL), end;
	struct sockaddr_ll sa;
	unsigned char f[ETH_FRAME_LEN];
	int nsfd, s;
	unsigned ifi;

	if (len < ETH_ZLEN || len > sizeof(f) || secs <= 0 || secs > 60 || count > 10000000) {
		fprintf(stderr, "hostile-net: flood: LEN 60..1514, SECS up to 60, COUNT up to 10^7\n");
		return 100;
	}
	snprintf(path, sizeof(path), "/proc/%s/ns/net", argv[0]);
	if (stat("/proc/self/ns/net", &ours) < 0 || stat(path, &theirs) < 0)
		return die(path);
	if (ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev) {
		fprintf(stderr, "hostile-net: flood: pid %s is in our own network namespace: refused\n", argv[0]);
		return 100;
	}
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0)
		return die("setns");
	close(nsfd);
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (s < 0)
		return die("socket(AF_PACKET)");
	end = now() + secs;
	while (!(ifi = if_nametoindex(argv[1])) || !if_up(s, argv[1])) {
		if (now() > end) {
			fprintf(stderr, "hostile-net: flood: %s not up within %g s\n", argv[1], secs);
			return 111;
		}
		usleep(20000);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sll_family = AF_PACKET;
	sa.sll_ifindex = (int)ifi;
	sa.sll_halen = ETH_ALEN;
	memset(sa.sll_addr, 0xff, ETH_ALEN);
	memset(f, 0, sizeof(f));
	memset(f, 0xff, ETH_ALEN);
	memcpy(f + ETH_ALEN, "\x02\x00\x00\x00\x00\x99", ETH_ALEN);
	f[12] = ETH_TEST >> 8;
	f[13] = ETH_TEST & 0xff;
	for (; sent < count && now() < end; sent++) {
		memcpy(f + 14, &sent, sizeof(sent));
		if (sendto(s, f, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
				usleep(100);
				continue;
			}
			if (errno == ENXIO || errno == ENETDOWN)
				break;  /* vmm (and its TAP) went away */
			return die("sendto");
		}
	}
	fprintf(stderr, "hostile-net: sent %lu\n", sent);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "ns"))
		return cmd_ns(argv + 2);
	if (argc == 7 && !strcmp(argv[1], "flood"))
		return cmd_flood(argv + 2);
	fprintf(stderr, "usage: hostile-net ns CMD [ARG...]\n"
			"       hostile-net flood PID IFNAME COUNT SECS LEN\n");
	return 100;
}
