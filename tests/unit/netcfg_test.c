/* virtio-net options (vmm/devices/netcfg.c): parsing, the combination
 * checks with their one-line input-class errors, defaults, and the ip= word
 * read back by guest-init's own parser. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "guest-init/config.h"
#include "tests/unit/t.h"
#include "vmm/devices/netcfg.h"

static uint32_t ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static void parses_addresses_and_masks(void)
{
	uint32_t v;

	CHECK_EQ(netcfg_parse_ipv4("172.30.0.1", &v), 0);
	CHECK_EQ(v, ip("172.30.0.1"));
	CHECK_EQ(netcfg_parse_ipv4("10.1", &v), -EINVAL);
	CHECK_EQ(netcfg_parse_ipv4("256.0.0.1", &v), -EINVAL);
	CHECK_EQ(netcfg_parse_ipv4("1.2.3.4 ", &v), -EINVAL);
	CHECK_EQ(netcfg_parse_netmask("255.255.255.252", &v), 0);
	CHECK_EQ(v, ip("255.255.255.252"));
	CHECK_EQ(netcfg_parse_netmask("24", &v), 0);
	CHECK_EQ(v, ip("255.255.255.0"));
	CHECK_EQ(netcfg_parse_netmask("/32", &v), 0);
	CHECK_EQ(v, ip("255.255.255.255"));
	CHECK_EQ(netcfg_parse_netmask("1", &v), 0);
	CHECK_EQ(v, ip("128.0.0.0"));
	CHECK_EQ(netcfg_parse_netmask("255.0.255.0", &v), -EINVAL);
	CHECK_EQ(netcfg_parse_netmask("0.0.0.0", &v), -EINVAL);
	CHECK_EQ(netcfg_parse_netmask("0", &v), -EINVAL);
	CHECK_EQ(netcfg_parse_netmask("33", &v), -EINVAL);
	CHECK_EQ(netcfg_parse_netmask("24x", &v), -EINVAL);
	CHECK_EQ(netcfg_parse_netmask("/255.0.0.0", &v), -EINVAL);
	CHECK_EQ(netcfg_parse_netmask("", &v), -EINVAL);
}

static void parses_macs(void)
{
	uint8_t m[6] = { 0 };
	static const uint8_t want[6] = { 0x52, 0x54, 0x00, 0x12, 0xab, 0xCD };

	CHECK_EQ(netcfg_parse_mac("52:54:00:12:ab:CD", m), 0);
	CHECK(!memcmp(m, want, 6));
	CHECK_EQ(netcfg_parse_mac("52-54-00-12-ab-cd", m), 0);
	CHECK_EQ(netcfg_parse_mac("52:54-00:12:ab:cd", m), -EINVAL);
	CHECK_EQ(netcfg_parse_mac("01:00:5e:00:00:01", m), -EINVAL);  /* multicast */
	CHECK_EQ(netcfg_parse_mac("00:00:00:00:00:00", m), -EINVAL);
	CHECK_EQ(netcfg_parse_mac("52:54:00:12:34", m), -EINVAL);
	CHECK_EQ(netcfg_parse_mac("52:54:00:12:34:5g", m), -EINVAL);
	CHECK_EQ(netcfg_parse_mac("52:54:00:12:34:567", m), -EINVAL);
	CHECK_EQ(netcfg_parse_mac("", m), -EINVAL);
	/* A refused MAC leaves the old value. */
	CHECK(!memcmp(m, want, 6));
}

/* Options one by one, as a device option table passes them. */
static int setv(struct netcfg *c, struct net_err *e, const char *const *kv)
{
	for (; kv[0]; kv += 2) {
		int r = netcfg_set(c, kv[0], kv[1], e);
		if (r)
			return r;
	}
	return 0;
}

static void set_reports_input_errors(void)
{
	struct netcfg c;
	struct net_err e = { 0 };

	netcfg_init(&c, 0);
	CHECK_EQ(netcfg_set(&c, "host_ip", "172.30.0.1", &e), 0);  /* crosvm's spelling */
	CHECK_EQ(c.host_ip, ip("172.30.0.1"));
	CHECK_EQ(netcfg_set(&c, "disk", "x", &e), 1);              /* not ours */
	CHECK_EQ(netcfg_set(&c, "host-ip", "172.30.0", &e), -EINVAL);
	CHECK(e.input);
	CHECK(!strcmp(e.msg, "--host-ip 172.30.0: not an IPv4 address (dotted quad, e.g. 172.30.0.1)"));
	CHECK_EQ(netcfg_set(&c, "guest-ip", "0.0.0.0", &e), -EINVAL);
	CHECK_EQ(netcfg_set(&c, "netmask", "255.0.255.0", &e), -EINVAL);
	CHECK(!strncmp(e.msg, "--netmask 255.0.255.0: not a netmask", 36));
	CHECK_EQ(netcfg_set(&c, "mac", "ff:ff:ff:ff:ff:ff", &e), -EINVAL);
	CHECK(strstr(e.msg, "--mac ff:ff:ff:ff:ff:ff: not a unicast MAC") == e.msg);
	CHECK_EQ(netcfg_set(&c, "tap", "0123456789abcdef", &e), -EINVAL);  /* 16 > 15 */
	CHECK(!strcmp(e.msg, "--tap 0123456789abcdef: interface names are 1..15 characters"));
	CHECK_EQ(netcfg_set(&c, "tap", "0123456789abcde", &e), 0);
	CHECK(!strcmp(c.tap, "0123456789abcde"));
	CHECK_EQ(netcfg_set(&c, "tap", "a/b", &e), -EINVAL);
	CHECK_EQ(netcfg_set(&c, "tap", "", &e), -EINVAL);
	CHECK_EQ(netcfg_set(&c, "tap-fd", "2", &e), -EINVAL);
	CHECK_EQ(netcfg_set(&c, "tap_fd", "-5", &e), -EINVAL);
	CHECK_EQ(netcfg_set(&c, "tap-fd", "99999999999", &e), -EINVAL);
	CHECK_EQ(netcfg_set(&c, "tap-fd", "7", &e), 0);
	CHECK_EQ(c.tap_fd, 7);
}

static void finish_fills_defaults(void)
{
	static const char *const opts[] = { "host-ip", "172.30.0.1", "netmask", "255.255.255.252", NULL };
	struct netcfg c;
	struct net_err e = { 0 };
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x01, 0xe2, 0x40 };

	netcfg_init(&c, 0);
	CHECK_EQ(setv(&c, &e, opts), 0);
	CHECK_EQ(netcfg_finish(&c, 123456, &e), 0);
	CHECK_EQ(c.guest_ip, ip("172.30.0.2"));
	CHECK(!memcmp(c.mac, mac, 6));  /* 123456 = 0x01e240 */
	CHECK_EQ(c.tap_fd, -1);

	/* Host at the top of the subnet: the guest wraps to the first host. */
	netcfg_init(&c, 1);
	CHECK_EQ(netcfg_set(&c, "host-ip", "10.0.0.254", &e), 0);
	CHECK_EQ(netcfg_set(&c, "netmask", "24", &e), 0);
	CHECK_EQ(netcfg_finish(&c, 1, &e), 0);
	CHECK_EQ(c.guest_ip, ip("10.0.0.1"));
	CHECK_EQ(c.mac[2], 1);

	/* /31 (RFC 3021): the other address, either way round. */
	netcfg_init(&c, 0);
	CHECK_EQ(netcfg_set(&c, "host-ip", "10.0.0.7", &e), 0);
	CHECK_EQ(netcfg_set(&c, "netmask", "31", &e), 0);
	CHECK_EQ(netcfg_finish(&c, 1, &e), 0);
	CHECK_EQ(c.guest_ip, ip("10.0.0.6"));
	netcfg_init(&c, 0);
	CHECK_EQ(netcfg_set(&c, "host-ip", "10.0.0.6", &e), 0);
	CHECK_EQ(netcfg_set(&c, "netmask", "31", &e), 0);
	CHECK_EQ(netcfg_finish(&c, 1, &e), 0);
	CHECK_EQ(c.guest_ip, ip("10.0.0.7"));

	/* A given MAC is kept; no addresses at all is fine (bridge). */
	netcfg_init(&c, 0);
	CHECK_EQ(netcfg_set(&c, "mac", "02:00:00:00:00:09", &e), 0);
	CHECK_EQ(netcfg_set(&c, "tap", "br-tap0", &e), 0);
	CHECK_EQ(netcfg_finish(&c, 77, &e), 0);
	CHECK_EQ(c.mac[5], 9);
	CHECK_EQ(c.guest_ip, 0);
}

/* netcfg_finish on kv must fail with exactly msg. */
static void finish_fails(const char *const *kv, const char *msg)
{
	struct netcfg c;
	struct net_err e = { 0 };

	netcfg_init(&c, 0);
	CHECK_EQ(setv(&c, &e, kv), 0);
	CHECK_EQ(netcfg_finish(&c, 1, &e), -EINVAL);
	CHECK(e.input);
	if (strcmp(e.msg, msg)) {
		printf("  got \"%s\"\n", e.msg);
		CHECK(!"message");
	}
}

static void finish_checks_combinations(void)
{
	static const char *const no_mask[] = { "host-ip", "10.0.0.1", NULL };
	static const char *const no_host[] = { "netmask", "24", NULL };
	static const char *const guest_only[] = { "guest-ip", "10.0.0.2", NULL };
	static const char *const both_taps[] = { "tap", "t0", "tap-fd", "5", NULL };
	static const char *const slash32[] = { "host-ip", "10.0.0.1", "netmask", "32", NULL };
	static const char *const host_net[] = { "host-ip", "10.0.0.0", "netmask", "24", NULL };
	static const char *const host_bcast[] = { "host-ip", "10.0.0.255", "netmask", "24", NULL };
	static const char *const other_net[] = { "host-ip", "172.30.0.1", "netmask", "255.255.255.252",
						 "guest-ip", "172.30.0.5", NULL };
	static const char *const same[] = { "host-ip", "10.0.0.1", "netmask", "24", "guest-ip", "10.0.0.1", NULL };
	static const char *const guest_bcast[] = { "host-ip", "10.0.0.1", "netmask", "30",
						   "guest-ip", "10.0.0.3", NULL };

	finish_fails(no_mask, "--host-ip without --netmask: give both");
	finish_fails(no_host, "--netmask without --host-ip: the host side needs an address");
	finish_fails(guest_only, "--guest-ip without --host-ip: the host side needs an address");
	finish_fails(both_taps, "--tap t0 and --tap-fd 5: give one of them");
	finish_fails(slash32, "--netmask 255.255.255.255: a /32 leaves no address for the guest");
	finish_fails(host_net, "--host-ip 10.0.0.0: is the network or broadcast address of netmask 255.255.255.0");
	finish_fails(host_bcast, "--host-ip 10.0.0.255: is the network or broadcast address of netmask 255.255.255.0");
	finish_fails(other_net, "--guest-ip 172.30.0.5: not in the host's subnet 172.30.0.1/255.255.255.252");
	finish_fails(same, "--guest-ip 10.0.0.1: the same as --host-ip");
	finish_fails(guest_bcast, "--guest-ip 10.0.0.3: is the network or broadcast address of netmask 255.255.255.252");
}

/* The word vmm adds must mean the same to guest-init's parser. */
static void ip_word_round_trips_through_init(void)
{
	static const char *const opts[] = { "host-ip", "172.30.0.1", "netmask", "30", NULL };
	struct netcfg c;
	struct net_err e = { 0 };
	struct init_ip got;
	const char *why = NULL;
	char w[80];

	netcfg_init(&c, 0);
	CHECK_EQ(setv(&c, &e, opts), 0);
	CHECK_EQ(netcfg_finish(&c, 1, &e), 0);
	CHECK_EQ(netcfg_ip_word(&c, w, sizeof(w)), (int)strlen("ip=172.30.0.2::172.30.0.1:255.255.255.252:::off"));
	CHECK(!strcmp(w, "ip=172.30.0.2::172.30.0.1:255.255.255.252:::off"));
	CHECK_EQ(init_ip_parse(w + 3, &got, &why), 0);
	CHECK_EQ(got.addr, ip("172.30.0.2"));
	CHECK_EQ(got.gw, ip("172.30.0.1"));
	CHECK_EQ(got.mask, ip("255.255.255.252"));
	CHECK(!got.dev[0]);
	CHECK(!got.hostname[0]);
	CHECK_EQ(netcfg_ip_word(&c, w, 20), -ENOSPC);
	/* The second device, or one without addresses, adds nothing. */
	c.index = 1;
	CHECK_EQ(netcfg_ip_word(&c, w, sizeof(w)), 0);
	CHECK(!w[0]);
}

int main(void)
{
	t_suite = "netcfg";
	RUN(parses_addresses_and_masks);
	RUN(parses_macs);
	RUN(set_reports_input_errors);
	RUN(finish_fills_defaults);
	RUN(finish_checks_combinations);
	RUN(ip_word_round_trips_through_init);
	return t_done();
}
