/* The host side of a virtio-net device: a TAP interface (Documentation/
 * networking/tuntap.rst) opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, its
 * virtio-net header size set to 12 (struct virtio_net_hdr_v1, virtio 1.2
 * §5.1.6), non-blocking; and, for a TAP vmm creates, the host address and
 * link state set over rtnetlink (rtnetlink(7); no `ip` binary).
 *
 * Privileged parts (tap_open, tap_host_config) run in the VMM before any
 * jail; the device process keeps only the fd and calls tap_set_offload
 * (no capability needed). Errors: 0 or -errno with e filled; e->input
 * marks the user's fault (exit 2). */
#ifndef VMM_DEVICES_TAP_H
#define VMM_DEVICES_TAP_H
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/devices/netcfg.h"

#define TAP_VNET_HDR_LEN 12

struct tap {
	int fd;                  /* owned; -1 when closed */
	char name[IFNAMSIZ];
	bool created;            /* vmm created it (name was free or auto) */
};

/* Open /dev/net/tun and attach to (or create) TAP name; "" lets the kernel
 * pick "vmtap%d". Input-class errors: no /dev/net/tun, EPERM (needs
 * CAP_NET_ADMIN), name in use by a busy TAP or another kind of device. */
int tap_open(struct tap *t, const char *name, struct net_err *e);

/* Adopt an inherited fd (--tap-fd): it must be a TAP (TUNGETIFF) opened
 * with IFF_NO_PI and IFF_VNET_HDR (flags that cannot be changed later);
 * sets the header size and O_NONBLOCK. The fd is owned by t on success
 * only. */
int tap_adopt_fd(struct tap *t, int fd, struct net_err *e);

/* TUNSETOFFLOAD from the negotiated virtio-net features (VIRTIO_NET_F_*
 * bit numbers in vmm/devices/vnet.h): what the kernel may pass to the guest
 * without checksum or with GSO (GUEST_CSUM, GUEST_TSO4/6, GUEST_ECN).
 * 0 or -errno. */
int tap_set_offload(int fd, uint64_t features);

/* Give the host side address/netmask (network order) and bring the link
 * up. 0 or -errno (e filled). */
int tap_host_config(const char *name, uint32_t addr, uint32_t mask, struct net_err *e);

/* Link state of interface name for virtio-net's STATUS (virtio 1.2
 * §5.1.4): sets *ifindex and *up (IFF_UP, the administrative state `ip
 * link set NAME up/down` changes) and returns a non-blocking NETLINK_ROUTE
 * socket subscribed to RTMGRP_LINK, only read from, or -errno. Runs in
 * the VMM (the device process has an empty network namespace; the socket
 * keeps the host's). */
int tap_link_monitor(const char *name, int *ifindex, bool *up);
/* The news in one datagram read from that socket for ifindex: 1 up, 0
 * down (or deleted), -ENOENT none. Pure; bounded by len. */
int tap_link_parse(const void *buf, size_t len, int ifindex);

void tap_close(struct tap *t);
#endif
