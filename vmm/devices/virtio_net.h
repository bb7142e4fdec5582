/* virtio-net on a TAP (virtio 1.2 §5.1, docs/NET.md): the device the VMM
 * creates through virtio_net_device (device table: the --net group and
 * crosvm's flat --host-ip/--netmask/--mac/--tap/--tap-fd for the first
 * device) and net_virtio_ops (descriptor, open, serve ops).
 *
 * open() runs in the VMM: it validates every device's options, opens or
 * adopts the TAP, configures the host side (address, up) when --host-ip
 * is given, and opens a listen-only rtnetlink socket for the TAP's link
 * state. The serve ops then touch only guest memory, the TAP fd, that
 * socket and an epoll fd over both (the device's poll_fd): the TAP is in
 * it only while the data path can place a frame (vnet_want_backend), so a
 * guest that posts no buffers leaves the TAP unread (backpressure) without
 * a busy loop. A link change (`ip link set TAP down/up` on the host) is
 * the STATUS field's LINK_UP bit plus a configuration change interrupt
 * (§5.1.4, §4.2.3.4). The data path is vmm/devices/vnet.c. */
#ifndef VMM_DEVICES_VIRTIO_NET_H
#define VMM_DEVICES_VIRTIO_NET_H
#include "vmm/devices/netcfg.h"
#include "vmm/devices/vnet.h"
#include "vmm/virtio.h"

#define NET_MAX_DEVICES 4
#define NET_QUEUE_MAX VIRTQ_MAX_SIZE
/* Config space: mac[6], status (le16) (§5.1.4). */
#define NET_CFG_STATUS 6
#define NET_CFG_LEN 8

/* Parsed options: one struct netcfg per device, in --net order. */
struct net_opts {
	unsigned ndev;
	struct netcfg dev[NET_MAX_DEVICES];
};

/* The data path of an opened instance (counters, tests). */
struct vnet *net_vnet(void *dev);

extern const struct virtio_device net_virtio_ops;
/* The device-table entry: options, status members, the descriptor. */
struct device_ops;
extern const struct device_ops virtio_net_device;
#endif
