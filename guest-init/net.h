/* Network bring-up over rtnetlink (rtnetlink(7)), written by hand: lo up,
 * and the ip= static configuration of the first ethernet interface. */
#ifndef APPVM_INIT_NET_H
#define APPVM_INIT_NET_H
#include "guest-init/config.h"

/* Bring lo up (the kernel adds 127.0.0.1/8 itself). Returns 0 or -errno. */
int init_net_lo_up(void);

/* Apply ip=: pick the named device or the first ARPHRD_ETHER interface
 * (lowest ifindex), add the address with its prefix, set it up, add the
 * default route when a gateway is given. Returns 0 or -errno (logged). */
int init_net_config(const struct init_ip *ip);

/* Netmask (network order) -> prefix length. */
int init_net_prefix(uint32_t mask);
#endif
