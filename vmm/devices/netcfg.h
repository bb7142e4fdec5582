/* Options of one virtio-net device (docs/NET.md), parsed and validated
 * without privileges so every bad input is caught, with one clear line,
 * before anything is opened: addresses, netmask, MAC, TAP name or fd.
 * Pure functions over a caller-owned struct netcfg; no allocation.
 *
 * Errors: functions return 0 or -errno and fill a struct net_err. When
 * net_err.input is set the fault is the user's (exit 2, VMM_EXIT_USAGE);
 * otherwise it is a system failure (exit 1). The message names the option
 * and what is wrong, without a trailing newline. */
#ifndef VMM_DEVICES_NETCFG_H
#define VMM_DEVICES_NETCFG_H
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct net_err {
	bool input;        /* bad user input: exit 2 */
	char msg[200];
};

/* Fill e (input class or not) and return err. printf-style. */
int net_err_set(struct net_err *e, bool input, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

struct netcfg {
	unsigned index;          /* which net device (0 = first): MAC, ip= */
	char tap[IFNAMSIZ];      /* --tap NAME; "" = create one (vmtap%d) */
	int tap_fd;              /* --tap-fd N; -1 = none */
	uint32_t host_ip;        /* network order; 0 = not given */
	uint32_t netmask;        /* network order; 0 = not given */
	uint32_t guest_ip;       /* network order; 0 = default (next in subnet) */
	uint8_t mac[6];
	bool mac_set;
};

void netcfg_init(struct netcfg *c, unsigned index);

/* Strict dotted-quad IPv4 (inet_pton): "10.0.0.1". Result in network order. */
int netcfg_parse_ipv4(const char *s, uint32_t *out);
/* A netmask: dotted quad with contiguous ones ("255.255.255.252") or a
 * prefix length "0".."32" ("/30" accepted too). 0.0.0.0 is refused. */
int netcfg_parse_netmask(const char *s, uint32_t *out);
/* A unicast MAC "52:54:00:12:34:56" ('-' separators too): six hex pairs;
 * multicast (bit 0 of the first byte) and 00:00:00:00:00:00 are refused. */
int netcfg_parse_mac(const char *s, uint8_t mac[6]);

/* Set one option by name, as given on the command line without the
 * leading "--": host-ip (host_ip), netmask, guest-ip (guest_ip), mac, tap,
 * tap-fd (tap_fd). 1 when name is not a net option (the caller's table
 * goes on), 0 when set, -EINVAL with e filled (input class) when the value
 * is bad. */
int netcfg_set(struct netcfg *c, const char *name, const char *val, struct net_err *e);

/* After all options: check their combination and fill the defaults. The
 * guest address defaults to the host address + 1 within the subnet (past
 * the broadcast address it wraps to the first host address); the MAC to
 * netcfg_default_mac(pid). -EINVAL (input class) when host-ip and netmask
 * are not given together, guest-ip or netmask without host-ip, tap and
 * tap-fd both, a /32 mask, host or guest being the network or broadcast
 * address (except in a /31, RFC 3021), guest == host, or guest outside the
 * host's subnet. Returns 0 when no address was given at all (a TAP on a
 * bridge the user configures). */
int netcfg_finish(struct netcfg *c, pid_t pid, struct net_err *e);

/* Locally administered unicast MAC from the vmm pid and the device index:
 * 52:54:<index>:<pid bits 23..0>, unique per host while pids are (pid_max
 * is at most 2^22). */
void netcfg_default_mac(pid_t pid, unsigned index, uint8_t mac[6]);

/* The kernel command-line word our init reads (docs/INIT.md, ip=):
 * "ip=GUEST::HOST:MASK:::off", the host being the default gateway. Only
 * device 0 gets one (init configures the first ethernet interface); writes
 * "" and returns 0 for other devices or when no address was configured.
 * Returns the length, or -ENOSPC when n is too small. */
int netcfg_ip_word(const struct netcfg *c, char *buf, size_t n);
#endif
