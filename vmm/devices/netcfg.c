#include "vmm/devices/netcfg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int net_err_set(struct net_err *e, bool input, int err, const char *fmt, ...)
{
	va_list ap;

	e->input = input;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return err;
}

void netcfg_init(struct netcfg *c, unsigned index)
{
	memset(c, 0, sizeof(*c));
	c->index = index;
	c->tap_fd = -1;
}

int netcfg_parse_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;

	/* inet_pton takes exactly four decimal parts, no octal or short
	 * forms (unlike inet_aton's "10.1"). */
	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = a.s_addr;
	return 0;
}

static uint32_t netcfg_prefix_mask(unsigned len)
{
	return htonl(len ? ~0u << (32 - len) : 0);
}

int netcfg_parse_netmask(const char *s, uint32_t *out)
{
	const char *p = s[0] == '/' ? s + 1 : s;
	uint32_t m;

	if (!strchr(p, '.')) {
		char *end;
		unsigned long len;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		len = strtoul(p, &end, 10);
		if (*end || len < 1 || len > 32)
			return -EINVAL;
		*out = netcfg_prefix_mask((unsigned)len);
		return 0;
	}
	if (s != p || netcfg_parse_ipv4(p, &m))
		return -EINVAL;
	/* Contiguous: the host part ~m + 1 is a power of two. */
	m = ntohl(m);
	if (!m || ((~m + 1) & ~m))
		return -EINVAL;
	*out = htonl(m);
	return 0;
}

static int netcfg_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int netcfg_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];
	char sep = s[0] && s[1] && s[2] ? s[2] : ':';

	if (strlen(s) != 17 || (sep != ':' && sep != '-'))
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = netcfg_hex(s[3 * i]), lo = netcfg_hex(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != sep))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	/* A multicast source address is invalid on Ethernet (IEEE 802.3
	 * §3.2.3: the I/G bit), and all zeros is no address. */
	if ((m[0] & 1) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
		return -EINVAL;
	memcpy(mac, m, 6);
	return 0;
}

static int netcfg_parse_fd(const char *s, int *fd)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end || errno || v > INT_MAX)
		return -EINVAL;
	*fd = (int)v;
	return 0;
}

/* "host-ip" and crosvm's "host_ip" are one option. */
static bool netcfg_is(const char *name, const char *opt)
{
	for (; *opt; name++, opt++)
		if (*name != *opt && !(*opt == '-' && *name == '_'))
			return false;
	return !*name;
}

int netcfg_set(struct netcfg *c, const char *name, const char *val, struct net_err *e)
{
	if (netcfg_is(name, "host-ip") || netcfg_is(name, "guest-ip")) {
		uint32_t *dst = name[0] == 'h' ? &c->host_ip : &c->guest_ip;

		if (netcfg_parse_ipv4(val, dst) || !*dst)
			return net_err_set(e, true, -EINVAL,
					   "--%s %s: not an IPv4 address (dotted quad, e.g. 172.30.0.1)",
					   name, val);
		return 0;
	}
	if (netcfg_is(name, "netmask")) {
		if (netcfg_parse_netmask(val, &c->netmask))
			return net_err_set(e, true, -EINVAL,
					   "--netmask %s: not a netmask (contiguous dotted quad like 255.255.255.252, or a prefix length 1..32)",
					   val);
		return 0;
	}
	if (netcfg_is(name, "mac")) {
		if (netcfg_parse_mac(val, c->mac))
			return net_err_set(e, true, -EINVAL,
					   "--mac %s: not a unicast MAC address (six hex pairs like 52:54:00:12:34:56)",
					   val);
		c->mac_set = true;
		return 0;
	}
	if (netcfg_is(name, "tap")) {
		/* IFNAMSIZ counts the NUL; '/' and whitespace are refused by
		 * the kernel's dev_valid_name, so say so here. */
		size_t n = strlen(val);

		if (!n || n >= IFNAMSIZ)
			return net_err_set(e, true, -EINVAL, "--tap %s: interface names are 1..%d characters",
					   val, IFNAMSIZ - 1);
		if (strpbrk(val, "/: \t\n") || !strcmp(val, ".") || !strcmp(val, ".."))
			return net_err_set(e, true, -EINVAL, "--tap %s: not a valid interface name", val);
		memcpy(c->tap, val, n + 1);
		return 0;
	}
	if (netcfg_is(name, "tap-fd")) {
		if (netcfg_parse_fd(val, &c->tap_fd) || c->tap_fd < 3)
			return net_err_set(e, true, -EINVAL,
					   "--tap-fd %s: expected an inherited file descriptor number >= 3", val);
		return 0;
	}
	return 1;
}

void netcfg_default_mac(pid_t pid, unsigned index, uint8_t mac[6])
{
	uint32_t p = (uint32_t)pid;

	mac[0] = 0x52;  /* locally administered (bit 1), unicast (bit 0 clear) */
	mac[1] = 0x54;
	mac[2] = (uint8_t)index;
	mac[3] = (uint8_t)(p >> 16);
	mac[4] = (uint8_t)(p >> 8);
	mac[5] = (uint8_t)p;
}

static void netcfg_ntoa(uint32_t a, char *buf)
{
	inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* The address a (network order) is usable as a host in subnet mask. */
static bool netcfg_usable(uint32_t a, uint32_t mask)
{
	uint32_t h = ntohl(a), m = ntohl(mask);

	if (m >= 0xfffffffeu)  /* /31: both addresses are hosts (RFC 3021) */
		return true;
	return (h & ~m) != 0 && (h & ~m) != ~m;
}

int netcfg_finish(struct netcfg *c, pid_t pid, struct net_err *e)
{
	char hs[INET_ADDRSTRLEN], gs[INET_ADDRSTRLEN], ms[INET_ADDRSTRLEN];
	uint32_t m, h, g;

	if (!c->mac_set)
		netcfg_default_mac(pid, c->index, c->mac);
	if (c->tap[0] && c->tap_fd >= 0)
		return net_err_set(e, true, -EINVAL, "--tap %s and --tap-fd %d: give one of them",
				   c->tap, c->tap_fd);
	if (!c->host_ip && (c->netmask || c->guest_ip))
		return net_err_set(e, true, -EINVAL, "--%s without --host-ip: the host side needs an address",
				   c->netmask ? "netmask" : "guest-ip");
	if (!c->host_ip)
		return 0;
	if (!c->netmask)
		return net_err_set(e, true, -EINVAL, "--host-ip without --netmask: give both");
	netcfg_ntoa(c->host_ip, hs);
	netcfg_ntoa(c->netmask, ms);
	m = ntohl(c->netmask);
	h = ntohl(c->host_ip);
	if (m == 0xffffffffu)
		return net_err_set(e, true, -EINVAL, "--netmask %s: a /32 leaves no address for the guest", ms);
	if (!netcfg_usable(c->host_ip, c->netmask))
		return net_err_set(e, true, -EINVAL,
				   "--host-ip %s: is the network or broadcast address of netmask %s", hs, ms);
	if (!c->guest_ip) {
		/* The next host address, wrapping past the broadcast address
		 * to the first one (a /31 has just the other address). */
		g = h + 1;
		if ((g & m) != (h & m) || !netcfg_usable(htonl(g), c->netmask))
			g = (h & m) | (m >= 0xfffffffeu ? 0 : 1);
		c->guest_ip = htonl(g);
	}
	netcfg_ntoa(c->guest_ip, gs);
	g = ntohl(c->guest_ip);
	if ((g & m) != (h & m))
		return net_err_set(e, true, -EINVAL,
				   "--guest-ip %s: not in the host's subnet %s/%s", gs, hs, ms);
	if (g == h)
		return net_err_set(e, true, -EINVAL, "--guest-ip %s: the same as --host-ip", gs);
	if (!netcfg_usable(c->guest_ip, c->netmask))
		return net_err_set(e, true, -EINVAL,
				   "--guest-ip %s: is the network or broadcast address of netmask %s", gs, ms);
	return 0;
}

int netcfg_ip_word(const struct netcfg *c, char *buf, size_t n)
{
	char hs[INET_ADDRSTRLEN], gs[INET_ADDRSTRLEN], ms[INET_ADDRSTRLEN];
	int len;

	if (c->index != 0 || !c->host_ip || !c->guest_ip) {
		if (n)
			buf[0] = '\0';
		return n ? 0 : -ENOSPC;
	}
	netcfg_ntoa(c->host_ip, hs);
	netcfg_ntoa(c->guest_ip, gs);
	netcfg_ntoa(c->netmask, ms);
	/* client-ip:server-ip:gw-ip:netmask:hostname:device:autoconf
	 * (Documentation/admin-guide/nfs/nfsroot.rst); device empty = init
	 * takes the first ethernet interface. */
	len = snprintf(buf, n, "ip=%s::%s:%s:::off", gs, hs, ms);
	if (len < 0 || (size_t)len >= n)
		return -ENOSPC;
	return len;
}
